"""``POST /v3/auth/tokens``: authenticate the methods, resolve the scope, issue a token.

Supported methods: ``password``, ``token``, ``application_credential`` and ``oauth1``
(OS-OAUTH1: the request is signed with a consumer's access token, and the body says
nothing). Failures say "requires authentication" whatever went wrong, so that the answer
is no oracle for which users exist; lockout and expiry say what they are, as Keystone
does. A ``token`` method whose token does not validate (revoked, expired, garbage) is
Keystone's 404, as ``GET /v3/auth/tokens`` answers it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from ownstack.common.db.base import utcnow
from ownstack.common.errors import BadRequest, Forbidden
from ownstack.identity.errors import AccountLocked, AuthFailed, PasswordExpired
from ownstack.identity.oauth1_signing import (
    NONCE_MEMORY,
    SignedRequest,
    check_resource_request,
    expecting,
    known,
)
from ownstack.identity.objects import app_creds, domains, oauth1, passwords, projects, users
from ownstack.identity.objects.assignments import effective_roles
from ownstack.identity.objects.models import ApplicationCredential, OAuthAccessToken, User
from ownstack.identity.tokens.format import TokenPayload, new_audit_id

if TYPE_CHECKING:
    from ownstack.identity.state import IdentityState

SUPPORTED_METHODS = ("password", "token", "application_credential", "oauth1")


@dataclass
class Authenticated:
    user: User
    methods: list[str]
    expires_at: datetime | None = None         # a token method keeps its parent's expiry
    parent_audit_id: str | None = None
    app_cred: ApplicationCredential | None = None
    access_token: OAuthAccessToken | None = None


async def issue(svc: IdentityState, body: dict[str, Any], signed: SignedRequest | None = None
                ) -> TokenPayload:
    """Authenticate ``body`` (already schema-validated) and return the new token's payload;
    ``signed`` is the request itself, which the ``oauth1`` method checks the signature of."""
    auth = body["auth"]
    methods: list[str] = auth["identity"]["methods"]
    unknown = [m for m in methods if m not in SUPPORTED_METHODS]
    if unknown:
        raise AuthFailed(f"Unsupported authentication method: {unknown[0]}.")
    if "oauth1" in methods and len(set(methods)) > 1:
        # The token is the access token's delegation, which another method cannot widen.
        raise AuthFailed("The oauth1 method cannot be combined with other methods.")
    async with svc.db.sessions() as db:
        result: Authenticated | None = None
        for method in dict.fromkeys(methods):
            data = auth["identity"].get(method)
            if not isinstance(data, dict):
                raise BadRequest(f"Invalid input for field 'identity': '{method}' is missing.")
            if method == "oauth1":
                step = await _oauth1(svc, db, signed)
            else:
                step = await _METHODS[method](svc, db, data)
            if result is not None and step.user.id != result.user.id:
                raise AuthFailed()
            result = step if result is None else result
        await db.commit()
    assert result is not None  # methods has at least one entry, schema-checked
    return await _scoped_payload(svc, result, auth.get("scope"))


async def _password(svc: IdentityState, db: AsyncSession, data: dict[str, Any]
                    ) -> Authenticated:
    user = await users.find_user(db, data["user"])
    if user is None:
        # Spend the time a hash check would take, so timing reveals no user names.
        await svc.hasher.verify(data["user"].get("password", ""), await svc.dummy_hash())
        raise AuthFailed()
    if "password" not in data["user"]:
        raise AuthFailed()
    compliance = svc.config.identity.security_compliance
    now = utcnow()
    ignore_lockout = bool(user.options.get("ignore_lockout_failure_attempts"))
    if compliance.lockout_failure_attempts and not ignore_lockout and user.failed_auth_at \
            and user.failed_auth_count >= compliance.lockout_failure_attempts:
        if now - user.failed_auth_at < timedelta(seconds=compliance.lockout_duration):
            raise AccountLocked(user.id)
        user.failed_auth_count = 0
    current = await passwords.current_password(db, user.id)
    if current is None or not await svc.hasher.verify(data["user"]["password"], current.hash):
        user.failed_auth_count = (user.failed_auth_count or 0) + 1
        user.failed_auth_at = now
        await db.commit()
        raise AuthFailed()
    if not user.enabled or not await domains.is_enabled(db, user.domain_id):
        raise AuthFailed()
    if current.expires_at is not None and current.expires_at <= now \
            and not user.options.get("ignore_password_expiry"):
        raise PasswordExpired(user.id)
    user.failed_auth_count = 0
    user.last_active_at = now
    return Authenticated(user=user, methods=["password"])


async def _token(svc: IdentityState, db: AsyncSession, data: dict[str, Any]
                 ) -> Authenticated:
    # A revoked, expired or unknown token is Keystone's 404 (its token plugin validates the
    # token as GET /v3/auth/tokens does), not an authentication failure.
    validated = await svc.tokens.validate(data["id"])
    payload = validated.payload
    if payload.app_cred_id is not None:
        raise Forbidden("A token created with an application credential cannot be "
                        "used to create another token.")
    if payload.access_token_id is not None:
        raise Forbidden("You are not authorized to perform the requested action: Using "
                        "OAuth-scoped token to create another token. Create a new "
                        "OAuth-scoped token instead.")
    user = await db.get(User, payload.user_id)
    if user is None:
        raise AuthFailed()
    return Authenticated(user=user, methods=[*payload.methods, "token"],
                         expires_at=payload.expires_at, parent_audit_id=payload.audit_ids[-1])


async def _app_cred(svc: IdentityState, db: AsyncSession, data: dict[str, Any]
                    ) -> Authenticated:
    cred: ApplicationCredential | None = None
    if data.get("id"):
        cred = await db.get(ApplicationCredential, data["id"])
    elif data.get("name") and isinstance(data.get("user"), dict):
        user = await users.find_user(db, data["user"])
        if user is not None:
            cred = await app_creds.find_by_name(db, user.id, data["name"])
    else:
        raise BadRequest("An application credential is identified by id, or by name and user.")
    if cred is None or not await svc.hasher.verify(data["secret"], cred.secret_hash):
        raise AuthFailed()
    if cred.expires_at is not None and cred.expires_at <= utcnow():
        raise AuthFailed("The application credential has expired.")
    user = await db.get(User, cred.user_id)
    if user is None or not user.enabled or not await domains.is_enabled(db, user.domain_id):
        raise AuthFailed()
    return Authenticated(user=user, methods=["application_credential"], app_cred=cred)


async def _oauth1(svc: IdentityState, db: AsyncSession, signed: SignedRequest | None
                  ) -> Authenticated:
    """Keystone's ``oauth1`` plugin: the access token the request names, unexpired, and a
    signature by its consumer with it."""
    if signed is None:
        raise AuthFailed()
    params = signed.oauth_params()
    token_id = params.get("oauth_token")
    if not token_id:
        raise expecting("oauth_token")
    access = await oauth1.get_access_token(db, token_id)
    oauth1.check_not_expired(access.expires_at, "Access token")
    consumer = await oauth1.find_consumer(db, params.get("oauth_consumer_key") or "")
    keys = svc.credential_keys
    check_resource_request(signed, known(keys, consumer), known(keys, access))
    if consumer is None:        # never: the signature checked out with its secret
        raise AuthFailed()
    await oauth1.use_nonce(db, consumer.id, params["oauth_nonce"], keep=NONCE_MEMORY)
    user = await db.get(User, access.user_id)
    if user is None or not user.enabled or not await domains.is_enabled(db, user.domain_id):
        raise AuthFailed()
    return Authenticated(user=user, methods=["oauth1"], access_token=access)


_METHODS = {"password": _password, "token": _token, "application_credential": _app_cred}


async def _scoped_payload(svc: IdentityState, auth: Authenticated, scope: Any
                          ) -> TokenPayload:
    now = utcnow()
    expires = auth.expires_at or now + svc.tokens.lifetime
    audit_ids = (new_audit_id(),) if auth.parent_audit_id is None else (
        new_audit_id(), auth.parent_audit_id)
    base = TokenPayload(user_id=auth.user.id, methods=tuple(dict.fromkeys(auth.methods)),
                        issued_at=now, expires_at=expires, audit_ids=audit_ids)
    async with svc.read() as db:
        if auth.access_token is not None:
            # Keystone scopes the token to the access token's project, whatever is asked.
            access = auth.access_token
            if scope not in (None, {}) and scope != {"project": {"id": access.project_id}}:
                raise AuthFailed("A token got with an OAuth1 access token is scoped to the "
                                 "access token's project.")
            if access.expires_at is not None and access.expires_at < expires:
                base = replace(base, expires_at=access.expires_at)
            return replace(base, project_id=access.project_id, access_token_id=access.id)
        if auth.app_cred is not None:
            if scope not in (None, "unscoped") and scope != {}:
                raise AuthFailed("Application credentials cannot request a scope.")
            cred = auth.app_cred
            if cred.expires_at is not None and cred.expires_at < expires:
                base = replace(base, expires_at=cred.expires_at)
            if cred.system:
                return replace(base, system=cred.system, app_cred_id=cred.id)
            return replace(base, project_id=cred.project_id, app_cred_id=cred.id)
        if scope is None:
            project_id = auth.user.default_project_id
            if project_id and await projects.usable_by(db, auth.user.id, project_id):
                return replace(base, project_id=project_id)
            return base
        if scope == "unscoped":
            return base
        if "OS-TRUST:trust" in scope:
            raise Forbidden("Trusts are not supported by ownstack.")
        if "project" in scope:
            project = await projects.find_project(db, scope["project"])
            if project is None or not await projects.usable_by(db, auth.user.id, project.id):
                raise AuthFailed(f"User {auth.user.id} has no access to project "
                                 f"{scope['project'].get('id') or scope['project'].get('name')}")
            return replace(base, project_id=project.id)
        if "domain" in scope:
            domain = await domains.find_domain(db, scope["domain"])
            if domain is None or not domain.enabled or not await effective_roles(
                    db, auth.user.id, domain_id=domain.id):
                raise AuthFailed(f"User {auth.user.id} has no access to domain "
                                 f"{scope['domain'].get('id') or scope['domain'].get('name')}")
            return replace(base, domain_id=domain.id)
        if "system" in scope:
            if not scope["system"].get("all") or not await effective_roles(
                    db, auth.user.id, system=True):
                raise AuthFailed(f"User {auth.user.id} has no access to the system")
            return replace(base, system="all")
        return base
