"""Image members: ``/v2/images/{image_id}/members[/{member_id}]``.

Sharing as Glance does it: only ``shared`` images have members (403 otherwise, 404 when
showing one member). The owner (or an admin) adds and removes members and sees them
all; a member project sees only its own membership, and only it may answer the share
with ``accepted``, ``rejected`` or ``pending``.
"""

from __future__ import annotations

from starlette.responses import Response

from ownstack.common.api.app import empty_response, json_response
from ownstack.common.errors import Forbidden, NotFound
from ownstack.image.api import views
from ownstack.image.api.common import image_target
from ownstack.image.api.schemas import member as schema
from ownstack.image.objects import members
from ownstack.image.state import Req


async def list_members(req: Req) -> Response:
    async with req.svc.read() as db:
        image = await members.get_shared_image(db, req.ctx, req.params["image_id"])
        req.svc.enforce(req.ctx, "get_members", image_target(image))
        rows = await members.list_members(db, req.ctx, image)
    return json_response(views.members(rows))


async def show_member(req: Req) -> Response:
    async with req.svc.read() as db:
        try:
            image = await members.get_shared_image(db, req.ctx, req.params["image_id"])
        except Forbidden as exc:    # Glance hides even that the image has no members
            raise NotFound(exc.message) from None
        req.svc.enforce(req.ctx, "get_member", image_target(image))
        member = await members.get_member(db, req.ctx, image, req.params["member_id"])
    return json_response(views.member(member))


async def create_member(req: Req) -> Response:
    member_id = (await req.json(schema.CREATE))["member"]
    async with req.svc.write() as db:
        image = await members.get_shared_image(db, req.ctx, req.params["image_id"], lock=True)
        req.svc.enforce(req.ctx, "add_member", image_target(image))
        member = await members.add_member(db, image, member_id)
    return json_response(views.member(member))


async def update_member(req: Req) -> Response:
    status = (await req.json(schema.UPDATE))["status"]
    async with req.svc.write() as db:
        image = await members.get_shared_image(db, req.ctx, req.params["image_id"], lock=True)
        member = await members.get_member(db, req.ctx, image, req.params["member_id"])
        req.svc.enforce(req.ctx, "modify_member", {
            **image_target(image), "target.member.member_id": member.member_id})
        await members.set_member_status(db, member, status)
    return json_response(views.member(member))


async def delete_member(req: Req) -> Response:
    async with req.svc.write() as db:
        image = await members.get_shared_image(db, req.ctx, req.params["image_id"], lock=True)
        req.svc.enforce(req.ctx, "delete_member", image_target(image))
        member = await members.get_member(db, req.ctx, image, req.params["member_id"])
        await members.remove_member(db, member)
    return empty_response()
