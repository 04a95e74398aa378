"""Boot from volume, the conductor's part: once a host is claimed, and before the server
goes to that host, each of its volume mappings gets its volume ready and attached, as
Nova's ``_prep_block_device`` does on the compute host:

1. wait for the volume the API asked for to be ``available`` (an existing one is
   ``reserved`` already), as Nova's ``_await_block_device_map_created`` waits;
2. connect it: the API's reservation updated with the host's connector, or for a new
   volume an attachment created with it (recorded on the mapping at once), which answers
   the connection info;
3. complete the attachment (``in-use``) and move the mapping to ``attached`` with its
   connection info: it is now part of the guest's recipe, and the agent spawns the guest
   on it (the root volume, ``boot_index`` 0, is the guest's boot disk).

All as the services' own user (an admin of the volume service sees every project's
volumes). A mapping in ``attached`` is done, so a conductor killed half way through, whose
build the sweep schedules again, picks up where it stopped: the volume and the
attachment are found on the mapping. A failure (the volume ends in ``error``, does not
become available within :data:`WAIT_TIMEOUT`, or the volume service refuses the host)
ends the build in ERROR with a fault that says which volume and why; its claim is
released, its attachments deleted, the volumes compute made that were to be deleted on
termination deleted, and its mappings removed: nothing stays reserved or leaks.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from typing import Any, Final

from ownstack.common.clients.volume import VolumeClient, VolumeClientError
from ownstack.compute import states
from ownstack.compute.conductor.claims import Claimed
from ownstack.compute.conductor.env import ConductorEnv
from ownstack.compute.faults import Fault
from ownstack.compute.objects import actions, block_devices
from ownstack.compute.objects.instances import latest_request_ids, update_instance
from ownstack.compute.objects.models import BlockDeviceMapping

log = logging.getLogger(__name__)

CONCURRENCY: Final = 8          # servers whose volumes are readied at once
WAIT_TIMEOUT: Final = 180.0     # Nova's block_device_allocate_retries (60) x interval (3 s)
POLL_INTERVAL: Final = 0.2
EVENT_BLOCK_DEVICES: Final = "conductor_prep_block_device"
READY: Final = frozenset({"available", "reserved"})     # an API reservation: reserved
TAKEN: Final = frozenset({"attaching", "in-use"})       # ... our own attachment's progress


class NoVolumeClient(RuntimeError):
    def __init__(self) -> None:
        super().__init__("the conductor has no volume service client")


class BlockDeviceFailed(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def connector(host: str, mountpoint: str | None = None) -> dict[str, Any]:
    """The compute host, as os-brick describes it to Cinder, with the guest's device name
    (Nova's ``mountpoint``, which Cinder shows as the attachment's ``device``)."""
    return {"host": host, "platform": "x86_64", "os_type": "linux", "multipath": False,
            "do_local_attach": False, "mountpoint": mountpoint}


def pending(bdms: Sequence[BlockDeviceMapping]) -> list[BlockDeviceMapping]:
    """The volume mappings of a build that are not attached yet (``attach_state`` unset:
    made with the server, not by an attach)."""
    return [bdm for bdm in bdms if bdm.destination_type == block_devices.DESTINATION_VOLUME
            and bdm.attach_state is None]


async def prepare_for(env: ConductorEnv, claimed: Sequence[Claimed]) -> set[str]:
    """Ready the volumes of each claimed instance; the uuids whose build failed (ERROR
    written, claim released, volumes released), which must not be placed. Only the
    instances whose row may have such volumes (``ToPlace.volumes_pending``) are read: a
    boot from an image with none opens no session here."""
    claimed = [claim for claim in claimed if claim.row.volumes_pending]
    if not claimed:
        return set()
    async with env.db.read() as db:
        bdms = await block_devices.of_instances(db, [c.row.uuid for c in claimed])
    work = [(claim, pending(bdms[claim.row.uuid])) for claim in claimed]
    work = [(claim, todo) for claim, todo in work if todo]
    failed: set[str] = set()
    if not work:
        return failed
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(claim: Claimed, todo: list[BlockDeviceMapping]) -> None:
        started = time.time()
        async with gate:
            try:
                for bdm in todo:
                    await _prepare(env, claim, bdm)
            except BlockDeviceFailed as exc:
                await _failed(env, claim, exc.message, started)
                failed.add(claim.row.uuid)
            except VolumeClientError as exc:
                await _failed(env, claim, f"Build of instance {claim.row.uuid} aborted: the "
                              f"volume service failed: {exc.message}", started)
                failed.add(claim.row.uuid)
    await asyncio.gather(*(one(claim, todo) for claim, todo in work))
    return failed


def _client(env: ConductorEnv) -> VolumeClient:
    if env.volume is None:
        raise NoVolumeClient()
    return env.volume


async def _prepare(env: ConductorEnv, claim: Claimed, bdm: BlockDeviceMapping) -> None:
    client = _client(env)
    uuid = claim.row.uuid
    if not bdm.volume_id:
        raise BlockDeviceFailed(
            f"Build of instance {uuid} aborted: the volume of block device mapping "
            f"{bdm.uuid} was never asked for (the API stopped before it asked the volume "
            "service).")
    await wait_until_ready(client, bdm.volume_id, own_attachment=bool(bdm.attachment_id))
    host_connector = connector(claim.host, bdm.device_name)
    try:
        if bdm.attachment_id:
            attachment = await client.attachment_update(bdm.attachment_id, host_connector)
        else:
            attachment = await client.attachment_create(bdm.volume_id, uuid, host_connector)
            async with env.db.write() as db:
                recorded = await block_devices.update_mapping(
                    db, bdm.uuid, expected_state=None, attachment_id=str(attachment["id"]))
            if not recorded:        # the server was deleted meanwhile: let it go
                await client.attachment_delete(str(attachment["id"]))
                raise BlockDeviceFailed(f"Build of instance {uuid} aborted: its block "
                                        f"device mapping {bdm.uuid} is gone.")
            bdm.attachment_id = str(attachment["id"])
    except VolumeClientError as exc:
        if exc.status is not None and exc.status < 500:
            raise BlockDeviceFailed(f"Build of instance {uuid} aborted: volume "
                                    f"{bdm.volume_id} could not be attached on host "
                                    f"{claim.host}: {exc.message}") from None
        raise
    info = attachment.get("connection_info")
    if not isinstance(info, dict) or not isinstance(info.get("data"), dict):
        raise BlockDeviceFailed(f"Build of instance {uuid} aborted: the volume service "
                                f"gave no connection info for volume {bdm.volume_id}.")
    await client.attachment_complete(bdm.attachment_id)
    async with env.db.write() as db:
        await block_devices.update_mapping(db, bdm.uuid, expected_state=None,
                                           attach_state=block_devices.ATTACHED,
                                           connection_info=info)


async def wait_until_ready(client: VolumeClient, volume_id: str, *,
                           own_attachment: bool = False,
                           timeout: float | None = None) -> dict[str, Any]:
    """The volume once it can be attached; :class:`BlockDeviceFailed` when it ends in
    an error status or is still not ready after ``timeout`` seconds, in Nova's words."""
    limit = WAIT_TIMEOUT if timeout is None else timeout
    start = time.monotonic()
    deadline = start + limit
    attempts = 0
    while True:
        attempts += 1
        volume = await client.get_volume(volume_id)
        status = str(volume.get("status"))
        if status in READY or (own_attachment and status in TAKEN):
            return volume
        if status.startswith("error") or time.monotonic() >= deadline:
            raise BlockDeviceFailed(
                f"Volume {volume_id} did not finish being created even after we waited "
                f"{time.monotonic() - start:.0f} seconds or {attempts} attempts. And its "
                f"status is {status}.")
        await asyncio.sleep(POLL_INTERVAL)


async def _failed(env: ConductorEnv, claim: Claimed, message: str, started: float) -> None:
    """The build is over: ERROR with the fault, claim released, volumes released."""
    uuid = claim.row.uuid
    async with env.db.write() as db:
        failed = await update_instance(
            db, uuid, expected_task_state=states.SCHEDULING,
            expected_vm_state=states.BUILDING, vm_state=states.ERROR, task_state=None,
            fault=Fault(message).record())
        request_id = claim.request_id or (await latest_request_ids(db, [uuid])).get(uuid)
        if failed and request_id:
            await actions.record_event(db, uuid, request_id, EVENT_BLOCK_DEVICES,
                                       start=started, finish=time.time(),
                                       result=actions.ERROR, host=claim.host,
                                       details=message)
    await env.placement.delete_allocations(uuid)
    await release(env, uuid)
    log.info("instance %s: %s", uuid, message)


async def release(env: ConductorEnv, uuid: str) -> None:
    """A failed build's volumes: attachments deleted (existing volumes are
    ``available`` again), the volumes compute made with ``delete_on_termination``
    deleted (force: one may still be ``creating``), the mappings removed. What the volume
    service refuses stays on its mapping, for the delete of the server to try again."""
    client = _client(env)
    async with env.db.read() as db:
        bdms = await block_devices.of_instance(db, uuid)
    for bdm in bdms:
        try:
            if bdm.attachment_id:
                await client.attachment_delete(bdm.attachment_id)
            if bdm.volume_id and bdm.delete_on_termination \
                    and bdm.source_type != block_devices.SOURCE_VOLUME:
                await client.force_delete_volume(bdm.volume_id)
        except VolumeClientError as exc:
            log.warning("instance %s: volume %s not released: %s", uuid, bdm.volume_id,
                        exc.message)
            continue
        async with env.db.write() as db:
            await block_devices.remove_mapping(db, bdm.uuid)
