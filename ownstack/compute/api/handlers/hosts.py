"""``/os-hosts``: Nova's deprecated host API, up to microversion 2.42 (every route is a 404
from 2.43, as in Nova; ``os-services`` and ``os-hypervisors`` replace it). Admin only.

- ``GET /os-hosts[?zone=]``: one entry per enabled service, its binary without ``nova-``
  and its zone (``internal`` for all but compute services); an empty ``zone`` is none.
- ``GET /os-hosts/{host}``: the host's resources (its first node's totals, what Placement
  has given out, the flavors of its servers, and each project's share).
- ``PUT /os-hosts/{host}``: ``status`` enables or disables the host's compute service,
  as ``os-services`` does; ``maintenance_mode`` is Nova's 501, as are the power actions
  ``GET /os-hosts/{host}/startup|shutdown|reboot``: they are operations of Nova's virt
  driver that libvirt does not have, and no ownstack driver has them either.

A host is a host with a compute service; any other name is Nova's 404.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from ownstack.common.api.app import json_response
from ownstack.common.errors import NotFound
from ownstack.compute.api.common import at_least, body, version_of
from ownstack.compute.api.schemas import hosts as schemas
from ownstack.compute.errors import FeatureNotSupported
from ownstack.compute.objects import hosts
from ownstack.compute.state import Req

_RULE = "os_compute_api:os-hosts:"


def _allow(req: Req, rule: str) -> None:
    """The route exists before 2.43 (a 404 from then, whoever asks), for admins."""
    if at_least(version_of(req), "2.43"):
        raise NotFound("The resource could not be found.")
    req.svc.enforce(req.ctx, _RULE + rule)


async def list_hosts(req: Req) -> Response:
    _allow(req, "list")
    async with req.svc.read() as db:
        services = await hosts.list_services(db)
    return json_response({"hosts": [
        {"host_name": s.host, "service": s.binary.removeprefix("nova-"),
         "zone": hosts.zone_of(s)}
        for s in hosts.listed_hosts(services, req.query.get("zone"))]})


async def show_host(req: Req) -> Response:
    _allow(req, "show")
    name = req.params["host"]
    async with req.svc.read() as db:
        await hosts.compute_service_on(db, name)
        node = await hosts.first_node_on(db, name)
        instances = await hosts.instances_on_host(db, name)
    used = await hosts.node_usage(req.svc.placement, node.uuid)
    return json_response({"host": [
        {"resource": {"host": name, "project": row.project, "cpu": row.cpu,
                      "memory_mb": row.memory_mb, "disk_gb": row.disk_gb}}
        for row in hosts.host_resources(node, used, instances)]})


async def update_host(req: Req) -> Response:
    """Both fields may come together: maintenance mode is refused before the status is
    touched, so a 501 changes nothing (Nova sets the status, then fails)."""
    _allow(req, "update")
    data = await body(req, schemas.UPDATE)
    name = req.params["host"]
    result: dict[str, Any] = {"host": name}
    async with req.svc.write() as db:
        service = await hosts.compute_service_on(db, name)
        if "maintenance_mode" in data:
            raise FeatureNotSupported()
        enabled = data["status"].lower() == "enable"
        await hosts.apply_service_change(db, service, hosts.ServiceChange(disabled=not enabled))
        result["status"] = "enabled" if enabled else "disabled"
    return json_response(result)


async def _power_action(req: Req, rule: str) -> Response:
    _allow(req, rule)
    async with req.svc.read() as db:
        await hosts.compute_service_on(db, req.params["host"])
    raise FeatureNotSupported()


async def startup_host(req: Req) -> Response:
    return await _power_action(req, "start")


async def shutdown_host(req: Req) -> Response:
    return await _power_action(req, "shutdown")


async def reboot_host(req: Req) -> Response:
    return await _power_action(req, "reboot")
