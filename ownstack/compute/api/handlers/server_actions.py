"""``POST /servers/{id}/action``: one action per request, named by the body's only key.

Implemented, with Nova's semantics: ``os-stop``, ``os-start``, ``reboot``, ``pause``,
``unpause``, ``suspend``, ``resume``, ``rescue``, ``unrescue``, ``resize``,
``confirmResize``, ``revertResize``, ``shelve``, ``shelveOffload``, ``unshelve``,
``rebuild``, ``createImage``, ``lock``, ``unlock`` and ``os-getConsoleOutput``; the console
actions (``os-getVNCConsole`` and its kin) are in
:mod:`ownstack.compute.api.handlers.remote_consoles`. Every other action Nova
has is a 400 that says ownstack does not support it yet, never a silent 202; a name Nova
does not know is Nova's 400 "There is no such action".

The agent does the work: an accepted action sets ``task_state`` (see
:mod:`ownstack.compute.objects.server_actions`) and records the instance action in one
transaction, then nudges the host's agent with ``reconcile_instance`` after the commit.

As in Nova, a locked server refuses non-admins every state-changing action but lock and
unlock; reading the console and ``createImage`` (which changes nothing on the server) are
allowed. The snapshot image is created with the base image's disk format, as Nova's API
does; a driver that writes another format must say so when it uploads.

Deviations: below 2.45 the ``Location`` of a snapshot is its Glance v2 URL
(``.../v2/images/<id>``), which resolves, where Nova gives ``.../images/<id>``. Rebuild
does not take ``trusted_image_certificates`` (2.63): ownstack verifies no certificates, so
asking for it is a 400 rather than a promise not kept.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Final

from starlette.responses import Response

from ownstack.common.api.app import empty_response, json_response
from ownstack.common.booleans import bool_from_string
from ownstack.common.bus import BusError, BusTimeout, RemoteError
from ownstack.common.clients.image import ImageClientError, ImageInfo, ImageNotFound
from ownstack.common.clients.network import NetworkClientError
from ownstack.common.clients.volume import VolumeClientError
from ownstack.common.db.base import utcnow
from ownstack.common.errors import BadRequest
from ownstack.compute import boot_volumes, ports, rpc, states
from ownstack.compute.api.common import (
    Version,
    at_least,
    check_user_data,
    links,
    nudge,
    version_of,
)
from ownstack.compute.api.handlers import (
    network_proxies,
    remote_consoles,
    server_migrate,
    server_resize,
    server_shelve,
)
from ownstack.compute.api.image_errors import image_error
from ownstack.compute.api.schemas import server_actions as schemas
from ownstack.compute.api.server_common import (
    caller_is_admin,
    load_server,
    require_host,
    show_body,
)
from ownstack.compute.api.views import servers as views
from ownstack.compute.errors import (
    ConsoleNotAvailable,
    Gone,
    InstanceInvalidState,
    KeypairNotFound,
    NetworkServiceUnavailable,
)
from ownstack.compute.objects import (
    Session,
    actions,
    block_devices,
    keypairs,
    quotas,
    server_actions,
    server_metadata,
)
from ownstack.compute.objects.instances import network_rows, set_network_info
from ownstack.compute.objects.models import Instance
from ownstack.compute.objects.random_names import generate_password
from ownstack.compute.state import Req

CONSOLE_TIMEOUT: Final = 30.0   # seconds the agent has to answer os-getConsoleOutput
_RULE: Final = "os_compute_api:servers:"
_LOCK_RULE: Final = "os_compute_api:os-lock-server:"
_PAUSE_RULE: Final = "os_compute_api:os-pause-server:"
_SUSPEND_RULE: Final = "os_compute_api:os-suspend-server:"
_RESCUE_RULE: Final = "os_compute_api:os-rescue"
# XML-unsafe control characters Nova strips from console output (newline and tab stay).
_CONTROL: Final = re.compile("[\x00-\x08\x0b-\x1f]")

# Actions Nova has that ownstack does not implement yet.
_NOT_YET: Final = frozenset({
    "os-migrateLive", "evacuate", "changePassword", "addFixedIp", "removeFixedIp",
    "trigger_crash_dump", "os-resetPassword"})


async def server_action(req: Req) -> Response:
    data = await req.json()
    if not isinstance(data, dict) or len(data) != 1:
        raise BadRequest("Malformed request body: an action body is a JSON object with "
                         "exactly one key, the action's name.")
    name = next(iter(data))
    action = _ACTIONS.get(name)
    if action is None:
        if name in _NOT_YET:
            raise BadRequest(f"The server action '{name}' is not supported by ownstack yet.")
        raise BadRequest(f"There is no such action: {name}")
    return await action(req, data)


# --- power: os-stop, os-start, reboot -----------------------------------------------------
async def _stop(req: Req, data: dict[str, Any]) -> Response:
    return await _begin(req, server_actions.STOP, _RULE + "stop")


async def _start(req: Req, data: dict[str, Any]) -> Response:
    return await _begin(req, server_actions.START, _RULE + "start")


async def _reboot(req: Req, data: dict[str, Any]) -> Response:
    kind = schemas.REBOOT.validate(data)["reboot"]["type"].upper()
    transition = server_actions.HARD_REBOOT if kind == "HARD" else server_actions.SOFT_REBOOT
    return await _begin(req, transition, _RULE + "reboot")


async def _begin(req: Req, transition: server_actions.Transition, rule: str) -> Response:
    async with req.svc.write() as db:
        instance = await load_server(req, db, rule)
        host = await server_actions.begin(db, req.ctx, instance, transition,
                                          is_admin=caller_is_admin(req))
        uuid = instance.uuid
    await nudge(req, host, uuid)
    return empty_response(202)


# --- pause, unpause, suspend, resume ---------------------------------------------------------
# Nova's bodies are ``{"pause": null}`` and the like: the value is not read.
async def _pause(req: Req, data: dict[str, Any]) -> Response:
    return await _begin(req, server_actions.PAUSE, _PAUSE_RULE + "pause")


async def _unpause(req: Req, data: dict[str, Any]) -> Response:
    return await _begin(req, server_actions.UNPAUSE, _PAUSE_RULE + "unpause")


async def _suspend(req: Req, data: dict[str, Any]) -> Response:
    return await _begin(req, server_actions.SUSPEND, _SUSPEND_RULE + "suspend")


async def _resume(req: Req, data: dict[str, Any]) -> Response:
    return await _begin(req, server_actions.RESUME, _SUSPEND_RULE + "resume")


# --- admin and deferred-delete actions ----------------------------------------------------
async def _reset_state(req: Req, data: dict[str, Any]) -> Response:
    """Nova's ``os-resetState`` (admin): set the vm_state, clear the task."""
    state = schemas.RESET_STATE.validate(data)["os-resetState"]["state"]
    async with req.svc.write() as db:
        instance = await load_server(req, db, "os_compute_api:os-admin-actions:reset_state")
        host = await server_actions.reset_state(
            db, req.ctx, instance, states.ERROR if state == "error" else states.ACTIVE)
        uuid = instance.uuid
    if host:
        await nudge(req, host, uuid)
    return empty_response(202)


async def _inject_network_info(req: Req, data: dict[str, Any]) -> Response:
    """Nova's ``injectNetworkInfo`` (admin): the server's network info cache is rebuilt
    from its ports now, which is what Nova's compute does before handing it to a driver
    that (libvirt's) does nothing more with it. ownstack's guests take their network from
    DHCP and the metadata service, which always answer the current ports, so there is
    nothing to put into the guest. A network service that fails is a 503, not a 202 for
    a refresh that did not happen."""
    schemas.INJECT_NETWORK_INFO.validate(data)
    async with req.svc.read() as db:
        instance = await load_server(
            req, db, "os_compute_api:os-admin-actions:inject_network_info")
        row = (await network_rows(db, [instance.uuid]))[instance.uuid]
    try:
        info = await ports.refresh(req.svc.network, instance.uuid, row.network_requests,
                                   row.network_info)
    except NetworkClientError as exc:
        raise NetworkServiceUnavailable(
            f"The network service failed to answer: {exc.message}") from None
    async with req.svc.write() as db:
        await set_network_info(db, instance.uuid, info)
    return empty_response(202)


async def _reset_network(req: Req, data: dict[str, Any]) -> Response:
    """Nova removed ``resetNetwork`` with nova-network: 410 Gone, as Nova answers."""
    raise Gone()


async def _restore(req: Req, data: dict[str, Any]) -> Response:
    return await _deferred_delete(req, "restore", "os_compute_api:os-deferred-delete:restore")


async def _force_delete(req: Req, data: dict[str, Any]) -> Response:
    return await _deferred_delete(req, "forceDelete", "os_compute_api:os-deferred-delete:force")


async def _deferred_delete(req: Req, name: str, rule: str) -> Response:
    """``restore`` and ``forceDelete`` act on a soft-deleted server only; ownstack deletes at
    once (Nova's default ``reclaim_instance_interval`` of 0), so a server they can find is
    never one: Nova's 409 (its lock check first)."""
    async with req.svc.read() as db:
        instance = await load_server(req, db, rule)
        server_actions.check_unlocked(instance, is_admin=caller_is_admin(req))
    raise InstanceInvalidState(name, instance.uuid, "vm_state", instance.vm_state)


# --- rescue, unrescue ---------------------------------------------------------------------
async def _rescue(req: Req, data: dict[str, Any]) -> Response:
    """Boot the server from a rescue disk (its own image, or ``rescue_image_ref``) with
    its own disk attached second; answers the rescue password (``adminPass``), as Nova
    does with ``enable_instance_password`` on, its default."""
    wanted = schemas.RESCUE.validate(data)["rescue"] or {}
    is_admin = caller_is_admin(req)
    async with req.svc.read() as db:
        instance = await load_server(req, db, _RESCUE_RULE)
        server_actions.check_can_begin(instance, server_actions.RESCUE, is_admin=is_admin)
    image_ref = wanted.get("rescue_image_ref") or instance.image_ref
    if wanted.get("rescue_image_ref"):
        image = await _get_image(req, image_ref, "rescue")
        if image.status != "active":
            raise BadRequest(f"Image {image.id} is not active.")
    admin_pass = wanted.get("adminPass") or generate_password()
    async with req.svc.write() as db:
        instance = await load_server(req, db, _RESCUE_RULE)
        host = await server_actions.begin(
            db, req.ctx, instance, server_actions.RESCUE, is_admin=is_admin,
            admin_pass=admin_pass, task_args={"rescue_image_ref": image_ref})
        uuid = instance.uuid
    await nudge(req, host, uuid)
    return json_response({"adminPass": admin_pass}, 200)


async def _unrescue(req: Req, data: dict[str, Any]) -> Response:
    return await _begin(req, server_actions.UNRESCUE, "os_compute_api:os-unrescue")


# --- rebuild ------------------------------------------------------------------------------
async def _rebuild(req: Req, data: dict[str, Any]) -> Response:
    version = version_of(req)
    wanted: dict[str, Any] = schemas.REBUILD(version).validate(data)["rebuild"]
    if wanted.get("personality"):
        raise BadRequest("Personality files are not supported by ownstack: pass files "
                         "to the server with user_data (config drive) instead.")
    if wanted.get("user_data") is not None:
        check_user_data(wanted["user_data"])
    is_admin = caller_is_admin(req)
    rule = _RULE + "rebuild"
    async with req.svc.read() as db:
        # Fail fast on the server's state before asking the image service anything.
        instance = await load_server(req, db, rule)
        server_actions.check_can_begin(instance, server_actions.REBUILD, is_admin=is_admin)
    if not instance.image_ref:
        # Nova refuses another image for a volume-backed server; ownstack does not re-spawn
        # one on its root volume either (its disk is the volume's, not the image's).
        image_ref = str(wanted["imageRef"]).rstrip("/").rsplit("/", 1)[-1]
        raise BadRequest(f"Image {image_ref} is unacceptable: Unable to rebuild a "
                         "volume-backed server (ownstack does not re-spawn one on its root "
                         "volume, with the same image or another).")
    info = await _get_image(req, wanted["imageRef"])
    image = server_actions.rebuild_image(info, instance.flavor)
    admin_pass = wanted["adminPass"] if "adminPass" in wanted else generate_password()
    async with req.svc.write() as db:
        instance = await load_server(req, db, rule)
        values = await _rebuild_values(req, db, wanted)
        host = await server_actions.begin(
            db, req.ctx, instance, server_actions.REBUILD, is_admin=is_admin,
            image_ref=image.id, admin_pass=admin_pass,
            image_meta=server_actions.rebuilt_image_meta(image),
            task_args={"image_ref": image.id,
                       "preserve_ephemeral": bool_from_string(
                           wanted.get("preserve_ephemeral"))},
            **values)
        if "metadata" in wanted:
            await _replace_metadata(req, db, instance, wanted["metadata"])
        view = await show_body(req, db, instance, answering=views.REBUILD)
        uuid, user_data = instance.uuid, instance.user_data
    view["server"]["adminPass"] = admin_pass
    if at_least(version, "2.57"):
        view["server"]["user_data"] = user_data
    await nudge(req, host, uuid)
    return json_response(view, 202, {"Location": links(req, "servers", uuid)[0]["href"]})


_REBUILT_FIELDS: Final = (("name", "display_name"), ("description", "display_description"),
                          ("accessIPv4", "access_ip_v4"), ("accessIPv6", "access_ip_v6"),
                          ("user_data", "user_data"), ("hostname", "hostname"))


async def _rebuild_values(req: Req, db: Session, wanted: dict[str, Any]
                          ) -> dict[str, Any]:
    """The instance columns a rebuild body changes (those it does not name stay)."""
    values = {column: wanted[name] for name, column in _REBUILT_FIELDS if name in wanted}
    if "key_name" in wanted:
        values["key_name"] = values["key_data"] = None
        if wanted["key_name"] is not None:
            try:
                key = await keypairs.get_keypair(db, req.ctx.user_id or "",
                                                 wanted["key_name"])
            except KeypairNotFound:
                raise BadRequest("Invalid key_name provided.") from None
            values["key_name"], values["key_data"] = key.name, key.public_key
    return values


async def _replace_metadata(req: Req, db: Session, instance: Instance,
                            metadata: dict[str, str]) -> None:
    await quotas.check_metadata_items(db, req.svc.config.compute.quota, instance.project_id,
                                      len(metadata))
    current = await server_metadata.get_metadata(db, instance)
    await server_metadata.write_metadata(db, instance.uuid, current, metadata)


async def _get_image(req: Req, image_id: str, purpose: str = "rebuild") -> ImageInfo:
    """The image as the caller sees it (a private image of another project is missing)."""
    async with req.svc.image_client(req.ctx.auth_token) as images:
        try:
            return await images.get(image_id)
        except ImageNotFound:
            raise BadRequest(f"Cannot find image for {purpose}") from None
        except ImageClientError as exc:
            raise _image_error(exc) from None


# --- createImage --------------------------------------------------------------------------
async def _create_image(req: Req, data: dict[str, Any]) -> Response:
    """Create the snapshot image (queued) as the caller, then hand its upload to the
    agent. Below 2.45 the answer is a Location header, from 2.45 ``{"image_id"}``."""
    version = version_of(req)
    wanted = schemas.CREATE_IMAGE.validate(data)["createImage"]
    metadata: dict[str, str] = wanted.get("metadata", {})
    async with req.svc.read() as db:
        instance = await load_server(req, db, _RULE + "create_image")
        if not at_least(version, "2.39"):   # Nova stopped counting image metadata at 2.39
            await quotas.check_metadata_items(db, req.svc.config.compute.quota,
                                              instance.project_id, len(metadata))
        server_actions.check_can_begin(instance, server_actions.SNAPSHOT,
                                       is_admin=caller_is_admin(req))
        bdms = await block_devices.of_instance(db, instance.uuid) \
            if not instance.image_ref else []
    if not instance.image_ref:
        image_id = await _snapshot_volume_backed(req, instance, bdms, wanted["name"],
                                                 metadata)
        return _image_created(req, version, image_id)
    image_id = await _snapshot_into_image(req, instance, _RULE + "create_image",
                                          server_actions.SNAPSHOT, wanted["name"], metadata)
    return _image_created(req, version, image_id)


async def _create_backup(req: Req, data: dict[str, Any]) -> Response:
    """Nova's ``createBackup``: a snapshot image of type ``backup``; once it is uploaded the
    agent deletes the server's backups of the same ``backup_type`` beyond ``rotation``
    (newest kept). A volume-backed server is a 400, as in Nova. The image id answers only
    when ``rotation`` is above 0 (Location below 2.45, ``{"image_id"}`` from 2.45)."""
    version = version_of(req)
    wanted = schemas.CREATE_BACKUP.validate(data)["createBackup"]
    metadata: dict[str, str] = wanted.get("metadata", {})
    rotation = int(wanted["rotation"])
    rule = "os_compute_api:os-create-backup"
    async with req.svc.read() as db:
        instance = await load_server(req, db, rule)
        if not at_least(version, "2.39"):
            await quotas.check_metadata_items(db, req.svc.config.compute.quota,
                                              instance.project_id, len(metadata))
        server_actions.check_can_begin(instance, server_actions.BACKUP,
                                       is_admin=caller_is_admin(req))
    if not instance.image_ref:
        raise BadRequest("Backup is not supported for volume-backed instances.")
    image_id = await _snapshot_into_image(
        req, instance, rule, server_actions.BACKUP, wanted["name"], metadata,
        properties={"image_type": "backup", "backup_type": wanted["backup_type"]},
        task_args={"backup_type": wanted["backup_type"], "rotation": rotation})
    if rotation == 0:
        return empty_response(202)
    return _image_created(req, version, image_id)


async def _snapshot_into_image(req: Req, instance: Instance, rule: str,
                               transition: server_actions.Transition, name: str,
                               metadata: dict[str, str], *,
                               properties: dict[str, str] | None = None,
                               task_args: dict[str, Any] | None = None) -> str:
    """The queued image, made as the caller, and ``transition`` started in one write with
    the image in its ``task_args``; the agent uploads the disk into it."""
    is_admin = caller_is_admin(req)
    props = server_actions.snapshot_properties(req.ctx, instance, metadata)
    props.update(properties or {})
    async with req.svc.image_client(req.ctx.auth_token) as images:
        try:
            image = await images.create(
                name, server_actions.snapshot_disk_format(instance), "bare",
                properties=props, min_disk=server_actions.snapshot_min_disk(instance),
                min_ram=server_actions.snapshot_min_ram(instance))
        except ImageClientError as exc:
            raise _image_error(exc) from None
        try:
            async with req.svc.write() as db:
                instance = await load_server(req, db, rule)
                host = await server_actions.begin(
                    db, req.ctx, instance, transition, is_admin=is_admin,
                    task_args={"image_id": image.id, **(task_args or {})})
                uuid = instance.uuid
        except BaseException:
            # The server changed under us: the image would never get data.
            with contextlib.suppress(ImageClientError):
                await images.delete(image.id)
            raise
    await nudge(req, host, uuid)
    return image.id


def _image_created(req: Req, version: Version, image_id: str) -> Response:
    if at_least(version, "2.45"):
        return json_response({"image_id": image_id}, 202)
    config = req.svc.config
    return empty_response(202, {"Location": config.public_url(
        config.image.port, f"/v2/images/{image_id}")})


async def _snapshot_volume_backed(req: Req, instance: Instance, bdms: list[Any], name: str,
                                  metadata: dict[str, str]) -> str:
    """Nova's ``snapshot_volume_backed``, in the API as Nova does it: a forced snapshot
    of each of the server's volumes, as the caller, and an image of no data (``size``
    0, active) whose ``block_device_mapping`` (``bdm_v2``) boots new volumes from them.
    A refusal deletes the snapshots already made."""
    caller = req.svc.volume.as_caller(req.ctx.auth_token or "")
    try:
        mapping = await boot_volumes.snapshot_mappings(caller, bdms, name)
    except VolumeClientError as exc:
        raise boot_volumes.refusal(exc) from None
    properties = server_actions.snapshot_properties(req.ctx, instance, metadata)
    properties.update({"root_device_name": "/dev/vda", "bdm_v2": "True",
                       "block_device_mapping": json.dumps(mapping)})
    async with req.svc.image_client(req.ctx.auth_token) as images:
        try:
            image = await images.create(
                name, "raw", "bare", properties=properties,
                min_disk=server_actions.snapshot_min_disk(instance),
                min_ram=server_actions.snapshot_min_ram(instance))
            # No data: Nova's force_activate, so the image is active at size 0.
            await images.upload(image.id, Path(os.devnull))
        except ImageClientError as exc:
            for entry in mapping:
                with contextlib.suppress(VolumeClientError):
                    await req.svc.volume.delete_snapshot(str(entry["snapshot_id"]))
            raise _image_error(exc) from None
    async with req.svc.write() as db:
        action = await actions.start_action(db, req.ctx, instance.uuid, actions.CREATE_IMAGE)
        action.finish_time = utcnow()
    return image.id


_image_error = image_error


# --- lock, unlock -------------------------------------------------------------------------
async def _lock(req: Req, data: dict[str, Any]) -> Response:
    """From 2.73 ``{"lock": {"locked_reason": ...}}``; before, any value (null)."""
    version = version_of(req)
    with_reason = at_least(version, "2.73")
    lock = schemas.LOCK(version).validate(data)["lock"]
    reason = lock.get("locked_reason") if with_reason and isinstance(lock, dict) else None
    async with req.svc.write() as db:
        instance = await load_server(req, db, _LOCK_RULE + "lock")
        await server_actions.lock(db, req.ctx, instance, reason)
    return empty_response(202)


async def _unlock(req: Req, data: dict[str, Any]) -> Response:
    async with req.svc.write() as db:
        instance = await load_server(req, db, _LOCK_RULE + "unlock")
        if server_actions.needs_unlock_override(req.ctx, instance):
            req.svc.enforce(req.ctx, _LOCK_RULE + "unlock:unlock_override",
                            {"project_id": instance.project_id})
        await server_actions.unlock(db, req.ctx, instance)
    return empty_response(202)


# --- os-getConsoleOutput ------------------------------------------------------------------
async def _console_output(req: Req, data: dict[str, Any]) -> Response:
    """The tail of the server's console log, asked of its host's agent over the bus."""
    length = _console_length(
        schemas.CONSOLE_OUTPUT.validate(data)["os-getConsoleOutput"].get("length"))
    async with req.svc.read() as db:
        instance = await load_server(req, db, "os_compute_api:os-console-output")
    host = require_host(instance, "get_console_output")
    try:
        reply = await req.svc.bus.call(rpc.compute_topic(host), "console_output",
                                       {"uuid": instance.uuid, "length": length},
                                       timeout=CONSOLE_TIMEOUT)
    except BusTimeout:
        raise ConsoleNotAvailable("Console log is not available: the server's compute "
                                  "host did not answer in time; retry later.") from None
    except RemoteError as exc:
        raise ConsoleNotAvailable(f"Console log is not available: {exc.message}") from None
    except BusError:
        raise ConsoleNotAvailable("Console log is not available: the server's compute "
                                  "host cannot be reached.") from None
    output = reply.get("output") if isinstance(reply, dict) else None
    if not isinstance(output, str):
        raise ConsoleNotAvailable("Console log is not available.")
    return json_response({"output": _CONTROL.sub("", output)})


def _console_length(value: int | str | None) -> int | None:
    """Lines wanted: None or -1 for all, as Nova; a number below -1 is a 400."""
    if value is None:
        return None
    length = int(value)
    if length < -1:
        raise BadRequest(f"Invalid input for field 'os-getConsoleOutput.length': {value} "
                         "is less than the minimum of -1")
    return None if length == -1 else length


ActionHandler = Callable[[Req, dict[str, Any]], Awaitable[Response]]

_ACTIONS: Final[dict[str, ActionHandler]] = {
    "os-stop": _stop,
    "os-start": _start,
    "reboot": _reboot,
    "pause": _pause,
    "unpause": _unpause,
    "suspend": _suspend,
    "resume": _resume,
    "rescue": _rescue,
    "unrescue": _unrescue,
    "os-resetState": _reset_state,
    "injectNetworkInfo": _inject_network_info,
    "resetNetwork": _reset_network,
    "restore": _restore,
    "forceDelete": _force_delete,
    "rebuild": _rebuild,
    "createImage": _create_image,
    "createBackup": _create_backup,
    "lock": _lock,
    "unlock": _unlock,
    "os-getConsoleOutput": _console_output,
    "resize": server_resize.resize,
    "confirmResize": server_resize.confirm_resize,
    "revertResize": server_resize.revert_resize,
    "migrate": server_migrate.migrate,
    "shelve": server_shelve.shelve,
    "shelveOffload": server_shelve.shelve_offload,
    "unshelve": server_shelve.unshelve,
    "os-getVNCConsole": remote_consoles.vnc_console_action,
    "os-getSerialConsole": remote_consoles.serial_console_action,
    "os-getSPICEConsole": remote_consoles.spice_console_action,
    "os-getRDPConsole": remote_consoles.rdp_console_action,
    "addSecurityGroup": network_proxies.security_group_action,
    "removeSecurityGroup": network_proxies.security_group_action,
    "addFloatingIp": network_proxies.floating_ip_action,
    "removeFloatingIp": network_proxies.floating_ip_action,
}
