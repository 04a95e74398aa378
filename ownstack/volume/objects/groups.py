"""Generic volume groups (3.13) and group snapshots (3.14).

A group is a row its volumes point at (``group_id``); it asks no agent for anything of
its own (ownstack's drivers keep no group on the backend), so an empty group is
``available`` at once. Its volumes and its snapshots are ordinary ones, made and removed
by their hosts' agents as any other (decision 59), and a group or group snapshot that
waits on them (a create-from-src, a group snapshot, a delete with its volumes) shows
``creating`` or ``deleting`` until the reports of its members move it on
(:func:`converge_group`, :func:`converge_group_snapshot`, called by every report of a
member and so by the sweep that fails orphaned work): ``available`` once every member
is, ``error`` when one failed, and gone once its last member is. A member that failed to
be made stays, in ``error``, for the group's delete to remove: nothing leaks.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ColumnElement

from ownstack.common.api.microversion import Version
from ownstack.common.config import VolumeConfig
from ownstack.common.context import RequestContext
from ownstack.common.db.base import utcnow
from ownstack.common.db.cas import rows_matched
from ownstack.volume.errors import (
    ConcurrentUpdate,
    GroupNotFound,
    GroupSnapshotNotFound,
    InvalidGroup,
    InvalidGroupSnapshot,
    InvalidInput,
    VolumeNotFound,
)
from ownstack.volume.objects import quotas, services, volumes
from ownstack.volume.objects import snapshots as snapshot_objects
from ownstack.volume.objects.listing import Filter, Kind, ListQuery, equals, page
from ownstack.volume.objects.models import (
    Group,
    GroupSnapshot,
    GroupType,
    Snapshot,
    Volume,
    VolumeType,
)

# Cinder's GroupStatus and GroupSnapshotStatus: what reset-status may write.
GROUP_STATUSES: Final = ("available", "error", "creating", "deleting", "updating",
                         "in-use", "error_deleting")
GROUP_SNAPSHOT_STATUSES: Final = ("available", "error", "creating", "deleting", "updating",
                                  "error_deleting")
# A member volume may join or leave a group in these statuses (Cinder's).
MEMBER_STATUSES: Final = ("available", "in-use")

GROUPS: Final = Kind(name="group", model=Group, filters={
    "name": Filter(equals(Group.name)),
    "status": Filter(equals(Group.status)),
    "group_type": Filter(equals(Group.group_type_id)),
    "availability_zone": Filter(equals(Group.availability_zone)),
}, sort_keys={key: key for key in ("id", "name", "status", "created_at",
                                   "availability_zone")})

GROUP_SNAPSHOTS: Final = Kind(name="group_snapshot", model=GroupSnapshot, filters={
    "name": Filter(equals(GroupSnapshot.name)),
    "status": Filter(equals(GroupSnapshot.status)),
    "group_id": Filter(equals(GroupSnapshot.group_id)),
}, sort_keys={key: key for key in ("id", "name", "status", "created_at")})


async def _save(db: AsyncSession, row: Group | GroupSnapshot, **values: Any) -> None:
    """A compare-and-swap on the row's generation, as volumes' ``save``."""
    model = type(row)
    seen = row.generation
    values.setdefault("updated_at", utcnow())
    result = await db.execute(sa.update(model).where(
        model.id == row.id, model.generation == seen).values(
        **values, generation=seen + 1).execution_options(synchronize_session=False))
    if rows_matched(result) != 1:
        raise ConcurrentUpdate()
    for name, value in values.items():
        setattr(row, name, value)
    row.generation = seen + 1


def _visible(model: type[Group] | type[GroupSnapshot], ctx: RequestContext, query: ListQuery
             ) -> ColumnElement[bool] | None:
    if ctx.is_admin and query.all_tenants:
        return model.project_id == query.project_id if query.project_id else None
    return model.project_id == ctx.project_id


# --- groups ----------------------------------------------------------------------------------

async def get(db: AsyncSession, ctx: RequestContext, group_id: str) -> Group:
    stmt = sa.select(Group).where(Group.id == group_id)
    if not ctx.is_admin:
        stmt = stmt.where(Group.project_id == ctx.project_id)
    found = await db.scalar(stmt)
    if found is None:
        raise GroupNotFound(group_id)
    return found


async def list_page(db: AsyncSession, ctx: RequestContext, query: ListQuery
                    ) -> tuple[list[Group], int | None]:
    return await page(db, sa.select(Group), GROUPS, query, _visible(Group, ctx, query))


async def members(db: AsyncSession, group_id: str) -> list[Volume]:
    return list((await db.execute(sa.select(Volume).where(Volume.group_id == group_id)
                                  .order_by(Volume.created_at, Volume.id))).scalars())


async def create(db: AsyncSession, settings: VolumeConfig, ctx: RequestContext, *,
                 group_type: GroupType, volume_types: Sequence[VolumeType],
                 name: str | None, description: str | None,
                 availability_zone: str | None, status: str = "available",
                 group_snapshot_id: str | None = None, source_group_id: str | None = None
                 ) -> Group:
    """A new group of ``volume_types``, counted against the ``groups`` quota."""
    if not volume_types:
        raise InvalidInput("volume_types must be provided to create group.")
    zone = availability_zone or settings.default_availability_zone or None
    if zone is not None and zone != settings.availability_zone and \
            zone not in await services.zones(db, settings.service_down_time):
        raise InvalidInput(f"Availability zone '{zone}' is invalid.")
    project_id = str(ctx.project_id)
    await quotas.admit(db, settings.quota, project_id, groups=1)
    now = utcnow()
    group = Group(id=str(uuid.uuid4()), project_id=project_id, user_id=str(ctx.user_id),
                  name=name, description=description, status=status,
                  availability_zone=zone or settings.availability_zone,
                  group_type_id=group_type.id,
                  volume_type_ids=list(dict.fromkeys(t.id for t in volume_types)),
                  group_snapshot_id=group_snapshot_id, source_group_id=source_group_id,
                  generation=0, created_at=now, updated_at=now)
    db.add(group)
    await db.flush()
    return group


def check_member_type(group: Group, type_id: str) -> None:
    if type_id not in group.volume_type_ids:
        raise InvalidInput(f"Invalid volume_type provided: {type_id}. Group "
                           f"{group.id} supports only volume types "
                           f"{', '.join(group.volume_type_ids)}.")


def check_accepts_volumes(group: Group) -> None:
    if group.status != "available":
        raise InvalidGroup(f"Group {group.id} status must be available to add volumes, "
                           f"but it is {group.status}.")


async def update(db: AsyncSession, ctx: RequestContext, group: Group, *,
                 values: dict[str, Any], add: Sequence[str], remove: Sequence[str]) -> None:
    """Rename or describe ``group``, and move volumes into and out of it. Adding or
    removing volumes needs the group available and each volume available or in-use."""
    if (add or remove) and group.status != "available":
        raise InvalidGroup(f"Group {group.id} status must be available to update its "
                           f"volumes, but it is {group.status}.")
    both = set(add) & set(remove)
    if both:
        raise InvalidInput(f"Volume {sorted(both)[0]} cannot be both added to and removed "
                           "from a group.")
    for volume_id in remove:
        volume = await db.get(Volume, volume_id)
        if volume is None or volume.group_id != group.id:
            raise InvalidInput(f"Cannot remove volume {volume_id} from group {group.id} "
                               "because it is not in the group.")
        if volume.status not in (*MEMBER_STATUSES, "error", "error_deleting"):
            raise InvalidInput(f"Cannot remove volume {volume_id} from group {group.id} "
                               f"because volume is in an invalid state: {volume.status}.")
        await volumes.save(db, volume, group_id=None)
    for volume_id in add:
        try:
            volume = await volumes.get(db, ctx, volume_id)
        except VolumeNotFound:
            raise InvalidInput(f"Cannot add volume {volume_id} to group {group.id} "
                               "because volume cannot be found.") from None
        if volume.project_id != group.project_id:
            raise InvalidInput(f"Cannot add volume {volume_id} to group {group.id}: it "
                               "belongs to another project.")
        if volume.group_id is not None:
            raise InvalidInput(f"Cannot add volume {volume_id} to group {group.id} because "
                               f"it is already in group {volume.group_id}.")
        if volume.status not in MEMBER_STATUSES:
            raise InvalidInput(f"Cannot add volume {volume_id} to group {group.id} because "
                               f"volume is in an invalid state: {volume.status}. Valid "
                               f"states are: {', '.join(MEMBER_STATUSES)}.")
        check_member_type(group, volume.type_id)
        await volumes.save(db, volume, group_id=group.id)
    await _save(db, group, **values)


async def delete(db: AsyncSession, settings: VolumeConfig, group: Group, *,
                 delete_volumes: bool) -> tuple[bool, list[tuple[str | None, str]]]:
    """Start deleting ``group`` (with its volumes when ``delete_volumes``): whether its
    row is gone at once, and the (host, volume id) pairs whose agents must hear of it."""
    if group.status not in ("available", "error", "error_deleting"):
        raise InvalidGroup(f"Group status must be available or error or error_deleting, "
                           f"but current status is: {group.status}.")
    if await db.scalar(sa.select(GroupSnapshot.id).where(
            GroupSnapshot.group_id == group.id).limit(1)):
        raise InvalidGroup(f"Group {group.id} has existing group snapshots; delete them "
                           "first.")
    found = await members(db, group.id)
    if found and not delete_volumes:
        raise InvalidGroup("Group has volumes; pass delete-volumes to delete them with "
                           "it.")
    nudges: list[tuple[str | None, str]] = []
    for volume in found:
        if volume.work == "deleting":
            continue
        gone, _ = await volumes.delete(db, settings, volume, cascade=False, force=False)
        if not gone:
            nudges.append((volume.host, volume.id))
    if await db.scalar(sa.select(sa.func.count()).select_from(Volume).where(
            Volume.group_id == group.id)) == 0:
        await db.delete(group)
        await db.flush()
        return True, nudges
    await _save(db, group, status="deleting")
    return False, nudges


async def reset_status(db: AsyncSession, group: Group, status: str) -> None:
    if status not in GROUP_STATUSES:
        raise InvalidInput(f"Group status {status} not allowed; valid statuses are "
                           f"{', '.join(GROUP_STATUSES)}.")
    await _save(db, group, status=status)


async def converge_group(db: AsyncSession, group_id: str | None) -> None:
    """Move a ``creating`` or ``deleting`` group on from what its members now are."""
    if group_id is None:
        return
    group = await db.get(Group, group_id)
    if group is None or group.status not in ("creating", "deleting"):
        return
    found = await members(db, group.id)
    if group.status == "deleting":
        if not found:
            await db.delete(group)
            await db.flush()
        elif all(volume.work is None for volume in found):
            await _save(db, group, status="error_deleting")
        return
    if any(volume.work is not None for volume in found):
        return
    failed = any(volume.status != "available" for volume in found)
    await _save(db, group, status="error" if failed else "available")


async def create_from_source(db: AsyncSession, settings: VolumeConfig, ctx: RequestContext,
                             *, name: str | None, description: str | None,
                             group_snapshot_id: str | None, source_group_id: str | None
                             ) -> tuple[Group, list[Volume]]:
    """A new group holding a new volume of each snapshot of a group snapshot, or a clone
    of each volume of a group: ``creating`` until their agents report them."""
    if bool(group_snapshot_id) == bool(source_group_id):
        raise InvalidInput("Either 'group_snapshot_id' or 'source_group_id' must be "
                           "provided to create group from source, but not both.")
    sources: list[tuple[str, str, Volume]] = []     # (kind, id, the volume it copies)
    if group_snapshot_id:
        group_snapshot = await get_group_snapshot(db, ctx, group_snapshot_id)
        if group_snapshot.status != "available":
            raise InvalidGroupSnapshot(f"Group snapshot {group_snapshot.id} must be "
                                       f"available, but it is {group_snapshot.status}.")
        source = await db.get(Group, group_snapshot.group_id)
        for snapshot in await snapshots_of(db, group_snapshot.id):
            volume = await db.get(Volume, snapshot.volume_id)
            if volume is not None:
                sources.append(("snapshot", snapshot.id, volume))
    else:
        source = await get(db, ctx, str(source_group_id))
        if source.status != "available":
            raise InvalidGroup(f"Source group {source.id} must be available, but it is "
                               f"{source.status}.")
        sources = [("volume", volume.id, volume) for volume in await members(db, source.id)]
    if source is None:
        raise GroupNotFound(str(source_group_id))
    group_type = await db.get(GroupType, source.group_type_id)
    type_rows = list((await db.execute(sa.select(VolumeType).where(
        VolumeType.id.in_(source.volume_type_ids)))).scalars())
    if group_type is None:
        raise InvalidGroup(f"The group type of group {source.id} is gone.")
    group = await create(db, settings, ctx, group_type=group_type, volume_types=type_rows,
                         name=name, description=description,
                         availability_zone=source.availability_zone,
                         status="creating" if sources else "available",
                         group_snapshot_id=group_snapshot_id,
                         source_group_id=source_group_id)
    made = []
    for kind, source_id, volume in sources:
        new = await volumes.create(
            db, settings, ctx, size=None, name=volume.name, description=volume.description,
            metadata={}, type_ref=volume.type_id, availability_zone=None,
            source=volumes.Source(kind, source_id), multiattach=volume.multiattach,
            group=group)
        made.append(new)
    await db.flush()
    # A member no host could take is in error already: the group is too.
    await converge_group(db, group.id)
    return group, made


# --- group snapshots -------------------------------------------------------------------------

async def get_group_snapshot(db: AsyncSession, ctx: RequestContext, group_snapshot_id: str
                             ) -> GroupSnapshot:
    stmt = sa.select(GroupSnapshot).where(GroupSnapshot.id == group_snapshot_id)
    if not ctx.is_admin:
        stmt = stmt.where(GroupSnapshot.project_id == ctx.project_id)
    found = await db.scalar(stmt)
    if found is None:
        raise GroupSnapshotNotFound(group_snapshot_id)
    return found


async def list_group_snapshots(db: AsyncSession, ctx: RequestContext, query: ListQuery
                               ) -> tuple[list[GroupSnapshot], int | None]:
    return await page(db, sa.select(GroupSnapshot), GROUP_SNAPSHOTS, query,
                      _visible(GroupSnapshot, ctx, query))


async def snapshots_of(db: AsyncSession, group_snapshot_id: str) -> list[Snapshot]:
    return list((await db.execute(sa.select(Snapshot).where(
        Snapshot.group_snapshot_id == group_snapshot_id).order_by(Snapshot.id))).scalars())


async def create_group_snapshot(db: AsyncSession, settings: VolumeConfig,
                                ctx: RequestContext, group: Group, *, name: str | None,
                                description: str | None, version: Version
                                ) -> tuple[GroupSnapshot, list[tuple[str | None, str]]]:
    """A snapshot of each volume of ``group`` (each counted against the quotas, each
    made by its volume's agent), and the group snapshot over them, ``creating`` until
    they are all made. The (host, snapshot id) pairs to nudge."""
    if group.status != "available":
        raise InvalidGroup(f"Group {group.id} status must be available, but it is "
                           f"{group.status}.")
    found = await members(db, group.id)
    now = utcnow()
    group_snapshot = GroupSnapshot(
        id=str(uuid.uuid4()), project_id=group.project_id, user_id=str(ctx.user_id),
        group_id=group.id, group_type_id=group.group_type_id, name=name,
        description=description, status="creating" if found else "available",
        generation=0, created_at=now, updated_at=now)
    db.add(group_snapshot)
    await db.flush()
    nudges: list[tuple[str | None, str]] = []
    for volume in found:
        snapshot = await snapshot_objects.create(
            db, settings, ctx, volume, name=f"snapshot-{group_snapshot.id}"[:255],
            description=None, metadata={}, force=True, version=version)
        snapshot.group_snapshot_id = group_snapshot.id
        nudges.append((volume.host, snapshot.id))
    await db.flush()
    return group_snapshot, nudges


async def delete_group_snapshot(db: AsyncSession, settings: VolumeConfig,
                                group_snapshot: GroupSnapshot
                                ) -> tuple[bool, list[tuple[str | None, str]]]:
    """Start deleting the group snapshot's snapshots; whether its row is gone at once,
    and the (host, snapshot id) pairs to nudge."""
    if group_snapshot.status not in ("available", "error", "error_deleting"):
        raise InvalidGroupSnapshot(f"Group snapshot status must be available or error or "
                                   f"error_deleting, but it is {group_snapshot.status}.")
    nudges: list[tuple[str | None, str]] = []
    for snapshot in await snapshots_of(db, group_snapshot.id):
        if snapshot.work == "deleting":
            continue
        volume = await db.get(Volume, snapshot.volume_id)
        up = await volumes.host_up(db, settings, volume.host if volume else None)
        gone = await snapshot_objects.delete(db, snapshot, volume, force=False, host_up=up,
                                             in_group_snapshot=True)
        if not gone and volume is not None:
            nudges.append((volume.host, snapshot.id))
    if not await snapshots_of(db, group_snapshot.id):
        await db.delete(group_snapshot)
        await db.flush()
        return True, nudges
    await _save(db, group_snapshot, status="deleting")
    return False, nudges


async def reset_group_snapshot_status(db: AsyncSession, group_snapshot: GroupSnapshot,
                                      status: str) -> None:
    if status not in GROUP_SNAPSHOT_STATUSES:
        raise InvalidInput(f"Group snapshot status {status} not allowed; valid statuses "
                           f"are {', '.join(GROUP_SNAPSHOT_STATUSES)}.")
    await _save(db, group_snapshot, status=status)


async def converge_group_snapshot(db: AsyncSession, group_snapshot_id: str | None) -> None:
    """Move a ``creating`` or ``deleting`` group snapshot on from its snapshots."""
    if group_snapshot_id is None:
        return
    group_snapshot = await db.get(GroupSnapshot, group_snapshot_id)
    if group_snapshot is None or group_snapshot.status not in ("creating", "deleting"):
        return
    found = await snapshots_of(db, group_snapshot.id)
    if group_snapshot.status == "deleting":
        if not found:
            await db.delete(group_snapshot)
            await db.flush()
        elif all(snapshot.work is None for snapshot in found):
            await _save(db, group_snapshot, status="error_deleting")
        return
    if any(snapshot.work is not None for snapshot in found):
        return
    failed = any(snapshot.status != "available" for snapshot in found)
    await _save(db, group_snapshot, status="error" if failed else "available")
