"""``/v2.0/subnetpools`` and ``/v2.0/subnetpools/{subnetpool_id}``."""

from __future__ import annotations

import uuid
from typing import Any

from starlette.responses import Response

from ownstack.common.api.app import empty_response
from ownstack.network.api import common
from ownstack.network.api.schemas import subnetpools as schema
from ownstack.network.api.views import subnets as views
from ownstack.network.errors import ResourceNotFound
from ownstack.network.objects import subnetpools
from ownstack.network.objects.listing import list_page
from ownstack.network.objects.models import SubnetPool
from ownstack.network.objects.standard import tags_of
from ownstack.network.state import Req

_FLAGS = ("shared", "is_default")


def _target(row: SubnetPool) -> dict[str, Any]:
    return {"project_id": row.project_id, "shared": row.shared}


async def _bodies(db: Any, rows: list[SubnetPool]) -> list[dict[str, Any]]:
    tags = await tags_of(db, [row.id for row in rows])
    return [views.subnetpool(row, tags=tags.get(row.id, [])) for row in rows]


async def list_subnetpools(req: Req) -> Response:
    query = common.list_query(req, subnetpools.SUBNETPOOLS)
    async with req.svc.read() as db:
        page = await list_page(db, subnetpools.SUBNETPOOLS, query,
                               subnetpools.visible(req.ctx))
        items = await _bodies(db, page.rows)
    return common.list_response(req, subnetpools.SUBNETPOOLS, query, page, items)


async def show_subnetpool(req: Req) -> Response:
    async with req.svc.read() as db:
        row = await subnetpools.get_subnetpool(db, req.ctx, req.params["subnetpool_id"])
        if not req.svc.allowed(req.ctx, "get_subnetpool", _target(row)):
            raise ResourceNotFound("subnet_pool", row.id)
        (item,) = await _bodies(db, [row])
    return common.one("subnetpool", item, common.show_fields(req))


async def create_subnetpool(req: Req) -> Response:
    data = common.booleans(await common.body(req, schema.CREATE, "subnetpool"), *_FLAGS)
    project_id = common.owner(req, data)
    common.enforce_attributes(req, "create", "subnetpool", data, {"project_id": project_id},
                              _FLAGS)
    async with req.svc.write() as db:
        row = await subnetpools.create_subnetpool(db, req.svc.settings, project_id, data,
                                                  str(uuid.uuid4()))
        (item,) = await _bodies(db, [row])
    return common.one("subnetpool", item, status=201)


async def update_subnetpool(req: Req) -> Response:
    data = common.booleans(await common.body(req, schema.UPDATE, "subnetpool"), *_FLAGS)
    async with req.svc.write() as db:
        row = await subnetpools.get_subnetpool(db, req.ctx, req.params["subnetpool_id"])
        common.enforce_attributes(req, "update", "subnetpool", data, _target(row),
                                  ("is_default",))
        row = await subnetpools.update_subnetpool(db, row, data, common.revision(req))
        (item,) = await _bodies(db, [row])
    return common.one("subnetpool", item)


async def delete_subnetpool(req: Req) -> Response:
    async with req.svc.write() as db:
        row = await subnetpools.get_subnetpool(db, req.ctx, req.params["subnetpool_id"])
        req.svc.enforce(req.ctx, "delete_subnetpool", _target(row))
        await subnetpools.delete_subnetpool(db, row, common.revision(req))
    return empty_response(204)
