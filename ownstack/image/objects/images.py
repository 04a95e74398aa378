"""Image visibility and lookup: which images a caller may see."""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, exists, false, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from ownstack.common.context import RequestContext
from ownstack.image.errors import ImageNotFound
from ownstack.image.objects.models import Image, ImageMember


def is_admin(ctx: RequestContext) -> bool:
    return "admin" in ctx.roles


def visible_condition(ctx: RequestContext, *, listing: bool,
                      member_status: str | None = "accepted") -> ColumnElement[bool]:
    """The SQL condition for images ``ctx`` may see.

    Glance's rules: admins see everything; everyone sees public images; community images
    are shown by ``GET`` but listed only when asked for (``listing`` leaves them out; the
    caller adds them for ``?visibility=community``); owners see their own; members see
    shared images, and lists show only those whose membership has ``member_status``.
    """
    if is_admin(ctx):
        return Image.id.is_not(None)
    project = ctx.project_id
    conditions: list[ColumnElement[bool]] = [Image.visibility == "public"]
    if not listing:
        conditions.append(Image.visibility == "community")
    if project is not None:
        conditions.append(Image.owner == project)
        member = select(ImageMember.image_id).where(
            ImageMember.image_id == Image.id, ImageMember.member_id == project)
        if listing and member_status is not None:
            member = member.where(ImageMember.status == member_status)
        conditions.append(and_(Image.visibility == "shared", exists(member)))
    return or_(*conditions) if conditions else false()


async def get_visible(db: AsyncSession, ctx: RequestContext, image_id: str) -> Image:
    """The image, if ``ctx`` may see it; otherwise 404, never 403 (no existence oracle)."""
    image = await db.scalar(select(Image).where(
        Image.id == image_id, visible_condition(ctx, listing=False)))
    if image is None:
        raise ImageNotFound(image_id)
    return image
