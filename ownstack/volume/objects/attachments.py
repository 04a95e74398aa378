"""Attaching and detaching: the attachments API (3.27+) and the older volume actions,
on one state machine.

The volume's status says where it is, as Cinder's does::

    available --reserve/attachment create--> reserved (attachments) or attaching (os-reserve)
    reserved --attachment update (a connector)--> attaching
    attaching --os-complete / os-attach--> in-use
    in-use --os-begin_detaching--> detaching --os-detach / attachment delete--> available
    (a volume keeps ``in-use`` while any attachment is attached; a multiattach volume
    takes new attachments while in-use)

Compute drives it between two of its own calls, so ``attaching`` and ``detaching`` must
not outlive a compute that died in between: the volume service's sweep
(:func:`roll_back_stale`) rolls a volume that stayed in either longer than
``volume.attach_timeout`` back to where it came from (an attachment never completed is
reserved again, a detach never finished leaves the volume in-use), so neither status is
ever permanent.

The connection compute gets (``connection_info``) names the volume's file and format on
its host (``driver_volume_type: file``): enough for QEMU's ``blockdev-add`` with
``{"driver": format, "file": {"driver": "file", "filename": path}}`` and no backing, the
QMP hot-plug of the next step. A connector from another host is refused until volumes are
exported over NBD.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ColumnElement

from ownstack.common.context import RequestContext
from ownstack.common.db.base import utcnow
from ownstack.volume.errors import (
    AttachmentConflict,
    AttachmentInUseByServer,
    AttachmentNotFound,
    InvalidAttachment,
    InvalidVolume,
)
from ownstack.volume.objects import volumes
from ownstack.volume.objects.listing import Filter, Kind, ListQuery, equals, page
from ownstack.volume.objects.models import Attachment, Volume, VolumeType

ATTACH_MODES: Final = ("rw", "ro")
DRIVER_VOLUME_TYPE: Final = "file"

ATTACHMENTS: Final = Kind(name="attachment", model=Attachment, filters={
    "volume_id": Filter(equals(Attachment.volume_id)),
    "status": Filter(equals(Attachment.attach_status)),
    "attach_status": Filter(equals(Attachment.attach_status)),
    "instance_id": Filter(equals(Attachment.instance_uuid)),
}, sort_keys={key: key for key in ("id", "created_at", "updated_at", "volume_id",
                                    "instance_uuid", "attach_status")})


def visible(ctx: RequestContext, *, all_tenants: bool = False) -> ColumnElement[bool] | None:
    if ctx.is_admin and all_tenants:
        return None
    return Attachment.project_id == ctx.project_id


async def list_page(db: AsyncSession, ctx: RequestContext, query: ListQuery
                    ) -> tuple[list[Attachment], int | None]:
    return await page(db, sa.select(Attachment), ATTACHMENTS, query,
                      visible(ctx, all_tenants=query.all_tenants))


async def get(db: AsyncSession, ctx: RequestContext, attachment_id: str) -> Attachment:
    stmt = sa.select(Attachment).where(Attachment.id == attachment_id)
    if not ctx.is_admin:
        stmt = stmt.where(Attachment.project_id == ctx.project_id)
    found = await db.scalar(stmt)
    if found is None:
        raise AttachmentNotFound(attachment_id)
    return found


async def of_volume(db: AsyncSession, volume_id: str) -> list[Attachment]:
    return list((await db.execute(sa.select(Attachment).where(
        Attachment.volume_id == volume_id).order_by(Attachment.created_at,
                                                     Attachment.id))).scalars())


def _check_attachable(volume: Volume) -> None:
    if "error" in volume.status:
        raise InvalidVolume(f"Volume attachments can not be created if the volume is in an "
                            f"error state. The Volume {volume.id} currently has a status "
                            f"of: {volume.status}")


async def reserve(db: AsyncSession, volume: Volume, instance_uuid: str | None,
                  project_id: str, *, mode: str = "null") -> Attachment:
    """A new attachment in ``reserved``; the volume ``reserved`` (or left ``in-use`` when
    it is multiattach and attached elsewhere). A volume already taken is a 400, unless
    the same server asks again (a move of the server, as Cinder allows)."""
    _check_attachable(volume)
    existing = await of_volume(db, volume.id)
    allowed = ("available", "in-use", "reserved") if volume.multiattach else ("available",)
    same_server = bool(instance_uuid) and any(a.instance_uuid == instance_uuid
                                              for a in existing)
    if volume.status not in allowed and not same_server:
        raise InvalidVolume(f"Volume {volume.id} status must be {' or '.join(allowed)} to "
                            f"reserve, but the current status is {volume.status}.")
    now = utcnow()
    attachment = Attachment(
        id=str(uuid.uuid4()), volume_id=volume.id, project_id=project_id,
        instance_uuid=instance_uuid, attach_mode=mode, attach_status="reserved",
        connector=None, connection_info=None, created_at=now, updated_at=now)
    db.add(attachment)
    if volume.status == "available":
        await volumes.save(db, volume, status="reserved")
    else:
        await volumes.save(db, volume)          # the generation, so racers see the change
    await db.flush()
    return attachment


def connection_info(volume: Volume, volume_type: VolumeType | None, mode: str,
                    qos_specs: Mapping[str, str] | None = None) -> dict[str, Any]:
    """How compute opens the volume: its file on the volume's host, in its format."""
    access = "ro" if mode == "ro" or volume.read_only else "rw"
    return {"driver_volume_type": DRIVER_VOLUME_TYPE, "data": {
        "volume_id": volume.id, "name": f"volume-{volume.id}",
        "path": volume.provider_location, "format": volume.format,
        "host": volume.host, "access_mode": access, "encrypted": False,
        "discard": True, "cacheable": False, "qos_specs": dict(qos_specs) if qos_specs
        else None, "volume_type": volume_type.name if volume_type else None}}


def check_connector(volume: Volume, connector: Mapping[str, Any]) -> None:
    host = connector.get("host")
    if host is not None and not isinstance(host, str):
        raise InvalidAttachment("Invalid input received: connector host must be a string.")
    if volume.provider_location is None:
        raise InvalidVolume(f"Volume {volume.id} has no data on any host yet.")
    if host and volume.host and host != volume.host:
        raise InvalidVolume(f"Volume {volume.id} is on host {volume.host} and can be "
                            f"attached only there; ownstack does not export volumes to "
                            f"other hosts (over NBD) yet, so {host} cannot open it.")


async def connect(db: AsyncSession, attachment: Attachment, volume: Volume,
                  connector: Mapping[str, Any], qos_specs: Mapping[str, str] | None
                  ) -> Attachment:
    """Give a reserved attachment its connector: ``attaching``, with connection info."""
    _check_attachable(volume)
    check_connector(volume, connector)
    if attachment.attach_status not in ("reserved", "attaching", "attached"):
        raise InvalidAttachment(f"Invalid input received: attachment {attachment.id} is "
                                f"{attachment.attach_status}.")
    others = [a for a in await of_volume(db, volume.id)
              if a.id != attachment.id and a.connection_info]
    if others and not volume.multiattach:
        raise AttachmentConflict(f"duplicate connectors detected on volume {volume.id}")
    volume_type = await db.get(VolumeType, volume.type_id)
    mode = attachment.attach_mode
    connector_mode = connector.get("mode")
    if mode == "null" and connector_mode in ATTACH_MODES:
        mode = str(connector_mode)
    attachment.connector = dict(connector)
    attachment.attached_host = str(connector.get("host") or volume.host or "")
    mountpoint = connector.get("mountpoint")
    attachment.mountpoint = str(mountpoint) if isinstance(mountpoint, str) else None
    attachment.connection_info = connection_info(volume, volume_type, mode, qos_specs)
    attachment.attach_mode = "ro" if volume.read_only else (mode if mode != "null" else "rw")
    if attachment.attach_status != "attached":
        attachment.attach_status = "attaching"
    attachment.updated_at = utcnow()
    if volume.status in ("reserved", "available"):
        await volumes.save(db, volume, status="attaching")
    else:
        await volumes.save(db, volume)
    await db.flush()
    return attachment


async def complete(db: AsyncSession, attachment: Attachment, volume: Volume) -> None:
    """The attach is done on the compute side: attached, the volume ``in-use``."""
    if attachment.attach_status not in ("attaching", "reserved", "attached"):
        raise InvalidAttachment(f"Invalid input received: attachment {attachment.id} is "
                                f"{attachment.attach_status}.")
    now = utcnow()
    attachment.attach_status = "attached"
    attachment.attach_time = attachment.attach_time or now
    attachment.updated_at = now
    await volumes.save(db, volume, status="in-use")
    await db.flush()


async def remove(db: AsyncSession, attachment: Attachment, volume: Volume) -> list[Attachment]:
    """The attachment is gone; the volume's status follows what remains: in-use while any
    is attached, reserved while any is reserved, else available. The remaining ones."""
    await db.delete(attachment)
    await db.flush()
    remaining = await of_volume(db, volume.id)
    await volumes.save(db, volume, status=_status_for(remaining))
    return remaining


def _status_for(remaining: list[Attachment]) -> str:
    if any(a.attach_status in ("attached", "detaching") for a in remaining):
        return "in-use"
    if any(a.attach_status == "attaching" for a in remaining):
        return "attaching"
    if remaining:
        return "reserved"
    return "available"


# --- the older actions -----------------------------------------------------------------------

async def legacy_reserve(db: AsyncSession, volume: Volume) -> None:
    """``os-reserve``: available (or in-use, multiattach) -> attaching, no attachment."""
    _check_attachable(volume)
    allowed = ("available", "in-use") if volume.multiattach else ("available",)
    if volume.status not in allowed:
        raise InvalidVolume(f"Volume status must be {' or '.join(allowed)} to reserve, but "
                            f"the status is {volume.status}.")
    await volumes.save(db, volume, status="attaching", previous_status=volume.status)


async def legacy_unreserve(db: AsyncSession, volume: Volume) -> None:
    """``os-unreserve``: attaching -> what its attachments say (available when none)."""
    if volume.status != "attaching":
        return
    await volumes.save(db, volume, status=_status_for(await of_volume(db, volume.id)))


async def legacy_attach(db: AsyncSession, volume: Volume, project_id: str, *,
                        instance_uuid: str | None, host_name: str | None,
                        mountpoint: str, mode: str) -> Attachment:
    """``os-attach``: the volume is attached (an attachment recorded), ``in-use``."""
    _check_attachable(volume)
    allowed = ["available", "attaching", "reserved"]
    if volume.multiattach:
        allowed.append("in-use")
    if volume.status not in allowed:
        raise InvalidVolume(f"Volume status must be {' or '.join(allowed)} to attach, but it "
                            f"is {volume.status}.")
    if volume.read_only and mode != "ro":
        raise InvalidVolume(f"Volume {volume.id} is read-only; attach it with mode ro.")
    now = utcnow()
    attachment = Attachment(
        id=str(uuid.uuid4()), volume_id=volume.id, project_id=project_id,
        instance_uuid=instance_uuid, attached_host=host_name, mountpoint=mountpoint,
        attach_mode=mode, attach_status="attached", connector=None, connection_info=None,
        attach_time=now, created_at=now, updated_at=now)
    db.add(attachment)
    await volumes.save(db, volume, status="in-use")
    await db.flush()
    return attachment


async def legacy_begin_detaching(db: AsyncSession, volume: Volume) -> None:
    if volume.status != "in-use":
        raise InvalidVolume(f"Volume status must be in-use to begin detaching, but it is "
                            f"{volume.status}.")
    await volumes.save(db, volume, status="detaching")


async def legacy_roll_detaching(db: AsyncSession, volume: Volume) -> None:
    if volume.status == "detaching":
        await volumes.save(db, volume, status="in-use")


async def legacy_detach(db: AsyncSession, volume: Volume, attachment_id: str | None) -> None:
    """``os-detach``: the attachment named (or the volume's only one) is removed. A volume
    already available and detached stays so (202), as Cinder's detach of nothing."""
    if volume.status == "available" and attachment_id is None \
            and not await of_volume(db, volume.id):
        return
    if volume.status not in ("in-use", "detaching", "attaching", "reserved"):
        raise InvalidVolume(f"Volume {volume.id} is {volume.status}, not attached.")
    chosen = await _detached_one(db, volume, attachment_id)
    if chosen is not None:
        await remove(db, chosen, volume)


async def force_detach(db: AsyncSession, volume: Volume, attachment_id: str | None, *,
                       by_service: bool) -> None:
    """``os-force_detach``, an admin's roll-back of a detach gone wrong: the attachment
    named (or the only one) is removed whatever the volume's status, which then follows
    what remains (``available`` when nothing does).

    An attachment a server is connected to (it has a server and connection details) is
    refused unless a service asks, as Cinder refuses it since its bug 2004555: removing it
    here would leave the guest's device behind on its host. Detach it through compute."""
    chosen = await _detached_one(db, volume, attachment_id)
    if chosen is None:
        return
    if chosen.instance_uuid and chosen.connection_info and not by_service:
        raise AttachmentInUseByServer(chosen.instance_uuid)
    await remove(db, chosen, volume)


async def _detached_one(db: AsyncSession, volume: Volume, attachment_id: str | None
                        ) -> Attachment | None:
    """The attachment a detach names, or the volume's only one; None (and the volume made
    ``available``) when it has none and none was named, as Cinder's detach."""
    existing = await of_volume(db, volume.id)
    if attachment_id is not None:
        for attachment in existing:
            if attachment.id == attachment_id:
                return attachment
        raise AttachmentNotFound(attachment_id)
    if len(existing) == 1:
        return existing[0]
    if not existing:
        await volumes.save(db, volume, status="available")
        return None
    raise InvalidVolume(f"Volume {volume.id} has {len(existing)} attachments: name the "
                        "one to detach (attachment_id).")


# --- the sweep -------------------------------------------------------------------------------

async def roll_back_stale(db: AsyncSession, timeout: float) -> list[str]:
    """Volumes stuck in ``attaching`` or ``detaching`` longer than ``timeout`` seconds,
    rolled back; their ids. An attaching attachment is reserved again (compute may still
    complete it), a detaching volume goes back to in-use."""
    cutoff = utcnow() - timedelta(seconds=timeout)
    stale = list((await db.execute(sa.select(Volume).where(
        Volume.status.in_(("attaching", "detaching")), Volume.status_at < cutoff))).scalars())
    for volume in stale:
        remaining = await of_volume(db, volume.id)
        if volume.status == "detaching":
            await volumes.save(db, volume, status="in-use" if remaining else "available")
            continue
        for attachment in remaining:
            if attachment.attach_status == "attaching":
                attachment.attach_status = "reserved"
                attachment.updated_at = utcnow()
        status = _status_for(remaining)
        await volumes.save(db, volume, status=status)
    await db.flush()
    return [volume.id for volume in stale]
