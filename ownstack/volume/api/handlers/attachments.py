"""``/attachments`` (3.27+): how compute attaches a volume to a server, as Nova does with
Cinder's new attach flow (create reserves, update with the host's connector gives the
connection info, ``os-complete`` marks it attached, delete detaches). See
:mod:`ownstack.volume.objects.attachments` for the state machine.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from ownstack.common.api.app import empty_response, json_response
from ownstack.common.errors import NotFound
from ownstack.volume.api import common
from ownstack.volume.api.common import Version, body, version_of
from ownstack.volume.api.schemas import attachments as schemas
from ownstack.volume.api.views import attachments as views
from ownstack.volume.objects import attachments as objects
from ownstack.volume.objects import listing, types
from ownstack.volume.objects import volumes as volume_objects
from ownstack.volume.objects.models import Attachment, Volume
from ownstack.volume.state import Req


def _since_327(req: Req) -> None:
    """The attachments API exists from 3.27: below, the URL is unknown (Cinder's 404)."""
    if version_of(req) < Version(3, 27):
        raise NotFound("The resource could not be found.")


async def _load(req: Req, rule: str) -> tuple[Attachment, Volume]:
    _since_327(req)
    async with req.svc.read() as db:
        attachment = await objects.get(db, req.ctx, req.params["attachment_id"])
        volume = await volume_objects.get(db, req.ctx, attachment.volume_id)
    req.svc.enforce(req.ctx, rule, {"project_id": attachment.project_id})
    return attachment, volume


async def _list(req: Req, *, detail: bool) -> Response:
    _since_327(req)
    req.svc.enforce(req.ctx, "volume:attachment_get_all", {"project_id": req.ctx.project_id})
    version = version_of(req)
    query = listing.parse_query(req.query.multi_items(), objects.ATTACHMENTS, version,
                                is_admin=req.ctx.is_admin)
    async with req.svc.read() as db:
        rows, count = await objects.list_page(db, req.ctx, query)
    items = [views.detail(row) if detail else views.summary(row) for row in rows]
    return common.list_body("attachments", items, req, rows, query, count)


async def list_attachments(req: Req) -> Response:
    return await _list(req, detail=False)


async def list_attachments_detail(req: Req) -> Response:
    return await _list(req, detail=True)


async def show_attachment(req: Req) -> Response:
    attachment, volume = await _load(req, "volume:attachment_get")
    return json_response({"attachment": views.detail(attachment, volume.format)})


async def create_attachment(req: Req) -> Response:
    _since_327(req)
    version = version_of(req)
    data: dict[str, Any] = (await body(req, schemas.CREATE(version)))["attachment"]
    mode = str(data.get("mode") or "null") if version >= Version(3, 54) else "null"
    async with req.svc.write() as db:
        volume = await volume_objects.get(db, req.ctx, str(data["volume_uuid"]))
        req.svc.enforce(req.ctx, "volume:attachment_create", {"project_id": volume.project_id})
        attachment = await objects.reserve(db, volume, data.get("instance_uuid"),
                                           volume.project_id, mode=mode)
        if data.get("connector"):
            await objects.connect(db, attachment, volume, data["connector"],
                                  await types.front_end_qos(db, volume.type_id))
    return json_response({"attachment": views.detail(attachment, volume.format)})


async def update_attachment(req: Req) -> Response:
    attachment, volume = await _load(req, "volume:attachment_update")
    connector: dict[str, Any] = (await body(req, schemas.UPDATE))["attachment"]["connector"]
    async with req.svc.write() as db:
        current = await objects.get(db, req.ctx, attachment.id)
        volume = await volume_objects.get(db, req.ctx, current.volume_id)
        await objects.connect(db, current, volume, connector,
                              await types.front_end_qos(db, volume.type_id))
    return json_response({"attachment": views.detail(current, volume.format)})


async def delete_attachment(req: Req) -> Response:
    attachment, _ = await _load(req, "volume:attachment_delete")
    async with req.svc.write() as db:
        current = await objects.get(db, req.ctx, attachment.id)
        volume = await volume_objects.get(db, req.ctx, current.volume_id)
        remaining = await objects.remove(db, current, volume)
    return json_response({"attachments": [views.summary(row) for row in remaining]})


async def attachment_action(req: Req) -> Response:
    """``os-complete`` (3.44): the attach is done; the volume is in-use."""
    if version_of(req) < Version(3, 44):
        _since_327(req)
        raise NotFound("The resource could not be found.")
    attachment, _ = await _load(req, "volume:attachment_complete")
    await body(req, schemas.COMPLETE)
    async with req.svc.write() as db:
        current = await objects.get(db, req.ctx, attachment.id)
        volume = await volume_objects.get(db, req.ctx, current.volume_id)
        await objects.complete(db, current, volume)
    return empty_response(204)
