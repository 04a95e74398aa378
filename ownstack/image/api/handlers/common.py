"""What several image handlers share: the image view and tag loading."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ownstack.image.objects.models import Image, ImageTag
from ownstack.image.state import Req


def isotime(moment: datetime | None) -> str | None:
    """Glance's timestamps: seconds precision, UTC, a trailing ``Z``."""
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def load_tags(db: AsyncSession, image_id: str) -> list[str]:
    return (await load_tags_of(db, [image_id]))[image_id]


async def load_tags_of(db: AsyncSession, image_ids: list[str]) -> dict[str, list[str]]:
    """Each image's tags, in one query for a whole page of images."""
    tags: dict[str, list[str]] = {image_id: [] for image_id in image_ids}
    if image_ids:
        rows = await db.execute(select(ImageTag.image_id, ImageTag.value)
                                .where(ImageTag.image_id.in_(image_ids))
                                .order_by(ImageTag.value))
        for image_id, value in rows:
            tags[image_id].append(value)
    return tags


def image_target(image: Image) -> dict[str, Any]:
    """The policy target for rules about ``image`` (``%(target.image.owner)s``)."""
    return {"target.image.owner": image.owner, "target.image.id": image.id,
            "target.image.visibility": image.visibility}


def image_view(req: Req, image: Image, tags: list[str]) -> dict[str, Any]:
    """The image as Glance shows it: every core attribute (null when unset), then each
    extra property flattened at the top level."""
    view: dict[str, Any] = dict(image.properties or {})
    view.update({
        "id": image.id,
        "name": image.name,
        "status": image.status,
        "visibility": image.visibility,
        "protected": bool(image.protected),
        "os_hidden": bool(image.os_hidden),
        "owner": image.owner,
        "disk_format": image.disk_format,
        "container_format": image.container_format,
        "size": image.size,
        "virtual_size": image.virtual_size,
        "checksum": image.checksum,
        "os_hash_algo": image.os_hash_algo,
        "os_hash_value": image.os_hash_value,
        "min_disk": image.min_disk or 0,
        "min_ram": image.min_ram or 0,
        "tags": list(tags),
        "created_at": isotime(image.created_at),
        "updated_at": isotime(image.updated_at),
        "self": f"/v2/images/{image.id}",
        "file": f"/v2/images/{image.id}/file",
        "schema": "/v2/schemas/image",
    })
    return view
