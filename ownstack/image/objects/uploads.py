"""The rows of an image's upload: ``queued -> saving -> active``, or back to ``queued``.

``saving`` is taken by a compare-and-swap (``UPDATE ... WHERE status='queued'``), so of
two concurrent uploads exactly one proceeds and the other gets a 409. Each step is a
conditional update, so an image deleted during its upload stays deleted.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ownstack.common.config import Config
from ownstack.common.db.cas import rows_matched
from ownstack.image.errors import ImageGoneDuringUpload, InvalidImageStatus
from ownstack.image.objects.models import Image
from ownstack.image.objects.quota import check_size_quota

HASH_ALGORITHM = "sha512"     # os_hash_algo, Glance's default hashing_algorithm


async def start_saving(db: AsyncSession, image_id: str) -> None:
    """``queued -> saving``; 409 when another upload of the image's data started first."""
    result = await db.execute(update(Image).where(
        Image.id == image_id, Image.status == "queued").values(status="saving"))
    if rows_matched(result) == 0:
        raise InvalidImageStatus(f"Image {image_id} is no longer queued: another upload of "
                                 f"its data started first.")


async def finish_saving(db: AsyncSession, config: Config, image: Image, *, size: int,
                        md5: str, os_hash_value: str, virtual_size: int,
                        detected_format: str) -> None:
    """``saving -> active`` with what the data turned out to be: 413 when the owner's
    quota cannot hold it, 410 when the image was deleted meanwhile."""
    await check_size_quota(db, image.owner, size, config, exclude_image_id=image.id)
    result = await db.execute(update(Image).where(
        Image.id == image.id, Image.status == "saving").values(
        status="active", size=size, checksum=md5, os_hash_algo=HASH_ALGORITHM,
        os_hash_value=os_hash_value, virtual_size=virtual_size,
        detected_format=detected_format))
    if rows_matched(result) == 0:
        raise ImageGoneDuringUpload(
            f"Image {image.id} could not be found after upload. The image may have "
            f"been deleted during the upload, cleaning up the chunks uploaded.")


async def requeue(db: AsyncSession, image_id: str) -> None:
    """``saving -> queued`` after a failed upload."""
    await db.execute(update(Image).where(
        Image.id == image_id, Image.status == "saving").values(status="queued"))


async def requeue_all_saving(db: AsyncSession) -> list[str]:
    """Every image in ``saving`` back to ``queued`` (at start, when no upload can be
    running); returns their ids."""
    ids = list(await db.scalars(select(Image.id).where(Image.status == "saving")))
    if ids:
        await db.execute(update(Image).where(Image.id.in_(ids), Image.status == "saving")
                         .values(status="queued"))
    return ids
