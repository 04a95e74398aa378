"""Images: ``/v2/images``, ``/v2/images/{image_id}`` and its deactivate/reactivate actions.

Every lookup goes through :func:`get_visible`: an image the caller may not see is a 404,
one it may see but not change is a 403.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from ownstack.common.api.app import empty_response, json_response
from ownstack.common.api.pagination import next_link, paginate, parse_limit, parse_sort
from ownstack.common.db.base import utcnow
from ownstack.common.errors import BadRequest, Conflict, Forbidden
from ownstack.image import store
from ownstack.image.api.handlers.common import (
    image_target,
    image_view,
    load_tags,
    load_tags_of,
)
from ownstack.image.api.image_changes import (
    EditableImage,
    check_limits,
    parse_create,
    parse_patch,
)
from ownstack.image.api.image_filters import list_filters
from ownstack.image.errors import ImageProtected
from ownstack.image.objects.images import (
    delete_image_rows,
    get_visible,
    get_visible_with_tags,
    replace_tags,
    retrying,
    save_image,
    visible_condition,
)
from ownstack.image.objects.models import Image, ImageTag
from ownstack.image.objects.quota import check_count_quota
from ownstack.image.state import Req

_SORT_KEYS = ("name", "status", "container_format", "disk_format", "size", "id",
              "created_at", "updated_at")
# Glance's limit_param_default and api_limit_max.
_DEFAULT_LIMIT = 25
_MAX_LIMIT = 1000

# The policy a visibility needs besides add_image or modify_image.
_VISIBILITY_RULES = {"public": "publicize_image", "community": "communitize_image"}


async def create_image(req: Req) -> Response:
    new = parse_create(await req.json())
    core = dict(new.core)
    owner = core.pop("owner", req.ctx.project_id)
    target = {"target.image.owner": owner}
    req.svc.enforce(req.ctx, "add_image", target)
    _enforce_visibility(req, core.get("visibility", "shared"), target)
    now = utcnow()
    defaults = {"visibility": "shared", "protected": False, "os_hidden": False,
                "min_disk": 0, "min_ram": 0}
    image = Image(**{**defaults, **core}, id=new.image_id or str(uuid.uuid4()),
                  owner=owner, status="queued", properties=new.properties, created_at=now,
                  updated_at=now)
    try:
        async with req.svc.write() as db:
            if await db.get(Image, image.id) is not None:
                raise Conflict(f"Image with identifier {image.id} already exists!")
            await check_count_quota(db, owner, req.svc.config)
            db.add(image)
            await db.flush()
            db.add_all(ImageTag(image_id=image.id, value=tag) for tag in new.tags)
    except IntegrityError:
        raise Conflict(f"Image with identifier {image.id} already exists!") from None
    return json_response(image_view(req, image, sorted(new.tags)), status=201,
                         headers={"Location": f"{req.base_url()}/v2/images/{image.id}"})


async def list_images(req: Req) -> Response:
    req.svc.enforce(req.ctx, "get_images")
    conditions = list_filters(req.ctx, req.query)
    limit = parse_limit(req.query.get("limit"), max_limit=_MAX_LIMIT, default=_DEFAULT_LIMIT)
    page_size = _DEFAULT_LIMIT if limit is None else limit
    sort = parse_sort(req.query, allowed=_SORT_KEYS, default=[("created_at", "desc")])
    async with req.svc.read() as db:
        marker = await _marker(req, db) if "marker" in req.query else None
        rows = list(await db.scalars(paginate(select(Image).where(*conditions), Image,
                                              limit=page_size + 1, marker_row=marker,
                                              sort=sort)))
        page = rows[:page_size]
        tags = await load_tags_of(db, [image.id for image in page])
    body: dict[str, Any] = {"images": [image_view(req, i, tags[i.id]) for i in page],
                            "first": _first_link(req), "schema": "/v2/schemas/images"}
    if len(rows) > page_size and page:
        body["next"] = next_link("/v2/images", req.query, page[-1].id, page_size)
    return json_response(body)


async def show_image(req: Req) -> Response:
    req.svc.enforce(req.ctx, "get_image")
    async with req.svc.read() as db:
        image, tags = await get_visible_with_tags(db, req.ctx, req.params["image_id"])
    return json_response(image_view(req, image, tags))


async def update_image(req: Req) -> Response:
    changes, draft = parse_patch(req.headers.get("content-type"), await req.body())

    async def patch_image() -> tuple[Image, list[str]]:
        async with req.svc.write() as db:
            image = await get_visible(db, req.ctx, req.params["image_id"], lock=True)
            target = image_target(image)
            req.svc.enforce(req.ctx, "modify_image", target)
            tags = await load_tags(db, image.id)
            edited = EditableImage.of(image, tags)
            for change in changes:
                edited.apply(change, draft)
            if "visibility" in edited.changed_core:
                _enforce_visibility(req, edited.core["visibility"], target)
            if "owner" in edited.changed_core:
                req.svc.enforce(req.ctx, "set_image_owner", target)
            check_limits(edited.properties, edited.tags)
            if changes:
                await _save(db, image, tags, edited)
            return image, edited.tags

    image, tags = await retrying(patch_image)
    return json_response(image_view(req, image, sorted(tags)))


async def delete_image(req: Req) -> Response:
    image_id = req.params["image_id"]
    async with req.svc.write() as db:
        image = await get_visible(db, req.ctx, image_id, lock=True)
        req.svc.enforce(req.ctx, "delete_image", image_target(image))
        if image.protected:
            raise ImageProtected(image_id)
        await delete_image_rows(db, image)
    await store.delete_image_file(req.svc, image_id)
    return empty_response()


async def deactivate_image(req: Req) -> Response:
    return await _change_activation(req, "deactivate", "active", "deactivated")


async def reactivate_image(req: Req) -> Response:
    return await _change_activation(req, "reactivate", "deactivated", "active")


async def _change_activation(req: Req, action: str, source: str, result: str) -> Response:
    """Glance's deactivate/reactivate: ``source -> result``, a no-op when already there,
    and 403 from any other status."""
    async def change() -> None:
        async with req.svc.write() as db:
            image = await get_visible(db, req.ctx, req.params["image_id"], lock=True)
            req.svc.enforce(req.ctx, action, image_target(image))
            if image.status == source:
                await save_image(db, image, {"status": result})
            elif image.status != result:
                raise Forbidden(f"Not allowed to {action} image in status '{image.status}'")

    await retrying(change)
    return empty_response()


async def _save(db: AsyncSession, image: Image, tags: list[str], edited: EditableImage
                ) -> None:
    values = {name: edited.core[name] for name in edited.changed_core}
    if edited.properties != image.properties:
        values["properties"] = edited.properties
    await save_image(db, image, values)
    if edited.tags != tags:
        await replace_tags(db, image.id, edited.tags)


def _enforce_visibility(req: Req, visibility: str, target: dict[str, Any]) -> None:
    rule = _VISIBILITY_RULES.get(visibility)
    if rule is not None:
        req.svc.enforce(req.ctx, rule, target)


async def _marker(req: Req, db: AsyncSession) -> Image:
    """The marker image; Glance answers 400 when the caller cannot see it."""
    marker_id = req.query["marker"]
    marker: Image | None = await db.scalar(select(Image).where(
        Image.id == marker_id, visible_condition(req.ctx, listing=False)))
    if marker is None:
        raise BadRequest(f"Invalid marker: image {marker_id} could not be found.")
    return marker


def _first_link(req: Req) -> str:
    """Glance's ``first``: the request's query without its marker."""
    kept = [(k, v) for k, v in req.query.multi_items() if k != "marker"]
    return f"/v2/images?{urlencode(kept)}" if kept else "/v2/images"
