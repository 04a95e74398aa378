"""Roles and the rules by which one role implies another."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from ownstack.common.errors import BadRequest, Forbidden, NotFound
from ownstack.identity.errors import DuplicateEntity
from ownstack.identity.objects import rows
from ownstack.identity.objects.assignments import (
    delete_assignments,
    implication_rules,
    implies,
)
from ownstack.identity.objects.domains import get_domain
from ownstack.identity.objects.models import Assignment, ImpliedRole, Role

_RESERVED = {"id", "links", "name", "description", "domain_id", "options"}
# Keystone's [assignment] prohibited_implied_role default: nothing may imply admin.
PROHIBITED_IMPLIED_ROLES = frozenset({"admin"})


def _duplicate(name: object) -> DuplicateEntity:
    return DuplicateEntity("role", f"Duplicate entry found with name {name}")


def _immutable(role: Role) -> bool:
    return bool((role.options or {}).get("immutable"))


async def get_role(db: AsyncSession, role_id: str) -> Role:
    return await rows.get_or_404(db, Role, role_id, "role")


async def list_roles(db: AsyncSession, *, domain_id: str | None = None,
                     name: str | None = None) -> Sequence[Role]:
    """Roles of one domain, or without one the global roles (as Keystone lists them)."""
    return (await db.scalars(select(Role).where(
        Role.domain_id == (domain_id or ""), *rows.matching((Role.name, name)))
        .order_by(Role.name))).all()


async def create_role(db: AsyncSession, data: Mapping[str, Any]) -> Role:
    options = {k: v for k, v in (data.get("options") or {}).items() if v is not None}
    role = Role(name=data["name"], domain_id=data.get("domain_id") or "",
                description=data.get("description"), options=options,
                extra=rows.extra_attrs(data, _RESERVED))
    if role.domain_id:
        await get_domain(db, role.domain_id)
    db.add(role)
    await rows.flush_unique(db, _duplicate(data["name"]))
    return role


async def ensure_role(db: AsyncSession, name: str) -> Role:
    """The global role of this name, made if missing."""
    role = await db.scalar(select(Role).where(Role.name == name, Role.domain_id == ""))
    if role is None:
        role = await rows.added(db, Role(name=name, domain_id="", options={}, extra={}))
    return role


async def update_role(db: AsyncSession, role_id: str, data: Mapping[str, Any]) -> Role:
    role = await get_role(db, role_id)
    if _immutable(role) and data.get("options", {}).get("immutable", True):
        raise Forbidden(f"Role {role_id} is immutable: its resource option "
                        '"immutable" must be made false before it can change.')
    if "domain_id" in data and (data["domain_id"] or "") != role.domain_id:
        raise BadRequest("Update of `domain_id` is not allowed.")
    rows.assign(role, data, ("name", "description"))
    if "options" in data:
        merged = {**(role.options or {}), **data["options"]}
        role.options = {k: v for k, v in merged.items() if v is not None}
    rows.merge_extra(role, data, _RESERVED)
    await rows.flush_unique(db, _duplicate(data.get("name")))
    return role


async def delete_role(db: AsyncSession, role_id: str) -> None:
    """Delete the role with its implication rules; its holders lose it, and their tokens
    carrying it are revoked."""
    role = await get_role(db, role_id)
    if _immutable(role):
        raise Forbidden(f"Role {role_id} is immutable: its resource option "
                        '"immutable" must be made false before it can be deleted.')
    await delete_assignments(db, Assignment.role_id == role_id)
    await db.execute(delete(ImpliedRole).where(or_(ImpliedRole.prior_role_id == role_id,
                                                   ImpliedRole.implied_role_id == role_id)))
    await db.delete(role)


# --- implied roles --------------------------------------------------------------------

async def _pair(db: AsyncSession, prior_id: str, implied_id: str) -> tuple[Role, Role]:
    return await get_role(db, prior_id), await get_role(db, implied_id)


async def get_rule(db: AsyncSession, prior_id: str, implied_id: str) -> tuple[Role, Role]:
    """The two roles of an existing rule; 404 when either role or the rule is missing."""
    prior, implied = await _pair(db, prior_id, implied_id)
    if await db.get(ImpliedRole, (prior.id, implied.id)) is None:
        raise NotFound(f"{prior.id} does not imply {implied.id}.",
                       code="identity.implied_role_not_found")
    return prior, implied


async def create_rule(db: AsyncSession, prior_id: str, implied_id: str) -> tuple[Role, Role]:
    """Make ``prior_id`` imply ``implied_id``, as Keystone allows it: never admin, never a
    domain-specific role from a global one, never a cycle."""
    prior, implied = await _pair(db, prior_id, implied_id)
    if implied.name in PROHIBITED_IMPLIED_ROLES:
        raise Forbidden(f"{implied.id} cannot be an implied roles.")
    if not prior.domain_id and implied.domain_id:
        raise Forbidden("Global role cannot imply a domain-specific role.")
    duplicate = DuplicateEntity("implied_role", f"{prior_id} already implies {implied_id}")
    rules = await implication_rules(db)
    if implied.id in rules.get(prior.id, ()):
        raise duplicate
    if implies(rules, implied.id, prior.id):
        raise BadRequest(f"Role {prior.id} cannot imply role {implied.id}: "
                         "the inference rules would form a cycle.")
    db.add(ImpliedRole(prior_role_id=prior.id, implied_role_id=implied.id))
    await rows.flush_unique(db, duplicate)       # the same rule, made concurrently
    return prior, implied


async def ensure_rule(db: AsyncSession, prior: Role, implied: Role) -> None:
    if await db.get(ImpliedRole, (prior.id, implied.id)) is None:
        db.add(ImpliedRole(prior_role_id=prior.id, implied_role_id=implied.id))


async def delete_rule(db: AsyncSession, prior_id: str, implied_id: str) -> None:
    prior, implied = await get_rule(db, prior_id, implied_id)
    await db.execute(delete(ImpliedRole).where(ImpliedRole.prior_role_id == prior.id,
                                               ImpliedRole.implied_role_id == implied.id))


async def inferences(db: AsyncSession, prior_id: str | None = None
                     ) -> list[tuple[Role, list[Role]]]:
    """Every rule (or those of one existing prior role), grouped by prior role: each prior
    role with the roles it directly implies, both sorted by name."""
    rules = await implication_rules(db)
    if prior_id is not None:
        await get_role(db, prior_id)
        rules = {prior_id: rules.get(prior_id, [])}
    ids = {*rules, *(i for implied in rules.values() for i in implied)}
    roles = {r.id: r for r in (await db.scalars(select(Role).where(Role.id.in_(ids)))).all()}
    return [(roles[prior], sorted((roles[i] for i in implied), key=lambda r: r.name))
            for prior, implied in sorted(rules.items(), key=lambda kv: roles[kv[0]].name)]
