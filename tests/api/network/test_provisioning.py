"""Provisioning blocks, in process: a bound port on a network with DHCP goes ACTIVE (and
compute hears ``network-vif-plugged``) only once its host's agent reported it wired and
its network's DHCP server reported its host entry loaded, in either order; a port on a
network without DHCP, the DHCP port and a router's leg wait for their own agent only.

The agents here are reports on the bus, sent by the test in the order it wants: an agent
row (:func:`register`) and the ``port_status`` / ``dhcp_ready`` calls an agent would make.
(test_dhcp.py runs the real controllers on the fake driver.)
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from helpers.inprocess import ServiceClient
from helpers.network import FakeCompute, make, make_subnet_row
from ownstack.common.db.base import utcnow
from ownstack.network.objects.models import NetworkAgent, Port, ProvisioningBlock

HOST = "host-a"
OTHER = "host-b"


@pytest.fixture
async def compute(network: ServiceClient) -> FakeCompute:
    fake = FakeCompute()
    network.app.svc.peers.apps["compute"] = fake.app
    return fake


async def call(network: ServiceClient, method: str, **payload: Any) -> dict[str, Any]:
    answer: dict[str, Any] = await network.app.svc.bus.call("network", method, payload)
    return answer


async def register(network: ServiceClient, host: str = HOST, *, dhcp: bool = True,
                   routers: bool = False) -> str:
    """An agent of ``host`` as its first heartbeat registers it; its id."""
    answer = await call(network, "report_agent", host=host, agent_type="Linux bridge agent",
                        binary="neutron-linuxbridge-agent", topic=f"network.{host}",
                        availability_zone="nova", start_flag=True, configurations={
                            "driver": "fake", "capabilities": {
                                "supports_dhcp": dhcp, "supports_routers": routers}})
    return str(answer["id"])


async def dhcp_network(network: ServiceClient, *, enable_dhcp: bool = True,
                       **subnet: Any) -> dict[str, Any]:
    net = await make(network, "network", name=f"n-{uuid.uuid4().hex[:6]}")
    await make_subnet_row(network, net["id"], "10.0.0.0/24", enable_dhcp=enable_dhcp,
                          **subnet)
    return net


async def server_port(network: ServiceClient, network_id: str, host: str = HOST
                      ) -> dict[str, Any]:
    """A server's port bound to ``host``, as the conductor binds it."""
    r = await network.call("POST", "/v2.0/ports", expect=201, json={"port": {
        "network_id": network_id, "binding:host_id": host, "device_owner": "compute:nova",
        "device_id": str(uuid.uuid4())}})
    return dict(r.json()["port"])


async def wired(network: ServiceClient, port: dict[str, Any], host: str = HOST,
                status: str = "ACTIVE") -> bool:
    """The L2 agent of ``host`` reports ``port``; whether it applied."""
    return bool((await call(network, "port_status", port_id=port["id"], host=host,
                            status=status))["applied"])


def entry(port: dict[str, Any], *addresses: str) -> dict[str, Any]:
    return {"port_id": port["id"], "mac_address": port["mac_address"],
            "ip_addresses": list(addresses) or [ip["ip_address"] for ip in port["fixed_ips"]]}


async def dhcp_ready(network: ServiceClient, *entries: dict[str, Any], host: str = HOST
                     ) -> list[str]:
    """The DHCP agent of ``host`` reports entries loaded; the ports it cleared."""
    return list((await call(network, "dhcp_ready", host=host, ports=list(entries)))["ports"])


async def status(network: ServiceClient, port_id: str) -> str:
    async with network.app.svc.read() as db:
        port = await db.get(Port, port_id)
        return str(port.status) if port is not None else "gone"


async def blocks(network: ServiceClient, port_id: str) -> set[str]:
    async with network.app.svc.read() as db:
        return set((await db.execute(sa.select(ProvisioningBlock.entity).where(
            ProvisioningBlock.port_id == port_id))).scalars())


async def eventually(what: str, check: Callable[[], Awaitable[bool]],
                     timeout: float = 5.0) -> None:
    for _ in range(int(timeout / 0.02)):
        if await check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"never: {what}")


async def plugged(compute: FakeCompute, port_id: str) -> int:
    await asyncio.sleep(0.05)           # the notifier sends in the background
    return sum(1 for e in compute.events
               if e["tag"] == port_id and e["name"] == "network-vif-plugged")


async def test_wired_then_dhcp_ready_is_active_only_after_both(
        network: ServiceClient, compute: FakeCompute) -> None:
    await register(network)
    net = await dhcp_network(network)
    port = await server_port(network, net["id"])
    assert await blocks(network, port["id"]) == {"L2", "DHCP"}

    assert await wired(network, port)
    assert await status(network, port["id"]) == "DOWN"
    assert await blocks(network, port["id"]) == {"DHCP"}
    assert await plugged(compute, port["id"]) == 0

    assert await dhcp_ready(network, entry(port)) == [port["id"]]
    assert await status(network, port["id"]) == "ACTIVE"
    assert await blocks(network, port["id"]) == set()
    assert await plugged(compute, port["id"]) == 1
    # Reported again (an agent after a restart): nothing changes, nothing is told.
    assert await dhcp_ready(network, entry(port)) == []
    assert await wired(network, port)
    assert await plugged(compute, port["id"]) == 1


async def test_dhcp_ready_then_wired_is_active_only_after_both(
        network: ServiceClient, compute: FakeCompute) -> None:
    await register(network)
    net = await dhcp_network(network)
    port = await server_port(network, net["id"])

    assert await dhcp_ready(network, entry(port)) == [port["id"]]
    assert await status(network, port["id"]) == "DOWN"
    assert await plugged(compute, port["id"]) == 0

    assert await wired(network, port)
    assert await status(network, port["id"]) == "ACTIVE"
    assert await plugged(compute, port["id"]) == 1


async def test_both_reports_at_once_make_it_active(network: ServiceClient) -> None:
    await register(network)
    net = await dhcp_network(network)
    ports = [await server_port(network, net["id"]) for _ in range(4)]

    await asyncio.gather(*(wired(network, port) for port in ports),
                         dhcp_ready(network, *(entry(port) for port in ports)))

    assert [await status(network, port["id"]) for port in ports] == ["ACTIVE"] * 4


async def test_a_rebound_port_waits_for_its_new_host_and_dhcp_again(
        network: ServiceClient, compute: FakeCompute) -> None:
    await register(network)
    await register(network, OTHER, dhcp=False)
    net = await dhcp_network(network)
    port = await server_port(network, net["id"])
    await wired(network, port)
    await dhcp_ready(network, entry(port))
    assert await status(network, port["id"]) == "ACTIVE"

    await network.call("PUT", f"/v2.0/ports/{port['id']}", expect=200,
                       json={"port": {"binding:host_id": OTHER}})

    assert await status(network, port["id"]) == "DOWN"
    assert await blocks(network, port["id"]) == {"L2", "DHCP"}
    assert not await wired(network, port, HOST)        # the host it left: not applied
    assert await wired(network, port, OTHER)
    assert await status(network, port["id"]) == "DOWN"
    assert await dhcp_ready(network, entry(port)) == [port["id"]]
    assert await status(network, port["id"]) == "ACTIVE"
    # Unbound: no blocks, DOWN, and no report makes it ACTIVE.
    await network.call("PUT", f"/v2.0/ports/{port['id']}", expect=200,
                       json={"port": {"binding:host_id": ""}})
    assert await blocks(network, port["id"]) == set()
    assert await dhcp_ready(network, entry(port)) == []
    assert await status(network, port["id"]) == "DOWN"


async def test_a_port_without_dhcp_goes_active_when_wired(network: ServiceClient) -> None:
    """No DHCP subnet, or a DHCP subnet but no DHCP agent at all: as before, the L2
    agent's report alone makes the port ACTIVE."""
    await register(network, dhcp=False)
    no_agent = await dhcp_network(network)
    await register(network, OTHER)
    disabled = await dhcp_network(network, enable_dhcp=False)
    for net in (no_agent, disabled):
        port = await server_port(network, net["id"])
        assert await blocks(network, port["id"]) == {"L2"}
        assert await wired(network, port)
        assert await status(network, port["id"]) == "ACTIVE"


async def test_an_unbound_port_has_no_blocks_until_bound(network: ServiceClient) -> None:
    await register(network)
    net = await dhcp_network(network)
    r = await network.call("POST", "/v2.0/ports", expect=201,
                           json={"port": {"network_id": net["id"]}})
    port = r.json()["port"]

    assert await blocks(network, port["id"]) == set()
    await network.call("PUT", f"/v2.0/ports/{port['id']}", expect=200,
                       json={"port": {"binding:host_id": HOST}})
    assert await blocks(network, port["id"]) == {"L2", "DHCP"}


async def test_the_dhcp_port_waits_for_its_own_report_only(network: ServiceClient) -> None:
    await register(network)
    net = await dhcp_network(network)
    r = await network.call("GET", f"/v2.0/ports?network_id={net['id']}"
                                  "&device_owner=network:dhcp")
    (port,) = r.json()["ports"]

    assert await blocks(network, port["id"]) == {"L2"}
    assert await wired(network, port)           # the DHCP controller, once it serves
    assert await status(network, port["id"]) == "ACTIVE"


async def test_a_routers_leg_waits_for_the_router_agent_only(network: ServiceClient) -> None:
    await register(network, routers=True)
    net = await dhcp_network(network)
    subnet_id = (await network.call("GET", f"/v2.0/subnets?network_id={net['id']}")
                 ).json()["subnets"][0]["id"]
    router = await make(network, "router", name="r")
    await network.call("PUT", f"/v2.0/routers/{router['id']}/add_router_interface",
                       expect=200, json={"subnet_id": subnet_id})
    await call(network, "host_routers", host=HOST)           # the agent takes it
    r = await network.call("GET", f"/v2.0/ports?device_id={router['id']}")
    (leg,) = r.json()["ports"]
    assert await blocks(network, leg["id"]) == {"L2"}

    await call(network, "router_status", router_id=router["id"], host=HOST,
               status="ACTIVE")

    assert await status(network, leg["id"]) == "ACTIVE"
    assert await blocks(network, leg["id"]) == set()


async def test_new_addresses_wait_for_dhcp_but_the_port_stays_active(
        network: ServiceClient) -> None:
    await register(network)
    # IPAM draws addresses at random, for the server's port and for the DHCP port the
    # registered agent gets: the address asked for below lies outside the pool, so
    # neither can have drawn it.
    net = await dhcp_network(network, allocation_pools=[{"start": "10.0.0.2",
                                                         "end": "10.0.0.200"}])
    port = await server_port(network, net["id"])
    await wired(network, port)
    await dhcp_ready(network, entry(port))
    old = port["fixed_ips"][0]["ip_address"]
    new = "10.0.0.240"

    r = await network.call("PUT", f"/v2.0/ports/{port['id']}", expect=200, json={"port": {
        "fixed_ips": [{"subnet_id": port["fixed_ips"][0]["subnet_id"],
                       "ip_address": new}]}})

    assert r.json()["port"]["status"] == "ACTIVE"
    assert await blocks(network, port["id"]) == {"DHCP"}
    # An entry of the addresses it had clears nothing; one of those it has does.
    assert await dhcp_ready(network, entry(port, old)) == []
    assert await dhcp_ready(network, entry(port, new)) == [port["id"]]
    # ... and the tap gone and back (a reboot): no new wait for DHCP.
    await wired(network, port, status="DOWN")
    assert (await status(network, port["id"]), await blocks(network, port["id"])) == \
        ("DOWN", {"L2"})
    await wired(network, port)
    assert await status(network, port["id"]) == "ACTIVE"


async def test_only_the_serving_host_and_a_matching_entry_clear_the_block(
        network: ServiceClient) -> None:
    await register(network)
    await register(network, OTHER)
    net = await dhcp_network(network)                       # served by HOST (fewest, first)
    port = await server_port(network, net["id"])
    await wired(network, port)

    # A MAC outside fa:16:3e: the port's own random one cannot be it.
    other_mac = {**entry(port), "mac_address": "0a:00:27:ff:ff:ff"}
    assert await dhcp_ready(network, entry(port), host=OTHER) == []
    assert await dhcp_ready(network, other_mac) == []
    assert await dhcp_ready(network, {**entry(port), "port_id": str(uuid.uuid4())}) == []
    assert await status(network, port["id"]) == "DOWN"
    assert await dhcp_ready(network, entry(port)) == [port["id"]]
    assert await status(network, port["id"]) == "ACTIVE"


async def test_a_dead_dhcp_agent_holds_the_port_until_it_reports_again(
        network: ServiceClient) -> None:
    """Decision 39: a network bound to a DHCP agent whose heartbeat is stale still waits
    for it (the guest would get no lease from it); it reports when it is back."""
    agent_id = await register(network)
    net = await dhcp_network(network)
    await _age(network, agent_id)
    port = await server_port(network, net["id"])

    assert await blocks(network, port["id"]) == {"L2", "DHCP"}
    await wired(network, port)
    assert await status(network, port["id"]) == "DOWN"

    await register(network)                             # back: its heartbeat, its report
    await dhcp_ready(network, entry(port))
    assert await status(network, port["id"]) == "ACTIVE"


async def test_deleting_the_dead_dhcp_agent_releases_its_ports(
        network: ServiceClient, compute: FakeCompute) -> None:
    """The way out for an operator: a deleted agent serves nothing, and what waited for
    its DHCP goes ACTIVE as on a network without DHCP."""
    agent_id = await register(network)
    net = await dhcp_network(network)
    await _age(network, agent_id)
    port = await server_port(network, net["id"])
    await wired(network, port)

    await network.call("DELETE", f"/v2.0/agents/{agent_id}", expect=204)

    await eventually("ACTIVE", lambda: _is(network, port["id"], "ACTIVE"))
    assert await blocks(network, port["id"]) == set()
    assert await plugged(compute, port["id"]) == 1


async def test_dhcp_disabled_while_a_port_waits_releases_it(network: ServiceClient) -> None:
    await register(network)
    net = await dhcp_network(network)
    port = await server_port(network, net["id"])
    await wired(network, port)
    subnet_id = port["fixed_ips"][0]["subnet_id"]

    await network.call("PUT", f"/v2.0/subnets/{subnet_id}", expect=200,
                       json={"subnet": {"enable_dhcp": False}})

    await eventually("ACTIVE", lambda: _is(network, port["id"], "ACTIVE"))


async def test_a_void_dhcp_block_goes_with_the_next_report(network: ServiceClient) -> None:
    """The release after DHCP went away lost (the API killed before it ran): the port's
    next report finds the block void and the port ACTIVE."""
    agent_id = await register(network)
    net = await dhcp_network(network)
    port = await server_port(network, net["id"])
    async with network.app.svc.write() as db:
        await db.execute(sa.delete(NetworkAgent).where(NetworkAgent.id == agent_id))

    assert await wired(network, port)
    assert await status(network, port["id"]) == "ACTIVE"


async def _age(network: ServiceClient, agent_id: str) -> None:
    down_time = network.app.svc.settings.agent_down_time
    async with network.app.svc.write() as db:
        row = await db.get(NetworkAgent, agent_id)
        assert row is not None
        row.heartbeat_timestamp = utcnow() - timedelta(seconds=down_time + 5)


async def _is(network: ServiceClient, port_id: str, wanted: str) -> bool:
    return await status(network, port_id) == wanted
