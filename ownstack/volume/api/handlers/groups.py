"""``/groups`` (3.13+) and ``/group_snapshots`` (3.14+): generic volume groups, their
volumes, and snapshots of all of a group's volumes at once.

A group's volumes are ordinary volumes with its ``group_id``, and a group snapshot's
snapshots ordinary snapshots: their hosts' agents make and remove them, and the group or
group snapshot follows (:mod:`ownstack.volume.objects.groups`). Another project's group
is a 404.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from ownstack.common.api.app import empty_response, json_response
from ownstack.common.errors import BadRequest, NotFound
from ownstack.volume.api import common
from ownstack.volume.api.common import Version, body, flag, query_flag, version_of
from ownstack.volume.api.schemas import groups as schemas
from ownstack.volume.api.views import groups as views
from ownstack.volume.errors import InvalidInput
from ownstack.volume.objects import group_types, listing, types
from ownstack.volume.objects import groups as objects
from ownstack.volume.objects.models import Group, GroupSnapshot
from ownstack.volume.state import Req


def _since(req: Req, minimum: Version) -> None:
    if version_of(req) < minimum:
        raise NotFound("The resource could not be found.")


def _target(req: Req, project_id: str | None = None) -> dict[str, Any]:
    return {"project_id": project_id or req.ctx.project_id}


async def _nudge_volumes(req: Req, pairs: list[tuple[str | None, str]]) -> None:
    for host, volume_id in pairs:
        await req.svc.rpc.volume_changed(host, volume_id)


async def _nudge_snapshots(req: Req, pairs: list[tuple[str | None, str]]) -> None:
    for host, snapshot_id in pairs:
        await req.svc.rpc.snapshot_changed(host, snapshot_id)


# --- groups ----------------------------------------------------------------------------------

async def _load(req: Req, rule: str) -> Group:
    _since(req, Version(3, 13))
    async with req.svc.read() as db:
        group = await objects.get(db, req.ctx, req.params["group_id"])
    req.svc.enforce(req.ctx, rule, _target(req, group.project_id))
    return group


async def create_group(req: Req) -> Response:
    _since(req, Version(3, 13))
    req.svc.enforce(req.ctx, "group:create", _target(req))
    data: dict[str, Any] = (await body(req, schemas.CREATE))["group"]
    async with req.svc.write() as db:
        group_type = await group_types.get(db, req.ctx, str(data["group_type"]))
        volume_types = [await types.find_type(db, req.ctx, str(ref))
                        for ref in data["volume_types"]]
        group = await objects.create(db, req.svc.settings, req.ctx, group_type=group_type,
                                     volume_types=volume_types, name=data.get("name"),
                                     description=data.get("description"),
                                     availability_zone=data.get("availability_zone"))
    return json_response({"group": views.group_summary(group)}, status=202)


async def create_group_from_source(req: Req) -> Response:
    _since(req, Version(3, 14))
    req.svc.enforce(req.ctx, "group:create", _target(req))
    data: dict[str, Any] = (await body(req, schemas.CREATE_FROM_SOURCE))["create-from-src"]
    async with req.svc.write() as db:
        group, made = await objects.create_from_source(
            db, req.svc.settings, req.ctx, name=data.get("name"),
            description=data.get("description"),
            group_snapshot_id=data.get("group_snapshot_id"),
            source_group_id=data.get("source_group_id"))
        nudges = [(volume.host, volume.id) for volume in made]
    await _nudge_volumes(req, nudges)
    return json_response({"group": views.group_summary(group)}, status=202)


async def _list(req: Req, *, detail: bool) -> Response:
    _since(req, Version(3, 13))
    req.svc.enforce(req.ctx, "group:get_all", _target(req))
    version = version_of(req)
    items = [(name, value) for name, value in req.query.multi_items()
             if name != "list_volume"]
    query = listing.parse_query(items, objects.GROUPS, version, is_admin=req.ctx.is_admin)
    with_volumes = detail and query_flag(req, "list_volume")
    async with req.svc.read() as db:
        rows, count = await objects.list_page(db, req.ctx, query)
        found = [(row, await objects.members(db, row.id) if with_volumes else None)
                 for row in rows]
    answer = [views.group(version, row, members) if detail else views.group_summary(row)
              for row, members in found]
    return common.list_body("groups", answer, req, rows, query, count)


async def list_groups(req: Req) -> Response:
    return await _list(req, detail=False)


async def list_groups_detail(req: Req) -> Response:
    return await _list(req, detail=True)


async def show_group(req: Req) -> Response:
    group = await _load(req, "group:get")
    members = None
    if query_flag(req, "list_volume"):
        async with req.svc.read() as db:
            members = await objects.members(db, group.id)
    return json_response({"group": views.group(version_of(req), group, members)})


def _ids(value: Any) -> list[str]:
    return [item.strip() for item in str(value or "").split(",") if item.strip()]


async def update_group(req: Req) -> Response:
    group = await _load(req, "group:update")
    data: dict[str, Any] = (await body(req, schemas.UPDATE))["group"]
    if not any(data.get(name) is not None for name in ("name", "description")) and \
            not data.get("add_volumes") and not data.get("remove_volumes"):
        raise InvalidInput("Name, description, add_volumes, and remove_volumes can not be "
                           "all empty in the request body.")
    values: dict[str, Any] = {name: data[name] for name in ("name", "description")
                              if name in data}
    async with req.svc.write() as db:
        await objects.update(db, req.ctx, await objects.get(db, req.ctx, group.id),
                             values=values, add=_ids(data.get("add_volumes")),
                             remove=_ids(data.get("remove_volumes")))
    return empty_response(202)


async def group_action(req: Req) -> Response:
    document = await req.json()
    if not isinstance(document, dict) or len(document) != 1:
        raise BadRequest("Invalid request body: exactly one action is expected.")
    name = next(iter(document))
    if name == "delete":
        group = await _load(req, "group:delete")
        data = schemas.DELETE.validate(document)["delete"]
        delete_volumes = flag("delete-volumes", data.get("delete-volumes", False))
        async with req.svc.write() as db:
            _, nudges = await objects.delete(db, req.svc.settings,
                                             await objects.get(db, req.ctx, group.id),
                                             delete_volumes=delete_volumes)
        await _nudge_volumes(req, nudges)
        return empty_response(202)
    if name == "reset_status":
        _since(req, Version(3, 20))
        group = await _load(req, "group:reset_status")
        status = str(schemas.RESET_STATUS.validate(document)["reset_status"]["status"])
        async with req.svc.write() as db:
            await objects.reset_status(db, await objects.get(db, req.ctx, group.id),
                                       status.lower())
        return empty_response(202)
    raise BadRequest(f"There is no such action: {name}")


# --- group snapshots -------------------------------------------------------------------------

async def _load_snapshot(req: Req, rule: str) -> GroupSnapshot:
    _since(req, Version(3, 14))
    async with req.svc.read() as db:
        row = await objects.get_group_snapshot(db, req.ctx, req.params["group_snapshot_id"])
    req.svc.enforce(req.ctx, rule, _target(req, row.project_id))
    return row


async def create_group_snapshot(req: Req) -> Response:
    _since(req, Version(3, 14))
    req.svc.enforce(req.ctx, "group:create_group_snapshot", _target(req))
    data: dict[str, Any] = (await body(req, schemas.CREATE_SNAPSHOT))["group_snapshot"]
    async with req.svc.write() as db:
        group = await objects.get(db, req.ctx, str(data["group_id"]))
        req.svc.enforce(req.ctx, "group:create_group_snapshot", _target(req, group.project_id))
        row, nudges = await objects.create_group_snapshot(
            db, req.svc.settings, req.ctx, group, name=data.get("name"),
            description=data.get("description"), version=version_of(req))
    await _nudge_snapshots(req, nudges)
    return json_response({"group_snapshot": views.group_snapshot_summary(row)}, status=202)


async def _list_snapshots(req: Req, *, detail: bool) -> Response:
    _since(req, Version(3, 14))
    req.svc.enforce(req.ctx, "group:get_all_group_snapshots", _target(req))
    version = version_of(req)
    query = listing.parse_query(req.query.multi_items(), objects.GROUP_SNAPSHOTS, version,
                                is_admin=req.ctx.is_admin)
    async with req.svc.read() as db:
        rows, count = await objects.list_group_snapshots(db, req.ctx, query)
    answer = [views.group_snapshot(version, row) if detail
              else views.group_snapshot_summary(row) for row in rows]
    return common.list_body("group_snapshots", answer, req, rows, query, count)


async def list_group_snapshots(req: Req) -> Response:
    return await _list_snapshots(req, detail=False)


async def list_group_snapshots_detail(req: Req) -> Response:
    return await _list_snapshots(req, detail=True)


async def show_group_snapshot(req: Req) -> Response:
    row = await _load_snapshot(req, "group:get_group_snapshot")
    return json_response({"group_snapshot": views.group_snapshot(version_of(req), row)})


async def delete_group_snapshot(req: Req) -> Response:
    row = await _load_snapshot(req, "group:delete_group_snapshot")
    async with req.svc.write() as db:
        _, nudges = await objects.delete_group_snapshot(
            db, req.svc.settings, await objects.get_group_snapshot(db, req.ctx, row.id))
    await _nudge_snapshots(req, nudges)
    return empty_response(202)


async def group_snapshot_action(req: Req) -> Response:
    document = await req.json()
    if not isinstance(document, dict) or len(document) != 1:
        raise BadRequest("Invalid request body: exactly one action is expected.")
    name = next(iter(document))
    if name != "reset_status":
        raise BadRequest(f"There is no such action: {name}")
    _since(req, Version(3, 19))
    row = await _load_snapshot(req, "group:reset_group_snapshot_status")
    status = str(schemas.RESET_STATUS.validate(document)["reset_status"]["status"])
    async with req.svc.write() as db:
        await objects.reset_group_snapshot_status(
            db, await objects.get_group_snapshot(db, req.ctx, row.id), status.lower())
    return empty_response(202)
