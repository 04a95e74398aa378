"""Application credentials: ``/v3/users/{user_id}/application_credentials``.

A user hands some of their roles on one project to an application. The credential binds
to the project of the token that creates it and carries a subset of that token's roles.
Its secret is shown once, in the answer to the create; only a bcrypt hash is stored.
"""

from __future__ import annotations

import base64
import secrets
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from ownstack.common.api.app import empty_response, json_response
from ownstack.common.api.schema import BOOLEAN, DESCRIPTION, ID, NAME, Validator
from ownstack.common.db.base import utcnow
from ownstack.common.errors import BadRequest, Forbidden
from ownstack.identity.api.handlers.common import collection_links, self_link
from ownstack.identity.errors import DuplicateEntity, EntityNotFound
from ownstack.identity.objects import revocation
from ownstack.identity.objects.models import (
    ApplicationCredential,
    ApplicationCredentialRole,
    Role,
)
from ownstack.identity.state import Req
from ownstack.identity.tokens.provider import isotime

_ROLE_REF = {"type": "object", "minProperties": 1, "maxProperties": 1,
             "additionalProperties": False, "properties": {"id": ID, "name": NAME}}

# Keystone ignores attributes it does not know here (clients send e.g. "user"), so do we.
CREATE = Validator({
    "type": "object", "required": ["application_credential"], "additionalProperties": False,
    "properties": {"application_credential": {
        "type": "object", "required": ["name"], "properties": {
            "name": NAME, "description": DESCRIPTION,
            "secret": {"type": ["string", "null"], "maxLength": 4096},
            "expires_at": {"type": ["string", "null"]},
            "roles": {"type": "array", "items": _ROLE_REF},
            "unrestricted": BOOLEAN,
            "access_rules": {"type": ["array", "null"]},
        }}},
})


def _invalid(detail: str) -> BadRequest:
    return BadRequest(f"Invalid application credential: {detail}")


def view(req: Req, cred: ApplicationCredential, roles: list[Role]) -> dict[str, Any]:
    return {
        "id": cred.id, "name": cred.name, "description": cred.description,
        "user_id": cred.user_id, "project_id": cred.project_id,
        "roles": [{"id": r.id, "name": r.name, "domain_id": r.domain_id or None}
                  for r in roles],
        "expires_at": isotime(cred.expires_at) if cred.expires_at is not None else None,
        "unrestricted": cred.unrestricted,
        "links": self_link(req, f"/v3/users/{cred.user_id}/application_credentials/{cred.id}"),
    }


async def _roles_of(db: AsyncSession, cred_ids: list[str]) -> dict[str, list[Role]]:
    """The roles of each credential, by credential id; roles deleted since are left out."""
    rows = (await db.execute(
        select(ApplicationCredentialRole.application_credential_id, Role)
        .join(Role, Role.id == ApplicationCredentialRole.role_id)
        .where(ApplicationCredentialRole.application_credential_id.in_(cred_ids))
        .order_by(Role.name))).all()
    by_cred: dict[str, list[Role]] = {cred_id: [] for cred_id in cred_ids}
    for cred_id, role in rows:
        by_cred[cred_id].append(role)
    return by_cred


async def _load(db: AsyncSession, user_id: str, cred_id: str) -> ApplicationCredential:
    cred = await db.get(ApplicationCredential, cred_id)
    if cred is None or cred.user_id != user_id:
        raise EntityNotFound("application credential", cred_id)
    return cred


def _refuse_restricted(req: Req) -> None:
    """Keystone: a restricted application credential cannot make or delete others, or a
    stolen one could renew itself forever."""
    if req.ctx.app_cred_id is not None and not req.ctx.app_cred_unrestricted:
        raise Forbidden("Using method 'application_credential' is not allowed for managing "
                        "additional application credentials.")


async def list_app_creds(req: Req) -> Response:
    user_id = req.params["user_id"]
    req.svc.enforce(req.ctx, "identity:list_application_credentials",
                    {"target.user.id": user_id})
    stmt = select(ApplicationCredential).where(ApplicationCredential.user_id == user_id) \
        .order_by(ApplicationCredential.name)
    if "name" in req.query:
        stmt = stmt.where(ApplicationCredential.name == req.query["name"])
    async with req.svc.read() as db:
        creds = (await db.scalars(stmt)).all()
        roles = await _roles_of(db, [c.id for c in creds])
    return json_response({"application_credentials": [view(req, c, roles[c.id]) for c in creds],
                          "links": collection_links(req)})


async def show_app_cred(req: Req) -> Response:
    user_id = req.params["user_id"]
    req.svc.enforce(req.ctx, "identity:get_application_credential",
                    {"target.user.id": user_id})
    async with req.svc.read() as db:
        cred = await _load(db, user_id, req.params["app_cred_id"])
        roles = await _roles_of(db, [cred.id])
    return json_response({"application_credential": view(req, cred, roles[cred.id])})


async def create_app_cred(req: Req) -> Response:
    user_id = req.params["user_id"]
    req.svc.enforce(req.ctx, "identity:create_application_credential",
                    {"target.user.id": user_id})
    data = (await req.json(CREATE))["application_credential"]
    _refuse_restricted(req)
    if req.ctx.user_id != user_id:
        raise Forbidden("You are not authorized to perform the requested action: Cannot "
                        "create an application credential for another user.")
    if req.ctx.project_id is None:
        raise _invalid("an application credential is bound to the project of the token "
                       "that creates it; authenticate with a project-scoped token.")
    if data.get("access_rules"):
        raise _invalid("access rules are not supported by ownstack.")
    expires_at = _expiry(data.get("expires_at"))
    secret = data.get("secret") or _new_secret()
    cred = ApplicationCredential(
        name=data["name"], user_id=user_id, project_id=req.ctx.project_id,
        description=data.get("description"), expires_at=expires_at,
        unrestricted=data.get("unrestricted", False),
        secret_hash=await req.svc.hasher.hash(secret))
    try:
        async with req.svc.write() as db:
            roles = await _delegated_roles(req, db, data.get("roles"))
            db.add(cred)
            await db.flush()
            db.add_all(ApplicationCredentialRole(application_credential_id=cred.id,
                                                 role_id=r.id) for r in roles)
    except IntegrityError:
        raise DuplicateEntity("application_credential",
                              f"Duplicate entry found with name {data['name']}") from None
    return json_response({"application_credential": {**view(req, cred, roles),
                                                     "secret": secret}}, status=201)


async def delete_app_cred(req: Req) -> Response:
    user_id = req.params["user_id"]
    req.svc.enforce(req.ctx, "identity:delete_application_credential",
                    {"target.user.id": user_id})
    _refuse_restricted(req)
    async with req.svc.write() as db:
        cred = await _load(db, user_id, req.params["app_cred_id"])
        await db.execute(delete(ApplicationCredentialRole).where(
            ApplicationCredentialRole.application_credential_id == cred.id))
        await db.delete(cred)
        await revocation.revoke(db, app_cred_id=cred.id)
    return empty_response()


async def _delegated_roles(req: Req, db: AsyncSession, refs: list[dict[str, str]] | None
                           ) -> list[Role]:
    """The roles the credential gets: those asked for, each of which the creating token
    must carry, or else all the roles of that token."""
    token = await req.svc.tokens.validate(req.ctx.auth_token or "")
    token_role_ids = [r["id"] for r in token.body.get("roles", [])]
    wanted: list[str] = []
    for ref in refs or []:
        role_id = ref.get("id") or await _global_role_id(db, ref["name"])
        if role_id not in token_role_ids:
            raise _invalid("Cannot create an application credential with unassigned role")
        wanted.append(role_id)
    ids = list(dict.fromkeys(wanted)) if refs else token_role_ids
    return list((await db.scalars(select(Role).where(Role.id.in_(ids))
                                  .order_by(Role.name))).all())


async def _global_role_id(db: AsyncSession, name: str) -> str:
    role_id = await db.scalar(select(Role.id).where(Role.name == name, Role.domain_id == ""))
    if role_id is None:
        raise EntityNotFound("role", name)
    return role_id


def _expiry(value: str | None) -> datetime | None:
    """Keystone's expiration parsing: ISO 8601, UTC when no offset, never in the past."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise BadRequest(f"Invalid input for field 'expires_at': {value!r} is not an "
                         "ISO 8601 timestamp.") from None
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    if moment <= utcnow():
        raise BadRequest("The 'expires_at' must not be before now.")
    return moment


def _new_secret() -> str:
    """64 random bytes in unpadded url-safe base64, as Keystone generates them."""
    return base64.urlsafe_b64encode(secrets.token_bytes(64)).rstrip(b"=").decode("ascii")
