"""Adding and removing one tag of an image; each bumps the image's generation, so a
concurrent patch of the tags loses its race instead of undoing this."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ownstack.common.errors import NotFound
from ownstack.image.errors import QuotaExceeded
from ownstack.image.objects.images import MAX_TAGS, save_image
from ownstack.image.objects.models import Image, ImageTag


async def add_tag(db: AsyncSession, image: Image, tag: str) -> None:
    """Idempotent: a tag the image already has changes nothing; 413 past the tag quota."""
    if await db.get(ImageTag, (image.id, tag)) is not None:
        return
    count = await db.scalar(select(func.count()).select_from(ImageTag).where(
        ImageTag.image_id == image.id))
    if (count or 0) >= MAX_TAGS:
        raise QuotaExceeded(f"Maximum number of tags ({MAX_TAGS}) exceeded.")
    await save_image(db, image)
    db.add(ImageTag(image_id=image.id, value=tag))


async def remove_tag(db: AsyncSession, image: Image, tag: str) -> None:
    """404 when the image does not have the tag."""
    row = await db.get(ImageTag, (image.id, tag))
    if row is None:
        raise NotFound(f"Tag {tag} not found.")
    await save_image(db, image)
    await db.delete(row)
