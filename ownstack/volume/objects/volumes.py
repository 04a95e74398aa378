"""Volumes: visibility, create (quota, type, zone, host), lists, updates, metadata,
deletion, and every status change the API makes.

Each status change is a compare-and-swap on the row's ``generation`` (:func:`save`), so
two requests that race on one volume (two attaches, an extend and a delete) cannot both
win: the loser's transaction rolls back as a 409. The statuses an agent works on are
:data:`AGENT_WORK`: the action that asks for one writes it as the volume's ``work`` too
(decision 59), and the agent's report (:mod:`ownstack.volume.objects.reports`) moves a
volume out of it. A status an admin's reset-status writes asks the agent for nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ColumnElement

from ownstack.common.config import VolumeConfig
from ownstack.common.context import RequestContext
from ownstack.common.db.base import utcnow
from ownstack.common.db.cas import rows_matched
from ownstack.volume.errors import (
    ConcurrentUpdate,
    InvalidInput,
    InvalidVolume,
    SnapshotNotFound,
    VolumeNotFound,
)
from ownstack.volume.objects import (
    capabilities,
    encryption,
    messages,
    quotas,
    services,
    types,
)
from ownstack.volume.objects import metadata as _metadata
from ownstack.volume.objects.listing import (
    Filter,
    Kind,
    ListQuery,
    as_bool,
    compares_time,
    contains,
    equals,
    page,
    parse_metadata_filter,
)
from ownstack.volume.objects.models import (
    Attachment,
    Group,
    Snapshot,
    Volume,
    VolumeMetadata,
    VolumeService,
    VolumeType,
)

# The work a host's agent does (a volume's ``work``, named as the status it shows while
# it is done), and the status a failure of it leaves.
AGENT_WORK: Final = {"creating": "error", "deleting": "error_deleting",
                     "extending": "error_extending", "uploading": None, "reverting": "error"}
# Statuses from which a volume may be deleted (Cinder's list), unless forced.
DELETABLE: Final = ("available", "error", "error_restoring", "error_extending",
                    "error_managing")
ATTACHED_STATES: Final = ("in-use", "attaching", "detaching", "reserved")
# Every status os-reset_status may set (Cinder's VolumeStatus values).
STATUSES: Final = ("creating", "available", "deleting", "error", "error_deleting",
                   "error_managing", "managing", "attaching", "in-use", "detaching",
                   "maintenance", "restoring-backup", "error_restoring", "reserved",
                   "awaiting-transfer", "backing-up", "error_backing-up", "error_extending",
                   "downloading", "uploading", "retyping", "extending", "reverting")
BOOTABLE_LENIENT_BEFORE: Final = "3.2"


def _metadata_clause(value: str) -> ColumnElement[bool]:
    wanted = parse_metadata_filter(value)
    return sa.and_(*(Volume.id.in_(sa.select(VolumeMetadata.volume_id).where(
        VolumeMetadata.key == key, VolumeMetadata.value == item))
        for key, item in wanted.items())) if wanted else sa.true()


def _bootable_clause(value: str) -> ColumnElement[bool]:
    return Volume.bootable.is_(as_bool("bootable", value))


def _no_value(value: str) -> ColumnElement[bool]:
    """A filter on an attribute no volume here has (migration status): nothing matches a
    value, as nothing in Cinder would without migrations."""
    return sa.false()


def _consumes_quota(value: str) -> ColumnElement[bool]:
    return sa.true() if as_bool("consumes_quota", value) else sa.false()


VOLUMES: Final = Kind(name="volume", model=Volume, filters={
    "name": Filter(equals(Volume.name)),
    "name~": Filter(contains(Volume.name), since="3.34"),
    "description~": Filter(contains(Volume.description), since="3.34"),
    "status": Filter(equals(Volume.status)),
    "metadata": Filter(_metadata_clause),
    "bootable": Filter(_bootable_clause),
    "availability_zone": Filter(equals(Volume.availability_zone)),
    "size": Filter(equals(Volume.size, lambda v: int(v) if v.isdigit() else -1)),
    "migration_status": Filter(_no_value),
    "group_id": Filter(equals(Volume.group_id)),
    "created_at": Filter(compares_time(Volume.created_at, "created_at"), since="3.60"),
    "updated_at": Filter(compares_time(Volume.updated_at, "updated_at"), since="3.60"),
    "consumes_quota": Filter(_consumes_quota, since="3.65"),
    "user_id": Filter(equals(Volume.user_id), admin_only=True),
    "host": Filter(lambda v: Volume.host == v.partition("@")[0], admin_only=True),
}, sort_keys={key: key for key in (
    "id", "name", "status", "size", "created_at", "updated_at", "availability_zone",
    "bootable", "user_id", "project_id")} | {"display_name": "name"})


def visible(ctx: RequestContext, *, all_tenants: bool = False,
            project_id: str | None = None) -> ColumnElement[bool] | None:
    """The caller's project's volumes; an admin's ``all_tenants`` lists everyone's (or
    the ``project_id`` one's). An admin sees any volume by id."""
    if ctx.is_admin and all_tenants:
        return Volume.project_id == project_id if project_id else None
    return Volume.project_id == ctx.project_id


async def get(db: AsyncSession, ctx: RequestContext, volume_id: str) -> Volume:
    stmt = sa.select(Volume).where(Volume.id == volume_id)
    if not ctx.is_admin:
        stmt = stmt.where(Volume.project_id == ctx.project_id)
    found = await db.scalar(stmt)
    if found is None:
        raise VolumeNotFound(volume_id)
    return found


async def save(db: AsyncSession, volume: Volume, **values: Any) -> None:
    """Write ``values`` if nobody changed the volume since it was read, bumping its
    generation (and ``status_at`` when the status changes); 409 when somebody did."""
    seen = volume.generation
    now = utcnow()
    values.setdefault("updated_at", now)
    if "status" in values and values["status"] != volume.status:
        values.setdefault("status_at", now)
    result = await db.execute(sa.update(Volume).where(
        Volume.id == volume.id, Volume.generation == seen).values(
        **values, generation=seen + 1).execution_options(synchronize_session=False))
    if rows_matched(result) != 1:
        raise ConcurrentUpdate()
    for name, value in values.items():
        setattr(volume, name, value)
    volume.generation = seen + 1


@dataclass(frozen=True)
class Source:
    """Where a new volume's data comes from."""

    kind: str = "blank"                 # blank, image, snapshot, volume
    id: str | None = None
    image: Mapping[str, Any] | None = None      # image's disk format, size, metadata


async def create(db: AsyncSession, settings: VolumeConfig, ctx: RequestContext, *,
                 size: int | None, name: str | None, description: str | None,
                 metadata: Mapping[str, str], type_ref: str | None,
                 availability_zone: str | None, source: Source, multiattach: bool,
                 group: Group | None = None) -> Volume:
    """A new volume in ``creating`` on a chosen host, or in ``error`` when no volume
    service can take it (Cinder's "No valid backend"), counted against quota either way;
    in ``group`` (whose volume types its type must be one of, the group's first when none
    is named) when given."""
    if group is not None:
        if type_ref is None:
            type_ref = group.volume_type_ids[0]
        if availability_zone is None:
            availability_zone = group.availability_zone
    project_id = str(ctx.project_id)
    host: VolumeService | None = None
    source_volume: Volume | None = None
    source_size = 0
    snapshot: Snapshot | None = None
    if source.kind == "snapshot":
        snapshot = await _source_snapshot(db, ctx, str(source.id))
        source_volume = await db.get(Volume, snapshot.volume_id)
        source_size = snapshot.size
    elif source.kind == "volume":
        source_volume = await get(db, ctx, str(source.id))
        if source_volume.status not in ("available", "in-use"):
            raise InvalidVolume(f"Source volume {source_volume.id} must be available or "
                                f"in-use to be cloned, but it is {source_volume.status}.")
        source_size = source_volume.size
    elif source.kind == "image" and source.image is not None:
        source_size = int(source.image.get("min_size_gb") or 0)
    if size is None:
        if source.kind not in ("snapshot", "volume"):
            raise InvalidInput("size is required unless the volume is made from a snapshot "
                               "or another volume")
        size = source_size
    if size < source_size:
        what = {"snapshot": "snapshot", "volume": "source volume",
                "image": "image"}.get(source.kind, "source")
        raise InvalidInput(f"Volume size '{size}GB' cannot be smaller than the {what} size "
                           f"{source_size}GB. They must be >= original {what} size.")
    if type_ref is not None:
        volume_type = await types.find_type(db, ctx, type_ref)
    elif source_volume is not None:
        volume_type = await db.get(VolumeType, source_volume.type_id) or \
            await types.default_type(db, settings, project_id)
    else:
        volume_type = await types.default_type(db, settings, project_id)
    await encryption.refuse_volumes_of(db, volume_type)
    if group is not None and volume_type.id not in group.volume_type_ids:
        raise InvalidInput(f"Invalid volume_type provided: {volume_type.id}. Group "
                           f"{group.id} supports only volume types "
                           f"{', '.join(group.volume_type_ids)}.")
    zone: str | None
    specs = await types.extra_specs(db, volume_type.id)
    no_host = ""
    if source_volume is not None:
        zone = availability_zone or source_volume.availability_zone
        if zone != source_volume.availability_zone:
            raise InvalidInput(f"Availability zone '{zone}' must be the source's "
                               f"({source_volume.availability_zone}).")
        no_host = (f"the source's host {source_volume.host} is down" if source_volume.host
                   else "the source has no host")
        if source_volume.host and await _host_up(db, settings, source_volume.host):
            host = await services.find(db, source_volume.host)
            unmet = (capabilities.unmet(specs, capabilities.of_service(host))
                     if host is not None else None)
            if unmet is not None:
                host, no_host = None, (f"the source's backend does not meet the volume "
                                       f"type's extra specs ({unmet})")
    else:
        zone = availability_zone or settings.default_availability_zone or None
        known = await services.zones(db, settings.service_down_time)
        if zone is not None and zone not in known and zone != settings.availability_zone:
            raise InvalidInput(f"Availability zone '{zone}' is invalid.")
        picked = await services.pick_host(db, zone, settings.service_down_time, specs)
        host, no_host = (None, picked) if isinstance(picked, str) else (picked, "")
        zone = zone or (host.availability_zone if host else settings.availability_zone)
    await quotas.admit(db, settings.quota, project_id, volumes=1, gigabytes=size,
                       volume_size=size, type_id=volume_type.id)
    now = utcnow()
    image = dict(source.image or {})
    task: dict[str, Any] = {"request_id": ctx.request_id}
    if source.kind != "blank":
        task["source"] = {"kind": source.kind, "id": source.id}
        if source.kind == "image":
            task["source"]["disk_format"] = image.get("disk_format")
            task["source"]["size"] = image.get("size")
    if host is None:
        task["error"] = f"No valid backend was found: {no_host}."
    volume = Volume(
        id=str(uuid.uuid4()), project_id=project_id, user_id=str(ctx.user_id), name=name,
        description=description, size=size, status="creating" if host else "error",
        work="creating" if host else None,
        availability_zone=str(zone), host=host.host if host else None,
        backend=host.backend if host else None, type_id=volume_type.id,
        snapshot_id=snapshot.id if snapshot else None,
        source_volid=source.id if source.kind == "volume" else None,
        image_id=source.id if source.kind == "image" else None,
        bootable=bool(source_volume.bootable) if source_volume else source.kind == "image",
        read_only=None, multiattach=multiattach, task=task,
        group_id=group.id if group is not None else None,
        image_metadata=dict(image.get("metadata") or (
            source_volume.image_metadata if source_volume else {})),
        generation=0, created_at=now, updated_at=now, status_at=now)
    db.add(volume)
    if host is None:
        messages.record(db, project_id=project_id, request_id=ctx.request_id,
                        resource_type=messages.VOLUME, resource_uuid=volume.id,
                        action=messages.SCHEDULE_ALLOCATE_VOLUME,
                        detail=messages.NO_BACKEND_AVAILABLE, ttl=settings.message_ttl)
    await db.flush()
    for key, value in metadata.items():
        db.add(VolumeMetadata(volume_id=volume.id, key=key, value=value))
    await db.flush()
    return volume


async def _source_snapshot(db: AsyncSession, ctx: RequestContext, snapshot_id: str
                           ) -> Snapshot:
    stmt = sa.select(Snapshot).where(Snapshot.id == snapshot_id)
    if not ctx.is_admin:
        stmt = stmt.where(Snapshot.project_id == ctx.project_id)
    snapshot = await db.scalar(stmt)
    if snapshot is None:
        raise SnapshotNotFound(snapshot_id)
    if snapshot.status != "available":
        raise InvalidInput(f"Snapshot {snapshot_id} must be available to make a volume of "
                           f"it, but it is {snapshot.status}.")
    return snapshot


# --- reads -----------------------------------------------------------------------------------

async def list_page(db: AsyncSession, ctx: RequestContext, query: ListQuery
                    ) -> tuple[list[Volume], int | None]:
    return await page(db, sa.select(Volume), VOLUMES, query,
                      visible(ctx, all_tenants=query.all_tenants, project_id=query.project_id))


@dataclass
class Details:
    """What a volume's view needs beside its row."""

    metadata: dict[str, str]
    attachments: list[Attachment]
    volume_type: VolumeType | None


async def details(db: AsyncSession, rows: list[Volume]) -> dict[str, Details]:
    ids = [row.id for row in rows]
    found = {row.id: Details({}, [], None) for row in rows}
    if not ids:
        return found
    for volume_id, key, value in await db.execute(sa.select(
            VolumeMetadata.volume_id, VolumeMetadata.key, VolumeMetadata.value).where(
            VolumeMetadata.volume_id.in_(ids)).order_by(VolumeMetadata.key)):
        found[volume_id].metadata[key] = value
    for attachment in (await db.execute(sa.select(Attachment).where(
            Attachment.volume_id.in_(ids)).order_by(Attachment.created_at,
                                                     Attachment.id))).scalars():
        found[attachment.volume_id].attachments.append(attachment)
    type_ids = {row.type_id for row in rows}
    by_id = {t.id: t for t in (await db.execute(sa.select(VolumeType).where(
        VolumeType.id.in_(type_ids)))).scalars()}
    for row in rows:
        found[row.id].volume_type = by_id.get(row.type_id)
    return found


async def summary(db: AsyncSession, clause: ColumnElement[bool] | None, *,
                  with_metadata: bool) -> dict[str, Any]:
    stmt = sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(Volume.size), 0))
    if clause is not None:
        stmt = stmt.where(clause)
    count, total = (await db.execute(stmt)).one()
    result: dict[str, Any] = {"total_count": int(count), "total_size": int(total)}
    if with_metadata:
        meta_stmt = sa.select(VolumeMetadata.key, VolumeMetadata.value).join(
            Volume, Volume.id == VolumeMetadata.volume_id).distinct()
        if clause is not None:
            meta_stmt = meta_stmt.where(clause)
        metadata: dict[str, list[str]] = {}
        for key, value in await db.execute(meta_stmt.order_by(VolumeMetadata.key,
                                                              VolumeMetadata.value)):
            metadata.setdefault(key, []).append(value)
        result["metadata"] = {key: values[0] if len(values) == 1 else values
                              for key, values in metadata.items()}
    return result


# --- updates ---------------------------------------------------------------------------------

async def update(db: AsyncSession, volume: Volume, values: Mapping[str, Any]) -> None:
    changes = {name: values[name] for name in ("name", "description") if name in values}
    if "metadata" in values:
        await replace_metadata(db, volume, values["metadata"])
    await save(db, volume, **changes)


async def metadata_of(db: AsyncSession, volume: Volume) -> dict[str, str]:
    return (await details(db, [volume]))[volume.id].metadata


async def replace_metadata(db: AsyncSession, volume: Volume,
                           metadata: Mapping[str, str]) -> None:
    await _metadata.replace(db, VolumeMetadata, "volume_id", volume.id, metadata)


async def merge_metadata(db: AsyncSession, volume: Volume, metadata: Mapping[str, str]
                         ) -> None:
    await _metadata.merge(db, VolumeMetadata, "volume_id", volume.id, metadata)


async def delete_metadata(db: AsyncSession, volume: Volume, key: str) -> None:
    await _metadata.delete(db, VolumeMetadata, "Volume", volume.id, key)


async def check_not_busy(db: AsyncSession, volume: Volume, action: str) -> None:
    """Refuse work on a volume whose file another task is reading or writing: a snapshot
    being made or deleted, a clone being made of it."""
    busy_snapshot = await db.scalar(sa.select(Snapshot.id).where(
        Snapshot.volume_id == volume.id,
        sa.or_(Snapshot.work.is_not(None), Snapshot.status == "restoring")).limit(1))
    clone = await db.scalar(sa.select(Volume.id).where(
        Volume.source_volid == volume.id, Volume.work == "creating").limit(1))
    if busy_snapshot or clone:
        raise InvalidVolume(f"Volume {volume.id} cannot be {action} while a snapshot or a "
                            "clone of it is being made or deleted.")


# --- deletion --------------------------------------------------------------------------------

async def delete(db: AsyncSession, settings: VolumeConfig, volume: Volume, *,
                 cascade: bool, force: bool) -> tuple[bool, list[str]]:
    """Start deleting ``volume`` (and, with ``cascade``, its snapshots). Whether the row
    is gone at once (a volume no host ever made, or an admin's force on a host that is
    down: its agent removes the file when it comes back), and the snapshots deleted with
    it (their agent must hear of them)."""
    states = list((await db.execute(sa.select(Attachment.attach_status).where(
        Attachment.volume_id == volume.id))).scalars())
    # Cinder's condition: never a volume attached (or still detaching); a force takes any
    # status, and an attach still in flight (reserved, attaching), whose attachment goes
    # with the volume: the attach then fails on its missing attachment.
    connected = {"attached", "detaching"} & set(states)
    if connected or (not force and (states or volume.status in ATTACHED_STATES)):
        raise InvalidVolume("Volume status must be available or error or error_restoring or "
                            "error_extending or error_managing and must not be migrating, "
                            "attached, belong to a group, have snapshots, awaiting a "
                            "transfer, or be disassociated from snapshots after volume "
                            "transfer.")
    if not force and volume.status not in DELETABLE:
        raise InvalidVolume(f"Volume status must be {' or '.join(DELETABLE)} to be deleted, "
                            f"but it is {volume.status}.")
    snapshots = list((await db.execute(sa.select(Snapshot).where(
        Snapshot.volume_id == volume.id))).scalars())
    if snapshots and not cascade:
        raise InvalidVolume(f"Volume {volume.id} still has {len(snapshots)} dependent "
                            "snapshots; delete them first, or pass cascade=true.")
    for snapshot in snapshots:
        if not force and snapshot.status not in ("available", "error", "error_deleting"):
            raise InvalidVolume(f"Snapshot {snapshot.id} is {snapshot.status}; a cascade "
                                "delete needs every snapshot available or in error.")
    snapshot_ids = [snapshot.id for snapshot in snapshots]
    if states:
        await db.execute(sa.delete(Attachment).where(Attachment.volume_id == volume.id))
    if volume.host is None or (force and not await _host_up(db, settings, volume.host)):
        await db.delete(volume)
        await db.flush()
        return True, snapshot_ids
    for snapshot in snapshots:
        if snapshot.work != "deleting":
            if snapshot.status != "deleting":
                snapshot.status_at = utcnow()
            snapshot.status = snapshot.work = "deleting"
            snapshot.updated_at = utcnow()
            snapshot.generation += 1
    await save(db, volume, status="deleting", work="deleting", previous_status=volume.status)
    return False, snapshot_ids


async def _host_up(db: AsyncSession, settings: VolumeConfig, host: str) -> bool:
    row = await services.find(db, host)
    return row is not None and services.is_up(row, utcnow(), settings.service_down_time)


async def host_up(db: AsyncSession, settings: VolumeConfig, host: str | None) -> bool:
    return host is not None and await _host_up(db, settings, host)
