"""A port from the API to the wire, in process: a port bound to a host is wired by that
host's agent (the fake driver) and goes ACTIVE only through the agent's report; unbound, it
is unwired and DOWN; compute hears ``network-vif-plugged`` and ``network-vif-unplugged`` for
its servers' ports. A stopped agent, started again after the rows changed, converges.

Ports are made, bound and unbound through the ports API, as the conductor binds them."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from helpers.inprocess import ServiceClient
from helpers.network import FakeCompute, make
from ownstack.network.agent.agent import NetworkAgent
from ownstack.network.drivers.fake import FakeNetworkDriver, FakeNetworkHost
from ownstack.network.objects.models import Port

HOST = "host-a"


async def eventually(what: str, check: Callable[[], Awaitable[bool]],
                     timeout: float = 5.0) -> None:
    for _ in range(int(timeout / 0.02)):
        if await check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"never: {what}")


@pytest.fixture
async def compute(network: ServiceClient) -> FakeCompute:
    fake = FakeCompute()
    network.app.svc.peers.apps["compute"] = fake.app
    return fake


@pytest.fixture
def fake_host() -> FakeNetworkHost:
    return FakeNetworkHost(HOST)


async def start_agent(network: ServiceClient, host: FakeNetworkHost) -> NetworkAgent:
    svc = network.app.svc
    agent = NetworkAgent(config=svc.config, bus=svc.bus, driver=FakeNetworkDriver(host),
                         host=HOST, startup_wait=5)
    await agent.start()
    assert agent.ready.is_set()
    return agent


@pytest.fixture
async def agent(network: ServiceClient, fake_host: FakeNetworkHost
                ) -> AsyncIterator[NetworkAgent]:
    agent = await start_agent(network, fake_host)
    yield agent
    await agent.stop()


async def new_port(network: ServiceClient, network_id: str, *, host: str = "",
                   server_id: str | None = None) -> str:
    """A port made by the admin through the API, bound to ``host`` (as the conductor binds
    a server's port), for server ``server_id`` when given."""
    body: dict[str, Any] = {"network_id": network_id, "binding:host_id": host}
    if server_id:
        body.update(device_owner="compute:nova", device_id=server_id)
    r = await network.call("POST", "/v2.0/ports", json={"port": body}, expect=201)
    return str(r.json()["port"]["id"])


async def rebind(network: ServiceClient, port_id: str, host: str) -> None:
    await network.call("PUT", f"/v2.0/ports/{port_id}", expect=200,
                       json={"port": {"binding:host_id": host}})


async def status(network: ServiceClient, port_id: str) -> str:
    async with network.app.svc.read() as db:
        port = await db.get(Port, port_id)
        return str(port.status)


async def test_a_bound_port_goes_active_through_the_agent_and_down_unbound(
        network: ServiceClient, agent: NetworkAgent, fake_host: FakeNetworkHost,
        compute: FakeCompute) -> None:
    net = await make(network, "network", name="wired")
    server_id = str(uuid.uuid4())
    port_id = await new_port(network, net["id"], host=HOST, server_id=server_id)
    async with network.app.svc.read() as db:
        port = await db.get(Port, port_id)
        assert port.binding_vif_type == "bridge"
        assert port.binding_vif_details["bridge_name"] == "brq" + net["id"][:11]
    await eventually("ACTIVE", lambda: _is(network, port_id, "ACTIVE"))
    assert fake_host.ports[port_id].network.mtu == net["mtu"]
    await eventually("vif-plugged", lambda: _told(compute, 1))
    assert compute.events == [{"name": "network-vif-plugged", "server_uuid": server_id,
                               "tag": port_id, "status": "completed"}]
    assert compute.tokens[0]                    # as the services' own user
    details = await network.app.svc.bus.call(f"network.{HOST}", "describe_port",
                                             {"port_id": port_id}, timeout=5)
    assert details["details"]["tap"] == "tap" + port_id[:11]

    await rebind(network, port_id, "")
    assert await status(network, port_id) == "DOWN"        # at once, by the binding
    await eventually("unwired", lambda: _unwired(fake_host, port_id))
    await eventually("vif-unplugged", lambda: _told(compute, 2))
    assert compute.events[1]["name"] == "network-vif-unplugged"
    await agent.resync()
    assert fake_host.bridges == {}                         # its network had no other port


async def test_a_report_from_a_host_the_port_left_changes_nothing(
        network: ServiceClient, agent: NetworkAgent) -> None:
    net = await make(network, "network", name="moved")
    port_id = await new_port(network, net["id"], host="host-b")
    answer = await network.app.svc.bus.call("network", "port_status", {
        "port_id": port_id, "host": HOST, "status": "ACTIVE"}, timeout=5)
    assert answer == {"applied": False, "status": None}
    assert await status(network, port_id) == "DOWN"


async def test_compute_refusing_the_event_never_blocks_the_port(
        network: ServiceClient, agent: NetworkAgent, compute: FakeCompute) -> None:
    compute.status = 404                       # an older compute without the API
    net = await make(network, "network", name="refused")
    port_id = await new_port(network, net["id"], host=HOST, server_id=str(uuid.uuid4()))
    await eventually("ACTIVE", lambda: _is(network, port_id, "ACTIVE"))
    await eventually("told", lambda: _told(compute, 1))
    sent = await network.app.svc.notifier.send([{"name": "network-vif-plugged",
                                                 "server_uuid": "s", "tag": port_id,
                                                 "status": "completed"}])
    assert sent is False


async def test_a_restarted_agent_converges_on_what_changed_meanwhile(
        network: ServiceClient, fake_host: FakeNetworkHost) -> None:
    net = await make(network, "network", name="restart")
    agent = await start_agent(network, fake_host)
    kept = await new_port(network, net["id"], host=HOST)
    leaving = await new_port(network, net["id"], host=HOST)
    await eventually("both ACTIVE", lambda: _all_active(network, [kept, leaving]))
    await agent.stop()
    # While no agent runs: one port leaves the host, one arrives, one is deleted.
    await rebind(network, leaving, "")
    arriving = await new_port(network, net["id"], host=HOST)
    await network.call("DELETE", f"/v2.0/ports/{kept}", expect=204)
    agent = await start_agent(network, fake_host)        # resyncs before it is ready
    try:
        assert set(fake_host.ports) == {arriving}
        assert await status(network, arriving) == "ACTIVE"
        assert await status(network, leaving) == "DOWN"
    finally:
        await agent.stop()


async def _is(network: ServiceClient, port_id: str, wanted: str) -> bool:
    return await status(network, port_id) == wanted


async def _all_active(network: ServiceClient, port_ids: list[str]) -> bool:
    return all([await _is(network, port_id, "ACTIVE") for port_id in port_ids])


async def _told(compute: FakeCompute, count: int) -> bool:
    return len(compute.events) >= count


async def _unwired(host: FakeNetworkHost, port_id: str) -> bool:
    return port_id not in host.ports
