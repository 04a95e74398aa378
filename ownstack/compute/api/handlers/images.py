"""Nova's image proxy, as Tempest and older clients still use it: ``/images``,
``/images/detail`` and ``GET``/``DELETE /images/{id}`` up to microversion 2.35 (a 404 from
2.36, Nova's ``MAX_PROXY_API_SUPPORT_VERSION``), and ``/images/{id}/metadata[/{key}]`` up
to 2.38 (a 404 from 2.39, when Nova deprecated it).

Everything goes to the image service as the caller, so the image service's rules decide
who sees, changes and deletes what (a reader deletes nothing). The list takes Nova's
filters (``name``, ``status``, ``changes-since``, ``server``, ``type``, ``minRam``,
``minDisk`` and ``property-<name>``), translated as Nova translates them for Glance v2
(``minRam`` is Glance's exact ``min_ram``), and ``limit``, ``marker`` and ``page_size``;
a full page (``limit``, at most 1000) has a ``next`` link. An image's metadata are its
extra properties; a key naming one of Glance's own attributes is a 400.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from starlette.responses import Response

from ownstack.common.api.app import empty_response, json_response
from ownstack.common.clients.image import (
    CORE_FIELDS,
    ImageClient,
    ImageClientError,
    ImageInfo,
)
from ownstack.common.errors import BadRequest, Conflict, Forbidden, NotFound, OwnstackError
from ownstack.compute.api.common import (
    MAX_LIMIT,
    at_least,
    body,
    collection_links,
    limit_of,
    version_of,
)
from ownstack.compute.api.schemas import server_metadata as schemas
from ownstack.compute.api.views import images as views
from ownstack.compute.errors import ImageServiceUnavailable, QuotaExceeded
from ownstack.compute.objects import quotas
from ownstack.compute.state import Req

FIRST_WITHOUT_IMAGES: Final = "2.36"
FIRST_WITHOUT_METADATA: Final = "2.39"
# Nova's filters and the Glance v2 parameters they become.
_FILTERS: Final = {"name": "name", "status": "status", "changes-since": "updated_at",
                   "server": "instance_uuid", "type": "image_type", "minRam": "min_ram",
                   "minDisk": "min_disk"}
_PROPERTY_FILTER: Final = "property-"


def _client(req: Req, first_without: str) -> ImageClient:
    """The caller's image client, once the microversion still has the proxy."""
    if at_least(version_of(req), first_without):
        raise NotFound("The resource could not be found.")
    return req.svc.image_client(req.ctx.auth_token)


def _error(exc: ImageClientError, *, forbidden: str | None = None) -> OwnstackError:
    """The image service's refusal as Nova reports it."""
    if exc.status == 404:
        return NotFound("Image not found.")
    if exc.status in (401, 403):
        return Forbidden(forbidden or exc.message)
    if exc.status == 409:
        return Conflict(exc.message)
    if exc.status == 413:
        return Forbidden(exc.message)
    if exc.status is not None and 400 <= exc.status < 500:
        return BadRequest(exc.message)
    return ImageServiceUnavailable()


# --- images -------------------------------------------------------------------------------

async def list_images(req: Req) -> Response:
    return await _list(req, views.basic)


async def list_images_detail(req: Req) -> Response:
    return await _list(req, views.detail)


async def _list(req: Req, view: Callable[[Req, ImageInfo], dict[str, Any]]) -> Response:
    limit = limit_of(req) or MAX_LIMIT      # 0 is no limit for Glance's client: at most a page
    page_size = _positive(req, "page_size")
    _positive(req, "offset")     # taken, as by Nova, and not used: Glance pages by marker
    params = _glance_query(req)
    async with _client(req, FIRST_WITHOUT_IMAGES) as images:
        try:
            found = await images.list_images(params, limit=limit, page_size=page_size)
        except ImageClientError as exc:
            raise _error(exc) from None
    result: dict[str, Any] = {"images": [view(req, image) for image in found]}
    next_links = collection_links(req, len(found), limit, found[-1].id if found else None)
    if next_links:
        result["images_links"] = next_links
    return json_response(result)


def _glance_query(req: Req) -> dict[str, str]:
    """Nova's query as Glance v2's (``nova/image/glance.py``)."""
    params: dict[str, str] = {}
    for name, value in req.query.items():
        if name in _FILTERS:
            params[_FILTERS[name]] = value
        elif name.startswith(_PROPERTY_FILTER) and len(name) > len(_PROPERTY_FILTER):
            params[name.removeprefix(_PROPERTY_FILTER)] = value
    if "status" in params:
        params["status"] = params["status"].lower()
    if "updated_at" in params:
        params["updated_at"] = "gte:" + params["updated_at"]
    if "instance_uuid" in params:               # a server's URL names it by its last part
        params["instance_uuid"] = params["instance_uuid"].rsplit("/", 1)[-1]
    if "marker" in req.query:
        params["marker"] = req.query["marker"]
    return params


def _positive(req: Req, name: str) -> int | None:
    value = req.query.get(name)
    if value is None:
        return None
    if not value.isdigit() or len(value) > 9:
        raise BadRequest(f"Invalid input for query parameters {name}. Value: {value}. "
                         f"'{value}' does not match '^[0-9]*$'")
    return int(value) or None


async def show_image(req: Req) -> Response:
    async with _client(req, FIRST_WITHOUT_IMAGES) as images:
        image = await _get(images, req.params["image_id"])
    return json_response({"image": views.detail(req, image)})


async def delete_image(req: Req) -> Response:
    async with _client(req, FIRST_WITHOUT_IMAGES) as images:
        try:
            await images.delete(req.params["image_id"])
        except ImageClientError as exc:
            raise _error(exc, forbidden="You are not allowed to delete the image.") from None
    return empty_response(204)


async def _get(images: ImageClient, image_id: str) -> ImageInfo:
    try:
        return await images.get(image_id)
    except ImageClientError as exc:
        raise _error(exc, forbidden=f"Not authorized for image {image_id}.") from None


# --- image metadata -----------------------------------------------------------------------

async def list_image_metadata(req: Req) -> Response:
    async with _client(req, FIRST_WITHOUT_METADATA) as images:
        image = await _get(images, req.params["image_id"])
    return json_response({"metadata": dict(image.properties)})


async def show_image_metadata_item(req: Req) -> Response:
    key = req.params["key"]
    async with _client(req, FIRST_WITHOUT_METADATA) as images:
        image = await _get(images, req.params["image_id"])
    if key not in image.properties:
        raise NotFound("The resource could not be found.")
    return json_response({"meta": {key: image.properties[key]}})


async def update_image_metadata(req: Req) -> Response:
    """POST: the keys given are added to (or replace) the image's metadata."""
    given: dict[str, str] = (await body(req, schemas.SET_METADATA))["metadata"]
    image = await _change(req, lambda current: {**current, **given})
    return json_response({"metadata": dict(image.properties)})


async def replace_image_metadata(req: Req) -> Response:
    """PUT: the image's metadata become exactly those given."""
    given: dict[str, str] = (await body(req, schemas.SET_METADATA))["metadata"]
    await _change(req, lambda current: given)
    return json_response({"metadata": given})


async def set_image_metadata_item(req: Req) -> Response:
    key = req.params["key"]
    meta: dict[str, str] = (await body(req, schemas.SET_METADATA_ITEM))["meta"]
    if key not in meta:
        raise BadRequest("Request body and URI mismatch")
    await _change(req, lambda current: {**current, key: meta[key]})
    return json_response({"meta": meta})


async def delete_image_metadata_item(req: Req) -> Response:
    key = req.params["key"]

    def without(current: dict[str, Any]) -> dict[str, Any]:
        if key not in current:
            raise NotFound("Invalid metadata key")
        return {k: v for k, v in current.items() if k != key}

    await _change(req, without, count=False)
    return empty_response(204)


async def _change(req: Req, wanted: Callable[[dict[str, Any]], dict[str, Any]], *,
                  count: bool = True) -> ImageInfo:
    """Make the image's metadata ``wanted(current)``, within the caller's metadata_items
    quota (``count``), through one JSON patch of the image."""
    image_id = req.params["image_id"]
    async with _client(req, FIRST_WITHOUT_METADATA) as images:
        image = await _get(images, image_id)
        current = dict(image.properties)
        new = wanted(current)
        reserved = sorted(set(new) & CORE_FIELDS)
        if reserved:
            raise BadRequest(f"Image metadata cannot set the image's own attribute "
                             f"{reserved[0]!r}.")
        if count and new:
            await _check_quota(req, len(new))
        changes = [{"op": "remove", "path": f"/{_pointer(k)}"} for k in current if k not in new]
        changes += [{"op": "add", "path": f"/{_pointer(k)}", "value": v}
                    for k, v in new.items() if current.get(k) != v]
        # Sent even when it changes nothing: the image service decides who may write.
        try:
            return await images.update(image_id, changes)
        except ImageClientError as exc:
            raise _error(exc, forbidden=f"Not authorized for image {image_id}.") from None


async def _check_quota(req: Req, count: int) -> None:
    async with req.svc.read() as db:
        try:
            await quotas.check_metadata_items(db, req.svc.config.compute.quota,
                                              req.ctx.project_id or "", count)
        except QuotaExceeded:
            raise Forbidden("Image metadata limit exceeded") from None


def _pointer(key: str) -> str:
    """A property name as a JSON pointer token."""
    return key.replace("~", "~0").replace("/", "~1")
