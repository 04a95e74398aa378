"""The volume actions that change a volume's state (``POST /volumes/{id}/action``),
besides attaching and detaching (:mod:`.attachments`): extend, the bootable and read-only
flags, upload to an image, revert to a snapshot, retype, and the admin's reset-status.

Each is one compare-and-swap on the volume (and a quota check where it grows), leaving
the volume in the status its host's agent works on where files must change.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from ownstack.common.api.microversion import Version, at_least
from ownstack.common.config import VolumeConfig
from ownstack.common.context import RequestContext
from ownstack.common.db.base import utcnow
from ownstack.volume.errors import (
    InvalidInput,
    InvalidSnapshot,
    InvalidVolume,
    VolumeTypeNotFound,
)
from ownstack.volume.objects import (
    attachments,
    capabilities,
    encryption,
    quotas,
    services,
    snapshots,
    types,
    volumes,
)
from ownstack.volume.objects.models import Snapshot, Volume, VolumeType

UPLOAD_FORMATS = ("raw", "qcow2", "vmdk", "vdi", "vhd", "vhdx")
UPLOAD_CONTAINERS = ("bare",)


async def extend(db: AsyncSession, settings: VolumeConfig, volume: Volume, new_size: int,
                 version: Version, *, request_id: str | None = None) -> list[str]:
    """Grow ``volume`` to ``new_size`` GiB: ``extending`` until its agent has grown the
    file. An in-use volume (3.42) is grown by the QEMU that has it open (``block_resize``,
    as Nova does on Cinder's ``volume-extended`` event), not by the agent: it stays
    ``extending`` until compute confirms with ``os-extend_volume_completion`` (or the
    sweep gives up after ``volume.attach_timeout``). The servers compute must tell."""
    allowed = ["available"]
    if at_least(version, "3.42"):
        allowed.append("in-use")
    if volume.status not in allowed:
        raise InvalidVolume(f"Volume status must be {' or '.join(allowed)} to extend, but "
                            f"current status is: {volume.status}.")
    if new_size <= volume.size:
        raise InvalidInput(f"New size for extend must be greater than current size. "
                           f"(current: {volume.size}, extended: {new_size}).")
    await volumes.check_not_busy(db, volume, "extended")
    await quotas.admit(db, settings.quota, volume.project_id,
                       gigabytes=new_size - volume.size, volume_size=new_size,
                       type_id=volume.type_id)
    task = dict(volume.task or {})
    task["old_size"] = volume.size
    task["request_id"] = request_id             # for the user message a failure leaves
    servers: list[str] = []
    if volume.status == "in-use":
        task["extend_by_compute"] = True
        servers = [a.instance_uuid for a in await attachments.of_volume(db, volume.id)
                   if a.instance_uuid and a.attach_status == "attached"]
    await volumes.save(db, volume, status="extending", work="extending",
                       previous_status=volume.status, size=new_size, task=task)
    return servers


async def set_bootable(db: AsyncSession, volume: Volume, bootable: bool) -> None:
    await volumes.save(db, volume, bootable=bootable)


async def set_read_only(db: AsyncSession, volume: Volume, read_only: bool) -> None:
    if volume.status not in ("available", "error", "error_extending"):
        raise InvalidVolume(f"Volume status must be available to update its read-only "
                            f"flag, but it is {volume.status}.")
    await volumes.save(db, volume, read_only=read_only)


def check_upload(volume: Volume, *, force: bool, disk_format: str,
                 container_format: str) -> None:
    """Whether the volume may be uploaded now, as those formats: 400 otherwise."""
    if volume.status == "in-use" and not force:
        raise InvalidVolume(f"Volume {volume.id} status must be available, but it is "
                            "in-use: pass force=true to upload an in-use volume.")
    if volume.status not in ("available", "in-use"):
        raise InvalidVolume(f"Volume {volume.id} status must be available or in-use to be "
                            f"uploaded, but it is {volume.status}.")
    if disk_format not in UPLOAD_FORMATS:
        raise InvalidInput(f"Invalid disk-format '{disk_format}' is specified. Allowed "
                           f"disk-formats are {', '.join(UPLOAD_FORMATS)}.")
    if container_format not in UPLOAD_CONTAINERS:
        raise InvalidInput(f"Invalid container-format '{container_format}' is specified. "
                           f"Allowed container-formats are {', '.join(UPLOAD_CONTAINERS)}.")


async def begin_upload(db: AsyncSession, volume: Volume, image_id: str, disk_format: str,
                       *, force: bool, container_format: str,
                       request_id: str | None = None) -> None:
    """``uploading``, with the image to fill, until the agent has filled it."""
    check_upload(volume, force=force, disk_format=disk_format,
                 container_format=container_format)
    await volumes.check_not_busy(db, volume, "uploaded")
    task = dict(volume.task or {})
    task["upload"] = {"image_id": image_id, "disk_format": disk_format}
    task["request_id"] = request_id             # for the user message a failure leaves
    await volumes.save(db, volume, status="uploading", work="uploading",
                       previous_status=volume.status, task=task)


async def revert(db: AsyncSession, volume: Volume, snapshot: Snapshot) -> None:
    """Back to ``snapshot``, which must be the volume's latest, of its size (3.40)."""
    if snapshot.volume_id != volume.id:
        raise InvalidInput(f"Snapshot {snapshot.id} is not a snapshot of volume {volume.id}.")
    if volume.status != "available":
        raise InvalidVolume(f"Volume status must be available to revert, but it is "
                            f"{volume.status}.")
    if snapshot.status != "available":
        raise InvalidSnapshot(f"Snapshot status must be available to revert to it, but it "
                              f"is {snapshot.status}.")
    latest = await db.scalar(sa.select(Snapshot.id).where(
        Snapshot.volume_id == volume.id).order_by(Snapshot.created_at.desc(),
                                                  Snapshot.id.desc()).limit(1))
    if latest != snapshot.id:
        raise InvalidInput(f"Volume {volume.id} can be reverted only to its latest "
                           f"snapshot ({latest}).")
    if snapshot.size != volume.size:
        raise InvalidInput(f"Volume {volume.id} is {volume.size}GB and snapshot "
                           f"{snapshot.id} was {snapshot.size}GB: they must be the same.")
    task = dict(volume.task or {})
    task["revert_snapshot_id"] = snapshot.id
    await snapshots.save(db, snapshot, status="restoring")
    await volumes.save(db, volume, status="reverting", work="reverting",
                       previous_status=volume.status, task=task)


# The arguments of the work a reset-status ends.
WORK_ARGUMENTS: Final = ("upload", "revert_snapshot_id", "old_size", "extend_by_compute")


async def reset_status(db: AsyncSession, volume: Volume, values: dict[str, Any]) -> None:
    """The admin's ``os-reset_status``: any status (case-insensitive, as Cinder's);
    ``attach_status: detached`` also drops the volume's attachments (what Cinder's does
    to its attachment rows). It writes the database only, as Cinder's does: the status
    asks the agent for nothing, and the volume's work ends (decision 59), so a volume
    reset to ``deleting`` keeps its file and one reset to ``creating`` stays so until an
    action changes it."""
    status = values.get("status")
    if status is not None:
        status = str(status).lower()
        if status not in volumes.STATUSES:
            raise InvalidInput(f"Must specify a valid status, not {status!r}.")
    attach_status = values.get("attach_status")
    if attach_status is not None:
        attach_status = str(attach_status).lower()
    if attach_status is not None and attach_status not in ("attached", "detached"):
        raise InvalidInput(f"Must specify a valid attach status, not {attach_status!r}.")
    migration_status = values.get("migration_status")
    if migration_status not in (None, "none"):
        raise InvalidInput("Migrations are not supported: migration_status may only be "
                           "'none'.")
    if attach_status == "detached":
        for attachment in await attachments.of_volume(db, volume.id):
            await db.delete(attachment)
        await db.flush()
    changes: dict[str, Any] = {}
    if status is not None:
        task = {key: value for key, value in (volume.task or {}).items()
                if key not in WORK_ARGUMENTS}
        changes.update(status=status, work=None, task=task)
    await volumes.save(db, volume, **changes)


async def extend_completion(db: AsyncSession, volume: Volume, error: bool, reason: str = ""
                            ) -> None:
    """Nova's ``os-extend_volume_completion`` (3.71): compute grew an in-use volume (the
    volume is in-use at its new size), or could not (``error_extending``, at its old
    size, as Cinder leaves it)."""
    task = dict(volume.task or {})
    if volume.work != "extending" or not task.get("extend_by_compute"):
        raise InvalidVolume(f"Volume {volume.id} is not waiting for compute to extend it "
                            f"(status {volume.status}).")
    old_size = int(task.pop("old_size", volume.size))
    task.pop("extend_by_compute", None)
    if error:
        task["error"] = reason or "compute could not extend the attached volume"
        await volumes.save(db, volume, status="error_extending", work=None, size=old_size,
                           task=task)
        return
    remaining = await attachments.of_volume(db, volume.id)
    await volumes.save(db, volume, status="in-use" if remaining else "available", work=None,
                       task=task)


async def fail_unconfirmed_extends(db: AsyncSession, timeout: float) -> list[str]:
    """In-use volumes whose extend compute has not confirmed within ``timeout`` seconds:
    ``error_extending`` (the sweep's; a volume never stays ``extending``). Their ids."""
    cutoff = utcnow() - timedelta(seconds=timeout)
    stale = list((await db.execute(sa.select(Volume).where(
        Volume.work == "extending", Volume.status_at < cutoff))).scalars())
    changed = []
    for volume in stale:
        if (volume.task or {}).get("extend_by_compute"):
            await extend_completion(db, volume, True, f"compute did not confirm the extend "
                                                      f"within {int(timeout)} s")
            changed.append(volume.id)
    return changed


# Cinder's one message for every unmet condition of its conditional update.
RETYPE_REFUSED: Final = ("Retype needs volume to be in available or in-use state, not be "
                         "part of an active migration or a consistency group, requested "
                         "type has to be different that the one from the volume, and for "
                         "in-use volumes front-end qos specs cannot change.")


async def retype(db: AsyncSession, ctx: RequestContext, volume: Volume, new_type_ref: str,
                 migration_policy: str, *,
                 authorize_multiattach: Callable[[], None] = lambda: None) -> VolumeType:
    """Give ``volume`` the type ``new_type_ref`` (an id or a name), as Cinder's retype does
    when the volume's backend can keep it: available or in-use, a different type, the
    same front-end QoS while in use, multiattach changed only while available, within the
    new type's ``volumes_<type>`` and ``gigabytes_<type>``. A file on ownstack's backends
    does not depend on its type, so the change is this row's; a type the volume's backend
    does not meet would need a migration to another backend, which ownstack does not do
    (a 400 saying so, where Cinder would accept and then fail). A retype to a
    multiattach type first calls ``authorize_multiattach`` (the policy check). The new
    type."""
    try:
        new_type = await types.find_type(db, ctx, new_type_ref)
    except VolumeTypeNotFound:
        raise InvalidInput(f"Invalid volume_type passed: {new_type_ref}.") from None
    if volume.status not in ("available", "in-use") or new_type.id == volume.type_id:
        raise InvalidVolume(RETYPE_REFUSED)
    await encryption.refuse_volumes_of(db, new_type)
    new_specs = await types.extra_specs(db, new_type.id)
    multiattach = types.is_multiattach(new_specs)
    if multiattach != bool(volume.multiattach) and volume.status != "available":
        raise InvalidInput(
            "Invalid volume_type passed, retypes affecting multiattach are only allowed on "
            "available volumes, the specified volume however currently has a status of: "
            f"{volume.status}.")
    if multiattach and not volume.multiattach:
        authorize_multiattach()
    if volume.status == "in-use" and (await types.front_end_qos(db, volume.type_id)
                                      != await types.front_end_qos(db, new_type.id)):
        raise InvalidVolume(RETYPE_REFUSED)
    service = await services.find(db, volume.host) if volume.host else None
    if service is None:
        raise InvalidVolume(f"Volume {volume.id} cannot be retyped: its host "
                            f"{volume.host} has no volume service to check the type against.")
    unmet = capabilities.unmet(new_specs, capabilities.of_service(service))
    if unmet is not None:
        how = ("on demand" if migration_policy == "on-demand"
               else "and the migration policy is never")
        raise InvalidInput(
            f"Volume {volume.id} cannot be retyped to {new_type.name}: its backend does not "
            f"meet the type's extra specs ({unmet}), so it would have to move to another "
            f"backend ({how}); ownstack does not migrate volumes yet.")
    await quotas.admit_type(db, volume.project_id, new_type.id, volumes=1,
                            gigabytes=volume.size)
    await volumes.save(db, volume, type_id=new_type.id, multiattach=multiattach)
    return new_type
