"""``/servers/{id}/os-volume_attachments``: volumes attached to a server and detached from
it, as Nova's ``volume_attachments`` controller (see :mod:`ownstack.compute.volumes` for
what the API checks and reserves, and :mod:`ownstack.compute.objects.block_devices` for the
mapping the host's agent then plugs or unplugs).

Attach and detach need a server that is ACTIVE, PAUSED or SHUTOFF with no task, unlocked
for non-admins, and on a host (Nova's ``check_instance_state``, ``check_instance_lock`` and
``check_instance_host``); both answer at once (attach with the device name picked) and the
host's agent does the rest.

From 2.20 a SHELVED_OFFLOADED server (no host, no guest) takes and gives up volumes too,
as Nova's ``_attach_volume_shelved_offloaded`` and ``_detach_volume_shelved_offloaded``
do it, all in the API: an attach reserves the volume and completes the attachment with no
host connection (the volume ``in-use``), the mapping ``attached`` with no connection info
and no device name yet (the conductor connects it on the host that unshelves the server,
and names the device then, see :func:`ownstack.compute.conductor.volumes.connect_on`); a
detach deletes the attachment (the volume ``available``; one marked
``delete_on_termination`` deleted, as Nova does) and removes the mapping.

The update (PUT) changes ``delete_on_termination`` from 2.85; a swap (another volume) is
what Cinder asks of Nova while it migrates a volume, and no ownstack volume ever
migrates, so it is Nova's 409 for a volume that is not migrating.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Final

from starlette.responses import Response

from ownstack.common.api.app import empty_response, json_response
from ownstack.common.api.microversion import Version
from ownstack.common.booleans import bool_from_string
from ownstack.common.clients.volume import VolumeClient, VolumeClientError
from ownstack.common.errors import BadRequest, Conflict
from ownstack.compute import states, volumes
from ownstack.compute.api.common import (
    MAX_LIMIT,
    at_least,
    body,
    count_query,
    nudge,
    reject_unknown_query,
    version_of,
)
from ownstack.compute.api.schemas import volume_attachments as schemas
from ownstack.compute.api.server_common import caller_is_admin, load_server
from ownstack.compute.errors import InstanceInvalidState, InstanceNotReady, ServerNotFound
from ownstack.compute.objects import actions, block_devices
from ownstack.compute.objects.instances import get_instance
from ownstack.compute.objects.models import BlockDeviceMapping, Instance
from ownstack.compute.objects.server_actions import check_state, check_unlocked
from ownstack.compute.state import Req

log = logging.getLogger(__name__)

_RULE: Final = "os_compute_api:os-volumes-attachments:"
# Nova's attach/detach states that ownstack offers: a paused guest takes the device at
# once and sees it when it runs on; an offloaded server (2.20) at its unshelve. Not yet:
# resized (a revert would drop it with the kept recipe), shelved but not offloaded (the
# offload may destroy the guest under the attach), soft-deleted (no such state); a
# suspended or rescued server is 409, as in Nova.
_STATES: Final = (states.ACTIVE, states.PAUSED, states.STOPPED)
_SHELVED_STATES: Final = (states.SHELVED, states.SHELVED_OFFLOADED)
OFFLOADED_SINCE: Final = "2.20"
ATTACH_ACTION: Final = "attach_volume"
DETACH_ACTION: Final = "detach_volume"


def view(bdm: BlockDeviceMapping, version: Version) -> dict[str, Any]:
    """One ``volumeAttachment``: Nova's ``_translate_attachment_detail_view``."""
    d: dict[str, Any] = {}
    new_ids = at_least(version, "2.89")
    if not new_ids:
        d["id"] = bdm.volume_id
    d["volumeId"] = bdm.volume_id
    d["serverId"] = bdm.instance_uuid
    if bdm.device_name:
        d["device"] = bdm.device_name
    if at_least(version, "2.70"):
        d["tag"] = bdm.tag
    if at_least(version, "2.79"):
        d["delete_on_termination"] = bdm.delete_on_termination
    if new_ids:
        d["attachment_id"] = bdm.attachment_id
        d["bdm_uuid"] = bdm.uuid
    return d


async def list_attachments(req: Req) -> Response:
    version = version_of(req)
    reject_unknown_query(req, schemas.LIST_QUERY)
    limit = count_query(req, "limit", MAX_LIMIT, minimum=0)
    offset = count_query(req, "offset", 0, minimum=0)
    async with req.svc.read() as db:
        instance = await load_server(req, db, _RULE + "index")
        bdms = await block_devices.of_instance(db, instance.uuid)
    shown = [bdm for bdm in bdms[offset:offset + limit] if bdm.volume_id
             and not (at_least(version, "2.89") and bdm.attachment_id is None)]
    return json_response({"volumeAttachments": [view(bdm, version) for bdm in shown]})


async def show_attachment(req: Req) -> Response:
    version = version_of(req)
    volume_id = req.params["volume_id"]
    async with req.svc.read() as db:
        instance = await load_server(req, db, _RULE + "show")
        bdm = await block_devices.find_volume(db, instance.uuid, volume_id)
    if bdm is None or (at_least(version, "2.89") and bdm.attachment_id is None):
        raise volumes.VolumeNotAttached(req.params["server_id"], volume_id)
    return json_response({"volumeAttachment": view(bdm, version)})


def _check_version(req: Req, instance: Instance, operation: str) -> None:
    """Nova's ``_check_request_version``: a shelved server is 409 before 2.20, before the
    volume is even looked at."""
    if instance.vm_state in _SHELVED_STATES and not at_least(version_of(req),
                                                             OFFLOADED_SINCE):
        raise InstanceInvalidState(operation, instance.uuid, "vm_state", instance.vm_state)


def _check(req: Req, instance: Instance, operation: str) -> str | None:
    """The server's host; ``None`` for an offloaded server (2.20+), which has none."""
    check_unlocked(instance, is_admin=caller_is_admin(req))
    allowed: tuple[str, ...] = _STATES
    if at_least(version_of(req), OFFLOADED_SINCE):
        allowed = (*_STATES, states.SHELVED_OFFLOADED)
    check_state(instance, operation, allowed, [None])
    if instance.vm_state == states.SHELVED_OFFLOADED:
        return None
    if not instance.host:
        raise InstanceNotReady(instance.uuid)
    return instance.host


async def attach_volume(req: Req) -> Response:
    version = version_of(req)
    wanted: dict[str, Any] = (await body(req, schemas.CREATE(version)))["volumeAttachment"]
    volume_id = str(wanted["volumeId"])
    tag = wanted.get("tag")
    delete_on_termination = bool_from_string(wanted.get("delete_on_termination", False))
    async with req.svc.read() as db:
        instance = await load_server(req, db, _RULE + "create")
        _check_version(req, instance, ATTACH_ACTION)
        host = _check(req, instance, ATTACH_ACTION)
        holders = [bdm.instance_uuid for bdm in await block_devices.of_volume(db, volume_id)]
    caller = req.svc.volume.as_caller(req.ctx.auth_token or "")
    volume = await volumes.get_volume(caller, volume_id)
    volumes.check_already_attached(volume, instance.uuid, holders)
    if host is None:
        _check_offloaded_attach(volume, tag)
    else:
        volumes.check_host(await volumes.get_volume(req.svc.volume, volume_id), host)
    try:
        attachment = await caller.attachment_create(volume_id, instance.uuid)
    except VolumeClientError as exc:
        raise volumes.refused(exc, volume_id) from None
    attachment_id = str(attachment["id"])
    try:
        bdm = await _add_mapping(req, instance, volume_id, attachment_id,
                                 offloaded=host is None, tag=tag,
                                 delete_on_termination=delete_on_termination)
    except InstanceInvalidState:
        await req.svc.volume.attachment_delete(attachment_id)
        raise
    if bdm is None:
        await req.svc.volume.attachment_delete(attachment_id)
        raise ServerNotFound(instance.uuid)
    if host is None:
        await _complete_offloaded(req, caller, bdm)
    else:
        await nudge(req, host, instance.uuid)
    # Nova's answer: the attach is asynchronous; "id" stays at every version it serves.
    answer: dict[str, Any] = {"id": volume_id, "serverId": instance.uuid,
                              "volumeId": volume_id, "device": bdm.device_name}
    if at_least(version, "2.70"):
        answer["tag"] = tag
    if at_least(version, "2.79"):
        answer["delete_on_termination"] = delete_on_termination
    return json_response({"volumeAttachment": answer})


def _check_offloaded_attach(volume: dict[str, Any], tag: str | None) -> None:
    """What Nova refuses for an offloaded server, whose next host is not known yet."""
    if tag:
        raise BadRequest("Tagged volume attachment is not supported for shelved-offloaded "
                         "instances.")
    if volume.get("multiattach"):
        raise BadRequest("Attaching multiattach volumes is not supported for "
                         "shelved-offloaded instances.")


async def _add_mapping(req: Req, instance: Instance, volume_id: str, attachment_id: str, *,
                       offloaded: bool, **fields: Any) -> BlockDeviceMapping | None:
    """The mapping and the attach action; None when the server was deleted meanwhile,
    Nova's 409 when it changed state (an unshelve began, say). On a host: ``attaching``,
    with its device name, for the agent. On an offloaded server: ``attached`` with no
    connection info and no device name, for its unshelve to connect and name."""
    async with req.svc.write() as db:
        current = await get_instance(db, instance.uuid)
        if current is None:
            return None
        check_state(current, ATTACH_ACTION,
                    (states.SHELVED_OFFLOADED,) if offloaded else _STATES, [None])
        if offloaded:
            state, device_name = block_devices.ATTACHED, None
        else:
            used = [bdm.device_name
                    for bdm in await block_devices.of_instance(db, instance.uuid)]
            state = block_devices.ATTACHING
            device_name = volumes.next_device_name(used, config_drive=current.config_drive)
        bdm = block_devices.add(
            db, instance.uuid, volume_id=volume_id, attachment_id=attachment_id,
            attach_state=state, boot_index=None, device_type="disk", disk_bus="virtio",
            device_name=device_name, **fields)
        await actions.start_action(db, req.ctx, instance.uuid, ATTACH_ACTION)
        if offloaded:
            await _api_event(req, db, instance.uuid, ATTACH_ACTION)
    return bdm


async def _complete_offloaded(req: Req, caller: VolumeClient, bdm: BlockDeviceMapping
                              ) -> None:
    """Nova completes the attachment with no host connection, so the volume is
    ``in-use`` as with any attach; the unshelve connects it. A refusal undoes the attach."""
    try:
        await caller.attachment_complete(str(bdm.attachment_id))
    except VolumeClientError as exc:
        async with req.svc.write() as db:
            await block_devices.remove_mapping(db, bdm.uuid)
        await req.svc.volume.attachment_delete(str(bdm.attachment_id))
        raise volumes.refused(exc, str(bdm.volume_id)) from None


async def _api_event(req: Req, db: Any, uuid: str, action: str) -> None:
    """Nova's ``api_<action>`` event: the API did the whole action."""
    now = time.time()
    await actions.record_event(db, uuid, req.ctx.request_id, f"api_{action}", start=now,
                               finish=now, result=actions.SUCCESS)


# On a host, a mapping still ``attaching`` whose volume the agent connected may be
# detached too: the conductor completes the volume's attachment (``in-use``) a moment
# before it marks the mapping attached, and a user who saw ``in-use`` may detach at once.
# The volume service's ``begin_detaching`` decides, as Cinder's does for Nova: it refuses
# a volume that is not ``in-use`` yet. A mapping moved to ``detaching`` before the
# conductor marked it stays so (the conductor's mark is a compare-and-swap on
# ``attaching``); the agent, which plugged the volume, unplugs it on its next pass and the
# conductor deletes the attachment. (Not yet connected: refused here, since a multiattach
# volume is ``in-use`` through its other servers.)
_DETACHABLE = (block_devices.ATTACHED, block_devices.ATTACHING)


async def detach_volume(req: Req) -> Response:
    volume_id = req.params["volume_id"]
    async with req.svc.read() as db:
        instance = await load_server(req, db, _RULE + "delete")
    _check_version(req, instance, DETACH_ACTION)
    caller = req.svc.volume.as_caller(req.ctx.auth_token or "")
    await volumes.get_volume(caller, volume_id)
    async with req.svc.read() as db:
        bdm = await block_devices.find_volume(db, instance.uuid, volume_id)
    if bdm is None:
        raise volumes.VolumeNotAttached(req.params["server_id"], volume_id)
    if bdm.boot_index == 0:
        raise BadRequest("Cannot detach a root device volume")
    host = _check(req, instance, DETACH_ACTION)
    if not (bdm.attach_state == block_devices.ATTACHED or (
            host is not None and bdm.attach_state == block_devices.ATTACHING
            and bdm.connection_info)):
        raise volumes.InvalidVolume(f"volume {volume_id} is {bdm.attach_state}, not "
                                    "attached")
    if host is None:
        await _detach_offloaded(req, caller, instance, bdm)
        return empty_response(202)
    try:
        await caller.begin_detaching(volume_id)
    except VolumeClientError as exc:
        raise volumes.refused(exc, volume_id) from None
    async with req.svc.write() as db:
        moved = await block_devices.update_mapping(
            db, bdm.uuid, expected_state=_DETACHABLE, attach_state=block_devices.DETACHING)
        if moved:
            await actions.start_action(db, req.ctx, instance.uuid, DETACH_ACTION)
    if not moved:       # a detach or the server's delete won the race
        await req.svc.volume.roll_detaching(volume_id)
        raise volumes.InvalidVolume(f"volume {volume_id} is being detached")
    await nudge(req, host, instance.uuid)
    return empty_response(202)


async def _detach_offloaded(req: Req, caller: VolumeClient, instance: Instance,
                            bdm: BlockDeviceMapping) -> None:
    """Nova's ``_local_cleanup_bdm_volumes``: no host to ask, so the API deletes the
    attachment (and the volume, when the mapping says ``delete_on_termination``) and
    removes the mapping. The mapping is ``detaching`` meanwhile, so an unshelve that
    starts then leaves it alone (its agent finishes the detach); a volume service that
    refuses puts it back."""
    async with req.svc.write() as db:
        current = await get_instance(db, instance.uuid)
        if current is None:
            raise ServerNotFound(instance.uuid)
        check_state(current, DETACH_ACTION, (states.SHELVED_OFFLOADED,), [None])
        moved = await block_devices.update_mapping(
            db, bdm.uuid, expected_state=block_devices.ATTACHED,
            attach_state=block_devices.DETACHING)
        if moved:
            await actions.start_action(db, req.ctx, instance.uuid, DETACH_ACTION)
    if not moved:       # another detach won the race
        raise volumes.InvalidVolume(f"volume {bdm.volume_id} is being detached")
    try:
        if bdm.attachment_id:       # as the services' user: whoever made it
            await req.svc.volume.attachment_delete(bdm.attachment_id)
    except VolumeClientError as exc:
        async with req.svc.write() as db:
            await block_devices.update_mapping(
                db, bdm.uuid, expected_state=block_devices.DETACHING,
                attach_state=block_devices.ATTACHED)
        raise volumes.refused(exc, str(bdm.volume_id)) from None
    if bdm.delete_on_termination and bdm.volume_id:
        try:
            await caller.delete_volume(bdm.volume_id)
        except VolumeClientError as exc:    # Nova ignores it too: detached, and kept
            log.warning("server %s: volume %s detached, not deleted: %s", instance.uuid,
                        bdm.volume_id, exc.message)
    async with req.svc.write() as db:
        await block_devices.remove_mapping(db, bdm.uuid,
                                           expected_state=block_devices.DETACHING)
        await _api_event(req, db, instance.uuid, DETACH_ACTION)


async def update_attachment(req: Req) -> Response:
    version = version_of(req)
    volume_id = req.params["volume_id"]
    wanted: dict[str, Any] = (await body(req, schemas.UPDATE(version)))["volumeAttachment"]
    swap = not at_least(version, "2.85") or wanted["volumeId"] != volume_id
    async with req.svc.read() as db:
        instance = await load_server(req, db, _RULE + ("swap" if swap else "update"))
        bdm = await block_devices.find_volume(db, instance.uuid, volume_id)
    if at_least(version, "2.85"):
        if bdm is None:
            raise volumes.VolumeNotAttached(req.params["server_id"], volume_id)
        await _update_regular(req, bdm, wanted)
    if swap:
        await _refuse_swap(req, volume_id, str(wanted["volumeId"]))
    return empty_response(202)


async def _update_regular(req: Req, bdm: BlockDeviceMapping, wanted: dict[str, Any]) -> None:
    """Nova's ``_update_volume_regular``: only ``delete_on_termination`` changes."""
    for key, current in (("id", bdm.volume_id), ("serverId", bdm.instance_uuid),
                         ("device", bdm.device_name), ("tag", bdm.tag)):
        if key in wanted and wanted[key] != current:
            raise BadRequest(f"The {key} property is not mutable")
    if "delete_on_termination" in wanted:
        async with req.svc.write() as db:
            await block_devices.update_mapping(
                db, bdm.uuid,
                delete_on_termination=bool_from_string(wanted["delete_on_termination"]))


async def _refuse_swap(req: Req, old_volume_id: str, new_volume_id: str) -> None:
    """Nova's ``_update_volume_swap`` up to its first check: the old volume must exist and
    be migrating, and none ever is here."""
    await volumes.get_volume(req.svc.volume.as_caller(req.ctx.auth_token or ""),
                             old_volume_id)
    raise Conflict(f"volume {old_volume_id} is not migrating; this API should only be "
                   f"called by Cinder")
