"""Volume quotas: limits, usage, and the race-free checks at create and extend.

Limits are ``volume.quota.*`` overridden per project by :class:`Quota` rows; -1 is
unlimited. Usage is counted, never stored: ``volumes`` and ``snapshots`` from their rows,
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
from ownstack.volume.objects.models import ProjectLock, Quota, Snapshot, Volume

UNLIMITED: Final = -1


def resources(config: VolumeQuotaConfig) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(config))


def defaults(config: VolumeQuotaConfig) -> dict[str, int]:
    return {name: int(getattr(config, name)) for name in resources(config)}


async def limits(db: AsyncSession, config: VolumeQuotaConfig, project_id: str
                 ) -> dict[str, int]:
    found = defaults(config)
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
    volumes, volume_gb = (await db.execute(volumes_stmt)).one()
    snapshots, snapshot_gb = (await db.execute(snapshots_stmt)).one()
    return {"volumes": int(volumes), "snapshots": int(snapshots),
            "gigabytes": int(volume_gb) + int(snapshot_gb), "per_volume_gigabytes": 0}


async def lock_project(db: AsyncSession, project_id: str) -> None:
    """Take the project's quota lock for the rest of the write transaction (see
    :mod:`ownstack.common.db.locks`)."""
    await _LOCKS.take(db, project_id)


_LOCKS: Final = LockRows(cast(sa.Table, ProjectLock.__table__), "project_id")


async def admit(db: AsyncSession, config: VolumeQuotaConfig, project_id: str, *,
                volumes: int = 0, snapshots: int = 0, gigabytes: int = 0,
                volume_size: int | None = None) -> None:
    """Take the project's lock, then raise :class:`OverQuota` (413) unless it may have
    ``volumes`` more volumes, ``snapshots`` more snapshots and ``gigabytes`` more GiB;
    ``volume_size`` is checked against ``per_volume_gigabytes``. Call inside the write
    transaction that makes the change."""
    await lock_project(db, project_id)
    limit = await limits(db, config, project_id)
    per_volume = limit["per_volume_gigabytes"]
    if volume_size is not None and per_volume != UNLIMITED and volume_size > per_volume:
        raise OverQuota("per_volume_gigabytes", volume_size, 0, per_volume)
    used = await usage(db, project_id)
    for resource, more in (("volumes", volumes), ("snapshots", snapshots),
                           ("gigabytes", gigabytes)):
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
