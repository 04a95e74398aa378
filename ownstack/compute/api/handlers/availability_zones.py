"""``/os-availability-zone``: the zones users may ask for, and (admin) what runs in each.

A zone exists because a compute service reports into it (``compute.availability_zone`` of
the node's agent). The plain list leaves out the ``internal`` zone of non-compute
services, as Nova does; the detailed one shows it, with the conductor once it registers.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from ownstack.common.api.app import json_response
from ownstack.compute.api.handlers.services import nova_time
from ownstack.compute.objects import hosts
from ownstack.compute.state import Req


async def list_zones(req: Req) -> Response:
    req.svc.enforce(req.ctx, "os_compute_api:os-availability-zone:list")
    async with req.svc.read() as db:
        zones = hosts.zones(await hosts.list_services(db))
    return json_response({"availabilityZoneInfo": [
        {"zoneName": zone.name, "zoneState": {"available": zone.available}, "hosts": None}
        for zone in zones if zone.name != hosts.INTERNAL_ZONE]})


async def list_zones_detail(req: Req) -> Response:
    req.svc.enforce(req.ctx, "os_compute_api:os-availability-zone:detail")
    async with req.svc.read() as db:
        zones = hosts.zones(await hosts.list_services(db))
    down_time = req.svc.config.compute.service_down_time
    info: list[dict[str, Any]] = []
    for zone in zones:
        zone_hosts: dict[str, Any] | None = None
        if zone.available:
            zone_hosts = {host: {service.binary: {
                "available": hosts.is_up(service, down_time), "active": not service.disabled,
                "updated_at": nova_time(hosts.heartbeat(service))} for service in services}
                for host, services in sorted(zone.hosts.items())}
        info.append({"zoneName": zone.name, "zoneState": {"available": zone.available},
                     "hosts": zone_hosts})
    return json_response({"availabilityZoneInfo": info})
