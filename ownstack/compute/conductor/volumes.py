"""The conductor's side of a server's volumes: the volume service's calls a compute host
needs (an agent reaches the control plane only over the bus), each with the mapping's
change in the same step, as Nova's compute manager makes them with Cinder's attachments
API as the services' own user:

* ``connect_volume``: ``attachment_update`` with the host's connector; the connection
  info it answers is stored on the mapping (still ``attaching``) and returned;
* ``volume_attached``: ``attachment_complete`` (the volume is ``in-use``), the mapping
  ``attached``;
* ``volume_attach_failed``: the attachment deleted (the volume ``available`` again), the
  mapping removed, as Nova cleans up a failed attach;
* ``volume_detached``: the attachment deleted, the mapping removed;
* ``volume_detach_failed``: ``os-roll_detaching`` (``in-use`` again), the mapping
  ``attached`` again: a detach the guest refused never leaves the volume ``detaching``;
* ``volume_extended``: ``os-extend_volume_completion`` (3.71) after the guest's disk grew;
* :func:`connect_on`, the unshelve's: the volumes attached while the server was offloaded
  (no host connection yet) connected on the host that was chosen, before it spawns.

Every change to a mapping is a compare-and-swap on the state the agent saw, so a repeated
call changes nothing twice; the volume service's calls are idempotent (an attachment
already gone is fine). Once a server is deleted, its mappings are released:
attachments deleted, volumes with ``delete_on_termination`` deleted, mappings removed;
the sweep finishes what a killed conductor left.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from ownstack.common.clients.volume import (
    VolumeClient,
    VolumeClientError,
    VolumeUnavailable,
)
from ownstack.compute.conductor.boot_volumes import connector
from ownstack.compute.conductor.env import ConductorEnv
from ownstack.compute.objects import block_devices
from ownstack.compute.objects.models import BlockDeviceMapping, Instance
from ownstack.compute.volumes import next_device_name

log = logging.getLogger(__name__)


class NoVolumeClient(RuntimeError):
    def __init__(self) -> None:
        super().__init__("this conductor has no volume service client")


def _client(env: ConductorEnv) -> VolumeClient:
    if env.volume is None:
        raise NoVolumeClient()
    return env.volume


async def _mapping(env: ConductorEnv, bdm_uuid: str) -> BlockDeviceMapping | None:
    async with env.db.read() as db:
        return (await db.execute(select(BlockDeviceMapping).where(
            BlockDeviceMapping.uuid == bdm_uuid,
            BlockDeviceMapping.deleted.is_(False)))).scalar_one_or_none()


async def connect(env: ConductorEnv, payload: Mapping[str, Any]) -> dict[str, Any]:
    """``{"bdm_uuid", "connector"}`` -> ``{"connection_info": {...} | None, "error": str |
    None}``: ``None`` and no error when the mapping is gone or no longer attaching; an
    error when the volume service refused the connector (the attach cannot succeed)."""
    bdm = await _mapping(env, str(payload["bdm_uuid"]))
    if bdm is None or bdm.attach_state != block_devices.ATTACHING or not bdm.attachment_id:
        return {"connection_info": None, "error": None}
    host_connector = dict(payload["connector"])
    if bdm.device_name and not host_connector.get("mountpoint"):
        # As Nova's attachment_update: the volume service shows it as the attachment's
        # device (Cinder's attachments, Nova's volume proxy).
        host_connector["mountpoint"] = bdm.device_name
    try:
        attachment = await _client(env).attachment_update(bdm.attachment_id, host_connector)
    except VolumeUnavailable:
        raise
    except VolumeClientError as exc:
        return {"connection_info": None, "error": exc.message}
    info = attachment.get("connection_info")
    if not isinstance(info, dict) or not isinstance(info.get("data"), dict):
        return {"connection_info": None,
                "error": f"the volume service gave no connection info for {bdm.volume_id}"}
    async with env.db.write() as db:
        stored = await block_devices.update_mapping(
            db, bdm.uuid, expected_state=block_devices.ATTACHING, connection_info=info)
    return {"connection_info": info if stored else None, "error": None}


async def attached(env: ConductorEnv, payload: Mapping[str, Any]) -> dict[str, Any]:
    """``{"bdm_uuid"}``: the guest has the volume; complete the attachment."""
    bdm = await _mapping(env, str(payload["bdm_uuid"]))
    if bdm is None or bdm.attach_state != block_devices.ATTACHING:
        return {"applied": False}
    if bdm.attachment_id:
        await _client(env).attachment_complete(bdm.attachment_id)
    async with env.db.write() as db:
        applied = await block_devices.update_mapping(
            db, bdm.uuid, expected_state=block_devices.ATTACHING,
            attach_state=block_devices.ATTACHED)
    return {"applied": applied}


async def attach_failed(env: ConductorEnv, payload: Mapping[str, Any]) -> dict[str, Any]:
    """``{"bdm_uuid"}``: the attach cannot be done; release the reservation."""
    return {"applied": await _remove(env, str(payload["bdm_uuid"]), block_devices.ATTACHING)}


async def detached(env: ConductorEnv, payload: Mapping[str, Any]) -> dict[str, Any]:
    """``{"bdm_uuid"}``: the guest let the volume go; delete the attachment."""
    return {"applied": await _remove(env, str(payload["bdm_uuid"]), block_devices.DETACHING)}


async def _remove(env: ConductorEnv, bdm_uuid: str, expected: str) -> bool:
    bdm = await _mapping(env, bdm_uuid)
    if bdm is None or bdm.attach_state != expected:
        return False
    if bdm.attachment_id:
        await _client(env).attachment_delete(bdm.attachment_id)
    async with env.db.write() as db:
        return await block_devices.remove_mapping(db, bdm.uuid, expected_state=expected)


async def detach_failed(env: ConductorEnv, payload: Mapping[str, Any]) -> dict[str, Any]:
    """``{"bdm_uuid"}``: the guest kept the device; the volume is in-use again."""
    bdm = await _mapping(env, str(payload["bdm_uuid"]))
    if bdm is None or bdm.attach_state != block_devices.DETACHING:
        return {"applied": False}
    if bdm.volume_id:
        try:
            await _client(env).roll_detaching(bdm.volume_id)
        except VolumeUnavailable:
            raise
        except VolumeClientError as exc:       # its sweep rolled it back already
            log.info("volume %s: roll_detaching refused: %s", bdm.volume_id, exc.message)
    async with env.db.write() as db:
        applied = await block_devices.update_mapping(
            db, bdm.uuid, expected_state=block_devices.DETACHING,
            attach_state=block_devices.ATTACHED)
    return {"applied": applied}


async def extended(env: ConductorEnv, payload: Mapping[str, Any]) -> dict[str, Any]:
    """``{"volume_id", "error": bool}``: confirm (or fail) an in-use extend."""
    try:
        await _client(env).extend_volume_completion(str(payload["volume_id"]),
                                                    error=bool(payload.get("error")))
    except VolumeUnavailable:
        raise
    except VolumeClientError as exc:    # not waiting any more (its sweep failed it)
        log.warning("volume %s: extend completion refused: %s", payload["volume_id"],
                    exc.message)
        return {"applied": False}
    return {"applied": True}


class NotConnected(Exception):
    """A volume of an unshelving server could not be connected on its new host."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


async def connect_on(env: ConductorEnv, instance: Instance, host: str) -> int:
    """Nova's ``_prep_block_device`` at unshelve: every ``attached`` volume mapping of
    the offloaded ``instance`` with no connection (attached while it was offloaded) gets
    ``host``'s connector (``attachment_update``), a device name when it has none, the
    attachment completed and its connection info stored, so the guest spawns with it.
    How many were connected. Raises :class:`NotConnected` when the volume service
    refuses one (the attachment stays, unconnected, for the next unshelve) and
    :class:`~ownstack.common.clients.volume.VolumeUnavailable` when it does not answer.
    Each step is repeatable: a conductor killed half way connects the rest next time."""
    async with env.db.read() as db:
        bdms = await block_devices.of_instance(db, instance.uuid)
    used = [bdm.device_name for bdm in bdms]
    connected = 0
    for bdm in bdms:
        if bdm.attach_state != block_devices.ATTACHED or bdm.connection_info \
                or not bdm.attachment_id or not bdm.volume_id:
            continue
        device_name = bdm.device_name or next_device_name(
            used, config_drive=bool(instance.config_drive))
        used.append(device_name)
        try:
            attachment = await _client(env).attachment_update(
                bdm.attachment_id, connector(host, device_name))
            info = attachment.get("connection_info")
            if not isinstance(info, dict) or not isinstance(info.get("data"), dict):
                raise NotConnected(f"the volume service gave no connection info for "
                                   f"volume {bdm.volume_id}")
            await _client(env).attachment_complete(bdm.attachment_id)
        except VolumeUnavailable:
            raise
        except VolumeClientError as exc:
            raise NotConnected(f"volume {bdm.volume_id} could not be attached on host "
                               f"{host}: {exc.message}") from None
        async with env.db.write() as db:
            if await block_devices.update_mapping(
                    db, bdm.uuid, expected_state=block_devices.ATTACHED,
                    connection_info=info, device_name=device_name):
                connected += 1
    return connected


async def release_after_delete(env: ConductorEnv, uuid: str) -> int:
    """The deleted server's mappings: attachments deleted, volumes marked
    ``delete_on_termination`` deleted, mappings removed. How many were released; a
    volume service that fails leaves the rest for the sweep."""
    if env.volume is None:
        return 0
    async with env.db.read() as db:
        bdms = await block_devices.of_instance(db, uuid)
    released = 0
    for bdm in bdms:
        try:
            if bdm.attachment_id:
                await env.volume.attachment_delete(bdm.attachment_id)
            if bdm.delete_on_termination and bdm.volume_id:
                await env.volume.delete_volume(bdm.volume_id)
        except VolumeClientError as exc:
            log.warning("server %s: volume %s not released yet: %s", uuid, bdm.volume_id,
                        exc.message)
            continue
        async with env.db.write() as db:
            await block_devices.remove_mapping(db, bdm.uuid)
        released += 1
    return released


async def release_deleted(env: ConductorEnv, limit: int) -> int:
    """The sweep's: mappings still live on deleted servers (a conductor killed between
    the delete and the release, or a volume service that was down), released."""
    async with env.db.read() as db:
        uuids = list((await db.execute(
            select(BlockDeviceMapping.instance_uuid).distinct()
            .join(Instance, Instance.uuid == BlockDeviceMapping.instance_uuid)
            .where(BlockDeviceMapping.deleted.is_(False), Instance.deleted.is_(True))
            .limit(limit))).scalars())
    return sum([await release_after_delete(env, uuid) for uuid in uuids])
