"""Domains: the default one, finding, listing and changing them, and their cascade."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ownstack.common.errors import BadRequest, Forbidden
from ownstack.identity.errors import DuplicateEntity
from ownstack.identity.objects import cleanup, revocation, rows
from ownstack.identity.objects.models import Domain, Project, User

DEFAULT_DOMAIN_ID = "default"

# Attributes with a column (or no place at all); any other is kept in ``extra``.
_RESERVED = {"id", "links", "name", "description", "enabled", "explicit_domain_id"}


def _duplicate(name: object) -> DuplicateEntity:
    return DuplicateEntity("domain", f"Duplicate entry found with name {name}")


async def ensure_default_domain(db: AsyncSession) -> None:
    if await db.get(Domain, DEFAULT_DOMAIN_ID) is None:
        db.add(Domain(id=DEFAULT_DOMAIN_ID, name="Default", description="The default domain",
                      enabled=True, extra={}))


async def get_domain(db: AsyncSession, domain_id: str, kind: str = "domain") -> Domain:
    """The domain, or a 404 naming it as ``kind`` (a domain may stand for a project)."""
    return await rows.get_or_404(db, Domain, domain_id, kind)


async def find_domain(db: AsyncSession, ref: Mapping[str, Any]) -> Domain | None:
    """The domain an authentication request names by id or by name."""
    if ref.get("id"):
        return await db.get(Domain, ref["id"])
    if ref.get("name"):
        return await db.scalar(select(Domain).where(Domain.name == ref["name"]))
    raise BadRequest("Invalid input for field 'domain': an id or a name is required.")


_Owned = TypeVar("_Owned", Project, User)


async def find_in_domain(db: AsyncSession, model: type[_Owned], ref: Mapping[str, Any],
                         field: str) -> _Owned | None:
    """The project or user an authentication request names: by id, or by name and domain.
    ``field`` is what the request calls it."""
    if ref.get("id"):
        return await db.get(model, ref["id"])
    if not ref.get("name"):
        raise BadRequest(f"Invalid input for field '{field}': an id or a name is required.")
    domain = await find_domain(db, ref.get("domain") or {})
    if domain is None:
        return None
    return await db.scalar(select(model).where(model.domain_id == domain.id,
                                               model.name == ref["name"]))


async def is_enabled(db: AsyncSession, domain_id: str) -> bool:
    domain = await db.get(Domain, domain_id)
    return domain is not None and domain.enabled


async def list_domains(db: AsyncSession, *, name: str | None = None,
                       enabled: bool | None = None) -> Sequence[Domain]:
    return (await db.scalars(select(Domain).order_by(Domain.name).where(
        *rows.matching((Domain.name, name), (Domain.enabled, enabled))))).all()


async def create_domain(db: AsyncSession, data: Mapping[str, Any]) -> Domain:
    domain = Domain(name=data["name"], description=data.get("description"),
                    enabled=data.get("enabled", True), extra=rows.extra_attrs(data, _RESERVED))
    if data.get("explicit_domain_id"):
        domain.id = data["explicit_domain_id"]
    db.add(domain)
    await rows.flush_unique(db, _duplicate(data["name"]))
    return domain


async def update_domain(db: AsyncSession, domain_id: str, data: Mapping[str, Any]) -> Domain:
    """Change the domain; disabling it revokes every token tied to it."""
    domain = await get_domain(db, domain_id)
    rows.assign(domain, data, ("name", "description", "enabled"))
    rows.merge_extra(domain, data, _RESERVED)
    if data.get("enabled") is False:
        await revocation.revoke(db, domain_id=domain_id)
    await rows.flush_unique(db, _duplicate(data.get("name")))
    return domain


async def delete_domain(db: AsyncSession, domain_id: str) -> None:
    """Keystone's cascade: a disabled domain goes with its projects, users, groups and
    domain-specific roles. The default domain is never deleted (clients and the admin
    user depend on it), so that is a 403 whatever its state."""
    domain = await get_domain(db, domain_id)
    if domain.id == DEFAULT_DOMAIN_ID:
        raise Forbidden("The default domain cannot be deleted: ownstack and its admin "
                        "user rely on it.")
    if domain.enabled:
        raise Forbidden("Cannot delete a domain that is enabled, please disable it first.")
    await cleanup.delete_domain(db, domain_id)
