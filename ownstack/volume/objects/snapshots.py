"""Snapshots: visibility, create (quota), lists, updates, metadata, deletion.

A snapshot lives on its volume's host: the agent copies the volume's data into it
(``creating``), removes it (``deleting``), and reports. Snapshots count against the
``snapshots`` quota and, with their size, ``gigabytes``.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ColumnElement

from ownstack.common.api.microversion import Version, at_least
from ownstack.common.config import VolumeConfig
from ownstack.common.context import RequestContext
from ownstack.common.db.base import utcnow
from ownstack.common.db.cas import rows_matched
from ownstack.volume.errors import (
    ConcurrentUpdate,
    InvalidInput,
    InvalidSnapshot,
    InvalidVolume,
    SnapshotNotFound,
)
from ownstack.volume.objects import metadata as _metadata
from ownstack.volume.objects import quotas, volumes
from ownstack.volume.objects.listing import (
    Filter,
    Kind,
    ListQuery,
    as_bool,
    contains,
    equals,
    page,
    parse_metadata_filter,
)
from ownstack.volume.objects.models import Snapshot, SnapshotMetadata, Volume

STATUSES: Final = ("creating", "available", "deleting", "error", "error_deleting",
                   "backing-up", "restoring", "unmanaging")


def _metadata_clause(value: str) -> ColumnElement[bool]:
    wanted = parse_metadata_filter(value)
    return sa.and_(*(Snapshot.id.in_(sa.select(SnapshotMetadata.snapshot_id).where(
        SnapshotMetadata.key == key, SnapshotMetadata.value == item))
        for key, item in wanted.items())) if wanted else sa.true()


def _zone_clause(value: str) -> ColumnElement[bool]:
    return Snapshot.volume_id.in_(sa.select(Volume.id).where(Volume.availability_zone == value))


def _consumes_quota(value: str) -> ColumnElement[bool]:
    return sa.true() if as_bool("consumes_quota", value) else sa.false()


def kind(version: Version) -> Kind:
    """Snapshots sort by ``name`` from 3.30; by ``display_name``, the column Cinder's
    database names, at any version (as Tempest's snapshot list tests sort)."""
    keys = {key: key for key in ("id", "status", "size", "created_at", "updated_at",
                                 "volume_id", "project_id")} | {"display_name": "name"}
    if at_least(version, "3.30"):
        keys["name"] = "name"
    return Kind(name="snapshot", model=Snapshot, sort_keys=keys, filters=SNAPSHOT_FILTERS)


SNAPSHOT_FILTERS: Final = {
    "name": Filter(equals(Snapshot.name)),
    "name~": Filter(contains(Snapshot.name), since="3.34"),
    "description~": Filter(contains(Snapshot.description), since="3.34"),
    "status": Filter(equals(Snapshot.status)),
    "volume_id": Filter(equals(Snapshot.volume_id)),
    "metadata": Filter(_metadata_clause, since="3.22"),
    "availability_zone": Filter(_zone_clause),
    "consumes_quota": Filter(_consumes_quota, since="3.65"),
    "user_id": Filter(equals(Snapshot.user_id), admin_only=True),
}


def visible(ctx: RequestContext, *, all_tenants: bool = False,
            project_id: str | None = None) -> ColumnElement[bool] | None:
    if ctx.is_admin and all_tenants:
        return Snapshot.project_id == project_id if project_id else None
    return Snapshot.project_id == ctx.project_id


async def list_page(db: AsyncSession, ctx: RequestContext, snapshot_kind: Kind,
                    query: ListQuery) -> tuple[list[Snapshot], int | None]:
    return await page(db, sa.select(Snapshot), snapshot_kind, query,
                      visible(ctx, all_tenants=query.all_tenants, project_id=query.project_id))


async def get(db: AsyncSession, ctx: RequestContext, snapshot_id: str) -> Snapshot:
    stmt = sa.select(Snapshot).where(Snapshot.id == snapshot_id)
    if not ctx.is_admin:
        stmt = stmt.where(Snapshot.project_id == ctx.project_id)
    found = await db.scalar(stmt)
    if found is None:
        raise SnapshotNotFound(snapshot_id)
    return found


async def save(db: AsyncSession, snapshot: Snapshot, **values: Any) -> None:
    """A compare-and-swap on the snapshot's generation, as volumes' ``save``."""
    seen = snapshot.generation
    now = utcnow()
    values.setdefault("updated_at", now)
    if "status" in values and values["status"] != snapshot.status:
        values.setdefault("status_at", now)
    result = await db.execute(sa.update(Snapshot).where(
        Snapshot.id == snapshot.id, Snapshot.generation == seen).values(
        **values, generation=seen + 1).execution_options(synchronize_session=False))
    if rows_matched(result) != 1:
        raise ConcurrentUpdate()
    for name, value in values.items():
        setattr(snapshot, name, value)
    snapshot.generation = seen + 1


async def create(db: AsyncSession, settings: VolumeConfig, ctx: RequestContext,
                 volume: Volume, *, name: str | None, description: str | None,
                 metadata: Mapping[str, str], force: bool, version: Version) -> Snapshot:
    """A new snapshot of ``volume`` in ``creating``. An in-use volume needs ``force``
    before 3.66; a volume in any other state than available or in-use is a 400."""
    if volume.status == "in-use":
        if not force and not at_least(version, "3.66"):
            raise InvalidVolume(f"Volume {volume.id} is in-use: pass force=true to snapshot "
                                "it (the copy is crash-consistent only).")
    elif volume.status != "available":
        raise InvalidVolume(f"Volume {volume.id} status must be available or in-use to be "
                            f"snapshotted, but it is {volume.status}.")
    busy = await db.scalar(sa.select(Snapshot.id).where(
        Snapshot.volume_id == volume.id,
        sa.or_(Snapshot.work.is_not(None), Snapshot.status == "restoring")).limit(1))
    if busy:
        raise InvalidVolume(f"Volume {volume.id} has a snapshot being made or deleted "
                            f"({busy}); wait for it.")
    await quotas.admit(db, settings.quota, volume.project_id, snapshots=1,
                       gigabytes=volume.size, type_id=volume.type_id)
    now = utcnow()
    snapshot = Snapshot(
        id=str(uuid.uuid4()), project_id=volume.project_id, user_id=str(ctx.user_id),
        volume_id=volume.id, name=name, description=description, size=volume.size,
        status="creating", work="creating", progress="0%",
        task={"request_id": ctx.request_id}, generation=0, created_at=now,
        updated_at=now, status_at=now)
    db.add(snapshot)
    await db.flush()
    for key, value in metadata.items():
        db.add(SnapshotMetadata(snapshot_id=snapshot.id, key=key, value=value))
    # The volume's generation moves, so a racing extend or delete of it loses.
    await volumes.save(db, volume, updated_at=volume.updated_at)
    await db.flush()
    return snapshot


async def metadata_of(db: AsyncSession, ids: list[str]) -> dict[str, dict[str, str]]:
    found: dict[str, dict[str, str]] = {snapshot_id: {} for snapshot_id in ids}
    if ids:
        for snapshot_id, key, value in await db.execute(sa.select(
                SnapshotMetadata.snapshot_id, SnapshotMetadata.key, SnapshotMetadata.value)
                .where(SnapshotMetadata.snapshot_id.in_(ids)).order_by(SnapshotMetadata.key)):
            found[snapshot_id][key] = value
    return found


async def metadata_of_one(db: AsyncSession, snapshot: Snapshot) -> dict[str, str]:
    return (await metadata_of(db, [snapshot.id]))[snapshot.id]


async def replace_metadata(db: AsyncSession, snapshot: Snapshot,
                           metadata: Mapping[str, str]) -> None:
    await _metadata.replace(db, SnapshotMetadata, "snapshot_id", snapshot.id, metadata)


async def merge_metadata(db: AsyncSession, snapshot: Snapshot, metadata: Mapping[str, str]
                         ) -> None:
    await _metadata.merge(db, SnapshotMetadata, "snapshot_id", snapshot.id, metadata)


async def delete_metadata(db: AsyncSession, snapshot: Snapshot, key: str) -> None:
    await _metadata.delete(db, SnapshotMetadata, "Snapshot", snapshot.id, key)


async def delete(db: AsyncSession, snapshot: Snapshot, volume: Volume | None, *,
                 force: bool, host_up: bool, in_group_snapshot: bool = False) -> bool:
    """Start deleting ``snapshot``; True when its row is gone at once (an admin's force
    while its host is down). A snapshot of a group snapshot goes with it only (Cinder's
    400 otherwise)."""
    if snapshot.group_snapshot_id and not in_group_snapshot:
        raise InvalidSnapshot(f"Snapshot {snapshot.id} is part of group snapshot "
                              f"{snapshot.group_snapshot_id}; delete the group snapshot.")
    if not force and snapshot.status not in ("available", "error", "error_deleting"):
        raise InvalidSnapshot(f"Volume Snapshot status must be available or error or "
                              f"error_deleting, but it is {snapshot.status}.")
    dependents = await db.scalar(sa.select(Volume.id).where(
        Volume.snapshot_id == snapshot.id, Volume.work == "creating").limit(1))
    if dependents:
        raise InvalidSnapshot(f"Snapshot {snapshot.id} is being copied into volume "
                              f"{dependents}; wait for it.")
    if volume is not None and volume.status == "reverting":
        raise InvalidSnapshot(f"Volume {volume.id} is being reverted; wait for it.")
    if volume is None or volume.host is None or (force and not host_up):
        await db.delete(snapshot)
        await db.flush()
        return True
    await save(db, snapshot, status="deleting", work="deleting")
    return False


# os-update_snapshot_status: the statuses a snapshot may be moved to from each it may be in.
UPDATABLE: Final = {"creating": ("creating", "available", "error"),
                    "deleting": ("deleting", "error_deleting")}


async def update_status(db: AsyncSession, snapshot: Snapshot, status: str,
                        progress: str | None) -> None:
    """``os-update_snapshot_status``, with which a hypervisor that makes a snapshot itself
    reports it (Cinder's assisted snapshots): a ``creating`` snapshot may become
    ``available`` or ``error``, a ``deleting`` one ``error_deleting``; the progress is
    stored as given. The status only, as Cinder writes it: work the agent has in hand
    goes on, and its report has the last word."""
    allowed = UPDATABLE.get(snapshot.status)
    if allowed is None:
        raise InvalidInput(f"Snapshot status {snapshot.status} not allowed for "
                           "update_snapshot_status")
    if status not in allowed:
        raise InvalidInput(f"Provided snapshot status {status} not allowed for snapshot "
                           f"with status {snapshot.status}.")
    values: dict[str, Any] = {"status": status}
    if progress:
        values["progress"] = progress
    await save(db, snapshot, **values)


async def reset_status(db: AsyncSession, snapshot: Snapshot, status: str) -> None:
    """The admin's ``os-reset_status``: the status only. It asks the agent for nothing
    and ends the work the snapshot had (decision 59): a snapshot reset to ``deleting``
    keeps its file until a delete asks for it."""
    status = status.lower()
    if status not in STATUSES:
        raise InvalidInput(f"Must specify a valid status, not {status!r}.")
    await save(db, snapshot, status=status, work=None)
