"""What the image API tests share: creating images and patching them as clients do."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update

from helpers.inprocess import ImageClient
from ownstack.image.objects.models import Image

PATCH = {"Content-Type": "application/openstack-images-v2.1-json-patch"}


async def create(image: ImageClient, token: str | None = None, expect: int = 201,
                 **body: Any) -> dict[str, Any]:
    """POST /v2/images; raw/bare unless the body says otherwise."""
    body.setdefault("disk_format", "raw")
    body.setdefault("container_format", "bare")
    r = await image.call("POST", "/v2/images", token=token, json=body, expect=expect)
    return dict(r.json())


async def patch(image: ImageClient, image_id: str, ops: Any, token: str | None = None,
                expect: int | None = 200, headers: dict[str, str] | None = None
                ) -> dict[str, Any]:
    r = await image.call("PATCH", f"/v2/images/{image_id}", token=token, json=ops,
                         headers=headers or PATCH, expect=expect)
    return dict(r.json()) if r.content else {}


async def list_ids(image: ImageClient, token: str | None = None, **params: Any) -> list[str]:
    r = await image.call("GET", "/v2/images", token=token, params=params, expect=200)
    return [i["id"] for i in r.json()["images"]]


async def set_columns(image: ImageClient, image_id: str, **values: Any) -> None:
    """Set columns only the data path sets (status, size, ...) without uploading."""
    async with image.app.svc.write() as db:
        await db.execute(update(Image).where(Image.id == image_id).values(**values))
