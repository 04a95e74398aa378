"""``/v2.0/agents``: agents register and heartbeat over the bus, the cloud admin sees them
alive or dead by the age of their heartbeat, switches them off and deletes them; anyone else
sees none, as in Neutron."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from helpers.inprocess import ServiceClient
from helpers.network import error_type
from ownstack.common.db.base import utcnow
from ownstack.network.objects.models import NetworkAgent

AGENTS = "/v2.0/agents"
FIELDS = {"id", "agent_type", "binary", "host", "topic", "availability_zone",
          "admin_state_up", "alive", "created_at", "started_at", "heartbeat_timestamp",
          "configurations", "description", "resources_synced"}


async def report(network: ServiceClient, host: str, **extra: Any) -> dict[str, Any]:
    """What an agent on ``host`` sends on the bus."""
    answer: dict[str, Any] = await network.app.svc.bus.call("network", "report_agent", {
        "host": host, "agent_type": "Linux bridge agent",
        "binary": "neutron-linuxbridge-agent", "topic": f"network.{host}",
        "availability_zone": "nova", "configurations": {"driver": "fake", "devices": 2},
        **extra}, timeout=10)
    return answer


async def test_an_agent_that_reports_is_listed_alive(network: ServiceClient) -> None:
    answer = await report(network, "node-a", start_flag=True)
    assert answer["admin_state_up"] is True
    r = await network.call("GET", AGENTS, expect=200)
    (agent,) = r.json()["agents"]
    assert set(agent) == FIELDS
    assert agent["id"] == answer["id"] and agent["host"] == "node-a" and agent["alive"]
    assert agent["agent_type"] == "Linux bridge agent"
    assert agent["binary"] == "neutron-linuxbridge-agent"
    assert agent["configurations"] == {"driver": "fake", "devices": 2}
    assert agent["resources_synced"] is None and agent["description"] == ""
    assert len(agent["heartbeat_timestamp"]) == 19 and agent["heartbeat_timestamp"][10] == " "
    # A second report is a heartbeat of the same row, not a second agent.
    again = await report(network, "node-a")
    assert again["id"] == answer["id"]
    r = await network.call("GET", AGENTS, params={"host": "node-a"}, expect=200)
    assert [a["id"] for a in r.json()["agents"]] == [answer["id"]]
    r = await network.call("GET", AGENTS, params={"host": "elsewhere"}, expect=200)
    assert r.json()["agents"] == []
    r = await network.call("GET", AGENTS, params={"alive_since": "1"}, expect=400)
    assert error_type(r) == "BadRequest"


async def test_an_agent_without_a_recent_heartbeat_is_dead(network: ServiceClient) -> None:
    answer = await report(network, "node-b")
    down_time = network.app.svc.settings.agent_down_time
    async with network.app.svc.write() as db:
        row = await db.get(NetworkAgent, answer["id"])
        row.heartbeat_timestamp = utcnow() - timedelta(seconds=down_time + 5)
    r = await network.call("GET", f"{AGENTS}/{answer['id']}", expect=200)
    assert r.json()["agent"]["alive"] is False
    await report(network, "node-b")
    r = await network.call("GET", f"{AGENTS}/{answer['id']}", expect=200)
    assert r.json()["agent"]["alive"] is True


async def test_the_admin_switches_an_agent_off_and_deletes_it(network: ServiceClient) -> None:
    answer = await report(network, "node-c")
    path = f"{AGENTS}/{answer['id']}"
    r = await network.call("PUT", path, expect=200, json={
        "agent": {"admin_state_up": "false", "description": "draining"}})
    assert r.json()["agent"]["admin_state_up"] is False
    assert r.json()["agent"]["description"] == "draining"
    assert (await report(network, "node-c"))["admin_state_up"] is False
    r = await network.call("PUT", path, expect=400, json={"agent": {"host": "other"}})
    assert error_type(r) == "HTTPBadRequest"
    await network.call("DELETE", path, expect=204)
    r = await network.call("GET", path, expect=404)
    assert error_type(r) == "AgentNotFound"
    # The agent reports again: it is back, as a new row.
    back = await report(network, "node-c")
    assert back["id"] != answer["id"] and back["admin_state_up"] is True


async def test_only_the_admin_sees_agents(network: ServiceClient) -> None:
    answer = await report(network, "node-d")
    path = f"{AGENTS}/{answer['id']}"
    for role in ("member", "reader"):
        _, token = await network.project_user_token(role)
        r = await network.call("GET", AGENTS, token=token, expect=200)
        assert r.json()["agents"] == []
        for method, body in (("GET", None), ("PUT", {"agent": {"description": "x"}}),
                             ("DELETE", None)):
            r = await network.call(method, path, token=token, expect=404, json=body)
            assert error_type(r) == "HTTPNotFound"
    await network.call("GET", path, expect=200)


async def test_the_agent_extension_is_listed(network: ServiceClient) -> None:
    r = await network.call("GET", "/v2.0/extensions/agent", expect=200)
    assert r.json()["extension"]["alias"] == "agent"
