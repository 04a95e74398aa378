"""``/v2.0/{collection}/{id}/tags[/{tag}]``: the tag extension, for every tagged kind.

Each tagged kind registers how to find one of its resources as the caller may see it
(:data:`FINDERS`); the rules are Neutron's ``get_``/``update_``/``delete_<kind>_tags``.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from ownstack.common.api.app import empty_response, json_response
from ownstack.common.api.schema import Validator
from ownstack.network.errors import TagNotFound
from ownstack.network.objects import (
    networks,
    ports,
    security_groups,
    standard,
    subnetpools,
    subnets,
)
from ownstack.network.objects.models import StandardAttributes
from ownstack.network.state import Req

# collection (as in the body and the policy rules, with underscores) -> how to find one
# resource of it as the caller sees it.
FINDERS: dict[str, standard.Finder] = {
    "networks": networks.get_network,
    "security_groups": security_groups.get_group,
    "subnets": subnets.get_subnet,
    "subnetpools": subnetpools.get_subnetpool,
    "ports": ports.get_port,
}
# The URL of a collection whose name has an underscore has a hyphen instead.
PATHS: dict[str, str] = {collection: collection.replace("_", "-") for collection in FINDERS}

_TAGS = Validator({
    "type": "object",
    "properties": {"tags": {"type": "array", "maxItems": standard.MAX_TAGS,
                            "items": {"type": "string", "minLength": 1,
                                      "maxLength": standard.MAX_TAG_LENGTH}}},
    "required": ["tags"],
    "additionalProperties": False,
})


def _target(row: StandardAttributes) -> dict[str, Any]:
    return {"project_id": row.project_id}


async def _find(req: Req, db: Any) -> tuple[str, StandardAttributes]:
    # /v2.0/<collection>/<id>/tags, the collection spelt with hyphens in the URL
    collection = req.request.url.path.split("/")[2].replace("-", "_")
    return collection, await FINDERS[collection](db, req.ctx, req.params["resource_id"])


async def list_tags(req: Req) -> Response:
    async with req.svc.read() as db:
        _, row = await _find(req, db)
        tags = await standard.tags_of(db, [row.id])
    return json_response({"tags": tags.get(row.id, [])})


async def show_tag(req: Req) -> Response:
    async with req.svc.read() as db:
        _, row = await _find(req, db)
        tags = await standard.tags_of(db, [row.id])
    if req.params["tag"] not in tags.get(row.id, []):
        raise TagNotFound(row.id, req.params["tag"])
    return empty_response(204)


async def replace_tags(req: Req) -> Response:
    data = await req.json(_TAGS)
    async with req.svc.write() as db:
        collection, row = await _find(req, db)
        req.svc.enforce(req.ctx, f"update_{collection}_tags", _target(row))
        tags = await standard.set_tags(db, row, collection, data["tags"])
    return json_response({"tags": tags})


async def add_tag(req: Req) -> Response:
    async with req.svc.write() as db:
        collection, row = await _find(req, db)
        req.svc.enforce(req.ctx, f"create_{collection}_tags", _target(row))
        await standard.add_tag(db, row, collection, req.params["tag"])
    return empty_response(201)


async def delete_tags(req: Req) -> Response:
    async with req.svc.write() as db:
        collection, row = await _find(req, db)
        req.svc.enforce(req.ctx, f"delete_{collection}_tags", _target(row))
        await standard.set_tags(db, row, collection, [])
    return empty_response(204)


async def delete_tag(req: Req) -> Response:
    async with req.svc.write() as db:
        collection, row = await _find(req, db)
        req.svc.enforce(req.ctx, f"delete_{collection}_tags", _target(row))
        if not await standard.remove_tag(db, row, req.params["tag"]):
            raise TagNotFound(row.id, req.params["tag"])
    return empty_response(204)
