"""``/group_types`` (3.11+): generic volume group types and their group specs.

Anyone lists and shows the public ones; the admin makes, changes and deletes them, sees
the private ones, and reads and writes their specs.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from ownstack.common.api.app import empty_response, json_response
from ownstack.common.api.pagination import parse_sort
from ownstack.common.errors import BadRequest, NotFound
from ownstack.volume.api.common import Version, body, flag, version_of
from ownstack.volume.api.schemas import groups as schemas
from ownstack.volume.api.views import groups as views
from ownstack.volume.objects import group_types as objects
from ownstack.volume.objects.models import GroupType
from ownstack.volume.state import Req

_SORT_KEYS = ("id", "name", "description", "is_public", "created_at")


def since_311(req: Req) -> None:
    """Group types exist from 3.11: below, the URL is unknown (Cinder's 404)."""
    if version_of(req) < Version(3, 11):
        raise NotFound("The resource could not be found.")


async def _view(req: Req, row: GroupType, status: int = 200) -> Response:
    specs = None
    if req.svc.allowed(req.ctx, "group:access_group_types_specs"):
        async with req.svc.read() as db:
            specs = await objects.specs(db, row.id)
    return json_response({"group_type": views.group_type(row, specs)}, status=status)


async def _load(req: Req, rule: str | None = None) -> GroupType:
    since_311(req)
    if rule:
        req.svc.enforce(req.ctx, rule)
    async with req.svc.read() as db:
        return await objects.get(db, req.ctx, req.params["group_type_id"])


async def list_group_types(req: Req) -> Response:
    since_311(req)
    is_public = None
    if "is_public" in req.query and req.query["is_public"].lower() not in ("none", ""):
        is_public = flag("is_public", req.query["is_public"])
    sort = parse_sort(req.query, allowed=_SORT_KEYS, default=[("id", "asc")])
    async with req.svc.read() as db:
        rows = await objects.list_all(db, req.ctx, is_public=is_public)
        specs = await objects.specs_of(db, [row.id for row in rows])
    # Group types are few: sorted in memory, least significant key first.
    for key, direction in reversed(sort):
        rows.sort(key=lambda row, key=key: str(getattr(row, key) or ""),  # type: ignore[misc]
                  reverse=direction == "desc")
    see_specs = req.svc.allowed(req.ctx, "group:access_group_types_specs")
    return json_response({"group_types": [
        views.group_type(row, specs[row.id] if see_specs else None) for row in rows]})


async def show_group_type(req: Req) -> Response:
    return await _view(req, await _load(req))


async def show_default_group_type(req: Req) -> Response:
    since_311(req)
    async with req.svc.read() as db:
        row = await objects.default(db)
    return await _view(req, row)


async def create_group_type(req: Req) -> Response:
    since_311(req)
    req.svc.enforce(req.ctx, "group:group_types:create")
    data: dict[str, Any] = (await body(req, schemas.CREATE_TYPE))["group_type"]
    public = flag("is_public", data["is_public"]) if "is_public" in data else True
    async with req.svc.write() as db:
        row = await objects.create(db, name=str(data["name"]).strip(),
                                   description=data.get("description"), is_public=public,
                                   group_specs=data.get("group_specs") or {})
    return await _view(req, row, status=202)


async def update_group_type(req: Req) -> Response:
    row = await _load(req, "group:group_types:update")
    data: dict[str, Any] = (await body(req, schemas.UPDATE_TYPE))["group_type"]
    if data.get("name") is None and "description" not in data and "is_public" not in data:
        raise BadRequest("Specify group type name, description or a combination thereof.")
    public = flag("is_public", data["is_public"]) if "is_public" in data else None
    async with req.svc.write() as db:
        current = await objects.get(db, req.ctx, row.id)
        await objects.update(db, current, name=data.get("name"),
                             description=data.get("description"),
                             description_set="description" in data, is_public=public)
    return await _view(req, current)


async def delete_group_type(req: Req) -> Response:
    row = await _load(req, "group:group_types:delete")
    async with req.svc.write() as db:
        await objects.delete(db, await objects.get(db, req.ctx, row.id))
    return empty_response(202)


# --- group specs -----------------------------------------------------------------------------

async def list_group_specs(req: Req) -> Response:
    row = await _load(req, "group:group_types_specs:get_all")
    async with req.svc.read() as db:
        return json_response({"group_specs": await objects.specs(db, row.id)})


async def create_group_specs(req: Req) -> Response:
    row = await _load(req, "group:group_types_specs:create")
    values: dict[str, str] = (await body(req, schemas.SPECS_BODY))["group_specs"]
    async with req.svc.write() as db:
        await objects.set_specs(db, await objects.get(db, req.ctx, row.id), values)
    return json_response({"group_specs": values}, status=202)


async def show_group_spec(req: Req) -> Response:
    row = await _load(req, "group:group_types_specs:get")
    key = req.params["key"]
    async with req.svc.read() as db:
        return json_response({key: await objects.spec(db, row, key)})


async def update_group_spec(req: Req) -> Response:
    row = await _load(req, "group:group_types_specs:update")
    key = req.params["key"]
    values: dict[str, str] = await body(req, schemas.SPEC_ITEM)
    if key not in values:
        raise BadRequest("Request body and URI mismatch")
    async with req.svc.write() as db:
        await objects.set_specs(db, await objects.get(db, req.ctx, row.id), values)
    return json_response(values)


async def delete_group_spec(req: Req) -> Response:
    row = await _load(req, "group:group_types_specs:delete")
    async with req.svc.write() as db:
        await objects.delete_spec(db, await objects.get(db, req.ctx, row.id),
                                  req.params["key"])
    return empty_response(202)
