"""Image tags: ``PUT`` and ``DELETE /v2/images/{image_id}/tags/{tag}``."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from ownstack.common.api.app import empty_response
from ownstack.common.errors import BadRequest, NotFound
from ownstack.image.api.handlers.common import image_target
from ownstack.image.errors import QuotaExceeded
from ownstack.image.objects.images import MAX_TAGS, get_visible, retrying, save_image
from ownstack.image.objects.models import Image, ImageTag
from ownstack.image.state import Req

MAX_TAG_LENGTH = 255


async def add_tag(req: Req) -> Response:
    """Idempotent: tagging an image with a tag it has changes nothing and is a 204."""
    tag = req.params["tag"]
    if len(tag) > MAX_TAG_LENGTH:
        raise BadRequest(f"Tag is longer than {MAX_TAG_LENGTH} characters.")

    async def add() -> None:
        async with req.svc.write() as db:
            image = await _modifiable(db, req)
            if await db.get(ImageTag, (image.id, tag)) is not None:
                return
            count = await db.scalar(select(func.count()).select_from(ImageTag).where(
                ImageTag.image_id == image.id))
            if (count or 0) >= MAX_TAGS:
                raise QuotaExceeded(f"Maximum number of tags ({MAX_TAGS}) exceeded.")
            await save_image(db, image)
            db.add(ImageTag(image_id=image.id, value=tag))

    await retrying(add)
    return empty_response()


async def delete_tag(req: Req) -> Response:
    tag = req.params["tag"]

    async def remove() -> None:
        async with req.svc.write() as db:
            image = await _modifiable(db, req)
            row = await db.get(ImageTag, (image.id, tag))
            if row is None:
                raise NotFound(f"Tag {tag} not found.")
            await save_image(db, image)
            await db.delete(row)

    await retrying(remove)
    return empty_response()


async def _modifiable(db: AsyncSession, req: Req) -> Image:
    image = await get_visible(db, req.ctx, req.params["image_id"], lock=True)
    req.svc.enforce(req.ctx, "modify_image", image_target(image))
    return image
