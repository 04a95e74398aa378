"""``/servers/{id}/metadata``: a server's key/value metadata, whole or one item at a time.

As in Nova, writes answer 200 (not 201), a locked server refuses non-admins (409), only
``active`` and ``stopped`` servers with no task running take changes (409 otherwise), and
the total count is held to the project's ``metadata_items`` quota (403).
"""

from __future__ import annotations

from starlette.responses import Response

from ownstack.common.api.app import empty_response, json_response
from ownstack.common.errors import BadRequest
from ownstack.compute.api.common import body
from ownstack.compute.api.schemas.server_metadata import SET_METADATA, SET_METADATA_ITEM
from ownstack.compute.api.server_common import caller_is_admin, load_server
from ownstack.compute.errors import MetadataItemNotFound
from ownstack.compute.objects import server_metadata
from ownstack.compute.state import Req

_RULE = "os_compute_api:server-metadata:"


async def list_metadata(req: Req) -> Response:
    async with req.svc.read() as db:
        instance = await load_server(req, db, _RULE + "index")
        return json_response({"metadata": await server_metadata.get_metadata(db, instance)})


async def show_metadata_item(req: Req) -> Response:
    key = req.params["key"]
    async with req.svc.read() as db:
        instance = await load_server(req, db, _RULE + "show")
        metadata = await server_metadata.get_metadata(db, instance)
    if key not in metadata:
        raise MetadataItemNotFound()
    return json_response({"meta": {key: metadata[key]}})


async def replace_metadata(req: Req) -> Response:
    """PUT: the body becomes all of the server's metadata."""
    return await _set(req, (await body(req, SET_METADATA))["metadata"], "update_all",
                      replace=True)


async def update_metadata(req: Req) -> Response:
    """POST: the body's items are added or changed; the others stay."""
    return await _set(req, (await body(req, SET_METADATA))["metadata"], "create",
                      replace=False)


async def set_metadata_item(req: Req) -> Response:
    item: dict[str, str] = (await body(req, SET_METADATA_ITEM))["meta"]
    if req.params["key"] not in item:
        raise BadRequest("Request body and URI mismatch")
    await _set(req, item, "update", replace=False)
    return json_response({"meta": item})


async def delete_metadata_item(req: Req) -> Response:
    async with req.svc.write() as db:
        instance = await load_server(req, db, _RULE + "delete")
        await server_metadata.delete_metadata_item(db, instance, req.params["key"],
                                                   is_admin=caller_is_admin(req))
    return empty_response(204)


async def _set(req: Req, items: dict[str, str], rule: str, *, replace: bool) -> Response:
    async with req.svc.write() as db:
        instance = await load_server(req, db, _RULE + rule)
        metadata = await server_metadata.set_metadata(
            db, req.svc.config.compute.quota, instance, items, replace=replace,
            is_admin=caller_is_admin(req))
    return json_response({"metadata": metadata})
