"""Boot from volume, the API's part: what the mappings name is checked as the caller,
and once the servers' rows are written, their volumes are reserved or made, as the
caller, before the servers are scheduled (see :mod:`ownstack.compute.conductor.boot_volumes`
for the conductor's part, and decision 52).

As the caller, because the volumes are theirs: a volume made from an image is the
project's, counted in its volume quota, and shown by ``openstack volume list``, as Nova
makes them with the user's token. The conductor has no caller's token, and Cinder has no
way for a service to make a volume in another project. So the API, which has the token,
asks for the volumes (a create answers at once, ``creating``) and reserves the existing
ones (an attachment with no connector, ``reserved``, as Nova's API reserves them), and
records each on its mapping; the conductor waits for them, connects them with the host,
and completes the attachments.

A refusal here (a volume taken meanwhile, the project's volume quota, an image the volume
service will not copy) answers the create with that error, the servers removed and what was
made for them released; nothing leaks and nothing is left ``reserved``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ownstack.common.clients.volume import (
    VolumeClient,
    VolumeClientError,
    VolumeNotFoundError,
    VolumeUnavailable,
)
from ownstack.common.errors import BadRequest, Forbidden, OwnstackError
from ownstack.compute import block_device
from ownstack.compute.block_device import (
    SOURCE_BLANK,
    SOURCE_IMAGE,
    SOURCE_SNAPSHOT,
    SOURCE_VOLUME,
    InvalidBDM,
)
from ownstack.compute.errors import InvalidServerRequest
from ownstack.compute.objects.servers import ImageFacts

log = logging.getLogger(__name__)

FetchImage = Callable[[str], Awaitable[ImageFacts]]


class InvalidVolume(BadRequest):
    """Nova's ``InvalidVolume``: ``Invalid volume: <reason>``."""

    code = "compute.invalid_volume"

    def __init__(self, reason: str) -> None:
        super().__init__(f"Invalid volume: {reason}")


class VolumeServiceUnavailable(OwnstackError):
    status = 503
    code = "compute.volume_service_unavailable"
    message = "The volume service failed to answer; retry later."


class VolumeQuotaExceeded(Forbidden):
    """Nova's ``OverQuota`` for what the volume service refused with Cinder's 413."""

    code = "compute.volume_quota_exceeded"

    def __init__(self, reason: str) -> None:
        super().__init__(f"Volume resource quota exceeded: {reason}")


@dataclass
class BootFacts:
    """What the checks learnt: the root's image metadata (the image's, or the volume's
    ``volume_image_metadata``), for the instance's ``image_meta``."""

    image: ImageFacts | None
    checked: list[block_device.Mapping] = field(default_factory=list)


def _bootable(volume: Mapping[str, Any]) -> bool:
    return str(volume.get("bootable", "false")).lower() == "true"


def image_facts_of_volume(volume: Mapping[str, Any]) -> ImageFacts:
    """Nova's ``get_bdm_image_metadata`` for a volume: its ``volume_image_metadata``."""
    meta = dict(volume.get("volume_image_metadata") or {})
    core = {"image_id", "image_name", "checksum", "container_format", "disk_format",
            "min_disk", "min_ram", "size"}

    def number(key: str) -> int:
        try:
            return int(meta.get(key) or 0)
        except (TypeError, ValueError):
            return 0
    return ImageFacts(id=str(meta.get("image_id") or ""), status="active",
                      disk_format=meta.get("disk_format"), min_disk=number("min_disk"),
                      min_ram=number("min_ram"), size=number("size") or None,
                      virtual_size=None,
                      properties={k: v for k, v in meta.items() if k not in core})


def refusal(exc: VolumeClientError) -> OwnstackError:
    """The compute error for a volume service's refusal, as Nova maps Cinder's."""
    if isinstance(exc, VolumeUnavailable):
        return VolumeServiceUnavailable()
    if exc.status == 413:
        return VolumeQuotaExceeded(exc.message)
    return InvalidVolume(exc.message)


async def check(caller: VolumeClient, fetch_image: FetchImage,
                request: block_device.Request) -> BootFacts:
    """Nova's ``_validate_bdm`` and ``_check_requested_image`` for the mappings that
    become volumes, with the caller's token; fills in the sizes of volumes and snapshots."""
    facts = BootFacts(image=None)
    for m in request.volumes:
        assert_uuid = m.uuid or ""
        if m.source_type == SOURCE_VOLUME:
            volume = await _get(caller.get_volume, assert_uuid,
                                f"Block Device Mapping is Invalid: failed to get volume "
                                f"{assert_uuid}.")
            status = volume.get("status")
            if status != "available":
                raise InvalidVolume(f"volume '{assert_uuid}' status must be 'available'. "
                                    f"Currently in '{status}'")
            m.volume_size = int(volume.get("size") or 0) or None
            if m.is_root:
                if not _bootable(volume):
                    raise InvalidBDM(f"Block Device {assert_uuid} is not bootable.")
                facts.image = image_facts_of_volume(volume)
        elif m.source_type == SOURCE_SNAPSHOT:
            snapshot = await _get(caller.get_snapshot, assert_uuid,
                                  f"Block Device Mapping is Invalid: failed to get snapshot "
                                  f"{assert_uuid}.")
            m.volume_size = m.volume_size or int(snapshot.get("size") or 0) or None
            if m.is_root:
                facts.image = await _snapshot_image(caller, snapshot)
        elif m.source_type == SOURCE_IMAGE:
            try:
                image = await fetch_image(assert_uuid)
            except InvalidServerRequest:
                raise InvalidBDM(f"Block Device Mapping is Invalid: failed to get image "
                                 f"{assert_uuid}.") from None
            if m.is_root:
                block_device.check_min_disk(m, image.min_disk)
                block_device.check_image_fits_volume(m, image.id, image.size,
                                                     image.virtual_size)
                facts.image = image
        elif m.source_type == SOURCE_BLANK and m.is_root:
            facts.image = ImageFacts(id="", status="active", disk_format=None, min_disk=0,
                                     min_ram=0, size=None, virtual_size=None,
                                     properties={})
        facts.checked.append(m)
    return facts


async def _get(getter: Callable[[str], Awaitable[dict[str, Any]]], ident: str,
               missing: str) -> dict[str, Any]:
    try:
        return await getter(ident)
    except VolumeUnavailable:
        raise VolumeServiceUnavailable() from None
    except VolumeClientError:
        raise InvalidBDM(missing) from None


async def _snapshot_image(caller: VolumeClient, snapshot: Mapping[str, Any]) -> ImageFacts:
    """A snapshot's image metadata is its volume's (Cinder copies it to the new one)."""
    try:
        return image_facts_of_volume(await caller.get_volume(str(snapshot.get("volume_id"))))
    except VolumeNotFoundError:
        return image_facts_of_volume({})
    except VolumeClientError as exc:
        raise refusal(exc) from None


@dataclass
class Provided:
    """What :func:`provide` made or reserved, to release when it must be undone."""

    attachments: list[str] = field(default_factory=list)
    volumes: list[str] = field(default_factory=list)


async def provide(caller: VolumeClient, service: VolumeClient,
                  mappings: Sequence[tuple[str, str, block_device.Mapping]],
                  record: Callable[[str, dict[str, Any]], Awaitable[bool]]) -> Provided:
    """Reserve each existing volume and ask for each new one, as the caller, recording
    it on its mapping (``record(bdm_uuid, values)``) at once, so a conductor or a sweep
    finds it. ``mappings``: ``(instance uuid, bdm uuid, mapping)``. Raises the mapped
    refusal, having released what it made (:func:`release`)."""
    done = Provided()
    try:
        for instance_uuid, bdm_uuid, m in mappings:
            if m.source_type == SOURCE_VOLUME:
                attachment = await caller.attachment_create(str(m.uuid), instance_uuid)
                done.attachments.append(str(attachment["id"]))
                await record(bdm_uuid, {"attachment_id": str(attachment["id"])})
            elif m.makes_volume:
                volume = await caller.create_volume(
                    int(m.volume_size or 0), volume_type=m.volume_type,
                    name=f"{instance_uuid}-blank-vol" if m.source_type == SOURCE_BLANK
                    else "",
                    image_id=m.uuid if m.source_type == SOURCE_IMAGE else None,
                    snapshot_id=m.uuid if m.source_type == SOURCE_SNAPSHOT else None)
                done.volumes.append(str(volume["id"]))
                await record(bdm_uuid, {"volume_id": str(volume["id"])})
    except VolumeClientError as exc:
        await release(service, done)
        raise refusal(exc) from None
    except BaseException:
        await release(service, done)
        raise
    return done


async def release(client: VolumeClient, done: Provided) -> None:
    """Undo :func:`provide` as the services' user (``client``): the reservations
    deleted, the volumes it asked for force-deleted (they may still be ``creating``); best
    effort, logged."""
    for attachment_id in done.attachments:
        try:
            await client.attachment_delete(attachment_id)
        except VolumeClientError as exc:
            log.warning("attachment %s not released: %s", attachment_id, exc.message)
    for volume_id in done.volumes:
        try:
            await client.force_delete_volume(volume_id)
        except VolumeClientError as exc:
            log.warning("volume %s not deleted: %s", volume_id, exc.message)


# --- snapshots of volume-backed servers (Nova's snapshot_volume_backed) --------------------

# What of a mapping a snapshot image keeps (Nova's snapshot_from_bdm template fields).
_TEMPLATE: tuple[str, ...] = ("disk_bus", "device_type", "boot_index", "delete_on_termination",
                              "volume_size", "device_name")


async def snapshot_mappings(caller: VolumeClient, bdms: Sequence[Any], image_name: str
                            ) -> list[dict[str, Any]]:
    """A snapshot (forced: the volume is in use) of each volume of the server, as the
    caller, and the image mapping that boots a new volume from it."""
    mapping: list[dict[str, Any]] = []
    for bdm in bdms:
        if bdm.destination_type != block_device.DEST_VOLUME or not bdm.volume_id:
            continue
        volume = await caller.get_volume(bdm.volume_id)
        snapshot = await caller.create_snapshot(
            bdm.volume_id, name=f"snapshot for {image_name}",
            description=str(volume.get("description") or ""))
        entry: dict[str, Any] = {"source_type": SOURCE_SNAPSHOT, "destination_type": "volume",
                                 "snapshot_id": str(snapshot["id"])}
        for key in _TEMPLATE:
            entry[key] = getattr(bdm, key)
        entry["volume_size"] = entry["volume_size"] or volume.get("size")
        mapping.append(entry)
    return mapping


def image_mappings(properties: Mapping[str, Any]) -> list[dict[str, Any]] | None:
    """The v2 mappings a snapshot image of a volume-backed server carries (its
    ``block_device_mapping`` property, JSON, with ``bdm_v2``), in the API's form; ``None``
    for any other image."""
    if str(properties.get("bdm_v2", "")).lower() != "true":
        return None
    raw = properties.get("block_device_mapping")
    try:
        entries = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        raise InvalidBDM("Block Device Mapping is Invalid: the image's block_device_mapping "
                         "is not JSON.") from None
    if not isinstance(entries, list) or not entries:
        return None
    result = []
    for entry in entries:
        if not isinstance(entry, dict):
            raise InvalidBDM("Block Device Mapping is Invalid: the image's "
                             "block_device_mapping is not a list of mappings.")
        item = {k: v for k, v in entry.items() if v is not None and k in (
            *_TEMPLATE, "source_type", "destination_type", "volume_type", "guest_format")}
        source = item.get("source_type")
        ident = entry.get(f"{source}_id")
        if ident:
            item["uuid"] = ident
        result.append(item)
    return result
