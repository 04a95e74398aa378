"""``/servers/{id}/tags`` (2.26+): a server's simple string tags.

As Nova's versioned routes, every method is a 404 below 2.26. Tags can be changed only
while the server is ``active`` or ``stopped`` (409 otherwise), whatever its lock; a server
holds at most 50, each 1 to 60 characters without ``/`` or ``,``.
"""

from __future__ import annotations

from starlette.responses import Response

from ownstack.common.api.app import empty_response, json_response
from ownstack.common.errors import BadRequest, NotFound, ValidationFailed
from ownstack.compute.api.common import at_least, body, version_of
from ownstack.compute.api.schemas.server_tags import REPLACE_TAGS, TAG_IN_URL
from ownstack.compute.api.server_common import load_server
from ownstack.compute.errors import ServerTagNotFound
from ownstack.compute.objects import server_metadata
from ownstack.compute.state import Req

_RULE = "os_compute_api:os-server-tags:"


async def list_tags(req: Req) -> Response:
    _require_tags_version(req)
    async with req.svc.read() as db:
        instance = await load_server(req, db, _RULE + "index")
        return json_response({"tags": await server_metadata.tags_of(db, instance.uuid)})


async def check_tag(req: Req) -> Response:
    _require_tags_version(req)
    tag = req.params["tag"]
    async with req.svc.read() as db:
        instance = await load_server(req, db, _RULE + "show")
        if not await server_metadata.has_tag(db, instance.uuid, tag):
            raise ServerTagNotFound(instance.uuid, tag)
    return empty_response(204)


async def replace_tags(req: Req) -> Response:
    _require_tags_version(req)
    tags: list[str] = (await body(req, REPLACE_TAGS))["tags"]
    async with req.svc.write() as db:
        instance = await load_server(req, db, _RULE + "update_all")
        stored = await server_metadata.replace_tags(db, instance, tags)
    return json_response({"tags": stored})


async def add_tag(req: Req) -> Response:
    """201 with a Location for a new tag, 204 for one the server already has."""
    _require_tags_version(req)
    tag = req.params["tag"]
    async with req.svc.write() as db:
        instance = await load_server(req, db, _RULE + "update")
        _check_tag(tag)
        created = await server_metadata.add_tag(db, instance, tag)
    if not created:
        return empty_response(204)
    location = f"{req.base_url()}/v2.1/servers/{instance.uuid}/tags/{tag}"
    return empty_response(201, {"Location": location})


async def delete_tag(req: Req) -> Response:
    _require_tags_version(req)
    async with req.svc.write() as db:
        instance = await load_server(req, db, _RULE + "delete")
        await server_metadata.delete_tag(db, instance, req.params["tag"])
    return empty_response(204)


async def delete_all_tags(req: Req) -> Response:
    _require_tags_version(req)
    async with req.svc.write() as db:
        instance = await load_server(req, db, _RULE + "delete_all")
        await server_metadata.delete_all_tags(db, instance)
    return empty_response(204)


def _require_tags_version(req: Req) -> None:
    if not at_least(version_of(req), "2.26"):
        raise NotFound()


def _check_tag(tag: str) -> None:
    """A tag in the URL, held to the rules of one in a body, with Nova's message."""
    try:
        TAG_IN_URL.validate(tag)
    except ValidationFailed as exc:
        raise BadRequest(f"Tag '{tag}' is invalid. It must be a non empty string without "
                         f"characters '/' and ','. Validation error message: {exc.message}"
                         ) from None
