"""``POST /volumes/{id}/action``: one action per body, Cinder's names.

Extend, the bootable and read-only flags, upload to an image, revert, the admin's
reset-status, force-delete and force-detach, and the older attach actions Nova used before the
attachments API (reserve, attach, begin/roll detaching, detach, initialize and terminate
connection). Each answers 202 with no body, as Cinder's, but ``os-volume_upload_image``
and ``os-initialize_connection`` (200, with a body). An unknown action is a 400; an action
Cinder has and ownstack does not is a 400 that says so.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from typing import Any, Final

from starlette.responses import Response

from ownstack.common.api.app import empty_response, json_response
from ownstack.common.api.schema import Validator
from ownstack.common.clients.image import ImageClientError
from ownstack.common.errors import BadRequest, OwnstackError
from ownstack.volume.api.common import Version, flag, version_of
from ownstack.volume.api.handlers.volumes import load
from ownstack.volume.api.schemas.actions import VOLUME_ACTIONS
from ownstack.volume.api.schemas.parameter_types import in_range
from ownstack.volume.api.views import types as type_views
from ownstack.volume.api.views import volumes as views
from ownstack.volume.errors import (
    AttachmentNotFound,
    ImageServiceUnavailable,
    InvalidInput,
    MetadataNotFound,
    NotSupported,
)
from ownstack.volume.objects import actions, attachments, snapshots, types
from ownstack.volume.objects import volumes as objects
from ownstack.volume.objects.models import Volume
from ownstack.volume.state import Req

Action = Callable[[Req, Volume, Any], Awaitable[Response]]

# Cinder's actions ownstack does not serve (yet): a clear 400 rather than "no such action".
NOT_SERVED: Final = {
    "os-migrate_volume": "Migrating a volume",
    "os-migrate_volume_completion": "Migrating a volume",
    "os-reimage": "Re-imaging a volume",
    "os-enable_replication": "Replication", "os-disable_replication": "Replication",
    "os-failover_replication": "Replication", "os-list_replication_targets": "Replication",
    "os-unmanage": "Unmanaging a volume"}
# The microversion an action needs.
SINCE: Final = {"revert": Version(3, 40), "os-extend_volume_completion": Version(3, 71)}


async def volume_action(req: Req) -> Response:
    data = await req.json()
    if not isinstance(data, dict) or len(data) != 1:
        raise BadRequest("Invalid request body: exactly one action is expected.")
    name = next(iter(data))
    if name in NOT_SERVED:
        raise NotSupported(NOT_SERVED[name])
    action = ACTIONS.get(name)
    needs = SINCE.get(name)
    if action is None or (needs is not None and version_of(req) < needs):
        raise BadRequest(f"There is no such action: {name}")
    validator: Validator = VOLUME_ACTIONS[name]
    validator.validate(data)
    rule, handler = action
    volume = await load(req, rule)
    return await handler(req, volume, data[name] or {})


async def _nudged(req: Req, volume: Volume) -> Response:
    await req.svc.rpc.volume_changed(volume.host, volume.id)
    return empty_response(202)


async def _extend(req: Req, volume: Volume, args: dict[str, Any]) -> Response:
    if volume.status == "in-use":
        req.svc.enforce(req.ctx, "volume:extend_attached_volume",
                        {"project_id": volume.project_id})
    async with req.svc.write() as db:
        current = await objects.get(db, req.ctx, volume.id)
        servers = await actions.extend(db, req.svc.settings, current,
                                       in_range(args["new_size"], "new_size", 1),
                                       version_of(req), request_id=req.ctx.request_id)
    if servers:
        req.svc.notifier.volume_extended(volume.id, servers)
        return empty_response(202)
    return await _nudged(req, volume)


async def _set_bootable(req: Req, volume: Volume, args: dict[str, Any]) -> Response:
    async with req.svc.write() as db:
        await actions.set_bootable(db, await objects.get(db, req.ctx, volume.id),
                                   flag("bootable", args["bootable"]))
    return empty_response(200)


async def _update_readonly(req: Req, volume: Volume, args: dict[str, Any]) -> Response:
    async with req.svc.write() as db:
        await actions.set_read_only(db, await objects.get(db, req.ctx, volume.id),
                                    flag("readonly", args["readonly"]))
    return empty_response(202)


async def _retype(req: Req, volume: Volume, args: dict[str, Any]) -> Response:
    """Cinder's retype: 202, and the volume has its new type at once (see
    :func:`ownstack.volume.objects.actions.retype`)."""
    def may_multiattach() -> None:
        req.svc.enforce(req.ctx, "volume:multiattach", {"project_id": volume.project_id})

    async with req.svc.write() as db:
        await actions.retype(db, req.ctx, await objects.get(db, req.ctx, volume.id),
                             str(args["new_type"]),
                             str(args.get("migration_policy") or "never"),
                             authorize_multiattach=may_multiattach)
    return empty_response(202)


async def _upload_image(req: Req, volume: Volume, args: dict[str, Any]) -> Response:
    """A new image as the caller (queued), then the volume ``uploading`` until its agent
    has filled the image; the image is deleted again if the volume cannot be."""
    version = version_of(req)
    force = flag("force", args.get("force", False))
    disk_format = str(args.get("disk_format") or "raw")
    container_format = str(args.get("container_format") or "bare")
    actions.check_upload(volume, force=force, disk_format=disk_format,
                         container_format=container_format)
    visibility, protected = "private", False
    if version >= Version(3, 1):
        visibility = str(args.get("visibility") or "private")
        protected = flag("protected", args.get("protected", False))
    if visibility == "public":
        req.svc.enforce(req.ctx, "volume_extension:volume_actions:upload_public",
                        {"project_id": volume.project_id})
    images = req.svc.image_client(req.ctx.auth_token)
    name = str(args["image_name"])
    try:
        image = await images.create(name, disk_format, container_format, visibility,
                                    min_disk=volume.size, protected=protected)
    except ImageClientError as exc:
        if exc.status is None or exc.status >= 500:
            raise ImageServiceUnavailable() from exc
        raise InvalidInput(f"the image service refused the image: {exc}") from None
    try:
        async with req.svc.write() as db:
            current = await objects.get(db, req.ctx, volume.id)
            await actions.begin_upload(db, current, image.id, disk_format, force=force,
                                       container_format=container_format,
                                       request_id=req.ctx.request_id)
            volume_type = await types.get_type(db, req.ctx, current.type_id)
            specs = await types.extra_specs(db, volume_type.id)
    except OwnstackError:
        await _forget_image(req, image.id)
        raise
    await req.svc.rpc.volume_changed(current.host, current.id)
    described = {"id": image.id, "name": name, "disk_format": disk_format,
                 "container_format": container_format, "visibility": visibility,
                 "protected": protected}
    return json_response({"os-volume_upload_image": views.upload(
        req, version, current, type_views.volume_type(req, volume_type, specs), described)},
        status=202)


async def _forget_image(req: Req, image_id: str) -> None:
    with contextlib.suppress(ImageClientError):
        await req.svc.image_client(req.ctx.auth_token).delete(image_id)


async def _set_image_metadata(req: Req, volume: Volume, args: dict[str, Any]) -> Response:
    """Merge keys into the image metadata the volume carries; the whole of it answers."""
    async with req.svc.write() as db:
        current = await objects.get(db, req.ctx, volume.id)
        merged = {**(current.image_metadata or {}), **args["metadata"]}
        await objects.save(db, current, image_metadata=merged)
    return json_response({"metadata": merged})


async def _unset_image_metadata(req: Req, volume: Volume, args: dict[str, Any]) -> Response:
    key = str(args["key"])
    async with req.svc.write() as db:
        current = await objects.get(db, req.ctx, volume.id)
        kept = dict(current.image_metadata or {})
        if kept.pop(key, None) is None:
            raise MetadataNotFound("Volume image", volume.id, key)
        await objects.save(db, current, image_metadata=kept)
    return empty_response(200)


async def _show_image_metadata(req: Req, volume: Volume, args: Any) -> Response:
    return json_response({"metadata": dict(volume.image_metadata or {})})


async def _reset_status(req: Req, volume: Volume, args: dict[str, Any]) -> Response:
    async with req.svc.write() as db:
        await actions.reset_status(db, await objects.get(db, req.ctx, volume.id), args)
    return await _nudged(req, volume)


async def _force_delete(req: Req, volume: Volume, args: Any) -> Response:
    async with req.svc.write() as db:
        gone, _ = await objects.delete(db, req.svc.settings,
                                       await objects.get(db, req.ctx, volume.id),
                                       cascade=False, force=True)
    if gone:
        return empty_response(202)
    return await _nudged(req, volume)


async def _revert(req: Req, volume: Volume, args: dict[str, Any]) -> Response:
    async with req.svc.write() as db:
        current = await objects.get(db, req.ctx, volume.id)
        snapshot = await snapshots.get(db, req.ctx, str(args["snapshot_id"]))
        await actions.revert(db, current, snapshot)
    return await _nudged(req, volume)


async def _extend_completion(req: Req, volume: Volume, args: dict[str, Any]) -> Response:
    async with req.svc.write() as db:
        await actions.extend_completion(db, await objects.get(db, req.ctx, volume.id),
                                        bool(args.get("error", False)))
    return empty_response(202)


# --- the older attach actions ---------------------------------------------------------------

async def _reserve(req: Req, volume: Volume, args: Any) -> Response:
    async with req.svc.write() as db:
        await attachments.legacy_reserve(db, await objects.get(db, req.ctx, volume.id))
    return empty_response(202)


async def _unreserve(req: Req, volume: Volume, args: Any) -> Response:
    async with req.svc.write() as db:
        await attachments.legacy_unreserve(db, await objects.get(db, req.ctx, volume.id))
    return empty_response(202)


async def _begin_detaching(req: Req, volume: Volume, args: Any) -> Response:
    async with req.svc.write() as db:
        await attachments.legacy_begin_detaching(db, await objects.get(db, req.ctx, volume.id))
    return empty_response(202)


async def _roll_detaching(req: Req, volume: Volume, args: Any) -> Response:
    async with req.svc.write() as db:
        await attachments.legacy_roll_detaching(db, await objects.get(db, req.ctx, volume.id))
    return empty_response(202)


async def _attach(req: Req, volume: Volume, args: dict[str, Any]) -> Response:
    if not args.get("instance_uuid") and not args.get("host_name"):
        raise InvalidInput("Invalid request to attach volume to an invalid target: give "
                           "instance_uuid or host_name.")
    async with req.svc.write() as db:
        await attachments.legacy_attach(
            db, await objects.get(db, req.ctx, volume.id), volume.project_id,
            instance_uuid=args.get("instance_uuid"), host_name=args.get("host_name"),
            mountpoint=str(args["mountpoint"]), mode=str(args.get("mode") or "rw"))
    return empty_response(202)


async def _detach(req: Req, volume: Volume, args: dict[str, Any]) -> Response:
    async with req.svc.write() as db:
        await attachments.legacy_detach(db, await objects.get(db, req.ctx, volume.id),
                                        args.get("attachment_id"))
    return empty_response(202)


async def _force_detach(req: Req, volume: Volume, args: dict[str, Any] | None) -> Response:
    attachment_id = (args or {}).get("attachment_id")
    try:
        async with req.svc.write() as db:
            await attachments.force_detach(db, await objects.get(db, req.ctx, volume.id),
                                           attachment_id,
                                           by_service="service" in req.ctx.roles)
    except AttachmentNotFound as exc:
        # Cinder's detach runs in its volume manager, whose not-found comes back a 400.
        raise InvalidInput(f"Error force detaching volume - VolumeAttachmentNotFound: "
                           f"{exc.message}") from None
    return empty_response(202)


async def _initialize_connection(req: Req, volume: Volume, args: dict[str, Any]
                                 ) -> Response:
    connector: dict[str, Any] = args["connector"]
    attachments.check_connector(volume, connector)
    async with req.svc.read() as db:
        volume_type = await types.get_type(db, req.ctx, volume.type_id)
        qos = await types.front_end_qos(db, volume.type_id)
    mode = str(connector.get("mode") or "rw")
    return json_response({"connection_info": attachments.connection_info(
        volume, volume_type, mode, qos)})


async def _terminate_connection(req: Req, volume: Volume, args: dict[str, Any]) -> Response:
    """Nothing to undo on the volume's side: the file driver exports nothing (an NBD
    export, for another host, will be stopped here)."""
    return empty_response(202)


_A = "volume_extension:volume_actions:"
ACTIONS: Final[dict[str, tuple[str, Action]]] = {
    "os-extend": ("volume:extend", _extend),
    "os-set_bootable": ("volume:update", _set_bootable),
    "os-update_readonly_flag": ("volume:update_readonly_flag", _update_readonly),
    "os-retype": ("volume:retype", _retype),
    "os-volume_upload_image": (f"{_A}upload_image", _upload_image),
    "os-set_image_metadata": ("volume_extension:volume_image_metadata:set",
                              _set_image_metadata),
    "os-unset_image_metadata": ("volume_extension:volume_image_metadata:remove",
                                _unset_image_metadata),
    "os-show_image_metadata": ("volume_extension:volume_image_metadata:show",
                               _show_image_metadata),
    "os-reset_status": ("volume_extension:volume_admin_actions:reset_status", _reset_status),
    "os-force_delete": ("volume_extension:volume_admin_actions:force_delete", _force_delete),
    "os-force_detach": ("volume_extension:volume_admin_actions:force_detach", _force_detach),
    "revert": ("volume:revert_to_snapshot", _revert),
    "os-extend_volume_completion": (f"{_A}extend_volume_completion", _extend_completion),
    "os-reserve": (f"{_A}reserve", _reserve),
    "os-unreserve": (f"{_A}unreserve", _unreserve),
    "os-begin_detaching": (f"{_A}begin_detaching", _begin_detaching),
    "os-roll_detaching": (f"{_A}roll_detaching", _roll_detaching),
    "os-attach": (f"{_A}attach", _attach),
    "os-detach": (f"{_A}detach", _detach),
    "os-initialize_connection": (f"{_A}initialize_connection", _initialize_connection),
    "os-terminate_connection": (f"{_A}terminate_connection", _terminate_connection),
}
