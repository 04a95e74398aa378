"""``/v2.0/network-ip-availabilities[/{network_id}]`` (admin only, as in Neutron)."""

from __future__ import annotations

from starlette.responses import Response

from ownstack.network.api import common
from ownstack.network.api.views import subnets as views
from ownstack.network.objects import ip_availability
from ownstack.network.state import Req


async def list_availabilities(req: Req) -> Response:
    req.svc.enforce(req.ctx, "get_network_ip_availability")
    query = common.list_query(req, ip_availability.AVAILABILITIES)
    async with req.svc.read() as db:
        page, found = await ip_availability.list_availabilities(db, query)
    return common.list_response(req, ip_availability.AVAILABILITIES, query, page,
                                [views.ip_availability(item) for item in found])


async def show_availability(req: Req) -> Response:
    req.svc.enforce(req.ctx, "get_network_ip_availability")
    async with req.svc.read() as db:
        found = await ip_availability.show_availability(db, req.params["network_id"])
    return common.one("network_ip_availability", views.ip_availability(found),
                      common.show_fields(req))
