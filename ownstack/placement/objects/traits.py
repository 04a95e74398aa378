"""Traits, standard and custom, and the traits each provider has."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Final

from sqlalchemy import bindparam, delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ownstack.common.db.base import utcnow
from ownstack.common.db.core import Runner, run
from ownstack.common.errors import BadRequest, Conflict, NotFound
from ownstack.placement.objects.models import ProviderTrait, Trait
from ownstack.placement.objects.names import Names
from ownstack.placement.objects.providers import Provider, bump_generation


async def list_traits(db: AsyncSession, *, names_in: list[str] | None = None,
                      prefix: str | None = None, associated: bool | None = None
                      ) -> list[tuple[str, datetime | None]]:
    stmt = select(Trait.name, Trait.created_at).order_by(Trait.name)
    if names_in is not None:
        stmt = stmt.where(Trait.name.in_(names_in))
    if prefix is not None:
        stmt = stmt.where(Trait.name.startswith(prefix, autoescape=True))
    if associated is not None:
        linked = select(ProviderTrait.trait_id)
        stmt = stmt.where(Trait.id.in_(linked) if associated else Trait.id.not_in(linked))
    return [(row[0], row[1]) for row in (await db.execute(stmt)).all()]


async def get_trait(db: AsyncSession, name: str) -> tuple[int, datetime | None]:
    row = (await db.execute(select(Trait.id, Trait.created_at)
                            .where(Trait.name == name))).first()
    if row is None:
        raise NotFound(f"No such trait(s): {name}.")
    return row[0], row[1]


async def ensure_trait(db: AsyncSession, names: Names, name: str) -> tuple[bool, datetime | None]:
    """Create custom trait ``name`` unless it exists: (created, created_at)."""
    row = (await db.execute(select(Trait.created_at).where(Trait.name == name))).first()
    if row is not None:
        return False, row[0]
    now = utcnow()
    try:
        async with db.begin_nested():
            await db.execute(insert(Trait).values(name=name, created_at=now))
    except IntegrityError:
        return False, now
    names.traits.forget()
    return True, now


async def delete_trait(db: AsyncSession, names: Names, name: str) -> None:
    trait_id, _ = await get_trait(db, name)
    if not name.startswith("CUSTOM_"):
        raise BadRequest(f"Cannot delete standard trait {name}.")
    used = (await db.execute(select(ProviderTrait.trait_id)
                             .where(ProviderTrait.trait_id == trait_id).limit(1))).first()
    if used is not None:
        raise Conflict(f"The trait {name} is in use by a resource provider.")
    await db.execute(delete(Trait).where(Trait.id == trait_id))
    names.traits.forget()


async def provider_traits(db: AsyncSession, provider_id: int) -> list[str]:
    rows = await db.execute(select(Trait.name).join(
        ProviderTrait, ProviderTrait.trait_id == Trait.id)
        .where(ProviderTrait.resource_provider_id == provider_id).order_by(Trait.name))
    return list(rows.scalars())


async def traits_of(db: Runner, provider_ids: Sequence[int] | None
                    ) -> dict[int, list[str]]:
    """provider id -> its trait names, for the providers ``provider_ids`` (every provider
    when None) in one query."""
    if provider_ids is None:
        rows = await run(db, _ALL_TRAITS)
    else:
        rows = await run(db, _TRAITS_OF, {"b_ids": list(provider_ids)})
    out: dict[int, list[str]] = {}
    for rp_id, name in rows.all():
        out.setdefault(rp_id, []).append(name)
    return out


# Built once: every allocation candidates request reads them (a statement built per
# request costs more CPU than SQLite spends on it).
_ALL_TRAITS: Final = (select(ProviderTrait.resource_provider_id, Trait.name)
                      .join(Trait, Trait.id == ProviderTrait.trait_id).order_by(Trait.name))
_TRAITS_OF: Final = _ALL_TRAITS.where(
    ProviderTrait.resource_provider_id.in_(bindparam("b_ids", expanding=True)))


async def set_provider_traits(db: AsyncSession, names: Names, provider: Provider,
                              generation: int | None, traits: list[str]) -> None:
    await bump_generation(db, provider, generation)
    ids = await names.traits.ids(db, traits)
    missing = sorted(set(traits) - ids.keys())
    if missing:
        raise BadRequest(f"No such trait {', '.join(missing)}")
    await db.execute(delete(ProviderTrait)
                     .where(ProviderTrait.resource_provider_id == provider.id))
    if ids:
        await db.execute(insert(ProviderTrait), [
            {"resource_provider_id": provider.id, "trait_id": trait_id}
            for trait_id in sorted(ids.values())])
