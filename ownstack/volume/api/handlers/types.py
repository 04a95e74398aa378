"""``/types``: volume types, their extra specs and project access, and
``/default-types`` (3.62): each project's own default type.

Anyone lists and shows the public types and the private ones their project may use; the
admin makes, changes and deletes them. A private type another project may not use is a
404 to it.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from ownstack.common.api.app import empty_response, json_response
from ownstack.common.errors import BadRequest
from ownstack.volume.api.common import Version, body, version_of
from ownstack.volume.api.schemas import types as schemas
from ownstack.volume.api.views import types as views
from ownstack.volume.errors import ExtraSpecNotFound, VolumeTypeNotFound
from ownstack.volume.objects import listing
from ownstack.volume.objects import types as objects
from ownstack.volume.objects.models import VolumeType
from ownstack.volume.state import Req

_TYPE_FILTERS = frozenset({"is_public", "extra_specs"})
_PAGING = frozenset({"limit", "marker", "offset", "sort", "sort_key", "sort_dir"})


async def _view(req: Req, row: VolumeType, status: int = 200, answer_to: str = "show"
                ) -> Response:
    async with req.svc.read() as db:
        specs = await objects.extra_specs(db, row.id)
    return json_response({"volume_type": views.volume_type(req, row, specs,
                                                           answer_to=answer_to)},
                         status=status)


async def _load(req: Req, rule: str) -> VolumeType:
    req.svc.enforce(req.ctx, rule)
    async with req.svc.read() as db:
        return await objects.get_type(db, req.ctx, req.params["type_id"])


async def list_types(req: Req) -> Response:
    req.svc.enforce(req.ctx, "volume_extension:type_get_all")
    unknown = sorted({name for name in req.query if name not in _TYPE_FILTERS | _PAGING
                      and name != "all_tenants"})
    if unknown:
        raise BadRequest(f"Invalid filters {','.join(unknown)} are found in query options.")
    specs_filter = None
    if "extra_specs" in req.query:
        if version_of(req) < Version(3, 52):
            raise BadRequest("Invalid filters extra_specs are found in query options.")
        specs_filter = listing.parse_metadata_filter(req.query["extra_specs"])
    async with req.svc.read() as db:
        rows = await objects.list_types(db, req.ctx, is_public=req.query.get("is_public"),
                                        extra_specs=specs_filter)
        specs = await objects.specs_of(db, [row.id for row in rows])
    rows = _paged(req, rows)
    return json_response({"volume_types": [views.volume_type(req, row, specs[row.id])
                                           for row in rows]})


def _paged(req: Req, rows: list[VolumeType]) -> list[VolumeType]:
    """Types are few: paged in memory, by name (Cinder's default order is its own)."""
    limit = listing.parse_limit_value(req.query.get("limit"))
    marker = req.query.get("marker")
    if marker is not None:
        ids = [row.id for row in rows]
        if marker not in ids:
            raise VolumeTypeNotFound(marker)
        rows = rows[ids.index(marker) + 1:]
    offset = req.query.get("offset")
    if offset is not None:
        rows = rows[listing.as_int("offset", offset):]
    return rows[:limit]


async def show_type(req: Req) -> Response:
    return await _view(req, await _load(req, "volume_extension:type_get"))


async def show_default_type(req: Req) -> Response:
    req.svc.enforce(req.ctx, "volume_extension:type_get")
    async with req.svc.read() as db:
        row = await objects.default_type(db, req.svc.settings, str(req.ctx.project_id))
    return await _view(req, row)


async def create_type(req: Req) -> Response:
    req.svc.enforce(req.ctx, "volume_extension:type_create")
    data: dict[str, Any] = (await body(req, schemas.CREATE))["volume_type"]
    public = objects.as_public_flag(data.get("os-volume-type-access:is_public", True))
    async with req.svc.write() as db:
        row = await objects.create_type(db, name=str(data["name"]).strip(),
                                        description=data.get("description"),
                                        is_public=public,
                                        extra_specs=data.get("extra_specs") or {})
    return await _view(req, row, answer_to="create")


async def update_type(req: Req) -> Response:
    row = await _load(req, "volume_extension:type_update")
    data: dict[str, Any] = (await body(req, schemas.UPDATE))["volume_type"]
    if data.get("name") is None and "description" not in data and "is_public" not in data:
        raise BadRequest("Invalid input received: specify volume type name, description, "
                         "is_public or a combination thereof.")
    public = objects.as_public_flag(data["is_public"]) if "is_public" in data else None
    async with req.svc.write() as db:
        current = await objects.get_type(db, req.ctx, row.id)
        await objects.update_type(db, current, name=data.get("name"),
                                  description=data.get("description"), is_public=public,
                                  description_set="description" in data)
    return await _view(req, current, answer_to="update")


async def delete_type(req: Req) -> Response:
    row = await _load(req, "volume_extension:type_delete")
    async with req.svc.write() as db:
        await objects.delete_type(db, req.svc.settings,
                                  await objects.get_type(db, req.ctx, row.id))
    return empty_response(202)


# --- extra specs -----------------------------------------------------------------------------

async def list_extra_specs(req: Req) -> Response:
    row = await _load(req, "volume_extension:types_extra_specs:index")
    async with req.svc.read() as db:
        specs = await objects.extra_specs(db, row.id)
    if not req.svc.allowed(req.ctx, "volume_extension:access_types_extra_specs"):
        specs = {k: v for k, v in specs.items() if k in views.USER_VISIBLE_SPECS}
    return json_response({"extra_specs": specs})


async def create_extra_specs(req: Req) -> Response:
    row = await _load(req, "volume_extension:types_extra_specs:create")
    specs: dict[str, str] = (await body(req, schemas.EXTRA_SPECS_BODY))["extra_specs"]
    async with req.svc.write() as db:
        await objects.set_extra_specs(db, await objects.get_type(db, req.ctx, row.id), specs)
    return json_response({"extra_specs": specs})


async def show_extra_spec(req: Req) -> Response:
    row = await _load(req, "volume_extension:types_extra_specs:show")
    key = req.params["key"]
    async with req.svc.read() as db:
        specs = await objects.extra_specs(db, row.id)
    visible = req.svc.allowed(req.ctx, "volume_extension:access_types_extra_specs") or \
        key in views.USER_VISIBLE_SPECS
    if key not in specs or not visible:
        raise ExtraSpecNotFound(row.id, key)
    return json_response({key: specs[key]})


async def update_extra_spec(req: Req) -> Response:
    row = await _load(req, "volume_extension:types_extra_specs:update")
    item: dict[str, str] = await body(req, schemas.EXTRA_SPEC_ITEM)
    if req.params["key"] not in item:
        raise BadRequest("Request body and URI mismatch")
    async with req.svc.write() as db:
        await objects.set_extra_specs(db, await objects.get_type(db, req.ctx, row.id), item)
    return json_response(item)


async def delete_extra_spec(req: Req) -> Response:
    row = await _load(req, "volume_extension:types_extra_specs:delete")
    async with req.svc.write() as db:
        await objects.delete_extra_spec(db, await objects.get_type(db, req.ctx, row.id),
                                        req.params["key"])
    return empty_response(202)


# --- access ----------------------------------------------------------------------------------

async def list_type_access(req: Req) -> Response:
    row = await _load(req, "volume_extension:volume_type_access")
    async with req.svc.read() as db:
        projects = await objects.access_list(db, row)
    return json_response({"volume_type_access": [
        {"volume_type_id": row.id, "project_id": project} for project in projects]})


async def type_action(req: Req) -> Response:
    data = await req.json()
    if not isinstance(data, dict) or len(data) != 1 or \
            next(iter(data)) not in schemas.ACCESS_ACTIONS:
        name = next(iter(data)) if isinstance(data, dict) and data else "(none)"
        raise BadRequest(f"There is no such action: {name}")
    name = next(iter(data))
    schemas.ACCESS_ACTIONS[name].validate(data)
    row = await _load(req, f"volume_extension:volume_type_access:{name}")
    project = str(data[name]["project"])
    async with req.svc.write() as db:
        current = await objects.get_type(db, req.ctx, row.id)
        if name == "addProjectAccess":
            await objects.add_access(db, current, project)
        else:
            await objects.remove_access(db, current, project)
    return empty_response(202)


# --- default types (3.62) -------------------------------------------------------------------

def _since_362(req: Req) -> None:
    if version_of(req) < Version(3, 62):
        raise VolumeTypeNotFound("default-types")


async def list_default_types(req: Req) -> Response:
    _since_362(req)
    req.svc.enforce(req.ctx, "volume_extension:default_get_all")
    async with req.svc.read() as db:
        rows = await objects.list_defaults(db)
    return json_response({"default_types": [views.default_type(row) for row in rows]})


async def show_default_type_of(req: Req) -> Response:
    _since_362(req)
    project_id = req.params["target_project_id"]
    req.svc.enforce(req.ctx, "volume_extension:default_get", {"project_id": project_id})
    async with req.svc.read() as db:
        row = await objects.get_default(db, project_id)
    if row is None:
        raise VolumeTypeNotFound(f"default of project {project_id}")
    return json_response({"default_type": views.default_type(row)})


async def set_default_type(req: Req) -> Response:
    _since_362(req)
    project_id = req.params["target_project_id"]
    req.svc.enforce(req.ctx, "volume_extension:default_set_or_update",
                    {"project_id": project_id})
    ref = str((await body(req, schemas.DEFAULT_TYPE))["default_type"]["volume_type"])
    async with req.svc.write() as db:
        row = await objects.find_type(db, req.ctx, ref)
        found = await objects.set_default(db, project_id, row)
    return json_response({"default_type": views.default_type(found)})


async def unset_default_type(req: Req) -> Response:
    _since_362(req)
    project_id = req.params["target_project_id"]
    req.svc.enforce(req.ctx, "volume_extension:default_unset", {"project_id": project_id})
    async with req.svc.write() as db:
        if not await objects.unset_default(db, project_id):
            raise VolumeTypeNotFound(f"default of project {project_id}")
    return empty_response(204)
