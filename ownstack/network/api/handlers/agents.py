"""``/v2.0/agents``: the network agents of the cloud, for its admin (Neutron's ``agent``
extension). As in Neutron, a caller the policy refuses sees no agents: an empty list, and
404 for one agent (it is not told that the agent exists)."""

from __future__ import annotations

from starlette.responses import Response

from ownstack.common.api.app import empty_response, json_response
from ownstack.common.db.base import utcnow
from ownstack.common.errors import NotFound
from ownstack.network.api import common
from ownstack.network.api.schemas import agents as schema
from ownstack.network.api.views import agents as views
from ownstack.network.objects import agents, dhcp, networks
from ownstack.network.objects.listing import Page, list_page
from ownstack.network.objects.models import NetworkAgent
from ownstack.network.state import Req


def _allowed(req: Req, action: str) -> bool:
    return req.svc.allowed(req.ctx, f"{action}_agent")


def _check(req: Req, action: str) -> None:
    """Neutron pretends an agent the caller may not act on does not exist."""
    if not _allowed(req, action):
        raise NotFound()


def _view(req: Req, row: NetworkAgent) -> dict[str, object]:
    return views.agent(row, now=utcnow(), down_time=req.svc.settings.agent_down_time)


async def list_agents(req: Req) -> Response:
    query = common.list_query(req, agents.AGENTS)
    if not _allowed(req, "get"):
        page = Page([], False)
    else:
        async with req.svc.read() as db:
            page = await list_page(db, agents.AGENTS, query, [])
    return common.list_response(req, agents.AGENTS, query, page,
                                [_view(req, row) for row in page.rows])


async def show_agent(req: Req) -> Response:
    _check(req, "get")
    async with req.svc.read() as db:
        row = await agents.get_agent(db, req.params["agent_id"])
    return common.one("agent", _view(req, row), common.show_fields(req))


async def update_agent(req: Req) -> Response:
    _check(req, "get")
    req.svc.enforce(req.ctx, "update_agent")
    data = common.booleans(await common.body(req, schema.UPDATE, "agent"), "admin_state_up")
    async with req.svc.write() as db:
        row = agents.update_agent(await agents.get_agent(db, req.params["agent_id"]), data)
    return common.one("agent", _view(req, row))


async def delete_agent(req: Req) -> Response:
    _check(req, "get")
    req.svc.enforce(req.ctx, "delete_agent")
    async with req.svc.write() as db:
        row = await agents.get_agent(db, req.params["agent_id"])
        served = [network.id for network in await dhcp.agent_networks(db, row.id)]
        await agents.delete_agent(db, row)
    # Its networks are unserved now: their ports stop waiting for its DHCP server.
    for network_id in served:
        await req.svc.dhcp_changed(network_id)
    return empty_response(204)


async def list_network_dhcp_agents(req: Req) -> Response:
    """The agents serving a network's DHCP (Neutron's ``dhcp_agent_scheduler``)."""
    if not req.svc.allowed(req.ctx, "get_dhcp-agents"):
        raise NotFound()
    async with req.svc.read() as db:
        network = await networks.get_network(db, req.ctx, req.params["network_id"])
        rows = await dhcp.network_agents(db, network.id)
    return json_response({"agents": [_view(req, row) for row in rows]})
