"""Image members: ``/v2/images/{image_id}/members[/{member_id}]``.

Sharing as Glance does it: only ``shared`` images have members (403 otherwise, 404 when
showing one member). The owner (or an admin) adds and removes members and sees them
all; a member project sees only its own membership, and only it may answer the share
with ``accepted``, ``rejected`` or ``pending``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, func, select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from ownstack.common.api.app import empty_response, json_response
from ownstack.common.api.schema import Validator
from ownstack.common.context import RequestContext
from ownstack.common.errors import Conflict, Forbidden, NotFound
from ownstack.image.api.handlers.common import image_target, isotime
from ownstack.image.errors import QuotaExceeded
from ownstack.image.objects.images import MAX_MEMBERS, MEMBER_STATUSES, get_visible, is_admin
from ownstack.image.objects.models import Image, ImageMember
from ownstack.image.state import Req

CREATE = Validator({"type": "object", "required": ["member"], "properties": {
    "member": {"type": "string", "minLength": 1, "maxLength": 64}}})
UPDATE = Validator({"type": "object", "required": ["status"], "properties": {
    "status": {"enum": list(MEMBER_STATUSES)}}})


def member_view(member: ImageMember) -> dict[str, Any]:
    return {"member_id": member.member_id, "image_id": member.image_id,
            "status": member.status, "created_at": isotime(member.created_at),
            "updated_at": isotime(member.updated_at), "schema": "/v2/schemas/member"}


async def list_members(req: Req) -> Response:
    async with req.svc.read() as db:
        image = await _shared_image(db, req)
        req.svc.enforce(req.ctx, "get_members", image_target(image))
        rows = await db.scalars(select(ImageMember).where(
            ImageMember.image_id == image.id, _readable(req.ctx, image))
            .order_by(ImageMember.created_at, ImageMember.member_id))
        members = [member_view(m) for m in rows]
    return json_response({"members": members, "schema": "/v2/schemas/members"})


async def show_member(req: Req) -> Response:
    async with req.svc.read() as db:
        try:
            image = await _shared_image(db, req)
        except Forbidden as exc:    # Glance hides even that the image has no members
            raise NotFound(exc.message) from None
        req.svc.enforce(req.ctx, "get_member", image_target(image))
        member = await _member(db, req, image)
    return json_response(member_view(member))


async def create_member(req: Req) -> Response:
    member_id = (await req.json(CREATE))["member"]
    duplicate = Conflict(f"Member {member_id} is duplicated for image "
                         f"{req.params['image_id']}")
    try:
        async with req.svc.write() as db:
            image = await _shared_image(db, req, lock=True)
            req.svc.enforce(req.ctx, "add_member", image_target(image))
            if await db.get(ImageMember, (image.id, member_id)) is not None:
                raise duplicate
            count = await db.scalar(select(func.count()).select_from(ImageMember).where(
                ImageMember.image_id == image.id))
            if (count or 0) >= MAX_MEMBERS:
                raise QuotaExceeded(f"Image member limit exceeded for image {image.id}: "
                                    f"at most {MAX_MEMBERS} members.")
            member = ImageMember(image_id=image.id, member_id=member_id, status="pending")
            db.add(member)
            await db.flush()
    except IntegrityError:      # the same member, added by a concurrent request
        raise duplicate from None
    return json_response(member_view(member))


async def update_member(req: Req) -> Response:
    status = (await req.json(UPDATE))["status"]
    async with req.svc.write() as db:
        image = await _shared_image(db, req, lock=True)
        member = await _member(db, req, image)
        req.svc.enforce(req.ctx, "modify_member", {
            **image_target(image), "target.member.member_id": member.member_id})
        member.status = status
        await db.flush()
    return json_response(member_view(member))


async def delete_member(req: Req) -> Response:
    async with req.svc.write() as db:
        image = await _shared_image(db, req, lock=True)
        req.svc.enforce(req.ctx, "delete_member", image_target(image))
        await db.delete(await _member(db, req, image))
    return empty_response()


async def _shared_image(db: AsyncSession, req: Req, *, lock: bool = False) -> Image:
    image = await get_visible(db, req.ctx, req.params["image_id"], lock=lock)
    if image.visibility != "shared":
        raise Forbidden(f"Error fetching members of image {image.id}: Only shared images "
                        "have members.")
    return image


def _readable(ctx: RequestContext, image: Image) -> ColumnElement[bool]:
    """Which of ``image``'s memberships ``ctx`` may see: all for the owner, else its own."""
    if is_admin(ctx) or (ctx.project_id is not None and image.owner == ctx.project_id):
        return true()
    return ImageMember.member_id == ctx.project_id


async def _member(db: AsyncSession, req: Req, image: Image) -> ImageMember:
    member_id = req.params["member_id"]
    member = await db.scalar(select(ImageMember).where(
        ImageMember.image_id == image.id, ImageMember.member_id == member_id,
        _readable(req.ctx, image)))
    if member is None:
        raise NotFound(f"{member_id} not found in the member list of the image {image.id}.")
    return member
