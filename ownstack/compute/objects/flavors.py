"""Flavors, their extra specs and their project access lists, in the database."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ownstack.common.api.pagination import paginate
from ownstack.common.context import RequestContext
from ownstack.common.db.base import utcnow
from ownstack.common.db.cas import rows_matched
from ownstack.common.errors import BadRequest, NotFound
from ownstack.compute.errors import (
    ExtraSpecNotFound,
    FlavorAccessExists,
    FlavorExists,
    FlavorNotFound,
)
from ownstack.compute.objects.models import Flavor, FlavorExtraSpec, FlavorProject

# Nova's sort keys for GET /flavors, less vcpu_weight, a column ownstack does not keep.
SORT_KEYS = frozenset({"created_at", "description", "disabled", "ephemeral_gb", "flavorid",
                       "id", "is_public", "memory_mb", "name", "root_gb", "rxtx_factor",
                       "swap", "updated_at", "vcpus"})


@dataclass
class FlavorFilters:
    is_public: bool | None = True      # None: public and private alike
    min_memory_mb: int | None = None
    min_root_gb: int | None = None


@dataclass
class FlavorRecord:
    flavor: Flavor
    extra_specs: dict[str, str] = field(default_factory=dict)


def _visible(ctx: RequestContext) -> Any:
    """Nova's rule: admins see every flavor, others public ones and those shared with
    their project."""
    if ctx.is_admin:
        return sa.true()
    shared = sa.exists().where(FlavorProject.flavor_id == Flavor.id,
                               FlavorProject.project_id == (ctx.project_id or ""))
    return sa.or_(Flavor.is_public.is_(True), shared)


async def get_flavor(db: AsyncSession, ctx: RequestContext, flavorid: str) -> Flavor:
    found = (await db.execute(sa.select(Flavor).where(
        Flavor.flavorid == flavorid, _visible(ctx)))).scalar_one_or_none()
    if found is None:
        raise FlavorNotFound(flavorid)
    return found


async def list_flavors(db: AsyncSession, ctx: RequestContext, filters: FlavorFilters, *,
                       limit: int | None, marker: str | None,
                       sort: Sequence[tuple[str, str]]) -> list[Flavor]:
    stmt = sa.select(Flavor).where(_visible(ctx))
    if filters.is_public is not None:
        public: Any = Flavor.is_public.is_(filters.is_public)
        if filters.is_public and ctx.project_id:
            # As Nova: "public" also takes in private flavors shared with the caller.
            public = sa.or_(public, sa.exists().where(
                FlavorProject.flavor_id == Flavor.id,
                FlavorProject.project_id == ctx.project_id))
        stmt = stmt.where(public)
    if not ctx.is_admin:
        stmt = stmt.where(Flavor.disabled.is_(False))
    if filters.min_memory_mb is not None:
        stmt = stmt.where(Flavor.memory_mb >= filters.min_memory_mb)
    if filters.min_root_gb is not None:
        stmt = stmt.where(Flavor.root_gb >= filters.min_root_gb)
    marker_row = None
    if marker is not None:
        marker_row = (await db.execute(sa.select(Flavor).where(
            Flavor.flavorid == marker, _visible(ctx)))).scalar_one_or_none()
        if marker_row is None:
            raise BadRequest(f"Marker {marker} could not be found.")
    stmt = paginate(stmt, Flavor, limit=limit, marker_row=marker_row, sort=sort)
    return list((await db.execute(stmt)).scalars())


async def create_flavor(db: AsyncSession, values: Mapping[str, Any]) -> Flavor:
    name, flavorid = values["name"], values["flavorid"]
    if await _exists(db, Flavor.name == name):
        raise FlavorExists(f"Flavor with name {name} already exists.")
    if await _exists(db, Flavor.flavorid == flavorid):
        raise FlavorExists(f"Flavor with ID {flavorid} already exists.")
    flavor = Flavor(**values)
    db.add(flavor)
    try:
        await db.flush()
    except IntegrityError:
        # A concurrent create of the same name or id won the race.
        raise FlavorExists(f"Flavor with name {name} or ID {flavorid} already exists.") \
            from None
    return flavor


async def update_description(db: AsyncSession, ctx: RequestContext, flavorid: str,
                             description: str | None) -> Flavor:
    flavor = await get_flavor(db, ctx, flavorid)
    flavor.description = description
    flavor.updated_at = utcnow()
    await db.flush()
    return flavor


async def delete_flavor(db: AsyncSession, ctx: RequestContext, flavorid: str) -> None:
    flavor = await get_flavor(db, ctx, flavorid)
    # Explicit deletes: SQLite enforces no foreign keys unless told to.
    await db.execute(sa.delete(FlavorExtraSpec).where(FlavorExtraSpec.flavor_id == flavor.id))
    await db.execute(sa.delete(FlavorProject).where(FlavorProject.flavor_id == flavor.id))
    await db.delete(flavor)


async def _exists(db: AsyncSession, condition: Any) -> bool:
    return (await db.execute(sa.select(sa.exists().where(condition)))).scalar_one()


# Extra specs.

async def extra_specs_of(db: AsyncSession, flavor_ids: Sequence[int]) -> dict[int, dict[str, str]]:
    result: dict[int, dict[str, str]] = {flavor_id: {} for flavor_id in flavor_ids}
    if not flavor_ids:
        return result
    rows = await db.execute(sa.select(FlavorExtraSpec.flavor_id, FlavorExtraSpec.key,
                                      FlavorExtraSpec.value)
                            .where(FlavorExtraSpec.flavor_id.in_(flavor_ids))
                            .order_by(FlavorExtraSpec.key))
    for flavor_id, key, value in rows:
        result[flavor_id][key] = value
    return result


async def set_extra_specs(db: AsyncSession, flavor: Flavor, specs: Mapping[str, str]) -> None:
    existing = {row.key: row for row in (await db.execute(sa.select(FlavorExtraSpec).where(
        FlavorExtraSpec.flavor_id == flavor.id))).scalars()}
    for key, value in specs.items():
        if key in existing:
            existing[key].value = value
        else:
            db.add(FlavorExtraSpec(flavor_id=flavor.id, key=key, value=value))
    flavor.updated_at = utcnow()
    await db.flush()


async def delete_extra_spec(db: AsyncSession, flavor: Flavor, key: str) -> None:
    deleted = await db.execute(sa.delete(FlavorExtraSpec).where(
        FlavorExtraSpec.flavor_id == flavor.id, FlavorExtraSpec.key == key))
    if rows_matched(deleted) == 0:
        raise ExtraSpecNotFound(flavor.flavorid, key)


# Access lists of private flavors.

async def access_list(db: AsyncSession, flavor: Flavor) -> list[str]:
    rows = await db.execute(sa.select(FlavorProject.project_id).where(
        FlavorProject.flavor_id == flavor.id).order_by(FlavorProject.project_id))
    return list(rows.scalars())


async def add_access(db: AsyncSession, flavor: Flavor, project_id: str) -> None:
    conflict = FlavorAccessExists(f"Flavor access already exists for flavor "
                                  f"{flavor.flavorid} and project {project_id} combination.")
    if await _exists(db, sa.and_(FlavorProject.flavor_id == flavor.id,
                                 FlavorProject.project_id == project_id)):
        raise conflict
    db.add(FlavorProject(flavor_id=flavor.id, project_id=project_id))
    try:
        await db.flush()
    except IntegrityError:
        raise conflict from None


async def remove_access(db: AsyncSession, flavor: Flavor, project_id: str) -> None:
    deleted = await db.execute(sa.delete(FlavorProject).where(
        FlavorProject.flavor_id == flavor.id, FlavorProject.project_id == project_id))
    if rows_matched(deleted) == 0:
        raise NotFound(f"Flavor access not found for {flavor.flavorid} / {project_id} "
                       "combination.")
