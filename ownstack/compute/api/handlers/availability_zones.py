"""``/os-availability-zone``: the zones users may ask for, and (admin) what runs in each.

A zone exists because a compute service is in it: the ``availability_zone`` of the host's
aggregates, else the one its agent reports (``compute.availability_zone``). The plain
list leaves out the ``internal`` zone of non-compute services, as Nova does; the detailed
one shows it, with the conductor once it registers.
"""

from __future__ import annotations

from starlette.responses import Response

from ownstack.common.api.app import json_response
from ownstack.compute.api.views import services as views
from ownstack.compute.objects import hosts
from ownstack.compute.state import Req


async def list_zones(req: Req) -> Response:
    req.svc.enforce(req.ctx, "os_compute_api:os-availability-zone:list")
    async with req.svc.read() as db:
        zones = hosts.zones(await hosts.list_services(db))
    return json_response(views.zones(zones))


async def list_zones_detail(req: Req) -> Response:
    req.svc.enforce(req.ctx, "os_compute_api:os-availability-zone:detail")
    async with req.svc.read() as db:
        zones = hosts.zones(await hosts.list_services(db))
    return json_response(views.zones_detail(zones, req.svc.config.compute.service_down_time))
