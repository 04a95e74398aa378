"""Subnet pools: who sees which, their rules of change, and race-free prefix allocation.

A project sees its own pools and shared ones; an admin sees all. A subnet takes its prefix
from a pool inside the subnet's write transaction (:func:`allocate`): the transaction first
bumps the pool's ``generation`` by compare-and-swap, then reads the pool's subnets and
picks a free prefix. Of two concurrent allocations from one pool only one wins the swap;
the loser (0 rows) raises :class:`PoolRaced`, its transaction rolls back, and the caller
runs it again on fresh data. Two subnets of one pool therefore never overlap, on any
database.
"""

from __future__ import annotations

from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ColumnElement

from ownstack.common.config import NetworkConfig
from ownstack.common.context import RequestContext
from ownstack.common.db.cas import rows_matched
from ownstack.network import pool_rules
from ownstack.network.errors import ConcurrentUpdate, InUse, ResourceNotFound
from ownstack.network.objects import quotas
from ownstack.network.objects.listing import Field, Kind, as_bool, as_int
from ownstack.network.objects.models import Subnet, SubnetPool
from ownstack.network.objects.standard import check_revision, drop_tags, touch
from ownstack.network.subnet_rules import IPNetwork

SUBNETPOOLS = Kind(name="subnet_pool", collection="subnetpools", model=SubnetPool, fields={
    "id": Field(SubnetPool.id),
    "name": Field(SubnetPool.name),
    "description": Field(SubnetPool.description),
    "project_id": Field(SubnetPool.project_id),
    "tenant_id": Field(SubnetPool.project_id),
    "ip_version": Field(SubnetPool.ip_version, as_int),
    "default_prefixlen": Field(SubnetPool.default_prefixlen, as_int),
    "min_prefixlen": Field(SubnetPool.min_prefixlen, as_int),
    "max_prefixlen": Field(SubnetPool.max_prefixlen, as_int),
    "shared": Field(SubnetPool.shared, as_bool),
    "is_default": Field(SubnetPool.is_default, as_bool),
    "default_quota": Field(SubnetPool.default_quota, as_int),
    "revision_number": Field(SubnetPool.revision_number, as_int),
    "created_at": Field(SubnetPool.created_at),
    "updated_at": Field(SubnetPool.updated_at),
})


class PoolRaced(ConcurrentUpdate):
    """Another transaction took a prefix of the same pool meanwhile: run again."""


def visible(ctx: RequestContext) -> list[ColumnElement[bool]]:
    if ctx.is_admin:
        return []
    return [sa.or_(SubnetPool.project_id == ctx.project_id, SubnetPool.shared.is_(True))]


async def get_subnetpool(db: AsyncSession, ctx: RequestContext, pool_id: str) -> SubnetPool:
    row = (await db.execute(sa.select(SubnetPool).where(
        SubnetPool.id == pool_id, *visible(ctx)))).scalar_one_or_none()
    if row is None:
        raise ResourceNotFound("subnet_pool", pool_id)
    return row


async def default_pool(db: AsyncSession, ctx: RequestContext, ip_version: int
                       ) -> SubnetPool | None:
    """The default pool of ``ip_version`` the caller may use, if there is one."""
    return (await db.execute(sa.select(SubnetPool).where(
        SubnetPool.is_default.is_(True), SubnetPool.ip_version == ip_version,
        *visible(ctx)).limit(1))).scalar_one_or_none()


def plan_of(row: SubnetPool) -> pool_rules.PoolPlan:
    return pool_rules.PoolPlan(prefixes=tuple(row.prefixes), ip_version=row.ip_version,
                               min_prefixlen=row.min_prefixlen,
                               max_prefixlen=row.max_prefixlen,
                               default_prefixlen=row.default_prefixlen)


async def _check_single_default(db: AsyncSession, ip_version: int, pool_id: str) -> None:
    other = await db.scalar(sa.select(SubnetPool.id).where(
        SubnetPool.is_default.is_(True), SubnetPool.ip_version == ip_version,
        SubnetPool.id != pool_id).limit(1))
    if other is not None:
        raise pool_rules.default_exists()


async def create_subnetpool(db: AsyncSession, config: NetworkConfig, project_id: str,
                            data: dict[str, Any], pool_id: str) -> SubnetPool:
    plan = pool_rules.plan_pool(data)
    await quotas.check(db, config, project_id, "subnetpool")
    if data.get("is_default"):
        await _check_single_default(db, plan.ip_version, pool_id)
    row = SubnetPool(
        id=pool_id, project_id=project_id, name=data.get("name") or "",
        description=data.get("description") or "", ip_version=plan.ip_version,
        prefixes=list(plan.prefixes), default_prefixlen=plan.default_prefixlen,
        min_prefixlen=plan.min_prefixlen, max_prefixlen=plan.max_prefixlen,
        shared=data.get("shared", False), is_default=data.get("is_default", False),
        default_quota=data.get("default_quota"), generation=0)
    db.add(row)
    await db.flush()
    return row


async def update_subnetpool(db: AsyncSession, row: SubnetPool, data: dict[str, Any],
                            revision: int | None) -> SubnetPool:
    check_revision(row, revision)
    plan = pool_rules.plan_pool(data, plan_of(row))
    if data.get("is_default"):
        await _check_single_default(db, row.ip_version, row.id)
    row.prefixes = list(plan.prefixes)
    row.min_prefixlen, row.max_prefixlen = plan.min_prefixlen, plan.max_prefixlen
    row.default_prefixlen = plan.default_prefixlen
    for name in ("name", "description"):
        if name in data:
            setattr(row, name, data[name] or "")
    if "is_default" in data:
        row.is_default = data["is_default"]
    if "default_quota" in data:
        row.default_quota = data["default_quota"]
    touch(row)
    await db.flush()
    return row


async def delete_subnetpool(db: AsyncSession, row: SubnetPool, revision: int | None) -> None:
    check_revision(row, revision)
    used = await db.scalar(sa.select(Subnet.id).where(Subnet.subnetpool_id == row.id).limit(1))
    if used is not None:
        raise InUse("subnet_pool", f"Unable to complete operation on subnet pool {row.id}. "
                    "Subnet pool has existing allocations.")
    await drop_tags(db, [row.id])
    await db.delete(row)


async def allocate(db: AsyncSession, row: SubnetPool, project_id: str, *,
                   prefixlen: int | None, cidr: str | None) -> IPNetwork:
    """A free prefix of pool ``row`` for a new subnet of ``project_id`` (see the module
    docstring); raises :class:`PoolRaced` when another allocation won the pool meanwhile.

    The caller inserts the subnet in the same transaction, so the prefix stays taken.
    """
    plan = plan_of(row)
    won = rows_matched(await db.execute(
        sa.update(SubnetPool).where(SubnetPool.id == row.id,
                                    SubnetPool.generation == row.generation)
        .values(generation=row.generation + 1)
        .execution_options(synchronize_session=False)))
    if not won:
        raise PoolRaced()
    taken = list((await db.execute(sa.select(Subnet.cidr, Subnet.project_id).where(
        Subnet.subnetpool_id == row.id))).all())
    prefix = pool_rules.pick_prefix(plan, [c for c, _ in taken], prefixlen=prefixlen,
                                    cidr=cidr)
    mine = [int(c.rsplit("/", 1)[1]) for c, owner in taken if owner == project_id]
    pool_rules.check_pool_quota(row.ip_version, row.default_quota, mine, prefix.prefixlen)
    return prefix


ATTEMPTS: Final = 5
"""How many times a create that lost a pool or network race runs again."""
