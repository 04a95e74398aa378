"""Compute quotas: limits, usage, and the race-free check at server create.

Limits are the defaults, overridden per project (and per user within a project) by
:class:`Quota` rows; -1 means unlimited. The defaults are ``[compute.quota]``, overridden
by the ``default`` quota class's :class:`QuotaClass` rows (``os-quota-class-sets/default``,
decision 62): every read of a project's limits, the checks at create included, goes
through :func:`defaults`. Other classes are kept and shown, as in Nova, and apply to no
project.

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

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, cast

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from ownstack.common.config import QuotaConfig
from ownstack.common.db.core import run
from ownstack.common.db.locks import LockRows
from ownstack.common.db.reads import latest
from ownstack.compute.errors import QuotaBelowUsage, QuotaExceeded
from ownstack.compute.objects.models import (
    Instance,
    KeyPair,
    ProjectLock,
    Quota,
    QuotaClass,
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


DEFAULT_CLASS: Final = "default"


async def class_limits(db: AsyncSession, config: QuotaConfig, class_name: str
                       ) -> dict[str, int]:
    """A quota class's limits: the configured defaults (and Nova's fixed network ones)
    with the class's rows on top."""
    return _class_limits(config, await run(db, _CLASS_ROWS, {"b_class": class_name}))


def _class_limits(config: QuotaConfig, rows: Iterable[Any]) -> dict[str, int]:
    """The configured defaults (and Nova's fixed network ones) with a class's ``rows``
    (``resource``, ``hard_limit``) on top."""
    result = {resource: int(getattr(config, resource)) for resource in RESOURCES}
    result.update(NETWORK_DEFAULTS)
    for row in rows:
        if row.resource in result:
            result[row.resource] = int(row.hard_limit)
    return result


async def defaults(db: AsyncSession, config: QuotaConfig) -> dict[str, int]:
    """The limits of a project without overrides: the ``default`` class's."""
    return await class_limits(db, config, DEFAULT_CLASS)


# Built once: every server create reads the defaults.
_CLASS_ROWS: Final = sa.select(QuotaClass.resource, QuotaClass.hard_limit).where(
    QuotaClass.class_name == sa.bindparam("b_class"))

# Quota class writes take turns on this lock row of the project lock table (a project
# of that id would only take turns with them).
_CLASS_LOCK: Final = "os-quota-class-sets"


async def set_class_limits(db: AsyncSession, class_name: str, values: Mapping[str, int]
                           ) -> None:
    """Store a quota class's limits (Nova's: any class name, no usage check)."""
    await _LOCKS.take(db, _CLASS_LOCK)
    existing = {row.resource: row for row in (await db.execute(sa.select(QuotaClass).where(
        QuotaClass.class_name == class_name))).scalars()}
    for resource, limit in values.items():
        if resource in existing:
            existing[resource].hard_limit = limit
        else:
            db.add(QuotaClass(class_name=class_name, resource=resource, hard_limit=limit))
    await db.flush()


async def limits(db: AsyncSession, config: QuotaConfig, project_id: str,
                 user_id: str | None = None) -> dict[str, int]:
    """The limits of a project, or of a user within it (the user's own overrides on top of
    the project's)."""
    result = await defaults(db, config)
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
    if user_id is None:
        found = await run(db, _PROJECT_USAGE, {"b_project": project_id})
    else:
        found = await run(db, _USER_USAGE, {"b_project": project_id, "b_user": user_id})
    instances, cores, ram = found.one()
    return Usage(instances=int(instances), cores=int(cores), ram=int(ram))


# Built once: every server create counts usage.
_PROJECT_USAGE: Final = sa.select(
    sa.func.count(), sa.func.coalesce(sa.func.sum(Instance.vcpus), 0),
    sa.func.coalesce(sa.func.sum(Instance.memory_mb), 0),
).where(Instance.project_id == sa.bindparam("b_project"), Instance.deleted.is_(False))
_USER_USAGE: Final = _PROJECT_USAGE.where(Instance.user_id == sa.bindparam("b_user"))


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
    """Take the project's quota lock for the rest of the write transaction; make it the
    transaction's first statement (see :func:`admit` and :mod:`ownstack.common.db.locks`).
    """
    await _LOCKS.take(db, project_id)


_LOCKS: Final = LockRows(cast(sa.Table, ProjectLock.__table__), "project_id")


@dataclass(frozen=True)
class Request:
    """What one server of a create costs."""

    vcpus: int
    ram: int


async def admit(db: AsyncSession, config: QuotaConfig, project_id: str, user_id: str,
                per_server: Request, min_count: int, max_count: int, *,
                metadata_items: int = 0) -> int:
    """How many servers (``min_count`` to ``max_count``) the project may create now.

    Call inside the write transaction that inserts them, after :func:`lock_project` as
    that transaction's first statement: on MariaDB (InnoDB, REPEATABLE READ) the counts
    then read a snapshot taken after the lock, so they see everything its previous holder
    committed; a plain read made before the lock (the flavor, say) would pin an older
    snapshot, and concurrent creates would over-admit.
    Raises :class:`QuotaExceeded` (403) naming the first resource that cannot fit even
    ``min_count`` servers, checked for the project and then for the user, or
    ``metadata_items`` when each server would carry more metadata than allowed.
    """
    default_limits, overrides = await _defaults_and_overrides(db, config, project_id,
                                                              user_id)
    project_limits = _apply(default_limits, overrides, None)
    metadata_limit = project_limits["metadata_items"]
    if metadata_limit != UNLIMITED and metadata_items > metadata_limit:
        raise QuotaExceeded("metadata_items", metadata_items, 0, metadata_limit)
    allowed = max_count
    scopes: list[tuple[str | None, dict[str, int]]] = [(None, project_limits)]
    if any(row.user_id == user_id for row in overrides):
        scopes.append((user_id, _apply(dict(project_limits), overrides, user_id)))
    for scope_user, limit in scopes:
        limited = [(resource, each) for resource, each in
                   (("instances", 1), ("cores", per_server.vcpus), ("ram", per_server.ram))
                   if limit[resource] != UNLIMITED and each != 0]
        if not limited:
            continue        # nothing this scope limits: no usage to count
        used = await instance_usage(db, project_id, scope_user)
        for resource, each in limited:
            room = max(limit[resource] - used.get(resource), 0) // each
            if room < min_count:
                raise QuotaExceeded(resource, each * min_count, used.get(resource),
                                    limit[resource])
            allowed = min(allowed, room)
    return allowed


async def admit_upsize(db: AsyncSession, config: QuotaConfig, project_id: str,
                       user_id: str, extra: Request) -> None:
    """Nova's quota check of a resize to a larger flavor: the project (and the user, with
    overrides of their own) must have room for the ``extra`` vCPUs and RAM on top of what
    its servers use. Takes the project's quota lock and reads the latest counts (a resize
    has read the server before), so two racing upsizes cannot both squeeze in. Raises
    :class:`QuotaExceeded` (403) naming the first resource that does not fit."""
    if extra.vcpus <= 0 and extra.ram <= 0:
        return
    await lock_project(db, project_id)
    default_limits, overrides = await _defaults_and_overrides(db, config, project_id,
                                                              user_id)
    scopes: list[tuple[str | None, dict[str, int]]] = [
        (None, _apply(default_limits, overrides, None))]
    if any(row.user_id == user_id for row in overrides):
        scopes.append((user_id, _apply(dict(scopes[0][1]), overrides, user_id)))
    for scope_user, limit in scopes:
        if scope_user is None:
            found = await db.execute(latest(db, _PROJECT_USAGE), {"b_project": project_id})
        else:
            found = await db.execute(latest(db, _USER_USAGE),
                                     {"b_project": project_id, "b_user": scope_user})
        _, cores, ram = found.one()
        for resource, used, more in (("cores", int(cores), extra.vcpus),
                                     ("ram", int(ram), extra.ram)):
            if more > 0 and limit[resource] != UNLIMITED and used + more > limit[resource]:
                raise QuotaExceeded(resource, more, used, limit[resource])


async def _defaults_and_overrides(db: AsyncSession, config: QuotaConfig, project_id: str,
                                  user_id: str) -> tuple[dict[str, int], list[Any]]:
    """The ``default`` class's limits (:func:`defaults`), and the rows of the project's
    overrides and of one user's (``user_id``, ``resource``, ``hard_limit``), read in one
    statement: every server create reads both."""
    rows = (await run(db, _DEFAULTS_AND_OVERRIDES, {
        "b_class": DEFAULT_CLASS, "b_project": project_id, "b_user": user_id})).all()
    return (_class_limits(config, [row for row in rows if row.is_class]),
            [row for row in rows if not row.is_class])


# The default class's rows, then the project's overrides and one user's, read once for
# both scopes.
_QUOTAS: Final = cast(sa.Table, Quota.__table__)
_QUOTA_CLASSES: Final = cast(sa.Table, QuotaClass.__table__)
_DEFAULTS_AND_OVERRIDES: Final = sa.union_all(
    sa.select(sa.true().label("is_class"), sa.literal_column("''").label("user_id"),
              _QUOTA_CLASSES.c.resource, _QUOTA_CLASSES.c.hard_limit)
    .where(_QUOTA_CLASSES.c.class_name == sa.bindparam("b_class")),
    sa.select(sa.false(), _QUOTAS.c.user_id, _QUOTAS.c.resource,
              _QUOTAS.c.hard_limit)
    .where(_QUOTAS.c.project_id == sa.bindparam("b_project"),
           _QUOTAS.c.user_id.in_(["", sa.bindparam("b_user")])))


def _apply(limits: dict[str, int], overrides: Sequence[Any], user_id: str | None
           ) -> dict[str, int]:
    """``limits`` with the project's overrides (``user_id`` None) or one user's on top."""
    for row in overrides:
        if row.user_id == (user_id or "") and row.resource in limits:
            limits[row.resource] = row.hard_limit
    return limits


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
