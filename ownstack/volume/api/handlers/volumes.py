"""``/volumes``: create (blank, from an image, a snapshot or another volume), list and
detail with Cinder's filters, show, update, delete, the summary, and metadata.

Writes only record the desired state and nudge the volume's host: its agent makes,
copies and removes files and reports back (decision 41). A create answers 202 with the
volume in ``creating``.
"""

from __future__ import annotations

import math
from typing import Any, Final

from starlette.responses import Response

from ownstack.common.api.app import empty_response, json_response
from ownstack.common.clients.image import ImageClientError, ImageInfo, ImageNotFound
from ownstack.common.disk_format import ACCEPTED_DETECTIONS
from ownstack.common.errors import BadRequest
from ownstack.volume.api import common
from ownstack.volume.api.common import at_least, body, flag, version_of
from ownstack.volume.api.handlers.metadata import MetadataRoutes, Rules
from ownstack.volume.api.schemas import volumes as schemas
from ownstack.volume.api.schemas.parameter_types import in_range
from ownstack.volume.api.views import volumes as views
from ownstack.volume.errors import (
    ImageServiceUnavailable,
    InvalidInput,
    NotSupported,
)
from ownstack.volume.objects import groups as group_objects
from ownstack.volume.objects import listing, types
from ownstack.volume.objects import volumes as objects
from ownstack.volume.objects.models import Volume
from ownstack.volume.state import Req

GIB = 1 << 30
IMAGE_CONTAINERS = ("bare", "ovf")
# An image's properties that are not copied into volume_image_metadata (Glance's own).
_IMAGE_CORE = frozenset({"id", "name", "status", "disk_format", "container_format",
                         "size", "virtual_size", "checksum", "min_disk", "min_ram",
                         "owner", "visibility", "protected", "os_hidden", "tags",
                         "created_at", "updated_at", "file", "schema", "self",
                         "os_hash_algo", "os_hash_value", "direct_url", "locations"})


def _target(req: Req, volume: Volume | None = None) -> dict[str, Any]:
    return {"project_id": volume.project_id if volume else req.ctx.project_id}


async def load(req: Req, rule: str) -> Volume:
    """The volume in the URL as the caller sees it (404 otherwise), then policy."""
    async with req.svc.read() as db:
        volume = await objects.get(db, req.ctx, req.params["volume_id"])
    req.svc.enforce(req.ctx, rule, _target(req, volume))
    return volume


async def show_view(req: Req, volume_id: str, status: int = 200, *,
                    extensions: bool = True) -> Response:
    async with req.svc.read() as db:
        volume = await objects.get(db, req.ctx, volume_id)
        extra = (await objects.details(db, [volume]))[volume.id]
    return json_response({"volume": views.detail(req, version_of(req), volume, extra,
                                                 extensions=extensions)}, status=status)


# --- create ----------------------------------------------------------------------------------

async def create_volume(req: Req) -> Response:
    req.svc.enforce(req.ctx, "volume:create", _target(req))
    version = version_of(req)
    document = await body(req, schemas.CREATE(version))
    data: dict[str, Any] = document["volume"]
    hints = document.get("OS-SCH-HNT:scheduler_hints")
    if hints:
        raise NotSupported("Scheduler hints")
    for unsupported, what in (("backup_id", "Creating a volume from a backup"),
                              ("consistencygroup_id", "Consistency groups")):
        if data.get(unsupported):
            raise NotSupported(what)
    image_ref = data.get("imageRef") or data.get("image_id")
    sources = [name for name, value in (("snapshot_id", data.get("snapshot_id")),
                                        ("source_volid", data.get("source_volid")),
                                        ("imageRef", image_ref)) if value]
    if len(sources) > 1:
        raise InvalidInput(f"only one of snapshot_id, source_volid and imageRef may be "
                           f"given, not {' and '.join(sources)}")
    size = in_range(data["size"], "size", 1) if data.get("size") is not None else None
    source = objects.Source()
    if data.get("snapshot_id"):
        source = objects.Source("snapshot", str(data["snapshot_id"]))
    elif data.get("source_volid"):
        source = objects.Source("volume", str(data["source_volid"]))
    elif image_ref:
        req.svc.enforce(req.ctx, "volume:create_from_image", _target(req))
        source = await _image_source(req, str(image_ref), size)
    multiattach = bool(data.get("multiattach") is not None and flag("multiattach",
                                                                    data["multiattach"]))
    if multiattach:
        req.svc.enforce(req.ctx, "volume:multiattach", _target(req))
    async with req.svc.write() as db:
        if multiattach is False and data.get("volume_type"):
            spec = await _type_multiattach(db, req, str(data["volume_type"]))
            multiattach = spec
        group = None
        # Cinder reads group_id from 3.13 (Tempest's group tests create at 3.13+).
        if data.get("group_id") and at_least(version, "3.13"):
            group = await group_objects.get(db, req.ctx, str(data["group_id"]))
            group_objects.check_accepts_volumes(group)
        volume = await objects.create(
            db, req.svc.settings, req.ctx, size=size, group=group,
            name=data.get("name", data.get("display_name")),
            description=data.get("description", data.get("display_description")),
            metadata=data.get("metadata") or {}, type_ref=data.get("volume_type"),
            availability_zone=data.get("availability_zone"), source=source,
            multiattach=multiattach)
        # The answer shows the volume as created (``creating``), whatever its agent does
        # once nudged.
        answer = views.detail(req, version, volume, (await objects.details(db, [volume]))[
            volume.id], extensions=False)
    await req.svc.rpc.volume_changed(volume.host, volume.id)
    return json_response({"volume": answer}, status=202)


async def _type_multiattach(db: Any, req: Req, ref: str) -> bool:
    """A type whose extra spec ``multiattach`` is ``<is> True`` makes multiattach volumes."""
    volume_type = await types.find_type(db, req.ctx, ref)
    return types.is_multiattach(await types.extra_specs(db, volume_type.id))


async def _image_source(req: Req, image_id: str, size: int | None) -> objects.Source:
    """The image as the caller sees it, checked as Cinder checks it before it copies one:
    active, of a format the agent converts, no larger than the volume."""
    try:
        image = await req.svc.image_client(req.ctx.auth_token).get(image_id)
    except ImageNotFound:
        raise InvalidInput("Invalid image identifier or unable to access requested "
                           "image.") from None
    except ImageClientError as exc:
        if exc.status is None or exc.status >= 500:
            raise ImageServiceUnavailable() from exc
        raise InvalidInput(f"Invalid image identifier or unable to access requested "
                           f"image: {exc}") from None
    if image.status != "active":
        raise InvalidInput(f"Image {image_id} is not active.")
    if image.disk_format not in ACCEPTED_DETECTIONS:
        raise InvalidInput(f"Image {image_id} has disk_format {image.disk_format}, which "
                           "cannot be copied into a volume.")
    if image.container_format not in IMAGE_CONTAINERS:
        raise InvalidInput(f"Image {image_id} has container_format "
                           f"{image.container_format}; only bare or ovf images become "
                           "volumes.")
    needed = max(image.min_disk, math.ceil((image.virtual_size or image.size or 0) / GIB), 1)
    if size is not None and image.size is not None and image.size > size * GIB:
        raise InvalidInput(f"Size of specified image {math.ceil(image.size / GIB)}GB is "
                           f"larger than volume size {size}GB.")
    if size is not None and size < image.min_disk:
        raise InvalidInput(f"Volume size {size}GB cannot be smaller than the image minDisk "
                           f"size {image.min_disk}GB.")
    return objects.Source("image", image.id, {
        "disk_format": image.disk_format, "size": image.size, "min_size_gb": needed,
        "metadata": _image_metadata(image)})


def _image_metadata(image: ImageInfo) -> dict[str, str]:
    """What Cinder's ``volume_image_metadata`` copies from the image."""
    found = {"image_id": image.id, "image_name": image.name or "",
             "checksum": image.checksum or "", "container_format": image.container_format
             or "", "disk_format": image.disk_format or "", "min_disk": str(image.min_disk),
             "min_ram": str(image.min_ram), "size": str(image.size or 0)}
    for key, value in image.properties.items():
        if key not in _IMAGE_CORE and isinstance(value, str | int | float | bool):
            found[key] = str(value)
    return found


# --- read ------------------------------------------------------------------------------------

async def _list(req: Req, *, detail: bool) -> Response:
    req.svc.enforce(req.ctx, "volume:get_all", _target(req))
    version = version_of(req)
    query = listing.parse_query(req.query.multi_items(), objects.VOLUMES, version,
                                is_admin=req.ctx.is_admin)
    async with req.svc.read() as db:
        rows, count = await objects.list_page(db, req.ctx, query)
        extra = await objects.details(db, rows) if detail else {}
    items = [views.detail(req, version, row, extra[row.id]) if detail
             else views.summary(req, row) for row in rows]
    return common.list_body("volumes", items, req, rows, query, count)


async def list_volumes(req: Req) -> Response:
    return await _list(req, detail=False)


async def list_volumes_detail(req: Req) -> Response:
    return await _list(req, detail=True)


async def show_volume(req: Req) -> Response:
    volume = await load(req, "volume:get")
    return await show_view(req, volume.id)


async def volume_summary(req: Req) -> Response:
    """3.12: the number and total size of the caller's volumes (3.36: their metadata)."""
    version = version_of(req)
    if version < common.Version(3, 12):
        raise BadRequest("GET /volumes/summary needs microversion 3.12 or later.")
    req.svc.enforce(req.ctx, "volume:get_all", _target(req))
    all_tenants = req.ctx.is_admin and common.query_flag(req, "all_tenants")
    async with req.svc.read() as db:
        found = await objects.summary(db, objects.visible(req.ctx, all_tenants=all_tenants),
                                      with_metadata=version >= common.Version(3, 36))
    return json_response({"volume-summary": found})


# --- update and delete -----------------------------------------------------------------------

async def update_volume(req: Req) -> Response:
    volume = await load(req, "volume:update")
    data: dict[str, Any] = (await body(req, schemas.UPDATE(version_of(req))))["volume"]
    values = {}
    for name in ("name", "description"):
        if name in data or f"display_{name}" in data:
            values[name] = data.get(name, data.get(f"display_{name}"))
    if "metadata" in data:
        values["metadata"] = data["metadata"]
    async with req.svc.write() as db:
        current = await objects.get(db, req.ctx, volume.id)
        await objects.update(db, current, values)
    return await show_view(req, volume.id, extensions=False)


async def delete_volume(req: Req) -> Response:
    volume = await load(req, "volume:delete")
    cascade = common.query_flag(req, "cascade")
    force = version_of(req) >= common.Version(3, 23) and common.query_flag(req, "force")
    if force:
        req.svc.enforce(req.ctx, "volume:force_delete", _target(req, volume))
    async with req.svc.write() as db:
        current = await objects.get(db, req.ctx, volume.id)
        gone, snapshot_ids = await objects.delete(db, req.svc.settings, current,
                                                  cascade=cascade, force=force)
    for snapshot_id in snapshot_ids:
        await req.svc.rpc.snapshot_changed(volume.host, snapshot_id)
    if not gone:
        await req.svc.rpc.volume_changed(volume.host, volume.id)
    return empty_response(202)


# --- metadata --------------------------------------------------------------------------------

METADATA: Final[MetadataRoutes[Volume]] = MetadataRoutes(
    kind="Volume", param="volume_id",
    rules=Rules(get="volume:get_volume_metadata", create="volume:create_volume_metadata",
                 update="volume:update_volume_metadata", delete="volume:delete_volume_metadata"),
    load=load, get=objects.get, read=objects.metadata_of, replace=objects.replace_metadata,
    merge=objects.merge_metadata, remove=objects.delete_metadata, save=objects.save)
list_metadata = METADATA.list
show_metadata_item = METADATA.show_item
create_metadata = METADATA.create
replace_metadata = METADATA.replace_all
set_metadata_item = METADATA.set_item
delete_metadata_item = METADATA.delete_item
