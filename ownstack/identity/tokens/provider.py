"""Issuing and validating tokens, with a cache that writes invalidate.

Validation is the hottest path of the whole cloud: every API request of every service
validates its caller's token. A validated token is cached under the token string, keyed
on the identity revision; any identity write moves the revision, so a cached answer is
never older than the last change to users, roles, projects or revocations.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from ownstack.common.cache import LRUCache
from ownstack.common.context import RequestContext
from ownstack.common.db.base import utcnow
from ownstack.identity.errors import TokenNotFound
from ownstack.identity.objects import app_creds, oauth1, passwords
from ownstack.identity.objects.assignments import effective_roles, expand_implied
from ownstack.identity.objects.catalog import load_catalog
from ownstack.identity.objects.endpoint_filter import project_filters
from ownstack.identity.objects.models import (
    ApplicationCredential,
    Domain,
    OAuthAccessToken,
    Project,
    User,
)
from ownstack.identity.objects.revocation import RevocationList, TokenFacts
from ownstack.identity.tokens.format import InvalidToken, TokenFormatter, TokenPayload

if TYPE_CHECKING:
    from ownstack.identity.state import IdentityState


_Enableable = TypeVar("_Enableable", User, Domain, Project)


async def _enabled(db: AsyncSession, model: type[_Enableable], ident: str) -> _Enableable:
    """The row, which must exist and be enabled for a token naming it to be valid."""
    row = await db.get(model, ident)
    if row is None or not row.enabled:
        raise TokenNotFound()
    return row


def isotime(moment: datetime) -> str:
    """Keystone's format for a token's times: ``2026-11-24T01:02:03.000000Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def stored_time(moment: datetime) -> str:
    """Keystone's format for a time it stored (an application credential's
    ``expires_at``, a password's expiry): its JSON encoder's ``2026-11-24T01:02:03.000000``,
    UTC with microseconds and no ``Z`` (oslo.serialization's ``PERFECT_TIME_FORMAT``)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")


@dataclass
class ValidatedToken:
    payload: TokenPayload
    body: dict[str, Any]                  # the "token" object, without its catalog
    catalog: list[dict[str, Any]]
    context: dict[str, Any] = field(default_factory=dict)

    def response(self, *, nocatalog: bool) -> dict[str, Any]:
        payload = self.payload
        # As Keystone: an unscoped token has no "catalog" at all, not an empty one.
        if nocatalog or not (payload.project_id or payload.domain_id or payload.system):
            return {"token": self.body}
        return {"token": {**self.body, "catalog": self.catalog}}


class TokenProvider:
    def __init__(self, svc: IdentityState) -> None:
        self.svc = svc
        self.formatter = TokenFormatter(svc.keys)
        self._cache: LRUCache[str, tuple[tuple[int, int], ValidatedToken]] = LRUCache(
            svc.config.identity.token_cache_size)
        self._revocations: tuple[tuple[int, int], RevocationList] | None = None
        # The catalog, and each filtered project's endpoint ids (OS-EP-FILTER).
        self._catalog: tuple[tuple[int, int], list[dict[str, Any]],
                             dict[str, set[str]]] | None = None

    @property
    def lifetime(self) -> timedelta:
        return timedelta(seconds=self.svc.config.identity.token_expiration)

    # --- validation -------------------------------------------------------------------

    async def validate(self, token: str, *, allow_expired: bool = False) -> ValidatedToken:
        """The validated token, or :class:`TokenNotFound` for anything invalid."""
        async with self.svc.read() as db:
            await self.svc.revision.refresh(db)
            revision = self.svc.revision.value
            cached = self._cache.get(token)
            if cached is not None and cached[0] == revision:
                validated = cached[1]
            else:
                try:
                    payload = self.formatter.decrypt(token)
                except InvalidToken:
                    raise TokenNotFound("Could not recognize Fernet token") from None
                validated = await self._build(db, payload, revision)
                self._cache.set(token, (revision, validated))
        now = utcnow()
        expires = validated.payload.expires_at
        if allow_expired:
            expires += timedelta(seconds=self.svc.config.identity.allow_expired_window)
        if now >= expires:
            raise TokenNotFound()
        return validated

    async def context_for(self, token: str, request_id: str) -> RequestContext:
        from ownstack.identity.errors import AuthFailed

        try:
            validated = await self.validate(token)
        except TokenNotFound:
            raise AuthFailed("The request you have made requires authentication.") from None
        return RequestContext(request_id=request_id, auth_token=token, **validated.context)

    async def _build(self, db: AsyncSession, payload: TokenPayload, revision: tuple[int, int]
                     ) -> ValidatedToken:
        """Check the token against current identity data and render its body."""
        user = await _enabled(db, User, payload.user_id)
        user_domain = await _enabled(db, Domain, user.domain_id)
        facts = TokenFacts(user_id=user.id, issued_at=payload.issued_at,
                           audit_ids=payload.audit_ids, project_id=payload.project_id,
                           domain_id=payload.domain_id, user_domain_id=user.domain_id,
                           app_cred_id=payload.app_cred_id)
        body: dict[str, Any] = {
            "methods": list(payload.methods),
            "user": {"id": user.id, "name": user.name,
                     "domain": {"id": user_domain.id, "name": user_domain.name},
                     "password_expires_at": await self._password_expiry(db, user.id)},
            "audit_ids": list(payload.audit_ids),
            "expires_at": isotime(payload.expires_at),
            "issued_at": isotime(payload.issued_at),
        }
        context: dict[str, Any] = {
            "user_id": user.id, "user_name": user.name, "user_domain_id": user.domain_id,
            "audit_ids": payload.audit_ids,
        }
        project: Project | None = None
        if payload.project_id is not None:
            project = await _enabled(db, Project, payload.project_id)
            project_domain = await _enabled(db, Domain, project.domain_id)
            facts = TokenFacts(**{**facts.__dict__, "domain_id": project.domain_id})
            roles = await effective_roles(db, user.id, project_id=project.id)
            body["project"] = {"id": project.id, "name": project.name,
                               "domain": {"id": project_domain.id,
                                          "name": project_domain.name}}
            body["is_domain"] = False
            context.update(project_id=project.id, project_name=project.name,
                           project_domain_id=project.domain_id)
        elif payload.domain_id is not None:
            domain = await _enabled(db, Domain, payload.domain_id)
            roles = await effective_roles(db, user.id, domain_id=domain.id)
            body["domain"] = {"id": domain.id, "name": domain.name}
            context.update(domain_id=domain.id)
        elif payload.system is not None:
            roles = await effective_roles(db, user.id, system=True)
            body["system"] = {payload.system: True}
            context.update(system_scope=payload.system)
        else:
            roles = []
        if payload.app_cred_id is not None:
            cred = await db.get(ApplicationCredential, payload.app_cred_id)
            if cred is None or (cred.expires_at is not None and cred.expires_at <= utcnow()):
                raise TokenNotFound()
            allowed = await app_creds.role_ids(db, cred.id)
            roles = [r for r in roles if r.id in allowed]
            body["application_credential"] = {"id": cred.id, "name": cred.name,
                                               "restricted": not cred.unrestricted}
            context.update(app_cred_id=cred.id, app_cred_unrestricted=cred.unrestricted)
            rules = (await app_creds.access_rules_of(db, [cred]))[cred.id]
            if rules:
                shown = [{"id": r.id, "service": r.service, "path": r.path,
                          "method": r.method} for r in rules]
                body["application_credential"]["access_rules"] = shown
                context.update(access_rules=tuple(shown))
        if payload.access_token_id is not None:
            # OS-OAUTH1: the roles the access token delegates (and those they imply) that
            # the user still holds on the project; a deleted or expired access token (or
            # its consumer deleted) leaves the token invalid.
            access = await db.get(OAuthAccessToken, payload.access_token_id)
            if access is None or access.project_id != payload.project_id \
                    or oauth1.is_expired(access.expires_at):
                raise TokenNotFound()
            allowed = await expand_implied(db, access.role_ids)
            roles = [r for r in roles if r.id in allowed]
            body["OS-OAUTH1"] = {"access_token_id": access.id,
                                 "consumer_id": access.consumer_id}
            context["extra"] = {"oauth_access_token_id": access.id,
                                "oauth_consumer_id": access.consumer_id}
        scoped = payload.project_id or payload.domain_id or payload.system
        if scoped and not roles:
            # Keystone refuses a scoped token whose user no longer holds any role there.
            raise TokenNotFound()
        if (await self._revocation_list(db, revision)).is_revoked(facts):
            raise TokenNotFound()
        if scoped:
            body["roles"] = [{"id": r.id, "name": r.name} for r in roles]
        context["roles"] = tuple(r.name for r in roles)
        catalog = await self._catalog_for(db, revision, payload.project_id) if scoped else []
        return ValidatedToken(payload=payload, body=body, catalog=catalog, context=context)

    async def _password_expiry(self, db: AsyncSession, user_id: str) -> str | None:
        current = await passwords.current_password(db, user_id)
        expires = current.expires_at if current is not None else None
        return stored_time(expires) if expires is not None else None

    async def _revocation_list(self, db: AsyncSession, revision: tuple[int, int]
                               ) -> RevocationList:
        if self._revocations is None or self._revocations[0] != revision:
            keep = self.lifetime + timedelta(seconds=self.svc.config.identity.allow_expired_window)
            self._revocations = (revision, await RevocationList.load(db, keep=keep))
        return self._revocations[1]

    async def _catalog_for(self, db: AsyncSession, revision: tuple[int, int],
                           project_id: str | None) -> list[dict[str, Any]]:
        if self._catalog is None or self._catalog[0] != revision:
            self._catalog = (revision, await load_catalog(db), await project_filters(db))
        _, catalog, filters = self._catalog
        if project_id is None:
            # As Keystone: a domain or system token lists no endpoint whose URL names a
            # project, and keeps the service's other endpoints.
            return [{**service, "endpoints": [
                e for e in service["endpoints"] if substitute_project(e["url"], "") == e["url"]]}
                for service in catalog]
        wanted = filters.get(project_id)
        if wanted:
            # OS-EP-FILTER: only the project's endpoints, and no service left without one.
            catalog = [{**service, "endpoints": [
                e for e in service["endpoints"] if e["id"] in wanted]} for service in catalog]
            catalog = [service for service in catalog if service["endpoints"]]
        return [{**service, "endpoints": [
            {**e, "url": substitute_project(e["url"], project_id)} for e in service["endpoints"]]}
            for service in catalog]

    # --- issue and revoke ---------------------------------------------------------------

    def seal(self, payload: TokenPayload) -> str:
        return self.formatter.encrypt(payload)

    def forget(self, token: str) -> None:
        self._cache.pop(token)


def substitute_project(url: str, project_id: str) -> str:
    """Endpoint URLs may name the project, as Cinder's ``/v3/%(project_id)s`` does."""
    return url.replace("%(project_id)s", project_id).replace("$(project_id)s", project_id) \
        .replace("%(tenant_id)s", project_id).replace("$(tenant_id)s", project_id)
