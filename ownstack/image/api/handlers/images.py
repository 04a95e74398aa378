"""Images: ``/v2/images``, ``/v2/images/{image_id}`` and its deactivate/reactivate actions.

Every lookup goes through :func:`get_visible`: an image the caller may not see is a 404,
one it may see but not change is a 403.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from ownstack.common.api.app import empty_response, json_response
from ownstack.image import store
from ownstack.image.api import filters, views
from ownstack.image.api.common import image_target
from ownstack.image.api.image_requests import parse_create, parse_patch
from ownstack.image.objects import image_list, images
from ownstack.image.objects.image_changes import EditableImage
from ownstack.image.objects.models import Image
from ownstack.image.state import Req

# The policy a visibility needs besides add_image or modify_image.
_VISIBILITY_RULES = {"public": "publicize_image", "community": "communitize_image"}


async def create_image(req: Req) -> Response:
    new = parse_create(await req.json())
    core = dict(new.core)
    owner = core.pop("owner", req.ctx.project_id)
    target = {"target.image.owner": owner}
    req.svc.enforce(req.ctx, "add_image", target)
    _enforce_visibility(req, core.get("visibility", "shared"), target)
    async with req.svc.write() as db:
        image = await images.create_image(db, req.svc.config, image_id=new.image_id,
                                          owner=owner, core=core, properties=new.properties,
                                          tags=new.tags)
    return json_response(views.image(image, sorted(new.tags)), status=201,
                         headers={"Location": f"{req.base_url()}/v2/images/{image.id}"})


async def list_images(req: Req) -> Response:
    req.svc.enforce(req.ctx, "get_images")
    wanted = filters.parse_filters(req.query)
    page_size = filters.page_size(req.query)
    sort = filters.sort_order(req.query)
    async with req.svc.read() as db:
        page = await image_list.list_images(db, req.ctx, wanted, limit=page_size,
                                            marker_id=req.query.get("marker"), sort=sort)
    return json_response(views.images(page, req.query, page_size))


async def show_image(req: Req) -> Response:
    req.svc.enforce(req.ctx, "get_image")
    async with req.svc.read() as db:
        image, tags = await images.get_visible_with_tags(db, req.ctx, req.params["image_id"])
    return json_response(views.image(image, tags))


async def update_image(req: Req) -> Response:
    changes, draft = parse_patch(req.headers.get("content-type"), await req.body())

    async def patch_image() -> tuple[Image, list[str]]:
        async with req.svc.write() as db:
            image = await images.get_visible(db, req.ctx, req.params["image_id"], lock=True)
            target = image_target(image)
            req.svc.enforce(req.ctx, "modify_image", target)
            edited = await EditableImage.load(db, image)
            for change in changes:
                edited.apply(change, draft)
            if "visibility" in edited.changed_core:
                _enforce_visibility(req, edited.core["visibility"], target)
            if "owner" in edited.changed_core:
                req.svc.enforce(req.ctx, "set_image_owner", target)
            await edited.save(db)
            return image, edited.tags

    image, tags = await images.retrying(patch_image)
    return json_response(views.image(image, sorted(tags)))


async def delete_image(req: Req) -> Response:
    image_id = req.params["image_id"]
    async with req.svc.write() as db:
        image = await images.get_visible(db, req.ctx, image_id, lock=True)
        req.svc.enforce(req.ctx, "delete_image", image_target(image))
        await images.delete_image(db, image)
    await store.delete_image_file(req.svc, image_id)
    return empty_response()


async def deactivate_image(req: Req) -> Response:
    return await _change_activation(req, "deactivate")


async def reactivate_image(req: Req) -> Response:
    return await _change_activation(req, "reactivate")


async def _change_activation(req: Req, action: str) -> Response:
    async def change() -> None:
        async with req.svc.write() as db:
            image = await images.get_visible(db, req.ctx, req.params["image_id"], lock=True)
            req.svc.enforce(req.ctx, action, image_target(image))
            await images.change_activation(db, image, action)

    await images.retrying(change)
    return empty_response()


def _enforce_visibility(req: Req, visibility: str, target: dict[str, Any]) -> None:
    rule = _VISIBILITY_RULES.get(visibility)
    if rule is not None:
        req.svc.enforce(req.ctx, rule, target)
