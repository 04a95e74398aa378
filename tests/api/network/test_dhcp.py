"""DHCP from the API to the host, in process: a subnet with DHCP gets the network a DHCP
agent (the alive DHCP-capable one serving the fewest networks) and a DHCP port bound to
its host, and that agent's fake driver runs the server with one host entry per port;
ports that come and go change the entries without a restart; DHCP disabled on the last
subnet, or the network deleted, takes it all away. A network made while no agent was
alive is served once one asks, and an agent that missed a nudge converges at its resync.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from helpers.inprocess import ServiceClient
from helpers.network import make, make_subnet_row
from ownstack.network.agent.agent import NetworkAgent
from ownstack.network.agent.server_api import NetworkServerAPI
from ownstack.network.drivers.base import Capability
from ownstack.network.drivers.fake import FakeNetworkDriver, FakeNetworkHost
from ownstack.network.objects.models import DhcpAgentBinding

HOST = "host-a"


async def eventually(what: str, check: Callable[[], Awaitable[bool]],
                     timeout: float = 5.0) -> None:
    for _ in range(int(timeout / 0.02)):
        if await check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"never: {what}")


async def start_agent(network: ServiceClient, host: FakeNetworkHost, *,
                      dhcp: bool = True) -> NetworkAgent:
    svc = network.app.svc
    driver = FakeNetworkDriver(host, capabilities={Capability.DHCP.value: dhcp})
    agent = NetworkAgent(config=svc.config, bus=svc.bus, driver=driver, host=host.host,
                         startup_wait=5)
    await agent.start()
    assert agent.ready.is_set()
    return agent


@pytest.fixture
def fake_host() -> FakeNetworkHost:
    return FakeNetworkHost(HOST)


@pytest.fixture
async def agent(network: ServiceClient, fake_host: FakeNetworkHost
                ) -> AsyncIterator[NetworkAgent]:
    agent = await start_agent(network, fake_host)
    yield agent
    await agent.stop()


async def dhcp_ports(network: ServiceClient, network_id: str) -> list[dict[str, Any]]:
    r = await network.call("GET", f"/v2.0/ports?network_id={network_id}"
                                  "&device_owner=network:dhcp")
    return list(r.json()["ports"])


async def served_hosts(host: FakeNetworkHost, network_id: str) -> dict[str, list[str]]:
    """The fake server's host entries: MAC -> [hostname, addresses...]."""
    server = host.dhcp.get(network_id)
    if server is None:
        return {}
    return {h.mac_address: [h.hostname, *(ip.ip_address for ip in h.fixed_ips)]
            for h in server.spec.hosts}


async def test_a_dhcp_subnet_gets_a_dhcp_port_on_the_agents_host_and_a_server(
        network: ServiceClient, agent: NetworkAgent, fake_host: FakeNetworkHost) -> None:
    net = await make(network, "network", name="n1")
    subnet_id = await make_subnet_row(network, net["id"], "10.0.0.0/24",
                                      dns_nameservers=["10.0.0.53"])

    await eventually("the DHCP server", lambda: _has_server(fake_host, net["id"]))

    (port,) = await dhcp_ports(network, net["id"])
    assert port["binding:host_id"] == HOST
    assert port["device_id"] == f"dhcp{uuid.uuid5(uuid.NAMESPACE_DNS, HOST)}-{net['id']}"
    (fixed,) = port["fixed_ips"]
    assert fixed["subnet_id"] == subnet_id
    assert 2 <= int(fixed["ip_address"].rsplit(".", 1)[1]) <= 254       # from the pool
    spec = fake_host.dhcp[net["id"]].spec
    assert spec.port_id == port["id"] and spec.mac_address == port["mac_address"]
    (subnet,) = spec.subnets
    assert (subnet.cidr, subnet.gateway_ip, subnet.dns_nameservers, subnet.has_router) == \
        ("10.0.0.0/24", "10.0.0.1", ("10.0.0.53",), False)
    assert spec.needs_metadata_route
    # The DHCP controller reports its port ACTIVE once the server runs.
    await eventually("the DHCP port ACTIVE", lambda: _status_is(network, port["id"], "ACTIVE"))
    listed = (await network.call("GET", "/v2.0/agents")).json()["agents"]
    assert listed[0]["configurations"]["capabilities"]["supports_dhcp"] is True
    details = (await agent.handle("describe_dhcp", {"network_id": net["id"]}))["details"]
    assert details["namespace"] == f"qdhcp-{net['id']}"
    assert details["addresses"] == [fixed["ip_address"]]
    assert (await agent.handle("describe_dhcp", {"network_id": "nope"}))["details"] is None


async def test_ports_come_and_go_in_the_host_entries_without_a_restart(
        network: ServiceClient, agent: NetworkAgent, fake_host: FakeNetworkHost) -> None:
    net = await make(network, "network", name="n1")
    await make_subnet_row(network, net["id"], "10.0.0.0/24")
    await eventually("the DHCP server", lambda: _has_server(fake_host, net["id"]))
    pid = fake_host.dhcp[net["id"]].pid

    port = await make(network, "port", network_id=net["id"])
    ip = port["fixed_ips"][0]["ip_address"]
    entry = [f"host-{ip.replace('.', '-')}", ip]
    await eventually("the new port's entry", lambda: _entry_is(
        fake_host, net["id"], port["mac_address"], entry))
    await network.call("DELETE", f"/v2.0/ports/{port['id']}", expect=204)
    await eventually("the entry gone", lambda: _entry_is(
        fake_host, net["id"], port["mac_address"], None))

    assert fake_host.dhcp[net["id"]].pid == pid
    assert fake_host.dhcp[net["id"]].restarts == 0


async def test_dhcp_off_on_the_last_subnet_removes_port_and_server_and_on_brings_them_back(
        network: ServiceClient, agent: NetworkAgent, fake_host: FakeNetworkHost) -> None:
    net = await make(network, "network", name="n1")
    first = await make_subnet_row(network, net["id"], "10.0.0.0/24")
    second = await make_subnet_row(network, net["id"], "10.1.0.0/24", enable_dhcp=False)
    await eventually("both subnets on the server, one served", lambda: _served_flags_are(
        fake_host, net["id"], [True, False]))
    (port,) = await dhcp_ports(network, net["id"])
    assert [ip["subnet_id"] for ip in port["fixed_ips"]] == [first]

    await network.call("PUT", f"/v2.0/subnets/{second}", expect=200,
                       json={"subnet": {"enable_dhcp": True}})
    await eventually("an address on the second subnet", lambda: _dhcp_subnets_are(
        network, net["id"], {first, second}))
    await network.call("PUT", f"/v2.0/subnets/{first}", expect=200,
                       json={"subnet": {"enable_dhcp": False}})
    await network.call("PUT", f"/v2.0/subnets/{second}", expect=200,
                       json={"subnet": {"enable_dhcp": False}})

    await eventually("the server gone", lambda: _no_server(fake_host, net["id"]))
    assert await dhcp_ports(network, net["id"]) == []
    async with network.app.svc.read() as db:
        assert await db.get(DhcpAgentBinding, net["id"]) is None

    await network.call("PUT", f"/v2.0/subnets/{first}", expect=200,
                       json={"subnet": {"enable_dhcp": True}})
    await eventually("the server back", lambda: _has_server(fake_host, net["id"]))


async def test_a_deleted_network_loses_its_server_and_binding(
        network: ServiceClient, agent: NetworkAgent, fake_host: FakeNetworkHost) -> None:
    net = await make(network, "network", name="n1")
    await make_subnet_row(network, net["id"], "10.0.0.0/24")
    await eventually("the DHCP server", lambda: _has_server(fake_host, net["id"]))

    await network.call("DELETE", f"/v2.0/networks/{net['id']}", expect=204)

    await eventually("the server gone", lambda: _no_server(fake_host, net["id"]))
    async with network.app.svc.read() as db:
        assert await db.get(DhcpAgentBinding, net["id"]) is None


async def test_a_network_made_before_any_agent_is_served_once_one_asks(
        network: ServiceClient, fake_host: FakeNetworkHost) -> None:
    net = await make(network, "network", name="n1")
    await make_subnet_row(network, net["id"], "10.0.0.0/24")
    assert await dhcp_ports(network, net["id"]) == []       # nobody to serve it yet

    agent = await start_agent(network, fake_host)
    try:
        assert await _has_server(fake_host, net["id"])      # its first resync asked
        (port,) = await dhcp_ports(network, net["id"])
        assert port["binding:host_id"] == HOST
    finally:
        await agent.stop()


async def test_the_scheduler_picks_the_dhcp_agent_serving_the_fewest_networks(
        network: ServiceClient) -> None:
    hosts = {name: FakeNetworkHost(name) for name in ("host-a", "host-b", "host-c")}
    agents = [await start_agent(network, hosts["host-a"]),
              await start_agent(network, hosts["host-b"]),
              await start_agent(network, hosts["host-c"], dhcp=False)]
    try:
        nets = [await make(network, "network", name=f"n{i}") for i in range(4)]
        for i, net in enumerate(nets):
            await make_subnet_row(network, net["id"], f"10.{i}.0.0/24")
        served = {}
        for net in nets:
            (port,) = await dhcp_ports(network, net["id"])
            served[net["id"]] = port["binding:host_id"]
        assert sorted(served.values()) == ["host-a", "host-a", "host-b", "host-b"]
        for net in nets:
            await eventually("served", lambda n=net: _has_server(hosts[served[n["id"]]],
                                                                 n["id"]))
        assert hosts["host-c"].dhcp == {}
    finally:
        for agent in agents:
            await agent.stop()


async def test_a_dead_dnsmasq_and_a_lost_nudge_are_repaired_by_the_resync(
        network: ServiceClient, agent: NetworkAgent, fake_host: FakeNetworkHost) -> None:
    net = await make(network, "network", name="n1")
    await make_subnet_row(network, net["id"], "10.0.0.0/24")
    await eventually("the DHCP server", lambda: _has_server(fake_host, net["id"]))
    pid = fake_host.dhcp[net["id"]].pid
    fake_host.kill_dhcp(net["id"])
    # A port the agent never hears of: its nudge lost.
    await agent.stop()
    port = await make(network, "port", network_id=net["id"])

    again = await start_agent(network, fake_host)
    try:
        server = fake_host.dhcp[net["id"]]
        assert server.pid is not None and server.pid != pid
        assert port["mac_address"] in await served_hosts(fake_host, net["id"])
    finally:
        await again.stop()


async def test_an_agent_without_dhcp_serves_none_and_is_never_chosen(
        network: ServiceClient, fake_host: FakeNetworkHost) -> None:
    agent = await start_agent(network, fake_host, dhcp=False)
    try:
        net = await make(network, "network", name="n1")
        await make_subnet_row(network, net["id"], "10.0.0.0/24")
        await agent.resync()
        assert await dhcp_ports(network, net["id"]) == []
        assert fake_host.dhcp == {} and agent.dhcp is None
        assert await agent.handle("dhcp_changed", {"network_id": net["id"]}) is None
        assert (await agent.handle("describe_dhcp", {"network_id": net["id"]})
                )["details"] is None
    finally:
        await agent.stop()


async def _has_server(host: FakeNetworkHost, network_id: str) -> bool:
    server = host.dhcp.get(network_id)
    return server is not None and server.pid is not None


async def _served_flags_are(host: FakeNetworkHost, network_id: str, flags: list[bool]
                            ) -> bool:
    server = host.dhcp.get(network_id)
    return server is not None and [s.enable_dhcp for s in server.spec.subnets] == flags


async def _no_server(host: FakeNetworkHost, network_id: str) -> bool:
    return network_id not in host.dhcp


async def _entry_is(host: FakeNetworkHost, network_id: str, mac: str,
                    entry: list[str] | None) -> bool:
    return (await served_hosts(host, network_id)).get(mac) == entry


async def _status_is(network: ServiceClient, port_id: str, status: str) -> bool:
    r = await network.call("GET", f"/v2.0/ports/{port_id}")
    return bool(r.json()["port"]["status"] == status)


async def _dhcp_subnets_are(network: ServiceClient, network_id: str, wanted: set[str]
                            ) -> bool:
    ports = await dhcp_ports(network, network_id)
    return len(ports) == 1 and {ip["subnet_id"] for ip in ports[0]["fixed_ips"]} == wanted


async def test_the_admin_sees_which_agent_serves_which_network(
        network: ServiceClient, agent: NetworkAgent, fake_host: FakeNetworkHost) -> None:
    served = await make(network, "network", name="served")
    await make_subnet_row(network, served["id"], "10.0.0.0/24")
    await make(network, "network", name="unserved")
    (row,) = (await network.call("GET", "/v2.0/agents")).json()["agents"]

    nets = (await network.call("GET", f"/v2.0/agents/{row['id']}/dhcp-networks")
            ).json()["networks"]
    agents = (await network.call("GET", f"/v2.0/networks/{served['id']}/dhcp-agents")
              ).json()["agents"]

    assert [n["id"] for n in nets] == [served["id"]]
    assert [(a["id"], a["host"]) for a in agents] == [(row["id"], HOST)]
    await network.call("GET", f"/v2.0/agents/{uuid.uuid4()}/dhcp-networks", expect=404)
    await network.call("GET", f"/v2.0/networks/{uuid.uuid4()}/dhcp-agents", expect=404)
    _, token = await network.project_user_token("member")
    await network.call("GET", f"/v2.0/agents/{row['id']}/dhcp-networks", token=token,
                       expect=404)
    await network.call("GET", f"/v2.0/networks/{served['id']}/dhcp-agents", token=token,
                       expect=404)
    aliases = {e["alias"] for e in (await network.call("GET", "/v2.0/extensions")
                                    ).json()["extensions"]}
    assert "dhcp_agent_scheduler" in aliases


async def test_a_dhcp_port_deleted_by_hand_is_made_again_by_the_resync(
        network: ServiceClient, agent: NetworkAgent, fake_host: FakeNetworkHost) -> None:
    net = await make(network, "network", name="n1")
    await make_subnet_row(network, net["id"], "10.0.0.0/24")
    await eventually("the DHCP server", lambda: _has_server(fake_host, net["id"]))
    (port,) = await dhcp_ports(network, net["id"])

    await network.call("DELETE", f"/v2.0/ports/{port['id']}", expect=204)
    await agent.resync()

    (again,) = await dhcp_ports(network, net["id"])
    assert again["id"] != port["id"]
    assert fake_host.dhcp[net["id"]].spec.port_id == again["id"]


async def test_a_subnet_with_no_address_left_for_dhcp_is_still_changed(
        network: ServiceClient, agent: NetworkAgent, fake_host: FakeNetworkHost) -> None:
    net = await make(network, "network", name="n1")
    subnet_id = await make_subnet_row(network, net["id"], "10.0.0.0/29", enable_dhcp=False,
                                      allocation_pools=[{"start": "10.0.0.2",
                                                         "end": "10.0.0.2"}])
    await make(network, "port", network_id=net["id"])          # takes the one address

    r = await network.call("PUT", f"/v2.0/subnets/{subnet_id}", expect=200,
                           json={"subnet": {"enable_dhcp": True}})

    assert r.json()["subnet"]["enable_dhcp"] is True
    assert await dhcp_ports(network, net["id"]) == []
    await agent.resync()
    assert fake_host.dhcp == {}


async def test_a_server_no_network_wants_any_more_is_removed_by_the_next_agent(
        network: ServiceClient, fake_host: FakeNetworkHost) -> None:
    agent = await start_agent(network, fake_host)
    net = await make(network, "network", name="n1")
    subnet_id = await make_subnet_row(network, net["id"], "10.0.0.0/24")
    await eventually("the DHCP server", lambda: _has_server(fake_host, net["id"]))
    await agent.stop()
    await network.call("PUT", f"/v2.0/subnets/{subnet_id}", expect=200,
                       json={"subnet": {"enable_dhcp": False}})
    assert net["id"] in fake_host.dhcp                   # the nudge found no agent

    again = await start_agent(network, fake_host)
    try:
        assert fake_host.dhcp == {}
    finally:
        await again.stop()


async def test_a_router_on_the_subnet_takes_the_metadata_route_off_the_dhcp_server(
        network: ServiceClient, agent: NetworkAgent, fake_host: FakeNetworkHost) -> None:
    net = await make(network, "network", name="n1")
    subnet_id = await make_subnet_row(network, net["id"], "10.0.0.0/24")
    await eventually("the DHCP server", lambda: _has_server(fake_host, net["id"]))
    assert fake_host.dhcp[net["id"]].spec.needs_metadata_route
    router = await make(network, "router", name="r1")

    await network.call("PUT", f"/v2.0/routers/{router['id']}/add_router_interface",
                       expect=200, json={"subnet_id": subnet_id})
    await eventually("the router seen", lambda: _metadata_route_is(fake_host, net["id"],
                                                                    False))
    await network.call("PUT", f"/v2.0/routers/{router['id']}/remove_router_interface",
                       expect=200, json={"subnet_id": subnet_id})
    await eventually("the router gone", lambda: _metadata_route_is(fake_host, net["id"],
                                                                     True))


async def _metadata_route_is(host: FakeNetworkHost, network_id: str, wanted: bool) -> bool:
    server = host.dhcp.get(network_id)
    return server is not None and server.spec.needs_metadata_route is wanted


async def test_a_network_scheduled_when_another_agent_asks_nudges_its_new_agent(
        network: ServiceClient) -> None:
    host_a, host_b = FakeNetworkHost("host-a"), FakeNetworkHost("host-b")
    first = await start_agent(network, host_a)
    try:
        (row,) = (await network.call("GET", "/v2.0/agents")).json()["agents"]
        await network.call("PUT", f"/v2.0/agents/{row['id']}", expect=200,
                           json={"agent": {"admin_state_up": False}})
        net = await make(network, "network", name="n1")
        await make_subnet_row(network, net["id"], "10.0.0.0/24")
        assert await dhcp_ports(network, net["id"]) == []    # no enabled agent
        await network.call("PUT", f"/v2.0/agents/{row['id']}", expect=200,
                           json={"agent": {"admin_state_up": True}})

        second = await start_agent(network, host_b)          # asks: host-a gets it
        try:
            await eventually("host-a serving", lambda: _has_server(host_a, net["id"]))
            assert host_b.dhcp == {}
        finally:
            await second.stop()
    finally:
        await first.stop()


async def test_a_servers_port_goes_active_once_wired_and_in_its_dhcp_server(
        network: ServiceClient, agent: NetworkAgent, fake_host: FakeNetworkHost) -> None:
    """Both controllers of the agent report it (the fake driver's server has the entry
    when ensure_dhcp returns, as dnsmasq once it has reread its files)."""
    net = await make(network, "network", name="n1")
    await make_subnet_row(network, net["id"], "10.0.0.0/24")
    port = await make(network, "port", network_id=net["id"], device_owner="compute:nova",
                      device_id=str(uuid.uuid4()), **{"binding:host_id": HOST})

    await eventually("ACTIVE", lambda: _status_is(network, port["id"], "ACTIVE"))

    assert port["mac_address"] in await served_hosts(fake_host, net["id"])
    assert fake_host.has_tap(port["id"])


async def test_a_ready_report_lost_to_a_kill_is_sent_by_the_next_agent(
        network: ServiceClient, fake_host: FakeNetworkHost,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The agent loaded the entry but died before its report: the port stays DOWN (wired,
    its DHCP block kept), and the agent started again reports from what its host serves,
    without touching the server."""
    lost: list[list[Any]] = []

    async def never_arrives(_self: Any, entries: list[Any]) -> list[str]:
        lost.append(entries)
        return []

    monkeypatch.setattr(NetworkServerAPI, "dhcp_ready", never_arrives)
    agent = await start_agent(network, fake_host)
    net = await make(network, "network", name="n1")
    await make_subnet_row(network, net["id"], "10.0.0.0/24")
    port = await make(network, "port", network_id=net["id"], device_owner="compute:nova",
                      device_id=str(uuid.uuid4()), **{"binding:host_id": HOST})
    await eventually("the report sent", lambda: _was_sent(lost, port["id"]))
    await agent.reconcile(port["id"])                       # wired and reported
    await agent.stop()
    assert await _status_is(network, port["id"], "DOWN")
    pid = fake_host.dhcp[net["id"]].pid
    monkeypatch.undo()

    again = await start_agent(network, fake_host)
    try:
        await eventually("ACTIVE", lambda: _status_is(network, port["id"], "ACTIVE"))
        assert fake_host.dhcp[net["id"]].pid == pid
    finally:
        await again.stop()


async def _was_sent(lost: list[list[Any]], port_id: str) -> bool:
    return any(entry["port_id"] == port_id for entries in lost for entry in entries)
