"""Application credentials: a user hands some of their roles on one project to an
application. The credential binds to the project of the token that creates it and carries
a subset of that token's roles. Only a bcrypt hash of its secret is stored."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from ownstack.common.db.base import utcnow
from ownstack.common.errors import BadRequest
from ownstack.common.times import as_utc
from ownstack.identity.errors import DuplicateEntity, EntityNotFound
from ownstack.identity.objects import revocation, rows
from ownstack.identity.objects.models import (
    ApplicationCredential,
    ApplicationCredentialRole,
    Role,
)


def invalid(detail: str) -> BadRequest:
    return BadRequest(f"Invalid application credential: {detail}")


def new_secret() -> str:
    """64 random bytes in unpadded url-safe base64, as Keystone generates them."""
    return base64.urlsafe_b64encode(secrets.token_bytes(64)).rstrip(b"=").decode("ascii")


def parse_expiry(value: str | None) -> datetime | None:
    """Keystone's expiration parsing: ISO 8601, UTC when no offset, never in the past."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise BadRequest(f"Invalid input for field 'expires_at': {value!r} is not an "
                         "ISO 8601 timestamp.") from None
    moment = as_utc(moment)
    if moment <= utcnow():
        raise BadRequest("The 'expires_at' must not be before now.")
    return moment


async def get_app_cred(db: AsyncSession, user_id: str, cred_id: str) -> ApplicationCredential:
    """The user's credential; another user's is as missing as one that does not exist."""
    cred = await db.get(ApplicationCredential, cred_id)
    if cred is None or cred.user_id != user_id:
        raise EntityNotFound("application credential", cred_id)
    return cred


async def find_by_name(db: AsyncSession, user_id: str, name: str
                       ) -> ApplicationCredential | None:
    return await db.scalar(select(ApplicationCredential).where(
        ApplicationCredential.user_id == user_id, ApplicationCredential.name == name))


async def list_app_creds(db: AsyncSession, user_id: str, *, name: str | None = None
                         ) -> Sequence[ApplicationCredential]:
    return (await db.scalars(select(ApplicationCredential).where(
        ApplicationCredential.user_id == user_id,
        *rows.matching((ApplicationCredential.name, name)))
        .order_by(ApplicationCredential.name))).all()


async def roles_of(db: AsyncSession, creds: Sequence[ApplicationCredential]
                   ) -> dict[str, list[Role]]:
    """The roles of each credential, by credential id and role name; roles deleted since
    are left out."""
    cred_ids = [c.id for c in creds]
    found = (await db.execute(
        select(ApplicationCredentialRole.application_credential_id, Role)
        .join(Role, Role.id == ApplicationCredentialRole.role_id)
        .where(ApplicationCredentialRole.application_credential_id.in_(cred_ids))
        .order_by(Role.name))).all()
    by_cred: dict[str, list[Role]] = {cred_id: [] for cred_id in cred_ids}
    for cred_id, role in found:
        by_cred[cred_id].append(role)
    return by_cred


async def role_ids(db: AsyncSession, cred_id: str) -> set[str]:
    """The ids of the roles the credential was given, deleted roles included."""
    return set((await db.scalars(select(ApplicationCredentialRole.role_id).where(
        ApplicationCredentialRole.application_credential_id == cred_id))).all())


async def _global_role_id(db: AsyncSession, name: str) -> str:
    role_id = await db.scalar(select(Role.id).where(Role.name == name, Role.domain_id == ""))
    if role_id is None:
        raise EntityNotFound("role", name)
    return role_id


async def _delegated_roles(db: AsyncSession, refs: Sequence[Mapping[str, str]] | None,
                           token_role_ids: Sequence[str]) -> list[Role]:
    """The roles the credential gets: those asked for, each of which the creating token
    must carry, or else all the roles of that token."""
    wanted: list[str] = []
    for ref in refs or []:
        role_id = ref.get("id") or await _global_role_id(db, ref["name"])
        if role_id not in token_role_ids:
            raise invalid("Cannot create an application credential with unassigned role")
        wanted.append(role_id)
    ids = list(dict.fromkeys(wanted)) if refs else list(token_role_ids)
    return list((await db.scalars(select(Role).where(Role.id.in_(ids))
                                  .order_by(Role.name))).all())


async def create_app_cred(db: AsyncSession, data: Mapping[str, Any], *, user_id: str,
                          project_id: str, expires_at: datetime | None, secret_hash: str,
                          token_role_ids: Sequence[str]
                          ) -> tuple[ApplicationCredential, list[Role]]:
    """A new credential of the user on the project, with the roles ``data`` asks for among
    those of the creating token (``token_role_ids``)."""
    cred = ApplicationCredential(
        name=data["name"], user_id=user_id, project_id=project_id,
        description=data.get("description"), expires_at=expires_at,
        unrestricted=data.get("unrestricted", False), secret_hash=secret_hash)
    roles = await _delegated_roles(db, data.get("roles"), token_role_ids)
    db.add(cred)
    await rows.flush_unique(db, DuplicateEntity("application_credential",
                                           f"Duplicate entry found with name {data['name']}"))
    db.add_all(ApplicationCredentialRole(application_credential_id=cred.id, role_id=r.id)
               for r in roles)
    return cred, roles


async def delete_app_cred(db: AsyncSession, user_id: str, cred_id: str) -> None:
    """Delete the credential and revoke the tokens it made."""
    cred = await get_app_cred(db, user_id, cred_id)
    await db.execute(delete(ApplicationCredentialRole).where(
        ApplicationCredentialRole.application_credential_id == cred.id))
    await db.delete(cred)
    await revocation.revoke(db, app_cred_id=cred.id)
