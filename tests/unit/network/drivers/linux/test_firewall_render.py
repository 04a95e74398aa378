"""The firewall's rendering, with no I/O: what nft is told for each kind of rule, the
anti-spoofing of each port, and the values it refuses to write into a script."""

from __future__ import annotations

import uuid
from dataclasses import replace

import pytest

from ownstack.network.drivers.base import (
    AddressPair,
    FixedIp,
    NetworkSpec,
    PortSpec,
    SecurityGroupSpec,
)
from ownstack.network.drivers.linux.firewall import (
    FirewallError,
    collapse,
    egress_chain,
    ingress_chain,
    link_local,
    render_init,
    render_members,
    render_port,
    render_remove,
    rule_match,
)
from ownstack.network.sg_rules import RuleSpec

GROUP = "90f5fa9a-893e-42e7-8baa-6f0f22ec0b63"   # fixed: test ids must not vary between runs


def a_port(*rules: RuleSpec, **changes: object) -> PortSpec:
    spec = PortSpec(port_id=str(uuid.uuid4()), network=NetworkSpec("n", "vxlan", 3),
                    mac_address="FA:16:3E:00:00:01",
                    fixed_ips=(FixedIp("s4", "10.0.0.5"), FixedIp("s6", "fd00::5")),
                    security_group_ids=(GROUP,),
                    security_groups=(SecurityGroupSpec(GROUP, rules),))
    return replace(spec, **changes)  # type: ignore[arg-type]


def chain(script: str, name: str) -> list[str]:
    prefix = f" {name} "
    return [line.split(prefix, 1)[1] for line in script.splitlines()
            if line.startswith("add rule") and prefix in line]


@pytest.mark.parametrize(("rule", "match"), [
    (RuleSpec("ingress", "IPv4"), "meta nfproto ipv4"),
    (RuleSpec("ingress", "IPv6"), "meta nfproto ipv6"),
    (RuleSpec("ingress", "IPv4", "tcp", 22, 22), "meta nfproto ipv4 meta l4proto 6 th dport 22"),
    (RuleSpec("ingress", "IPv4", "17", 1000, 2000),
     "meta nfproto ipv4 meta l4proto 17 th dport 1000-2000"),
    (RuleSpec("ingress", "IPv4", "sctp"), "meta nfproto ipv4 meta l4proto 132"),
    (RuleSpec("ingress", "IPv4", "icmp"), "meta nfproto ipv4 meta l4proto 1"),
    (RuleSpec("ingress", "IPv4", "icmp", 8), "meta nfproto ipv4 icmp type 8"),
    (RuleSpec("ingress", "IPv4", "icmp", 3, 1), "meta nfproto ipv4 icmp type 3 icmp code 1"),
    (RuleSpec("ingress", "IPv6", "ipv6-icmp", 128, 0),
     "meta nfproto ipv6 icmpv6 type 128 icmpv6 code 0"),
    (RuleSpec("ingress", "IPv4", "gre"), "meta nfproto ipv4 meta l4proto 47"),
    (RuleSpec("ingress", "IPv4", "0"), "meta nfproto ipv4"),       # "ip": any protocol
    (RuleSpec("ingress", "IPv4", remote_ip_prefix="10.1.2.3/16"),
     "meta nfproto ipv4 ip saddr 10.1.0.0/16"),
    (RuleSpec("egress", "IPv4", remote_ip_prefix="10.1.2.3/16"),
     "meta nfproto ipv4 ip daddr 10.1.0.0/16"),
    (RuleSpec("ingress", "IPv4", remote_ip_prefix="0.0.0.0/0"), "meta nfproto ipv4"),
    (RuleSpec("ingress", "IPv6", "tcp", 80, 80, remote_group_id=GROUP),
     f"meta nfproto ipv6 ip6 saddr @sg-{GROUP}-v6 meta l4proto 6 th dport 80"),
    (RuleSpec("egress", "IPv4", remote_group_id=GROUP),
     f"meta nfproto ipv4 ip daddr @sg-{GROUP}-v4"),
])
def test_each_kind_of_rule(rule: RuleSpec, match: str) -> None:
    assert rule_match(rule) == match


def test_rules_go_to_their_direction_after_state_and_before_the_final_drop() -> None:
    spec = a_port(RuleSpec("ingress", "IPv4", "tcp", 22, 22), RuleSpec("egress", "IPv6"))
    script = render_port(spec, 7, 1)
    ingress, egress = chain(script, ingress_chain(spec.port_id)), \
        chain(script, egress_chain(spec.port_id))
    for rules, match in ((ingress, "th dport 22"), (egress, "meta nfproto ipv6 counter")):
        allowed = next(i for i, rule in enumerate(rules) if match in rule)
        assert rules.index("ct state invalid counter drop") < \
            rules.index("ct state established,related return") < allowed
        assert rules[-1] == "counter drop comment \"no rule allows it\""
        assert rules[allowed].endswith(f"counter return comment \"sg {GROUP}\"")
    assert not any("th dport 22" in rule for rule in egress)


def test_no_rule_means_only_the_fixed_allowances() -> None:
    spec = a_port()
    ingress = chain(render_port(spec, 1, 1), ingress_chain(spec.port_id))
    assert not any("sg " in rule for rule in ingress)
    assert any("udp sport 67 udp dport 68 return" in rule for rule in ingress)   # DHCP in
    assert any("icmpv6 type { 130, 135, 136 } return" in rule for rule in ingress)
    egress = chain(render_port(spec, 1, 1), egress_chain(spec.port_id))
    assert egress.index("meta nfproto ipv4 udp sport 67 udp dport 68 counter drop comment "
                        "\"dhcp server\"") < egress.index(
        "meta nfproto ipv4 udp sport 68 udp dport 67 return comment \"dhcp client\"")
    assert "icmpv6 type 134 counter drop comment \"router advertisement\"" in egress


def test_anti_spoofing_allows_own_addresses_pairs_and_link_local() -> None:
    spec = a_port(allowed_address_pairs=(AddressPair("10.9.0.0/16", "fa:16:3e:00:00:02"),
                                         AddressPair("fd00::99", "fa:16:3e:00:00:01")))
    rules = chain(render_port(spec, 1, 1), f"l-{spec.port_id}")
    assert rules[0] == "meta mark set meta mark and 0xffff0000 or 0x1"
    assert rules[1].startswith("ether saddr != { fa:16:3e:00:00:01, fa:16:3e:00:00:02 } ")
    (v4,) = [rule for rule in rules if rule.startswith("ether type ip ether saddr")]
    assert "fa:16:3e:00:00:01 . 10.0.0.5/32" in v4 and "fa:16:3e:00:00:02 . 10.9.0.0/16" in v4
    (v6,) = [rule for rule in rules if rule.startswith("ether type ip6 ether saddr")]
    for pair in ("fa:16:3e:00:00:01 . fd00::5/128", "fa:16:3e:00:00:01 . fd00::99/128",
                 f"fa:16:3e:00:00:01 . {link_local('fa:16:3e:00:00:01')}/128",
                 f"fa:16:3e:00:00:02 . {link_local('fa:16:3e:00:00:02')}/128"):
        assert pair in v6
    (arp,) = [rule for rule in rules if "arp saddr ip" in rule]
    assert "fa:16:3e:00:00:01 . 10.0.0.5/32" in arp
    assert any("ip saddr 0.0.0.0 ip daddr 255.255.255.255 udp sport 68 udp dport 67 return"
               in rule for rule in rules)
    assert rules[-1] == "counter drop comment \"not arp, ipv4 or ipv6\""


def test_a_port_without_fixed_ips_may_use_any_address_from_its_mac() -> None:
    spec = a_port(fixed_ips=())
    rules = chain(render_port(spec, 1, 1), f"l-{spec.port_id}")
    assert any("fa:16:3e:00:00:01 . 0.0.0.0/0" in rule for rule in rules)
    assert any("fa:16:3e:00:00:01 . ::/0" in rule for rule in rules)


def test_a_port_with_only_ipv6_sends_no_ipv4_but_dhcp_discovery() -> None:
    spec = a_port(fixed_ips=(FixedIp("s6", "fd00::5"),))
    rules = chain(render_port(spec, 1, 1), f"l-{spec.port_id}")
    assert "ether type ip counter drop comment \"ip spoofing\"" in rules
    assert "ether type arp counter drop comment \"arp spoofing\"" in rules


def test_link_local_is_the_eui64_of_the_mac() -> None:
    assert link_local("fa:16:3e:11:22:33") == "fe80::f816:3eff:fe11:2233"


def test_a_port_script_replaces_only_its_own_chains_and_makes_its_remote_sets() -> None:
    spec = a_port(RuleSpec("ingress", "IPv4", remote_group_id=GROUP))
    script = render_port(spec, 0x2a, 5)
    for name in (f"l-{spec.port_id}", f"t-{spec.port_id}", egress_chain(spec.port_id),
                 ingress_chain(spec.port_id)):
        assert sum(line.startswith("flush chain") and line.endswith(name)
                   for line in script.splitlines()) == 1
    assert all(line.split()[4].endswith(spec.port_id) for line in script.splitlines()
               if line.startswith("flush"))
    assert f"add set inet ownstack sg-{GROUP}-v4 " in script
    assert f"{{ 0x2a : jump {egress_chain(spec.port_id)} }}" in script
    assert f"\"{spec.tap}\" : jump l-{spec.port_id}" in script
    assert f"bridge-zones {{ \"{spec.bridge}\" : 5 }}" in script
    assert "flush set" not in script and "delete" not in script


def test_port_security_off_is_handled_by_removal_and_removal_is_total() -> None:
    port_id = str(uuid.uuid4())
    script = render_remove(port_id, 3)
    assert script.count("delete chain") == 4 and script.count("delete element") == 4


def test_members_replace_a_set_whole_without_overlaps() -> None:
    script = render_members(GROUP, ["10.0.0.5", "10.0.0.0/24", "10.1.0.1"], ["fd00::1"])
    assert f"flush set inet ownstack sg-{GROUP}-v4" in script
    assert "{ 10.0.0.0/24, 10.1.0.1/32 }" in script
    assert "{ fd00::1/128 }" in script
    empty = render_members(GROUP, [], [])
    assert "add element" not in empty and empty.count("flush set") == 2
    assert collapse(["10.0.0.4", "10.0.0.5"], 4) == ["10.0.0.4/32", "10.0.0.5/32"]


def test_init_flushes_only_its_base_chains() -> None:
    flushed = [line for line in render_init().splitlines() if line.startswith("flush")]
    assert sorted(flushed) == sorted([
        "flush chain bridge ownstack prerouting", "flush chain bridge ownstack forward",
        "flush chain inet ownstack prerouting", "flush chain inet ownstack forward",
        "flush chain inet ownstack zones"])
    assert all("ownstack" in line.split() for line in render_init().splitlines())


@pytest.mark.parametrize("bad", [
    {"port_id": "x; flush ruleset"},
    {"mac_address": "fa:16:3e:00:00:01 } accept"},
    {"fixed_ips": (FixedIp("s", "10.0.0.5; drop"),)},
    {"allowed_address_pairs": (AddressPair("10.0.0.0/33", "fa:16:3e:00:00:01"),)},
    {"security_groups": (SecurityGroupSpec("g\" accept", ()),)},
    {"security_groups": (SecurityGroupSpec(GROUP, (
        RuleSpec("ingress", "IPv4", remote_group_id="a b"),)),)},
    {"security_groups": (SecurityGroupSpec(GROUP, (
        RuleSpec("ingress", "IPv4", "tcp", 1, 70000),)),)},
    {"security_groups": (SecurityGroupSpec(GROUP, (
        RuleSpec("ingress", "IPv4", remote_ip_prefix="fd00::/8"),)),)},
    {"security_groups": (SecurityGroupSpec(GROUP, (RuleSpec("ingress", "IPv4", "300"),)),)},
])
def test_values_unfit_for_a_script_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises((FirewallError, ValueError)):
        render_port(a_port(**bad), 1, 1)


def test_an_index_out_of_range_is_refused() -> None:
    for index in (0, 0x10000):
        with pytest.raises(FirewallError):
            render_port(a_port(), index, 1)
        with pytest.raises(FirewallError):
            render_port(a_port(), 1, index)
