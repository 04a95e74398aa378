"""``GET /v2.0/ports/{port_id}/diagnostics``, ``GET /v2.0/routers/{router_id}/diagnostics`` and
``GET /v2.0/networks/{network_id}/diagnostics``: the host objects behind a port, a router
or a network, asked of the agent of each host concerned, for ``ownstack show
port|router|network`` (an ownstack addition, as Nova's server diagnostics are for servers;
admin only). A network's hosts are those with a port bound on it and the one serving its
DHCP; its answer is ``{"diagnostics": {"network_id", "hosts": {host: {"objects",
"error"}}}}``.

The answer is ``{"diagnostics": {"host": ..., "objects": {...} | null, "error": ... | null}}``:
``objects`` is what the agent's driver describes (the tap, bridge and filter chains of a
port; the namespace, legs, routes and NAT rules of a router), ``null`` when the resource is
bound nowhere or its agent has nothing of it, and ``error`` says why an agent did not
answer.
"""

from __future__ import annotations

from typing import Any, Final

from starlette.responses import Response

from ownstack.common.api.app import json_response
from ownstack.network.errors import ResourceNotFound
from ownstack.network.objects import bindings, dhcp, networks, ports, router_info, routers
from ownstack.network.rpc import agent_topic
from ownstack.network.state import Req

AGENT_TIMEOUT: Final = 10.0


async def _ask(req: Req, host: str, method: str, payload: dict[str, Any]) -> dict[str, Any]:
    if not host:
        return {"host": None, "objects": None, "error": None}
    try:
        answer = await req.svc.bus.call(agent_topic(host), method, payload,
                                        timeout=AGENT_TIMEOUT)
    except Exception as exc:      # an agent down or gone: the answer says so
        return {"host": host, "objects": None,
                "error": f"the network agent of {host} did not answer: {exc}"}
    return {"host": host, "objects": answer.get("details"), "error": None}


async def port_diagnostics(req: Req) -> Response:
    async with req.svc.read() as db:
        row = await ports.get_port(db, req.ctx, req.params["port_id"])
        target = {"project_id": row.project_id}
        if not req.svc.allowed(req.ctx, "get_port", target):
            raise ResourceNotFound("port", row.id)
        req.svc.enforce(req.ctx, "get_port:diagnostics", target)
        host = row.binding_host_id or ""
    answer = await _ask(req, host, "describe_port", {"port_id": row.id})
    return json_response({"diagnostics": {"port_id": row.id, **answer}})


async def router_diagnostics(req: Req) -> Response:
    async with req.svc.read() as db:
        row = await routers.get_router(db, req.ctx, req.params["router_id"])
        target = {"project_id": row.project_id}
        if not req.svc.allowed(req.ctx, "get_router", target):
            raise ResourceNotFound("router", row.id)
        req.svc.enforce(req.ctx, "get_router:diagnostics", target)
        host = await router_info.router_host(db, row.id)
    answer = await _ask(req, host, "describe_router", {"router_id": row.id})
    return json_response({"diagnostics": {"router_id": row.id, **answer}})


async def network_diagnostics(req: Req) -> Response:
    async with req.svc.read() as db:
        row = await networks.get_network(db, req.ctx, req.params["network_id"])
        target = {"project_id": row.project_id}
        if not req.svc.allowed(req.ctx, "get_network", target):
            raise ResourceNotFound("network", row.id)
        req.svc.enforce(req.ctx, "get_network:diagnostics", target)
        hosts = set(await bindings.hosts_of_network(db, row.id))
        serving = await dhcp.serving_host(db, row.id)
    hosts |= {serving} if serving else set()
    answers = {}
    for host in sorted(hosts):
        answer = await _ask(req, host, "describe_network", {"network_id": row.id})
        answers[host] = {"objects": answer["objects"], "error": answer["error"]}
    return json_response({"diagnostics": {"network_id": row.id, "dhcp_host": serving,
                                          "hosts": answers}})
