"""``/v2.0/routers``, ``/v2.0/routers/{router_id}``, its interface actions
(``add_router_interface``, ``remove_router_interface``) and extra-route actions
(``add_extraroutes``, ``remove_extraroutes``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final, TypeVar

from starlette.responses import Response

from ownstack.common.api.app import empty_response, json_response
from ownstack.network.api import common
from ownstack.network.api.schemas import routers as schema
from ownstack.network.api.views import routers as views
from ownstack.network.errors import (
    AvailabilityZoneNotFound,
    ConcurrentUpdate,
    ResourceNotFound,
)
from ownstack.network.objects import router_info, routers
from ownstack.network.objects.listing import list_page
from ownstack.network.objects.models import Router
from ownstack.network.objects.standard import tags_of
from ownstack.network.state import Req

_GW: Final = "external_gateway_info"
# A write that loses a database deadlock to another one is tried again, as Neutron's retry
# decorator does, before the loser hears 409 ConcurrentUpdate.
_ATTEMPTS: Final = 5
T = TypeVar("T")


async def write(req: Req, work: Callable[[Any], Awaitable[T]]) -> T:
    """``work`` in a write transaction, run again when it lost a race."""
    for attempt in range(_ATTEMPTS):
        try:
            async with req.svc.write() as db:
                return await work(db)
        except ConcurrentUpdate:
            if attempt == _ATTEMPTS - 1:
                raise
    raise ConcurrentUpdate


async def _hosted(req: Req, db: Any, router_id: str) -> str:
    """Bind the router's ports to its host (scheduling it if it has none) inside the
    write; the host ("" when no agent can take it yet)."""
    return await router_info.schedule(db, router_id,
                                      down_time=req.svc.settings.agent_down_time)


def _target(row: Router) -> dict[str, Any]:
    return {"project_id": row.project_id}


def _enforce(req: Req, action: str, data: Mapping[str, Any], target: dict[str, Any]) -> None:
    """``<action>_router``, then the rule of each gateway attribute the body sets."""
    req.svc.enforce(req.ctx, f"{action}_router", target)
    if data.get(_GW) is None:
        return
    req.svc.enforce(req.ctx, f"{action}_router:{_GW}", target)
    for name in ("network_id", "enable_snat", "external_fixed_ips"):
        if data[_GW].get(name) is not None:
            req.svc.enforce(req.ctx, f"{action}_router:{_GW}:{name}", target)


def _flags(data: dict[str, Any]) -> dict[str, Any]:
    common.booleans(data, "admin_state_up")
    if isinstance(data.get(_GW), dict) and data[_GW].get("enable_snat") is not None:
        common.booleans(data[_GW], "enable_snat")
    return data


async def _bodies(req: Req, db: Any, rows: list[Router]) -> list[dict[str, Any]]:
    gateways = await routers.gateways(db, rows)
    tags = await tags_of(db, [row.id for row in rows])
    zone = req.svc.settings.availability_zone
    return [views.router(row, gateway=gateways.get(row.id), tags=tags.get(row.id, []),
                         zone=zone) for row in rows]


async def _visible_router(req: Req, db: Any) -> Router:
    row = await routers.get_router(db, req.ctx, req.params["router_id"])
    if not req.svc.allowed(req.ctx, "get_router", _target(row)):
        raise ResourceNotFound("router", row.id)
    return row


async def list_routers(req: Req) -> Response:
    query = common.list_query(req, routers.ROUTERS)
    async with req.svc.read() as db:
        page = await list_page(db, routers.ROUTERS, query, routers.visible(req.ctx))
        items = await _bodies(req, db, page.rows)
    return common.list_response(req, routers.ROUTERS, query, page, items)


async def show_router(req: Req) -> Response:
    async with req.svc.read() as db:
        row = await _visible_router(req, db)
        (item,) = await _bodies(req, db, [row])
    return common.one("router", item, common.show_fields(req))


async def create_router(req: Req) -> Response:
    data = _flags(await common.body(req, schema.CREATE, "router"))
    project_id = common.owner(req, data)
    _enforce(req, "create", data, {"project_id": project_id})
    for zone in data.get("availability_zone_hints") or []:
        if zone != req.svc.settings.availability_zone:
            raise AvailabilityZoneNotFound(zone)

    async def work(db: Any) -> dict[str, Any]:
        row = await routers.create_router(db, req.svc.settings, req.ctx, project_id, data)
        # A new router has no tags yet, and a gateway only when the body asked for one.
        gateway = (await routers.gateways(db, [row])).get(row.id) if row.gw_port_id else None
        return views.router(row, gateway=gateway, tags=[],
                            zone=req.svc.settings.availability_zone)
    return common.one("router", await write(req, work), status=201)


async def update_router(req: Req) -> Response:
    data = _flags(await common.body(req, schema.UPDATE, "router"))

    async def work(db: Any) -> dict[str, Any]:
        row = await _visible_router(req, db)
        _enforce(req, "update", data, _target(row))
        row = await routers.update_router(db, req.svc.settings, req.ctx, row, data,
                                          common.revision(req))
        hosts.append(await router_info.router_host(db, row.id))
        await _hosted(req, db, row.id)
        (item,) = await _bodies(req, db, [row])
        return item
    hosts: list[str] = []
    answer = await write(req, work)
    await req.svc.router_changed(answer["id"], *hosts)
    return common.one("router", answer)


async def delete_router(req: Req) -> Response:
    async with req.svc.write() as db:
        row, found = await routers.router_to_delete(db, req.ctx, req.params["router_id"])
        if not req.svc.allowed(req.ctx, "get_router", _target(row)):
            raise ResourceNotFound("router", row.id)
        req.svc.enforce(req.ctx, "delete_router", _target(row))
        host = found.host if found is not None else \
            await router_info.router_host(db, row.id)
        await routers.delete_router(db, row, common.revision(req), found)
    await req.svc.router_gone(row.id, host)
    return empty_response(204)


async def add_router_interface(req: Req) -> Response:
    data = await req.json(schema.INTERFACE)

    async def work(db: Any) -> dict[str, Any]:
        row = await _visible_router(req, db)
        req.svc.enforce(req.ctx, "add_router_interface", _target(row))
        answer = await routers.add_interface(db, req.svc.settings, req.ctx, row, data)
        await _hosted(req, db, row.id)
        return answer.as_dict()
    answer = await write(req, work)
    await req.svc.router_changed(req.params["router_id"])
    # The subnet's DHCP server now (no longer) routes 169.254.169.254 itself.
    await req.svc.dhcp_changed(str(answer["network_id"]))
    return json_response(answer)


async def remove_router_interface(req: Req) -> Response:
    data = await req.json(schema.INTERFACE)

    async def work(db: Any) -> dict[str, Any]:
        row = await _visible_router(req, db)
        req.svc.enforce(req.ctx, "remove_router_interface", _target(row))
        hosts.append(await router_info.router_host(db, row.id))
        answer = await routers.remove_interface(db, req.ctx, row, data)
        return answer.as_dict()
    hosts: list[str] = []
    answer = await write(req, work)
    await req.svc.router_changed(req.params["router_id"], *hosts)
    # The subnet's DHCP server now (no longer) routes 169.254.169.254 itself.
    await req.svc.dhcp_changed(str(answer["network_id"]))
    return json_response(answer)


async def _extraroutes(req: Req, action: str) -> Response:
    data = await common.body(req, schema.EXTRAROUTES, "router")

    async def work(db: Any) -> dict[str, Any]:
        row = await _visible_router(req, db)
        req.svc.enforce(req.ctx, action, _target(row))
        change = routers.add_routes if action == "add_extraroutes" else routers.remove_routes
        await change(db, row, data["routes"])
        (item,) = await _bodies(req, db, [row])
        return item
    answer = await write(req, work)
    await req.svc.router_changed(answer["id"])
    return common.one("router", answer)


async def add_extraroutes(req: Req) -> Response:
    return await _extraroutes(req, "add_extraroutes")


async def remove_extraroutes(req: Req) -> Response:
    return await _extraroutes(req, "remove_extraroutes")
