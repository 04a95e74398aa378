"""Security groups with real packets: nftables in a namespace standing for the host, guests
in namespaces of their own on its bridge (:mod:`helpers.firewall_lab`)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest

from helpers.firewall_lab import NETWORK_ID, Guest, Lab, run
from ownstack.network.drivers.base import (
    AddressPair,
    FixedIp,
    NetworkSpec,
    PortSpec,
    SecurityGroupSpec,
)
from ownstack.network.drivers.linux.firewall import Firewall, FirewallError
from ownstack.network.sg_rules import RuleSpec

NETWORK = NetworkSpec(NETWORK_ID, "vxlan", 7)
EGRESS_ALL = RuleSpec("egress", "IPv4")


@pytest.fixture
def lab() -> Iterator[Lab]:
    lab = Lab()
    try:
        lab.start()
        yield lab
    finally:
        lab.stop()


@pytest.fixture
async def fw(lab: Lab) -> AsyncIterator[Firewall]:
    firewall = Firewall(lab.host)
    await firewall.init()
    yield firewall


def spec(guest: Guest, *rules: RuleSpec, group_id: str | None = None,
         security: bool = True, ip6: str | None = None, network: NetworkSpec = NETWORK
         ) -> PortSpec:
    group = group_id or str(uuid.uuid4())
    fixed = (FixedIp("subnet", guest.ip),) + ((FixedIp("subnet6", ip6),) if ip6 else ())
    return PortSpec(port_id=guest.port_id, network=network, mac_address=guest.mac,
                    fixed_ips=fixed, security_group_ids=(group,),
                    security_groups=(SecurityGroupSpec(group, (EGRESS_ALL, *rules)),),
                    port_security_enabled=security)


async def chains(fw: Firewall, port_id: str) -> dict[str, list[int]]:
    described = await fw.describe_port(port_id)
    return {role: [rule["handle"] for rule in chain["rules"]]
            for role, chain in described["chains"].items()}


async def test_ingress_is_denied_until_a_rule_allows_it(lab: Lab, fw: Firewall) -> None:
    a = lab.guest("10.0.0.5", "fa:16:3e:00:00:05")
    b = lab.guest("10.0.0.6", "fa:16:3e:00:00:06")
    await fw.apply_port(spec(a))
    await fw.apply_port(spec(b))
    assert not a.ping(b.ip)
    assert not a.tcp(b.ip, 2222, b)
    before = await chains(fw, a.port_id)

    await fw.apply_port(spec(b, RuleSpec("ingress", "IPv4", "icmp", 8),
                             RuleSpec("ingress", "IPv4", "tcp", 2222, 2222)))
    assert a.ping(b.ip)                       # echo in by B's rule; the reply by A's state
    assert a.tcp(b.ip, 2222, b)
    assert not b.ping(a.ip)                   # A still admits nothing new
    assert await chains(fw, a.port_id) == before     # A's chains were not touched
    described = await fw.describe_port(b.port_id)
    allowed = [rule for rule in described["chains"]["ingress"]["rules"]
               if rule["comment"] and rule["comment"].startswith("sg ")]
    assert len(allowed) == 2 and allowed[0]["packets"] >= 1


async def test_a_tcp_rule_admits_only_its_port_range(lab: Lab, fw: Firewall) -> None:
    a = lab.guest("10.0.0.5", "fa:16:3e:00:00:05")
    b = lab.guest("10.0.0.6", "fa:16:3e:00:00:06")
    await fw.apply_port(spec(a))
    await fw.apply_port(spec(b, RuleSpec("ingress", "IPv4", "6", 2000, 2100)))
    assert a.tcp(b.ip, 2050, b)
    assert not a.tcp(b.ip, 2222, b)


async def test_a_remote_group_rule_admits_members_and_refuses_others(
        lab: Lab, fw: Firewall) -> None:
    a = lab.guest("10.0.0.5", "fa:16:3e:00:00:05")
    b = lab.guest("10.0.0.6", "fa:16:3e:00:00:06")
    c = lab.guest("10.0.0.7", "fa:16:3e:00:00:07")
    web = str(uuid.uuid4())
    await fw.apply_port(spec(a, group_id=web))
    await fw.apply_port(spec(c))
    await fw.apply_port(spec(b, RuleSpec("ingress", "IPv4", remote_group_id=web)))
    await fw.set_members(web, [a.ip], [])
    assert a.ping(b.ip)
    assert not c.ping(b.ip)
    # Membership moves: the set is rewritten, B's rules stay as they were.
    rules = await chains(fw, b.port_id)
    await fw.set_members(web, [c.ip], [])
    assert c.ping(b.ip)
    assert await chains(fw, b.port_id) == rules
    assert (await fw.members())[web] == ([c.ip], [])
    with pytest.raises(FirewallError):
        await fw.remove_group(web)            # B's rule still matches it


async def test_a_spoofed_source_reaches_nobody(lab: Lab, fw: Firewall) -> None:
    a = lab.guest("10.0.0.5", "fa:16:3e:00:00:05")
    b = lab.guest("10.0.0.6", "fa:16:3e:00:00:06")
    c = lab.guest("10.0.0.7", "fa:16:3e:00:00:07")
    anything = RuleSpec("ingress", "IPv4")
    for guest in (a, b, c):
        await fw.apply_port(spec(guest, anything))
    assert a.ping(b.ip) and a.ping(c.ip)
    a.set_address("10.0.0.99/24")             # an address that is not A's
    assert not a.ping(b.ip) and not a.ping(c.ip)
    a.set_address("10.0.0.5/24")
    a.set_mac("fa:16:3e:00:00:99")            # a MAC that is not A's
    assert not a.ping(b.ip) and not a.ping(c.ip)
    a.set_mac("fa:16:3e:00:00:05")
    assert a.ping(b.ip)


async def test_ipv6_neighbours_find_each_other_and_rules_apply(lab: Lab, fw: Firewall) -> None:
    a = lab.guest("10.0.0.5", "fa:16:3e:00:00:05", ip6="fd00::5")
    b = lab.guest("10.0.0.6", "fa:16:3e:00:00:06", ip6="fd00::6")
    egress6 = RuleSpec("egress", "IPv6")
    await fw.apply_port(spec(a, egress6, ip6="fd00::5"))
    await fw.apply_port(spec(b, egress6, ip6="fd00::6"))
    assert not a.ping6("fd00::6")             # neighbour discovery passes; the echo not
    await fw.apply_port(spec(b, egress6, RuleSpec("ingress", "IPv6", "ipv6-icmp", 128),
                             ip6="fd00::6"))
    assert a.ping6("fd00::6")
    a.exec("ip", "-6", "address", "add", "fd00::99/64", "dev", "eth0", "nodad", check=True)
    a.exec("ip", "-6", "address", "del", "fd00::5/64", "dev", "eth0", check=True)
    a.exec("ip", "-6", "neigh", "flush", "dev", "eth0")
    assert not a.ping6("fd00::6")             # from an address that is not A's


async def test_a_guest_cannot_answer_dhcp_but_the_dhcp_server_can(
        lab: Lab, fw: Firewall) -> None:
    a = lab.guest("10.0.0.5", "fa:16:3e:00:00:05")
    b = lab.guest("10.0.0.6", "fa:16:3e:00:00:06")
    server = lab.guest("10.0.0.2", "fa:16:3e:00:00:02")       # unfiltered, as qdhcp's leg
    await fw.apply_port(spec(a))
    await fw.apply_port(spec(b))
    assert server.udp(b.ip, 67, 68, b)        # DHCP replies come in with no rule
    assert not a.udp(b.ip, 67, 68, b)         # a guest playing DHCP server is dropped
    assert a.udp(server.ip, 68, 67, server)   # and a guest's DHCP request goes out


async def test_two_networks_with_the_same_addresses_never_share_connection_state(
        lab: Lab, fw: Firewall) -> None:
    two = NetworkSpec("net-two", "vxlan", 8)
    lab.network(two.network_id)
    a1 = lab.guest("10.0.0.5", "fa:16:3e:00:00:05")
    b1 = lab.guest("10.0.0.6", "fa:16:3e:00:00:06")
    a2 = lab.guest("10.0.0.5", "fa:16:3e:00:01:05", network_id=two.network_id)
    b2 = lab.guest("10.0.0.6", "fa:16:3e:00:01:06", network_id=two.network_id)
    await fw.apply_port(spec(a1))
    await fw.apply_port(spec(b1, RuleSpec("ingress", "IPv4", "udp", 6000, 6000)))
    await fw.apply_port(spec(a2, network=two))
    await fw.apply_port(spec(b2, network=two))          # admits nothing
    # Without zones (the rule taken out), a connection in one network opens the other.
    run("ip", "netns", "exec", lab.host, "nft", "flush", "chain", "inet", "ownstack", "zones")
    assert a1.udp(b1.ip, 5000, 6000, b1, echo=True)
    assert a2.udp(b2.ip, 5000, 6000, b2)
    await fw.init()                                     # the zones back
    assert a1.udp(b1.ip, 5001, 6000, b1, echo=True)
    assert not a2.udp(b2.ip, 5001, 6000, b2)


async def test_port_security_off_means_no_filtering(lab: Lab, fw: Firewall) -> None:
    a = lab.guest("10.0.0.5", "fa:16:3e:00:00:05")
    b = lab.guest("10.0.0.6", "fa:16:3e:00:00:06")
    await fw.apply_port(spec(a))
    await fw.apply_port(spec(b))
    assert not a.ping(b.ip)
    await fw.apply_port(spec(b, security=False))
    assert b.port_id not in await fw.ports()
    assert await fw.describe_port(b.port_id) == {}
    assert a.ping(b.ip)


async def test_a_new_firewall_adopts_and_removes_what_an_old_one_left(
        lab: Lab, fw: Firewall) -> None:
    a = lab.guest("10.0.0.5", "fa:16:3e:00:00:05")
    b = lab.guest("10.0.0.6", "fa:16:3e:00:00:06")
    await fw.apply_port(spec(a))
    await fw.apply_port(spec(b, RuleSpec("ingress", "IPv4", "icmp")))
    group = str(uuid.uuid4())
    await fw.set_members(group, ["10.0.0.0/24"], ["fd00::1"])
    again = Firewall(lab.host)
    await again.init()                        # idempotent: nothing of the ports is lost
    assert await again.ports() == {a.port_id, b.port_id}
    assert await again.groups() == {group}
    assert a.ping(b.ip)
    await again.apply_port(spec(a, RuleSpec("ingress", "IPv4", "icmp")))
    assert (await again.describe_port(a.port_id))["index"] == \
        (await fw.describe_port(a.port_id))["index"]
    await again.remove_port(b.port_id)
    await again.remove_port(b.port_id)
    await again.remove_group(group)
    assert await again.ports() == {a.port_id} and await again.groups() == set()
    assert await again.zones() == {NETWORK.bridge: 1}
    await again.remove_bridge(NETWORK.bridge)
    await again.remove_bridge(NETWORK.bridge)
    assert await again.zones() == {}
    assert a.ping(b.ip) and b.ping(a.ip)      # B unfiltered, A admits icmp


async def test_ports_applied_at_once_share_a_transaction_and_a_bad_one_fails_alone(
        lab: Lab, fw: Firewall) -> None:
    guests = [lab.guest(f"10.0.0.{n}", f"fa:16:3e:00:00:{n:02x}") for n in range(5, 9)]
    icmp = RuleSpec("ingress", "IPv4", "icmp")
    good = [spec(guest, icmp) for guest in guests[:3]]
    # nft refuses an address pair of 0.0.0.0/0 beside the port's own address (the
    # anonymous set's intervals overlap): a port that only nft can find wrong.
    bad = spec(guests[3], icmp)
    bad = PortSpec(**{**{f: getattr(bad, f) for f in bad.__dataclass_fields__},
                      "allowed_address_pairs": (AddressPair("0.0.0.0/0", guests[3].mac),)})
    results = await asyncio.gather(*(fw.apply_port(s) for s in [*good, bad]),
                                   return_exceptions=True)
    assert results[:3] == [None, None, None]
    assert isinstance(results[3], FirewallError)
    assert await fw.ports() == {g.port_id for g in guests[:3]}
    assert guests[0].ping(guests[1].ip) and guests[2].ping(guests[0].ip)

    transactions = []
    apply = fw._apply

    async def counted(script: str) -> None:
        transactions.append(script)
        await apply(script)

    fw._apply = counted  # type: ignore[method-assign]
    await asyncio.gather(*(fw.apply_port(s) for s in good))
    assert len(transactions) == 2           # the first alone, the two that waited together


async def test_nft_refusing_is_a_firewall_error() -> None:
    firewall = Firewall(f"sgh-missing-{uuid.uuid4().hex[:6]}")
    with pytest.raises(FirewallError, match="sgh-missing"):
        await firewall.init()
