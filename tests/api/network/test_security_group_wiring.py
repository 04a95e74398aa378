"""Security groups from the API to the host, in process: a rule made or deleted reaches the
ports of its group at once (a cast to their hosts, long before any resync), and a port
joining or leaving a group rewrites the remote-group members held by the hosts whose rules
name that group. The hosts are fake drivers behind real agents on the in-process bus."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from helpers.inprocess import ServiceClient
from helpers.network import make, make_subnet_row
from ownstack.common.bus import Payload
from ownstack.network.agent.agent import NetworkAgent
from ownstack.network.drivers.fake import FakeNetworkDriver, FakeNetworkHost
from ownstack.network.sg_rules import RuleSpec

HOST, OTHER = "host-a", "host-b"


async def eventually(what: str, check: Callable[[], Awaitable[bool] | bool],
                     timeout: float = 5.0) -> None:
    for _ in range(int(timeout / 0.02)):
        result = check()
        if await result if isinstance(result, Awaitable) else result:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"never: {what}")


class Casts:
    """Every cast the network service makes, as (topic, method, payload)."""

    def __init__(self, network: ServiceClient) -> None:
        self.seen: list[tuple[str, str, Payload]] = []
        bus = network.app.svc.bus
        cast = bus.cast

        async def recording(topic: str, method: str, payload: Payload) -> None:
            self.seen.append((topic, method, payload))
            await cast(topic, method, payload)

        bus.cast = recording

    def to(self, method: str) -> list[str]:
        return [topic for topic, name, _ in self.seen if name == method]


@pytest.fixture
async def hosts(network: ServiceClient) -> AsyncIterator[dict[str, FakeNetworkHost]]:
    svc = network.app.svc
    fakes = {name: FakeNetworkHost(name) for name in (HOST, OTHER)}
    agents = [NetworkAgent(config=svc.config, bus=svc.bus, driver=FakeNetworkDriver(fake),
                           host=name, startup_wait=5) for name, fake in fakes.items()]
    for agent in agents:
        await agent.start()
    yield fakes
    for agent in agents:
        await agent.stop()


async def port(network: ServiceClient, network_id: str, host: str, groups: list[str]
               ) -> dict[str, Any]:
    fields: dict[str, Any] = {"network_id": network_id, "security_groups": groups,
                              "binding:host_id": host}
    return await make(network, "port", **fields)


def rules_of(fake: FakeNetworkHost, port_id: str, group_id: str) -> tuple[RuleSpec, ...]:
    spec = fake.ports.get(port_id)
    if spec is None:
        return ()
    return next((g.rules for g in spec.security_groups if g.group_id == group_id), ())


async def test_a_rule_reaches_the_ports_of_its_group_at_once_and_only_their_hosts(
        network: ServiceClient, hosts: dict[str, FakeNetworkHost]) -> None:
    net = await make(network, "network", name="sg")
    web = await make(network, "security_group", name="web")
    other = await make(network, "security_group", name="other")
    mine = await port(network, net["id"], HOST, [web["id"]])
    theirs = await port(network, net["id"], OTHER, [other["id"]])
    await eventually("wired", lambda: mine["id"] in hosts[HOST].ports
                     and theirs["id"] in hosts[OTHER].ports)
    assert len(rules_of(hosts[HOST], mine["id"], web["id"])) == 2     # the two egress rules
    casts = Casts(network)

    ssh = await make(network, "security_group_rule", security_group_id=web["id"],
                     direction="ingress", protocol="tcp", port_range_min=22,
                     port_range_max=22)
    wanted = RuleSpec("ingress", "IPv4", "tcp", 22, 22)
    await eventually("the rule on the port",
                     lambda: wanted in rules_of(hosts[HOST], mine["id"], web["id"]))
    assert casts.to("security_groups_changed") == [f"network.{HOST}"]
    assert hosts[HOST].filters[mine["id"]] == (web["id"],)

    await network.call("DELETE", f"/v2.0/security-group-rules/{ssh['id']}", expect=204)
    await eventually("the rule gone",
                     lambda: wanted not in rules_of(hosts[HOST], mine["id"], web["id"]))
    assert casts.to("security_groups_changed") == [f"network.{HOST}"] * 2


async def test_members_of_a_remote_group_follow_ports_joining_and_leaving(
        network: ServiceClient, hosts: dict[str, FakeNetworkHost]) -> None:
    net = await make(network, "network", name="members")
    await make_subnet_row(network, net["id"], "10.0.0.0/24")
    web = await make(network, "security_group", name="web")
    db = await make(network, "security_group", name="db")
    await make(network, "security_group_rule", security_group_id=db["id"],
               direction="ingress", remote_group_id=web["id"])
    server = await port(network, net["id"], HOST, [db["id"]])
    await eventually("the remote group held", lambda: web["id"] in hosts[HOST].group_sets)
    assert hosts[HOST].group_sets[web["id"]] == ([], [])
    casts = Casts(network)

    client = await port(network, net["id"], OTHER, [web["id"]])
    address = client["fixed_ips"][0]["ip_address"]
    await eventually("a member", lambda: hosts[HOST].group_sets[web["id"]][0]
                     == [f"{address}/32"])
    assert casts.to("group_members_changed") == [f"network.{HOST}"]   # not OTHER's: no
    assert web["id"] not in hosts[OTHER].group_sets                   # rule there names it

    pairs = [{"ip_address": "10.9.0.0/16"}]
    await network.call("PUT", f"/v2.0/ports/{client['id']}", expect=200,
                       json={"port": {"allowed_address_pairs": pairs}})
    await eventually("its address pair a member too", lambda: hosts[HOST].group_sets[
        web["id"]][0] == [f"{address}/32", "10.9.0.0/16"])

    await network.call("PUT", f"/v2.0/ports/{client['id']}", expect=200,
                       json={"port": {"security_groups": []}})
    await eventually("no member", lambda: hosts[HOST].group_sets[web["id"]] == ([], []))

    await network.call("DELETE", f"/v2.0/ports/{server['id']}", expect=204)
    await eventually("unwired", lambda: server["id"] not in hosts[HOST].ports)
    # No port here names the group any more: its members go with the port.
    await eventually("the group gone", lambda: web["id"] not in hosts[HOST].group_sets)


async def test_deleting_a_remote_group_rewires_the_ports_whose_rules_named_it(
        network: ServiceClient, hosts: dict[str, FakeNetworkHost]) -> None:
    net = await make(network, "network", name="gone")
    web = await make(network, "security_group", name="web")
    db = await make(network, "security_group", name="db")
    await make(network, "security_group_rule", security_group_id=db["id"],
               direction="ingress", remote_group_id=web["id"])
    server = await port(network, net["id"], HOST, [db["id"]])
    await eventually("the rule on the port", lambda: any(
        rule.remote_group_id == web["id"]
        for rule in rules_of(hosts[HOST], server["id"], db["id"])))
    await network.call("DELETE", f"/v2.0/security-groups/{web['id']}", expect=204)
    await eventually("the rule gone with its remote group", lambda: not any(
        rule.remote_group_id for rule in rules_of(hosts[HOST], server["id"], db["id"])))
