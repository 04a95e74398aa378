"""Image members: the projects a ``shared`` image is shared with, and their answers.

Only ``shared`` images have members (403 otherwise). The owner (or an admin) sees every
membership of the image; a member project sees only its own.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, func, select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ownstack.common.context import RequestContext
from ownstack.common.errors import Conflict, Forbidden, NotFound
from ownstack.image.errors import QuotaExceeded
from ownstack.image.objects.images import MAX_MEMBERS, get_visible, is_admin
from ownstack.image.objects.models import Image, ImageMember


async def get_shared_image(db: AsyncSession, ctx: RequestContext, image_id: str, *,
                           lock: bool = False) -> Image:
    """The visible image (see :func:`get_visible`), if it is ``shared``; else 403."""
    image = await get_visible(db, ctx, image_id, lock=lock)
    if image.visibility != "shared":
        raise Forbidden(f"Error fetching members of image {image.id}: Only shared images "
                        "have members.")
    return image


async def list_members(db: AsyncSession, ctx: RequestContext, image: Image
                       ) -> list[ImageMember]:
    """The memberships of ``image`` that ``ctx`` may see, oldest first."""
    return list(await db.scalars(select(ImageMember).where(
        ImageMember.image_id == image.id, _readable(ctx, image))
        .order_by(ImageMember.created_at, ImageMember.member_id)))


async def get_member(db: AsyncSession, ctx: RequestContext, image: Image, member_id: str
                     ) -> ImageMember:
    """One membership of ``image``; 404 when it does not exist or ``ctx`` may not see it."""
    member = await db.scalar(select(ImageMember).where(
        ImageMember.image_id == image.id, ImageMember.member_id == member_id,
        _readable(ctx, image)))
    if member is None:
        raise NotFound(f"{member_id} not found in the member list of the image {image.id}.")
    return member


async def add_member(db: AsyncSession, image: Image, member_id: str) -> ImageMember:
    """A ``pending`` membership of ``member_id``: 409 when it is already a member (also
    when a concurrent request adds it first), 413 past the member quota."""
    duplicate = Conflict(f"Member {member_id} is duplicated for image {image.id}")
    if await db.get(ImageMember, (image.id, member_id)) is not None:
        raise duplicate
    count = await db.scalar(select(func.count()).select_from(ImageMember).where(
        ImageMember.image_id == image.id))
    if (count or 0) >= MAX_MEMBERS:
        raise QuotaExceeded(f"Image member limit exceeded for image {image.id}: "
                            f"at most {MAX_MEMBERS} members.")
    member = ImageMember(image_id=image.id, member_id=member_id, status="pending")
    try:
        db.add(member)
        await db.flush()
    except IntegrityError:
        raise duplicate from None
    return member


async def set_member_status(db: AsyncSession, member: ImageMember, status: str) -> None:
    member.status = status
    await db.flush()


async def remove_member(db: AsyncSession, member: ImageMember) -> None:
    await db.delete(member)


def _readable(ctx: RequestContext, image: Image) -> ColumnElement[bool]:
    """Which of ``image``'s memberships ``ctx`` may see: all for the owner, else its own."""
    if is_admin(ctx) or (ctx.project_id is not None and image.owner == ctx.project_id):
        return true()
    return ImageMember.member_id == ctx.project_id
