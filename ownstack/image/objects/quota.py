"""Per-project image quotas: how many images a project may own, and how many bytes.

Both limits come from ``[image]`` in the config; 0 means unlimited. Callers run the
checks inside the write transaction that adds the image or its bytes, so the count they
read is the one they commit against.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ownstack.common.config import Config
from ownstack.image.errors import QuotaExceeded
from ownstack.image.objects.models import Image

_MIB = 1024 * 1024

# The images whose bytes are stored or being stored; killed images hold none.
_SIZED_STATUSES = ("active", "saving", "queued", "deactivated")


async def check_count_quota(db: AsyncSession, owner: str | None, config: Config) -> None:
    """Raise QuotaExceeded (413) if ``owner`` already has as many images as allowed."""
    limit = config.image.image_count_quota
    if limit <= 0 or owner is None:
        return
    count = await db.scalar(select(func.count()).select_from(Image).where(Image.owner == owner))
    if (count or 0) >= limit:
        raise QuotaExceeded(f"Maximum number of images exceeded: project {owner} may own "
                            f"{limit} image(s) and owns {count}.")


async def used_bytes(db: AsyncSession, owner: str, *, exclude_image_id: str | None = None
                     ) -> int:
    """Bytes held by ``owner``'s stored or uploading images."""
    stmt = select(func.coalesce(func.sum(Image.size), 0)).where(
        Image.owner == owner, Image.status.in_(_SIZED_STATUSES))
    if exclude_image_id is not None:
        stmt = stmt.where(Image.id != exclude_image_id)
    return int(await db.scalar(stmt) or 0)


async def check_size_quota(db: AsyncSession, owner: str | None, extra_bytes: int,
                           config: Config, *, exclude_image_id: str | None = None) -> None:
    """Raise QuotaExceeded (413) if adding ``extra_bytes`` to what ``owner`` stores would
    pass ``image_size_quota_mb``.

    ``exclude_image_id`` leaves one image out of the sum: the image being uploaded, when its
    ``size`` already counts the bytes passed as ``extra_bytes``.
    """
    limit_mb = config.image.image_size_quota_mb
    if limit_mb <= 0 or owner is None:
        return
    limit = limit_mb * _MIB
    used = await used_bytes(db, owner, exclude_image_id=exclude_image_id)
    if used + extra_bytes > limit:
        raise QuotaExceeded(
            f"Denying attempt to upload image because it exceeds the quota: the data "
            f"({extra_bytes} bytes) would exceed the limit of {limit} bytes for project "
            f"{owner}; {max(limit - used, 0)} bytes remaining.")
