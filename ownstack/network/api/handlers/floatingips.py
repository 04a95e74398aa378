"""``/v2.0/floatingips``, ``/v2.0/floatingips/{floatingip_id}`` and
``/v2.0/floatingip_pools``."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from ownstack.common.api.app import empty_response, json_response
from ownstack.network.api import common
from ownstack.network.api.handlers.routers import write
from ownstack.network.api.schemas import floatingips as schema
from ownstack.network.api.views import floatingips as views
from ownstack.network.errors import NetworkNotFound
from ownstack.network.objects import floatingips
from ownstack.network.objects.listing import list_page
from ownstack.network.objects.models import FloatingIP
from ownstack.network.objects.standard import tags_of
from ownstack.network.state import Req


def _target(row: FloatingIP) -> dict[str, Any]:
    return {"project_id": row.project_id}


async def _bodies(db: Any, rows: list[FloatingIP]) -> list[dict[str, Any]]:
    details = await floatingips.port_details(db, rows)
    tags = await tags_of(db, [row.id for row in rows])
    return [views.floating_ip(row, port=details.get(row.fixed_port_id or ""),
                              tags=tags.get(row.id, [])) for row in rows]


async def _visible(req: Req, db: Any) -> FloatingIP:
    row = await floatingips.get_floating_ip(db, req.ctx, req.params["floatingip_id"])
    if not req.svc.allowed(req.ctx, "get_floatingip", _target(row)):
        raise NetworkNotFound("FloatingIPNotFound", f"Floating IP {row.id} could not be found")
    return row


async def list_floating_ips(req: Req) -> Response:
    query = common.list_query(req, floatingips.FLOATINGIPS)
    async with req.svc.read() as db:
        page = await list_page(db, floatingips.FLOATINGIPS, query,
                               floatingips.visible(req.ctx))
        items = await _bodies(db, page.rows)
    return common.list_response(req, floatingips.FLOATINGIPS, query, page, items)


async def show_floating_ip(req: Req) -> Response:
    async with req.svc.read() as db:
        row = await _visible(req, db)
        (item,) = await _bodies(db, [row])
    return common.one("floatingip", item, common.show_fields(req))


async def create_floating_ip(req: Req) -> Response:
    data = await common.body(req, schema.CREATE, "floatingip")
    project_id = common.owner(req, data)
    common.enforce_attributes(req, "create", "floatingip", data, {"project_id": project_id},
                              ("floating_ip_address",))

    async def work(db: Any) -> dict[str, Any]:
        row = await floatingips.create_floating_ip(db, req.svc.settings, req.ctx, project_id,
                                                   data)
        (item,) = await _bodies(db, [row])
        return item
    answer = await write(req, work)
    await req.svc.router_changed(answer.get("router_id"))
    return common.one("floatingip", answer, status=201)


async def update_floating_ip(req: Req) -> Response:
    data = await common.body(req, schema.UPDATE, "floatingip")

    async def work(db: Any) -> dict[str, Any]:
        row = await _visible(req, db)
        req.svc.enforce(req.ctx, "update_floatingip", _target(row))
        routers_before.append(row.router_id)
        row = await floatingips.update_floating_ip(db, req.ctx, row, data,
                                                   common.revision(req))
        (item,) = await _bodies(db, [row])
        return item
    routers_before: list[str | None] = []
    answer = await write(req, work)
    for router_id in {*routers_before, answer.get("router_id")}:
        await req.svc.router_changed(router_id)
    return common.one("floatingip", answer)


async def delete_floating_ip(req: Req) -> Response:
    async with req.svc.write() as db:
        row = await _visible(req, db)
        req.svc.enforce(req.ctx, "delete_floatingip", _target(row))
        router_id = row.router_id
        await floatingips.delete_floating_ip(db, row, common.revision(req))
    await req.svc.router_changed(router_id)
    return empty_response(204)


async def list_floating_ip_pools(req: Req) -> Response:
    req.svc.enforce(req.ctx, "get_floatingip_pool")
    fields = common.show_fields(req)
    async with req.svc.read() as db:
        pools = await floatingips.pools(db, req.ctx)
    return json_response({"floatingip_pools": [
        common.project(views.pool(subnet, network), fields) for subnet, network in pools]})
