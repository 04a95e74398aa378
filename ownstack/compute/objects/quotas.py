"""Compute quotas: limits, usage, and the race-free check at server create.

Limits are the ``[compute.quota]`` defaults, overridden per project (and per user within a
project) by :class:`Quota` rows; -1 means unlimited.

Usage is counted, never stored: ``instances``, ``cores`` and ``ram`` are counted from the
instance table, where a server counts from the moment its row is inserted (BUILD included)
until it is deleted. Nova instead counts usage from Placement allocations plus instance
mappings and re-checks after the fact, which lets two concurrent creates both pass the
check and over-admit. ownstack decides under a per-project lock instead: every
quota-counted create first bumps its project's :class:`ProjectLock` row in the same write
transaction that inserts the instances. Concurrent creates in one project therefore take
turns (a row lock on PostgreSQL and MariaDB; the database write lock on SQLite), and each
counts what the earlier ones committed, so N concurrent creates against a quota of K
admit exactly K. Since the conductor claims exactly the flavor's resources in Placement,
a project's quota usage and its Placement usages agree once its servers are scheduled.

Legacy resources (floating IPs, security groups, injected files) have no usage here; they
are shown at the microversions that still have them, with Nova's defaults.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from ownstack.common.config import QuotaConfig
from ownstack.compute.errors import QuotaBelowUsage, QuotaExceeded
from ownstack.compute.objects.models import (
    Instance,
    KeyPair,
    ProjectLock,
    Quota,
    ServerGroup,
    ServerGroupMember,
)

UNLIMITED: Final = -1

# Every resource os-quota-sets knows, in the order Nova lists them.
COUNTED: Final = ("instances", "cores", "ram")
RESOURCES: Final = ("instances", "cores", "ram", "key_pairs", "metadata_items",
                    "server_groups", "server_group_members", "injected_files",
                    "injected_file_content_bytes", "injected_file_path_bytes")
# Removed from the API at 2.57 (personality).
INJECTED: Final = ("injected_files", "injected_file_content_bytes", "injected_file_path_bytes")
# nova-network's quotas, removed from the API at 2.36; Nova's historical defaults, fixed.
NETWORK_DEFAULTS: Final = {"fixed_ips": -1, "floating_ips": 10, "security_groups": 10,
                           "security_group_rules": 20}


def defaults(config: QuotaConfig) -> dict[str, int]:
    return {resource: int(getattr(config, resource)) for resource in RESOURCES}


async def limits(db: AsyncSession, config: QuotaConfig, project_id: str,
                 user_id: str | None = None) -> dict[str, int]:
    """The limits of a project, or of a user within it (the user's own overrides on top of
    the project's)."""
    result = defaults(config)
    rows = await db.execute(sa.select(Quota.user_id, Quota.resource, Quota.hard_limit).where(
        Quota.project_id == project_id, Quota.user_id.in_(["", user_id or ""])))
    # Project rows first, so a user's row wins.
    for _, resource, limit in sorted(rows, key=lambda row: row[0] != ""):
        if resource in result:
            result[resource] = limit
    return result


@dataclass(frozen=True)
class Usage:
    instances: int = 0
    cores: int = 0
    ram: int = 0

    def get(self, resource: str) -> int:
        return int(getattr(self, resource)) if resource in COUNTED else 0


async def instance_usage(db: AsyncSession, project_id: str, user_id: str | None = None
                         ) -> Usage:
    """Live servers of a project (or of one user in it), their vCPUs and RAM."""
    stmt = sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(Instance.vcpus), 0),
                     sa.func.coalesce(sa.func.sum(Instance.memory_mb), 0)).where(
        Instance.project_id == project_id, Instance.deleted.is_(False))
    if user_id is not None:
        stmt = stmt.where(Instance.user_id == user_id)
    instances, cores, ram = (await db.execute(stmt)).one()
    return Usage(instances=int(instances), cores=int(cores), ram=int(ram))


async def usage(db: AsyncSession, project_id: str, user_id: str | None = None, *,
                key_pairs_of: str | None = None) -> dict[str, int]:
    """In-use counts of every resource, for ``os-quota-sets/{p}/detail`` and ``/limits``:
    the project's, or one user's in it. Key pairs belong to users, not projects: they are
    counted for ``key_pairs_of`` (none without one)."""
    counted = await instance_usage(db, project_id, user_id)
    result = {resource: counted.get(resource) for resource in RESOURCES}
    groups = sa.select(sa.func.count()).select_from(ServerGroup).where(
        ServerGroup.project_id == project_id)
    if user_id is not None:
        groups = groups.where(ServerGroup.user_id == user_id)
    result["server_groups"] = int((await db.execute(groups)).scalar_one())
    if key_pairs_of is not None:
        result["key_pairs"] = int((await db.execute(sa.select(sa.func.count()).select_from(
            KeyPair).where(KeyPair.user_id == key_pairs_of))).scalar_one())
    return result


async def lock_project(db: AsyncSession, project_id: str) -> None:
    """Take the project's quota lock for the rest of the write transaction.

    The row is created on first use (an insert that ignores a concurrent twin), then
    updated: the update is what blocks a concurrent create until this transaction ends.
    """
    dialect = db.get_bind().dialect.name
    insert: Any
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        insert = pg_insert(ProjectLock).on_conflict_do_nothing()
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        insert = sqlite_insert(ProjectLock).on_conflict_do_nothing()
    else:
        insert = sa.insert(ProjectLock).prefix_with("IGNORE")
    await db.execute(insert.values(project_id=project_id, generation=0))
    await db.execute(sa.update(ProjectLock).where(ProjectLock.project_id == project_id)
                     .values(generation=ProjectLock.generation + 1))


@dataclass(frozen=True)
class Request:
    """What one server of a create costs."""

    vcpus: int
    ram: int


async def admit(db: AsyncSession, config: QuotaConfig, project_id: str, user_id: str,
                per_server: Request, min_count: int, max_count: int) -> int:
    """How many servers (``min_count`` to ``max_count``) the project may create now.

    Call inside the write transaction that inserts them: it takes the project lock first.
    Raises :class:`QuotaExceeded` (403) naming the first resource that cannot fit even
    ``min_count`` servers, checked for the project and then for the user.
    """
    await lock_project(db, project_id)
    allowed = max_count
    scopes: list[str | None] = [None]
    if await _has_user_quotas(db, project_id, user_id):
        scopes.append(user_id)
    for scope_user in scopes:
        limit = await limits(db, config, project_id, scope_user)
        used = await instance_usage(db, project_id, scope_user)
        for resource, each in (("instances", 1), ("cores", per_server.vcpus),
                               ("ram", per_server.ram)):
            if limit[resource] == UNLIMITED or each == 0:
                continue
            room = max(limit[resource] - used.get(resource), 0) // each
            if room < min_count:
                raise QuotaExceeded(resource, each * min_count, used.get(resource),
                                    limit[resource])
            allowed = min(allowed, room)
    return allowed


async def _has_user_quotas(db: AsyncSession, project_id: str, user_id: str) -> bool:
    return bool((await db.execute(sa.select(sa.exists().where(
        Quota.project_id == project_id, Quota.user_id == user_id)))).scalar_one())


async def check_metadata_items(db: AsyncSession, config: QuotaConfig, project_id: str,
                               count: int) -> None:
    limit = (await limits(db, config, project_id))["metadata_items"]
    if limit != UNLIMITED and count > limit:
        raise QuotaExceeded("metadata_items", count, 0, limit)


async def check_group_members(db: AsyncSession, config: QuotaConfig, project_id: str,
                              group_id: int, adding: int) -> None:
    """Nova's ``server_group_members`` quota: members per group, new ones included."""
    limit = (await limits(db, config, project_id))["server_group_members"]
    if limit == UNLIMITED:
        return
    members = int((await db.execute(
        sa.select(sa.func.count()).select_from(ServerGroupMember)
        .join(Instance, Instance.uuid == ServerGroupMember.instance_uuid)
        .where(ServerGroupMember.group_id == group_id, Instance.deleted.is_(False))
    )).scalar_one())
    if members + adding > limit:
        raise QuotaExceeded("server_group_members", adding, members, limit)


async def set_limits(db: AsyncSession, config: QuotaConfig, project_id: str,
                     user_id: str | None, values: Mapping[str, int], *, force: bool) -> None:
    """Store overrides. Without ``force``, a limit below current usage is a 400."""
    if not force:
        used = await usage(db, project_id, user_id, key_pairs_of=user_id)
        for resource, limit in values.items():
            if limit != UNLIMITED and limit < used.get(resource, 0):
                raise QuotaBelowUsage(resource, limit, used[resource])
    existing = {row.resource: row for row in (await db.execute(sa.select(Quota).where(
        Quota.project_id == project_id, Quota.user_id == (user_id or "")))).scalars()}
    for resource, limit in values.items():
        if resource in existing:
            existing[resource].hard_limit = limit
        else:
            db.add(Quota(project_id=project_id, user_id=user_id or "", resource=resource,
                         hard_limit=limit))
    await db.flush()


async def revert_limits(db: AsyncSession, project_id: str, user_id: str | None) -> None:
    """Drop the overrides: back to the defaults (a user's: back to the project's)."""
    stmt = sa.delete(Quota).where(Quota.project_id == project_id)
    if user_id is not None:
        stmt = stmt.where(Quota.user_id == user_id)
    await db.execute(stmt)
