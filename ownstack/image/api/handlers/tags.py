"""Image tags: ``PUT`` and ``DELETE /v2/images/{image_id}/tags/{tag}``."""

from __future__ import annotations

from starlette.responses import Response

from ownstack.common.api.app import empty_response
from ownstack.common.errors import BadRequest
from ownstack.image.api.common import image_target
from ownstack.image.api.schemas.image import MAX_TAG_LENGTH
from ownstack.image.objects import images, tags
from ownstack.image.state import Req


async def add_tag(req: Req) -> Response:
    """Idempotent: tagging an image with a tag it has changes nothing and is a 204."""
    tag = req.params["tag"]
    if len(tag) > MAX_TAG_LENGTH:
        raise BadRequest(f"Tag is longer than {MAX_TAG_LENGTH} characters.")

    async def add() -> None:
        async with req.svc.write() as db:
            image = await images.get_visible(db, req.ctx, req.params["image_id"], lock=True)
            req.svc.enforce(req.ctx, "modify_image", image_target(image))
            await tags.add_tag(db, image, tag)

    await images.retrying(add)
    return empty_response()


async def delete_tag(req: Req) -> Response:
    async def remove() -> None:
        async with req.svc.write() as db:
            image = await images.get_visible(db, req.ctx, req.params["image_id"], lock=True)
            req.svc.enforce(req.ctx, "modify_image", image_target(image))
            await tags.remove_tag(db, image, req.params["tag"])

    await images.retrying(remove)
    return empty_response()

