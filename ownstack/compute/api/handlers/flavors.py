"""``/flavors``: list, show, create, update and delete (os-flavor-manage)."""

from __future__ import annotations

import uuid
from typing import Any

from starlette.responses import Response

from ownstack.common.api.app import empty_response, json_response
from ownstack.common.api.pagination import parse_sort
from ownstack.common.booleans import bool_from_string, parse_bool
from ownstack.common.errors import BadRequest, NotFound
from ownstack.compute.api.common import (
    at_least,
    body,
    collection_links,
    int_filter,
    limit_of,
    reject_unknown_query,
    version_of,
)
from ownstack.compute.api.schemas import flavors as schemas
from ownstack.compute.api.views import flavors as views
from ownstack.compute.objects import Session, flavors
from ownstack.compute.objects.models import Flavor
from ownstack.compute.state import Req

_EXTRA_SPECS_INDEX = "os_compute_api:os-flavor-extra-specs:index"


async def list_flavors(req: Req) -> Response:
    return await _list(req, detail=False)


async def list_flavors_detail(req: Req) -> Response:
    return await _list(req, detail=True)


async def _list(req: Req, *, detail: bool) -> Response:
    version = version_of(req)
    reject_unknown_query(req, schemas.LIST_QUERY)
    filters = flavors.FlavorFilters(
        is_public=_is_public(req) if req.ctx.is_admin else True,
        min_memory_mb=int_filter(req, "minRam"), min_root_gb=int_filter(req, "minDisk"))
    sort = parse_sort(req.query, allowed=flavors.SORT_KEYS, default=[("flavorid", "asc")],
                      default_dir="asc")
    limit = limit_of(req)
    async with req.svc.read() as db:
        found = await flavors.list_flavors(db, req.ctx, filters, limit=limit,
                                           marker=req.query.get("marker"), sort=sort)
        specs = await _extra_specs(req, db, found) if detail else {}
    if detail:
        items = [views.flavor(req, version, f, specs.get(f.id)) for f in found]
    else:
        items = [views.flavor_summary(req, version, f) for f in found]
    result: dict[str, Any] = {"flavors": items}
    next_links = collection_links(req, len(found), limit if "limit" in req.query else None,
                                  found[-1].flavorid if found else None)
    if next_links:
        result["flavors_links"] = next_links
    return json_response(result)


def _is_public(req: Req) -> bool | None:
    """Nova's ``_parse_is_public``: absent is public only, "none" is everything."""
    value = req.query.get("is_public")
    if value is None:
        return True
    if value.lower() == "none":
        return None
    parsed = parse_bool(value)
    if parsed is None:
        raise BadRequest(f"Invalid is_public filter [{value}]")
    return parsed


async def _extra_specs(req: Req, db: Session, found: list[Flavor]) -> dict[int, dict[str, str]]:
    if not at_least(version_of(req), "2.61") or not req.svc.allowed(req.ctx, _EXTRA_SPECS_INDEX):
        return {}
    return await flavors.extra_specs_of(db, [f.id for f in found])


async def show_flavor(req: Req) -> Response:
    async with req.svc.read() as db:
        flavor = await flavors.get_flavor(db, req.ctx, req.params["flavor_id"])
        specs = await _extra_specs(req, db, [flavor])
    return json_response({"flavor": views.flavor(req, version_of(req), flavor,
                                                 specs.get(flavor.id))})


async def create_flavor(req: Req) -> Response:
    req.svc.enforce(req.ctx, "os_compute_api:os-flavor-manage:create")
    version = version_of(req)
    data = (await body(req, schemas.CREATE(version)))["flavor"]
    flavorid = data.get("id")
    values = {
        "flavorid": str(uuid.uuid4()) if flavorid is None else str(flavorid),
        "name": data["name"], "memory_mb": int(data["ram"]), "vcpus": int(data["vcpus"]),
        "root_gb": int(data["disk"]),
        "ephemeral_gb": int(data.get("OS-FLV-EXT-DATA:ephemeral", 0)),
        "swap": int(data.get("swap") or 0),
        "rxtx_factor": float(data.get("rxtx_factor", 1.0)),
        "is_public": bool_from_string(data.get("os-flavor-access:is_public", True)),
        "description": data.get("description"),
    }
    async with req.svc.write() as db:
        flavor = await flavors.create_flavor(db, values)
    specs: dict[str, str] = {}
    visible = req.svc.allowed(req.ctx, _EXTRA_SPECS_INDEX)
    return json_response({"flavor": views.flavor(req, version, flavor,
                                                 specs if visible else None)})


async def update_flavor(req: Req) -> Response:
    version = version_of(req)
    if not at_least(version, "2.55"):
        raise NotFound("The resource could not be found.")
    req.svc.enforce(req.ctx, "os_compute_api:os-flavor-manage:update")
    data = (await body(req, schemas.UPDATE))["flavor"]
    async with req.svc.write() as db:
        flavor = await flavors.update_description(db, req.ctx, req.params["flavor_id"],
                                                  data["description"])
        specs = await _extra_specs(req, db, [flavor])
    return json_response({"flavor": views.flavor(req, version, flavor, specs.get(flavor.id))})


async def delete_flavor(req: Req) -> Response:
    req.svc.enforce(req.ctx, "os_compute_api:os-flavor-manage:delete")
    async with req.svc.write() as db:
        await flavors.delete_flavor(db, req.ctx, req.params["flavor_id"])
    return empty_response(202)
