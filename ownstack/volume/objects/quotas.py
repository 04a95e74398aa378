"""Volume quotas: limits, usage, and the race-free checks at create and extend.

Limits are the defaults overridden per project by :class:`Quota` rows; -1 is unlimited.
The defaults are ``volume.quota.*``, overridden by the ``default`` quota class's
:class:`QuotaClass` rows (``os-quota-class-sets/default``, decision 62); every read of a
project's limits, the checks at create included, goes through :func:`class_limits`. The
default class may also limit each volume type (Cinder's ``volumes_<type>``,
``snapshots_<type>``, ``gigabytes_<type>``; -1 unless set), checked at create and extend
against what the project has of that type. Other classes are kept and shown, as in
Cinder, and apply to no project.

Usage is counted, never stored: ``volumes``, ``snapshots`` and ``groups`` from their rows,
``gigabytes`` as the sizes of both together (Cinder's default, which counts snapshots
against ``gigabytes``). A row counts from its insert to its removal, ``error`` included,
as a Cinder reservation does until the volume is deleted.

Every quota-counted change first bumps the project's :class:`ProjectLock` row in its own
write transaction, then counts, then writes (decision 13, as compute does): concurrent
creates in one project take turns (a row lock on PostgreSQL and MariaDB, the write lock on
SQLite), so N racing creates against a quota of K admit exactly K.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Final, cast

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from ownstack.common.config import VolumeQuotaConfig
from ownstack.common.db.locks import LockRows
from ownstack.common.db.reads import latest
from ownstack.volume.errors import OverQuota, QuotaBelowUsage
from ownstack.volume.objects.models import (
    Group,
    ProjectLock,
    Quota,
    QuotaClass,
    Snapshot,
    Volume,
    VolumeType,
)

UNLIMITED: Final = -1


def resources(config: VolumeQuotaConfig) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(config))


DEFAULT_CLASS: Final = "default"
# The per-volume-type resources: ``<resource>_<type name>``.
TYPE_RESOURCES: Final = ("volumes", "snapshots", "gigabytes")


async def type_names(db: AsyncSession) -> list[str]:
    return list((await db.execute(sa.select(VolumeType.name).order_by(VolumeType.name)))
                .scalars())


async def class_limits(db: AsyncSession, config: VolumeQuotaConfig, class_name: str, *,
                       per_type: bool = True) -> dict[str, int]:
    """A quota class's limits: ``volume.quota.*`` with the class's rows on top; with
    ``per_type``, also each volume type's (-1 unless the class sets it)."""
    found = {name: int(getattr(config, name)) for name in resources(config)}
    if per_type:
        for name in await type_names(db):
            found.update({f"{resource}_{name}": UNLIMITED for resource in TYPE_RESOURCES})
    for resource, limit in await db.execute(_CLASS_ROWS, {"b_class": class_name}):
        if resource in found:
            found[resource] = int(limit)
    return found


async def defaults(db: AsyncSession, config: VolumeQuotaConfig, *, per_type: bool = True
                   ) -> dict[str, int]:
    """The limits of a project without overrides: the ``default`` class's."""
    return await class_limits(db, config, DEFAULT_CLASS, per_type=per_type)


_CLASS_ROWS: Final = sa.select(QuotaClass.resource, QuotaClass.hard_limit).where(
    QuotaClass.class_name == sa.bindparam("b_class"))

# Quota class writes take turns on this row of the project lock table (a project of that
# id would only take turns with them).
_CLASS_LOCK: Final = "os-quota-class-sets"


async def set_class_limits(db: AsyncSession, class_name: str, values: Mapping[str, int]
                           ) -> None:
    """Store a quota class's limits (Cinder's: any class name, no usage check)."""
    await _LOCKS.take(db, _CLASS_LOCK)
    for resource, limit in values.items():
        row = await db.get(QuotaClass, (class_name, resource))
        if row is None:
            db.add(QuotaClass(class_name=class_name, resource=resource, hard_limit=limit))
        else:
            row.hard_limit = limit
    await db.flush()


async def limits(db: AsyncSession, config: VolumeQuotaConfig, project_id: str
                 ) -> dict[str, int]:
    found = await defaults(db, config, per_type=False)
    rows = await db.execute(sa.select(Quota.resource, Quota.hard_limit)
                            .where(Quota.project_id == project_id))
    for resource, limit in rows:
        if resource in found:
            found[resource] = int(limit)
    return found


async def usage(db: AsyncSession, project_id: str) -> dict[str, int]:
    """What the project uses now, read as of the latest commit (see
    :mod:`ownstack.common.db.reads`: on MariaDB these are locking reads)."""
    volumes_stmt = latest(db, sa.select(
        sa.func.count(), sa.func.coalesce(sa.func.sum(Volume.size), 0)
    ).where(Volume.project_id == project_id))
    snapshots_stmt = latest(db, sa.select(
        sa.func.count(), sa.func.coalesce(sa.func.sum(Snapshot.size), 0)
    ).where(Snapshot.project_id == project_id))
    groups_stmt = latest(db, sa.select(sa.func.count()).select_from(Group).where(
        Group.project_id == project_id))
    volumes, volume_gb = (await db.execute(volumes_stmt)).one()
    snapshots, snapshot_gb = (await db.execute(snapshots_stmt)).one()
    groups = await db.scalar(groups_stmt)
    return {"volumes": int(volumes), "snapshots": int(snapshots),
            "gigabytes": int(volume_gb) + int(snapshot_gb), "per_volume_gigabytes": 0,
            "groups": int(groups or 0)}


async def lock_project(db: AsyncSession, project_id: str) -> None:
    """Take the project's quota lock for the rest of the write transaction (see
    :mod:`ownstack.common.db.locks`)."""
    await _LOCKS.take(db, project_id)


_LOCKS: Final = LockRows(cast(sa.Table, ProjectLock.__table__), "project_id")


async def type_usage(db: AsyncSession, project_id: str, type_id: str) -> dict[str, int]:
    """What the project has of one volume type, read as :func:`usage` reads: its volumes,
    their snapshots, and the sizes of both."""
    volumes_stmt = latest(db, sa.select(
        sa.func.count(), sa.func.coalesce(sa.func.sum(Volume.size), 0)
    ).where(Volume.project_id == project_id, Volume.type_id == type_id))
    snapshots_stmt = latest(db, sa.select(
        sa.func.count(), sa.func.coalesce(sa.func.sum(Snapshot.size), 0)
    ).join(Volume, Volume.id == Snapshot.volume_id).where(
        Snapshot.project_id == project_id, Volume.type_id == type_id))
    volumes, volume_gb = (await db.execute(volumes_stmt)).one()
    snapshots, snapshot_gb = (await db.execute(snapshots_stmt)).one()
    return {"volumes": int(volumes), "snapshots": int(snapshots),
            "gigabytes": int(volume_gb) + int(snapshot_gb)}


async def admit(db: AsyncSession, config: VolumeQuotaConfig, project_id: str, *,
                volumes: int = 0, snapshots: int = 0, gigabytes: int = 0, groups: int = 0,
                volume_size: int | None = None, type_id: str | None = None) -> None:
    """Take the project's lock, then raise :class:`OverQuota` (413) unless it may have
    ``volumes`` more volumes, ``snapshots`` more snapshots and ``gigabytes`` more GiB,
    in all and (with ``type_id``) of that volume type; ``volume_size`` is checked against
    ``per_volume_gigabytes``. Call inside the write transaction that makes the change."""
    await lock_project(db, project_id)
    limit = await limits(db, config, project_id)
    per_volume = limit["per_volume_gigabytes"]
    if volume_size is not None and per_volume != UNLIMITED and volume_size > per_volume:
        raise OverQuota("per_volume_gigabytes", volume_size, 0, per_volume)
    wanted = {"volumes": volumes, "snapshots": snapshots, "gigabytes": gigabytes}
    _check({**wanted, "groups": groups}, await usage(db, project_id), limit)
    if type_id is not None:
        await _admit_type(db, project_id, type_id, wanted)


async def admit_type(db: AsyncSession, project_id: str, type_id: str, *, volumes: int = 0,
                     gigabytes: int = 0) -> None:
    """Take the project's lock, then raise :class:`OverQuota` (413) unless it may have
    ``volumes`` more volumes and ``gigabytes`` more GiB of type ``type_id`` (its
    ``volumes_<type>`` and ``gigabytes_<type>``): a retype, which moves a volume between
    types and leaves the project's totals as they are."""
    await lock_project(db, project_id)
    await _admit_type(db, project_id, type_id, {"volumes": volumes, "snapshots": 0,
                                                "gigabytes": gigabytes})


async def _admit_type(db: AsyncSession, project_id: str, type_id: str,
                      wanted: Mapping[str, int]) -> None:
    type_name = await db.scalar(sa.select(VolumeType.name).where(VolumeType.id == type_id))
    if type_name is None:
        return
    per_type = {f"{resource}_{type_name}": UNLIMITED for resource in TYPE_RESOURCES}
    for resource, hard_limit in await db.execute(_CLASS_ROWS, {"b_class": DEFAULT_CLASS}):
        if resource in per_type:
            per_type[resource] = int(hard_limit)
    if all(value == UNLIMITED for value in per_type.values()):
        return
    used = await type_usage(db, project_id, type_id)
    _check({f"{name}_{type_name}": more for name, more in wanted.items()},
           {f"{name}_{type_name}": count for name, count in used.items()}, per_type)


def _check(wanted: Mapping[str, int], used: Mapping[str, int], limit: Mapping[str, int]
           ) -> None:
    for resource, more in wanted.items():
        if more <= 0 or limit[resource] == UNLIMITED:
            continue
        if used[resource] + more > limit[resource]:
            raise OverQuota(resource, more, used[resource], limit[resource])


async def set_limits(db: AsyncSession, project_id: str, values: Mapping[str, int]) -> None:
    """Store overrides; a limit below what the project uses is a 400."""
    used = await usage(db, project_id)
    for resource, limit in values.items():
        if limit != UNLIMITED and limit < used.get(resource, 0):
            raise QuotaBelowUsage(resource, limit, used[resource])
    for resource, limit in values.items():
        row = await db.get(Quota, (project_id, resource))
        if row is None:
            db.add(Quota(project_id=project_id, resource=resource, hard_limit=limit))
        else:
            row.hard_limit = limit
    await db.flush()


async def revert_limits(db: AsyncSession, project_id: str) -> None:
    await db.execute(sa.delete(Quota).where(Quota.project_id == project_id))
