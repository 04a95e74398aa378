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
from ownstack.common.errors import BadRequest, Forbidden
from ownstack.common.times import as_utc
from ownstack.identity.errors import DuplicateEntity, EntityNotFound
from ownstack.identity.objects import revocation, rows
from ownstack.identity.objects.models import (
    AccessRule,
    ApplicationCredential,
    ApplicationCredentialAccessRule,
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


async def access_rules_of(db: AsyncSession, creds: Sequence[ApplicationCredential]
                          ) -> dict[str, list[AccessRule]]:
    """The access rules of each credential, by credential id."""
    cred_ids = [c.id for c in creds]
    found = (await db.execute(
        select(ApplicationCredentialAccessRule.application_credential_id, AccessRule)
        .join(AccessRule, AccessRule.id == ApplicationCredentialAccessRule.access_rule_id)
        .where(ApplicationCredentialAccessRule.application_credential_id.in_(cred_ids))
        .order_by(AccessRule.service, AccessRule.path, AccessRule.method))).all()
    by_cred: dict[str, list[AccessRule]] = {cred_id: [] for cred_id in cred_ids}
    for cred_id, rule in found:
        by_cred[cred_id].append(rule)
    return by_cred


async def _access_rules(db: AsyncSession, user_id: str,
                        refs: Sequence[Mapping[str, str]] | None) -> list[AccessRule]:
    """The rules a new credential gets. A rule named by ``id`` must be one of the user's;
    one given as service, path and method reuses the user's identical rule, as Keystone
    does, or is made."""
    rules: list[AccessRule] = []
    for ref in refs or []:
        triple = {k: ref[k] for k in ("service", "path", "method") if k in ref}
        rule = await db.get(AccessRule, ref["id"]) if ref.get("id") else None
        if rule is not None and rule.user_id != user_id:
            rule = None
        if rule is None and ref.get("id") and len(triple) < 3:
            raise EntityNotFound("access rule", ref["id"])
        if rule is None and len(triple) < 3:
            raise invalid("an access rule needs its service, path and method, or the id of "
                          "one of the user's rules.")
        if rule is None:
            rule = await db.scalar(select(AccessRule).where(
                AccessRule.user_id == user_id, AccessRule.service == triple["service"],
                AccessRule.path == triple["path"], AccessRule.method == triple["method"]))
        if rule is None:
            rule = AccessRule(user_id=user_id, **triple)
            db.add(rule)
            await db.flush()
        if rule not in rules:
            rules.append(rule)
    return rules


async def list_access_rules(db: AsyncSession, user_id: str, *, service: str | None = None,
                            path: str | None = None, method: str | None = None
                            ) -> Sequence[AccessRule]:
    return (await db.scalars(select(AccessRule).where(
        AccessRule.user_id == user_id,
        *rows.matching((AccessRule.service, service), (AccessRule.path, path),
                       (AccessRule.method, method)))
        .order_by(AccessRule.service, AccessRule.path, AccessRule.method))).all()


async def get_access_rule(db: AsyncSession, user_id: str, rule_id: str) -> AccessRule:
    """The user's rule; another user's is as missing as one that does not exist."""
    rule = await db.get(AccessRule, rule_id)
    if rule is None or rule.user_id != user_id:
        raise EntityNotFound("access rule", rule_id)
    return rule


async def delete_access_rule(db: AsyncSession, user_id: str, rule_id: str) -> None:
    """Delete the rule; Keystone refuses (403) while a credential still uses it."""
    rule = await get_access_rule(db, user_id, rule_id)
    in_use = await db.scalar(select(ApplicationCredentialAccessRule.application_credential_id)
                             .where(ApplicationCredentialAccessRule.access_rule_id == rule.id)
                             .limit(1))
    if in_use is not None:
        raise Forbidden("May not delete access rule in use")
    await db.delete(rule)


async def create_app_cred(db: AsyncSession, data: Mapping[str, Any], *, user_id: str,
                          project_id: str, expires_at: datetime | None, secret_hash: str,
                          token_role_ids: Sequence[str]
                          ) -> tuple[ApplicationCredential, list[Role], list[AccessRule]]:
    """A new credential of the user on the project, with the roles ``data`` asks for among
    those of the creating token (``token_role_ids``), and its access rules."""
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
    rules = await _access_rules(db, user_id, data.get("access_rules"))
    db.add_all(ApplicationCredentialAccessRule(application_credential_id=cred.id,
                                               access_rule_id=r.id) for r in rules)
    return cred, roles, rules


async def delete_app_cred(db: AsyncSession, user_id: str, cred_id: str) -> None:
    """Delete the credential and revoke the tokens it made."""
    cred = await get_app_cred(db, user_id, cred_id)
    await db.execute(delete(ApplicationCredentialRole).where(
        ApplicationCredentialRole.application_credential_id == cred.id))
    await db.execute(delete(ApplicationCredentialAccessRule).where(
        ApplicationCredentialAccessRule.application_credential_id == cred.id))
    await db.delete(cred)
    await revocation.revoke(db, app_cred_id=cred.id)
