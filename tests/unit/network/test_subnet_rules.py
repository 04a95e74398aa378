"""A subnet request is checked and completed as Neutron does: defaults, canonical values,
and the Neutron error type and message for every broken rule."""

from __future__ import annotations

from typing import Any

import pytest

from ownstack.common.errors import OwnstackError
from ownstack.network import ipam
from ownstack.network.errors import format_error

NET = "5f0c4c5a-0000-4000-8000-000000000001"


def plan(cidr: str = "10.0.0.0/24", ip_version: int = 4, **kwargs: Any) -> ipam.SubnetPlan:
    return ipam.plan_subnet(cidr=cidr, ip_version=ip_version, network_id=NET, **kwargs)


def neutron_error(exc: OwnstackError) -> tuple[int, str, str]:
    body, _ = format_error(exc, "req-1")
    return exc.status, body["NeutronError"]["type"], body["NeutronError"]["message"]


def refused(**kwargs: Any) -> tuple[int, str, str]:
    with pytest.raises(OwnstackError) as caught:
        plan(**kwargs)
    return neutron_error(caught.value)


def pools(p: ipam.SubnetPlan) -> list[dict[str, str]]:
    return p.allocation_pools_as_dicts()


# -- defaults -----------------------------------------------------------------------------


def test_ipv4_defaults_gateway_first_host_and_pool_the_rest() -> None:
    p = plan()
    assert p.cidr == "10.0.0.0/24"
    assert p.gateway_ip == "10.0.0.1"
    assert pools(p) == [{"start": "10.0.0.2", "end": "10.0.0.254"}]
    assert (p.dns_nameservers, p.host_routes, p.enable_dhcp) == ((), (), True)


def test_host_bits_are_cleared_not_refused() -> None:
    # Neutron turns 10.0.0.7/24 into 10.0.0.0/24 before anything else looks at it.
    assert plan("10.0.0.7/24").cidr == "10.0.0.0/24"
    assert plan("2001:DB8:0:0::17/64", 6).cidr == "2001:db8::/64"


def test_netmask_form_is_read() -> None:
    assert plan("10.1.0.0/255.255.0.0").cidr == "10.1.0.0/16"


def test_ipv6_default_gateway_is_the_subnet_router_anycast_address() -> None:
    p = plan("2001:db8::/64", 6)
    assert p.gateway_ip == "2001:db8::"
    assert pools(p) == [{"start": "2001:db8::1", "end": "2001:db8::ffff:ffff:ffff:ffff"}]


def test_gateway_in_the_middle_splits_the_default_pool() -> None:
    p = plan(gateway_ip="10.0.0.100")
    assert pools(p) == [{"start": "10.0.0.1", "end": "10.0.0.99"},
                        {"start": "10.0.0.101", "end": "10.0.0.254"}]


def test_gateway_at_the_end_leaves_one_pool() -> None:
    assert pools(plan(gateway_ip="10.0.0.254")) == [{"start": "10.0.0.1", "end": "10.0.0.253"}]


def test_no_gateway_gives_the_whole_usable_range() -> None:
    p = plan(gateway_ip=None)
    assert p.gateway_ip is None
    assert pools(p) == [{"start": "10.0.0.1", "end": "10.0.0.254"}]


def test_ipv6_explicit_gateway_one_leaves_the_rest() -> None:
    # Neutron's test_create_subnet_ipv6_gw_values.
    p = plan("2001::/64", 6, gateway_ip="2001::1", ipv6_ra_mode="dhcpv6-stateful",
             ipv6_address_mode="dhcpv6-stateful")
    assert pools(p) == [{"start": "2001::2", "end": "2001::ffff:ffff:ffff:ffff"}]
    last = plan("2001::/64", 6, gateway_ip="2001::ffff:ffff:ffff:ffff")
    assert pools(last) == [{"start": "2001::1", "end": "2001::ffff:ffff:ffff:fffe"}]


def test_gateway_outside_the_subnet_is_allowed_as_on_link() -> None:
    p = plan(gateway_ip="10.9.9.9")
    assert p.gateway_ip == "10.9.9.9"
    assert pools(p) == [{"start": "10.0.0.1", "end": "10.0.0.254"}]


def test_gateway_and_addresses_come_out_canonical() -> None:
    p = plan("2001:db8::/64", 6, gateway_ip="2001:DB8:0::1",
             dns_nameservers=["2001:4860:4860:0:0:0:0:8888"],
             host_routes=[{"destination": "2001:DB8:1::/64", "nexthop": "2001:db8::0:2"}])
    assert p.gateway_ip == "2001:db8::1"
    assert p.dns_nameservers == ("2001:4860:4860::8888",)
    assert p.host_routes_as_dicts() == [{"destination": "2001:db8:1::/64",
                                         "nexthop": "2001:db8::2"}]


def test_huge_subnets_are_planned_without_listing_addresses() -> None:
    p = plan("10.0.0.0/8")
    assert pools(p) == [{"start": "10.0.0.2", "end": "10.255.255.254"}]
    p6 = plan("2001:db8::/32", 6, enable_dhcp=False)
    assert pools(p6) == [{"start": "2001:db8::1",
                          "end": "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"}]


# -- small prefixes: /30, /31, /32 --------------------------------------------------------


def test_slash_30_has_two_usable_addresses() -> None:
    p = plan("192.168.0.0/30")
    assert p.gateway_ip == "192.168.0.1"
    assert pools(p) == [{"start": "192.168.0.2", "end": "192.168.0.2"}]


def test_slash_31_needs_dhcp_off_and_uses_both_addresses() -> None:
    assert refused(cidr="192.168.0.0/31") == (
        400, "InvalidInput", "Invalid input for operation: Subnet has a prefix length that "
        "is incompatible with DHCP service enabled.")
    p = plan("192.168.0.0/31", enable_dhcp=False)
    assert p.gateway_ip == "192.168.0.1"
    assert pools(p) == [{"start": "192.168.0.0", "end": "192.168.0.0"}]
    assert pools(plan("192.168.0.0/31", enable_dhcp=False, gateway_ip=None)) == [
        {"start": "192.168.0.0", "end": "192.168.0.1"}]


def test_slash_32_is_a_one_address_pool() -> None:
    p = plan("192.168.0.5/32", enable_dhcp=False)
    assert p.cidr == "192.168.0.5/32"
    assert pools(p) == [{"start": "192.168.0.5", "end": "192.168.0.5"}]
    # The default gateway is the next address, outside the subnet, as in Neutron.
    assert p.gateway_ip == "192.168.0.6"


def test_ipv6_prefix_length_limits_with_dhcp() -> None:
    assert plan("2001:db8::/126", 6).gateway_ip == "2001:db8::"
    assert refused(cidr="2001:db8::/127", ip_version=6)[1] == "InvalidInput"
    p = plan("2001:db8::4/127", 6, enable_dhcp=False)
    assert pools(p) == [{"start": "2001:db8::5", "end": "2001:db8::5"}]


# -- the CIDR -----------------------------------------------------------------------------


@pytest.mark.parametrize("cidr", ["10.0.0/24", "10.0.0.0/33", "nonsense", "10.0.0.0 /24",
                                  "2001:db8::/129", "010.0.0.0/24", ""])
def test_a_value_that_is_not_a_cidr_is_refused(cidr: str) -> None:
    assert refused(cidr=cidr) == (
        400, "InvalidInput", f"Invalid input for operation: {cidr} is not in a CIDR format.")


def test_cidr_of_the_other_version() -> None:
    assert refused(cidr="10.0.0.0/24", ip_version=6) == (
        400, "InvalidInput",
        "Invalid input for operation: cidr '10.0.0.0/24' does not match the ip_version '6'.")


def test_ip_version_must_be_4_or_6() -> None:
    assert refused(ip_version=5) == (
        400, "HTTPBadRequest", "Invalid input for ip_version. Reason: 5 is not in [4, 6].")


def test_prefix_length_zero_is_refused() -> None:
    assert refused(cidr="0.0.0.0/0", enable_dhcp=False) == (
        400, "InvalidInput", "Invalid input for operation: 0 is not allowed as CIDR prefix "
        "length.")


def test_ipv6_all_zero_subnet_is_refused() -> None:
    assert refused(cidr="::/64", ip_version=6)[2] == (
        "Invalid input for operation: IPv6 subnet '::' is not supported.")


@pytest.mark.parametrize(("cidr", "ip_version", "why"), [
    ("224.0.0.0/24", 4, "Multicast IP subnet is not supported if enable_dhcp is True"),
    ("ff00::/64", 6, "Multicast IP subnet is not supported if enable_dhcp is True"),
    ("127.0.0.0/24", 4, "Loopback IP subnet is not supported if enable_dhcp is True"),
    ("0.0.0.0/24", 4, "First IP '0.0.0.0' of network is not supported if enable_dhcp is "
                      "True"),
])
def test_subnets_dhcp_cannot_serve(cidr: str, ip_version: int, why: str) -> None:
    assert refused(cidr=cidr, ip_version=ip_version) == (
        400, "InvalidInput", f"Invalid input for operation: {why}.")
    assert plan(cidr, ip_version, enable_dhcp=False).cidr == cidr


def test_overlap_with_another_subnet_on_the_network() -> None:
    assert refused(cidr="10.0.0.128/25", existing_cidrs=["10.0.0.0/24"]) == (
        400, "InvalidInput", "Invalid input for operation: Requested subnet with cidr: "
        f"10.0.0.128/25 for network: {NET} overlaps with another subnet.")
    assert refused(cidr="10.0.0.0/16", existing_cidrs=["10.0.5.0/24"])[1] == "InvalidInput"


def test_no_overlap_with_neighbours_or_the_other_version() -> None:
    p = plan("10.0.1.0/24", existing_cidrs=["10.0.0.0/24", "10.0.2.0/24", "2001:db8::/64"])
    assert p.cidr == "10.0.1.0/24"


# -- the gateway --------------------------------------------------------------------------


@pytest.mark.parametrize("gateway", ["10.0.0.0", "10.0.0.255"])
def test_ipv4_gateway_cannot_be_network_or_broadcast(gateway: str) -> None:
    assert refused(gateway_ip=gateway) == (
        400, "InvalidInput", "Invalid input for operation: Gateway is not valid on subnet.")


def test_ipv6_gateway_may_be_the_network_address() -> None:
    assert plan("2001:db8::/64", 6, gateway_ip="2001:db8::").gateway_ip == "2001:db8::"


def test_gateway_of_the_other_version() -> None:
    assert refused(gateway_ip="2001:db8::1") == (
        400, "InvalidInput", "Invalid input for operation: gateway_ip '2001:db8::1' does not "
        "match the ip_version '4'.")


@pytest.mark.parametrize(("gateway", "reason"), [
    ("10.0.0.300", "'10.0.0.300' is not a valid IP address"),
    ("10.0.1", "'10.0.1' is not a valid IP address"),
    ("", "'' is not a valid IP address"),
    ("010.0.0.1", "'010.0.0.1' is not an accepted IP address, '10.0.0.1' is recommended"),
])
def test_gateway_that_is_not_an_address(gateway: str, reason: str) -> None:
    assert refused(gateway_ip=gateway) == (
        400, "HTTPBadRequest", f"Invalid input for gateway_ip. Reason: {reason}.")


# -- allocation pools ---------------------------------------------------------------------


def test_given_pools_are_kept_sorted_and_canonical() -> None:
    p = plan(allocation_pools=[{"start": "10.0.0.200", "end": "10.0.0.210"},
                               {"start": "10.0.0.10", "end": "10.0.0.20"}])
    assert pools(p) == [{"start": "10.0.0.10", "end": "10.0.0.20"},
                        {"start": "10.0.0.200", "end": "10.0.0.210"}]
    assert p.gateway_ip == "10.0.0.1"


def test_pools_given_as_none_mean_the_default() -> None:
    assert pools(plan(allocation_pools=None)) == [{"start": "10.0.0.2", "end": "10.0.0.254"}]


def test_an_empty_pool_list_means_no_pools() -> None:
    assert plan(allocation_pools=[]).allocation_pools == ()


def test_default_gateway_inside_a_given_pool_conflicts() -> None:
    assert refused(allocation_pools=[{"start": "10.0.0.1", "end": "10.0.0.10"}]) == (
        409, "GatewayConflictWithAllocationPools",
        "Gateway ip 10.0.0.1 conflicts with allocation pool 10.0.0.1-10.0.0.10.")


def test_explicit_gateway_inside_a_given_pool_conflicts() -> None:
    status, kind, _ = refused(gateway_ip="10.0.0.50",
                              allocation_pools=[{"start": "10.0.0.20", "end": "10.0.0.90"}])
    assert (status, kind) == (409, "GatewayConflictWithAllocationPools")


def test_no_gateway_lets_a_pool_start_at_the_first_host() -> None:
    p = plan(gateway_ip=None, allocation_pools=[{"start": "10.0.0.1", "end": "10.0.0.10"}])
    assert pools(p) == [{"start": "10.0.0.1", "end": "10.0.0.10"}]


def test_overlapping_pools_conflict() -> None:
    assert refused(allocation_pools=[{"start": "10.0.0.10", "end": "10.0.0.30"},
                                     {"start": "10.0.0.20", "end": "10.0.0.40"}]) == (
        409, "OverlappingAllocationPools",
        "Found overlapping allocation pools: 10.0.0.10-10.0.0.30 10.0.0.20-10.0.0.40 for "
        "subnet 10.0.0.0/24.")


def test_touching_pools_do_not_overlap() -> None:
    p = plan(allocation_pools=[{"start": "10.0.0.10", "end": "10.0.0.19"},
                               {"start": "10.0.0.20", "end": "10.0.0.29"}])
    assert len(p.allocation_pools) == 2


@pytest.mark.parametrize(("start", "end"), [
    ("10.0.0.0", "10.0.0.10"),      # the network address
    ("10.0.0.250", "10.0.0.255"),   # the broadcast address
    ("10.0.1.2", "10.0.1.9"),       # another subnet
])
def test_pool_beyond_the_usable_range(start: str, end: str) -> None:
    assert refused(allocation_pools=[{"start": start, "end": end}]) == (
        400, "OutOfBoundsAllocationPool",
        f"The allocation pool {start}-{end} spans beyond the subnet cidr 10.0.0.0/24.")


def test_ipv6_pool_cannot_hold_the_network_address() -> None:
    status, kind, _ = refused(cidr="2001:db8::/64", ip_version=6, gateway_ip=None,
                              allocation_pools=[{"start": "2001:db8::", "end": "2001:db8::9"}])
    assert (status, kind) == (400, "OutOfBoundsAllocationPool")


def test_pool_ending_before_it_starts() -> None:
    assert refused(allocation_pools=[{"start": "10.0.0.20", "end": "10.0.0.10"}]) == (
        400, "InvalidAllocationPool",
        "The allocation pool {'start': '10.0.0.20', 'end': '10.0.0.10'} is not valid.")


def test_pool_of_the_other_version() -> None:
    assert refused(allocation_pools=[{"start": "2001:db8::5", "end": "2001:db8::9"}]) == (
        400, "InvalidAllocationPool", "The allocation pool 2001:db8::5-2001:db8::9 is not "
        "valid.")


def test_pool_with_bad_keys_or_addresses() -> None:
    status, kind, message = refused(allocation_pools=[{"start": "10.0.0.5"}])
    assert (status, kind) == (400, "HTTPBadRequest")
    assert message.startswith("Invalid input for allocation_pools. Reason: Validation of "
                              "dictionary's keys failed.")
    assert refused(allocation_pools=[{"start": "10.0.0.5", "end": "x"}])[2] == (
        "Invalid input for allocation_pools. Reason: 'x' is not a valid IP address.")


# -- DNS servers and host routes ----------------------------------------------------------


def test_dns_servers_are_kept_in_order() -> None:
    p = plan(dns_nameservers=["8.8.8.8", "1.1.1.1"])
    assert p.dns_nameservers == ("8.8.8.8", "1.1.1.1")


def test_too_many_dns_servers() -> None:
    servers = [f"10.1.0.{i}" for i in range(1, 7)]
    assert refused(dns_nameservers=servers) == (
        400, "DNSNameServersExhausted", "Unable to complete operation for new subnet. The "
        "number of DNS nameservers exceeds the limit 5.")
    assert len(plan(dns_nameservers=servers, max_dns_nameservers=6).dns_nameservers) == 6


def test_duplicate_dns_server() -> None:
    assert refused(dns_nameservers=["8.8.8.8", "8.8.8.8"]) == (
        400, "HTTPBadRequest",
        "Invalid input for dns_nameservers. Reason: Duplicate nameserver '8.8.8.8'.")
    # The same address written twice is the same server.
    assert refused(cidr="2001:db8::/64", ip_version=6,
                   dns_nameservers=["2001:db8::53", "2001:DB8:0::53"])[1] == "HTTPBadRequest"


def test_dns_server_that_is_not_an_address() -> None:
    assert refused(dns_nameservers=["dns.example"]) == (
        400, "HTTPBadRequest", "Invalid input for dns_nameservers. Reason: 'dns.example' is "
        "not a valid nameserver. 'dns.example' is not a valid IP address.")


def test_dns_server_of_the_other_version() -> None:
    assert refused(dns_nameservers=["2001:4860:4860::8888"]) == (
        400, "InvalidInput", "Invalid input for operation: dns_nameserver "
        "'2001:4860:4860::8888' does not match the ip_version '4'.")


def test_host_routes() -> None:
    p = plan(host_routes=[{"destination": "192.168.0.0/16", "nexthop": "10.0.0.9"},
                          {"destination": "0.0.0.0/0", "nexthop": "10.0.0.1"}])
    assert p.host_routes == (ipam.HostRoute("192.168.0.0/16", "10.0.0.9"),
                             ipam.HostRoute("0.0.0.0/0", "10.0.0.1"))


def test_too_many_host_routes() -> None:
    routes = [{"destination": f"192.168.{i}.0/24", "nexthop": "10.0.0.9"} for i in range(21)]
    assert refused(host_routes=routes) == (
        400, "HostRoutesExhausted", "Unable to complete operation for new subnet. The number "
        "of host routes exceeds the limit 20.")
    assert len(plan(host_routes=routes[:20]).host_routes) == 20


def test_host_route_next_hop_of_the_other_version() -> None:
    assert refused(host_routes=[{"destination": "192.168.0.0/16",
                                 "nexthop": "2001:db8::1"}]) == (
        400, "InvalidInput", "Invalid input for operation: nexthop '2001:db8::1' does not "
        "match the ip_version '4'.")


def test_host_route_destination_of_the_other_version() -> None:
    assert refused(host_routes=[{"destination": "2001:db8::/64", "nexthop": "10.0.0.9"}])[2] \
        == ("Invalid input for operation: destination '2001:db8::/64' does not match the "
            "ip_version '4'.")


@pytest.mark.parametrize(("route", "reason"), [
    ({"destination": "192.168.1.1/16", "nexthop": "10.0.0.9"},
     "'192.168.1.1/16' is not a valid CIDR"),
    ({"destination": "192.168.0.0", "nexthop": "10.0.0.9"}, "'192.168.0.0' is not a valid CIDR"),
    ({"destination": "127.0.0.0/8", "nexthop": "10.0.0.9"},
     "'127.0.0.0/8' is not a routable CIDR"),
    ({"destination": "192.168.0.0/16", "nexthop": "ten"}, "'ten' is not a valid IP address"),
])
def test_malformed_host_route(route: dict[str, str], reason: str) -> None:
    assert refused(host_routes=[route]) == (
        400, "HTTPBadRequest", f"Invalid input for host_routes. Reason: {reason}.")


def test_duplicate_host_route() -> None:
    route = {"destination": "192.168.0.0/16", "nexthop": "10.0.0.9"}
    status, kind, message = refused(host_routes=[route, dict(route)])
    assert (status, kind) == (400, "HTTPBadRequest")
    assert "Duplicate hostroute" in message


# -- IPv6 modes ---------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["slaac", "dhcpv6-stateless", "dhcpv6-stateful"])
def test_ipv6_modes_are_kept(mode: str) -> None:
    p = plan("2001:db8::/64", 6, ipv6_ra_mode=mode, ipv6_address_mode=mode)
    assert (p.ipv6_ra_mode, p.ipv6_address_mode) == (mode, mode)
    assert p.is_auto_address is (mode != "dhcpv6-stateful")


def test_ipv6_modes_on_an_ipv4_subnet() -> None:
    assert refused(ipv6_ra_mode="slaac") == (
        400, "InvalidInput",
        "Invalid input for operation: ipv6_ra_mode is not valid when ip_version is 4.")
    assert refused(ipv6_address_mode="slaac")[2] == (
        "Invalid input for operation: ipv6_address_mode is not valid when ip_version is 4.")


def test_different_ra_and_address_modes() -> None:
    assert refused(cidr="2001:db8::/64", ip_version=6, ipv6_ra_mode="slaac",
                   ipv6_address_mode="dhcpv6-stateful") == (
        400, "InvalidInput", "Invalid input for operation: ipv6_ra_mode set to 'slaac' with "
        "ipv6_address_mode set to 'dhcpv6-stateful' is not valid. If both attributes are set, "
        "they must be the same value.")


def test_one_mode_alone_is_enough() -> None:
    p = plan("2001:db8::/64", 6, ipv6_address_mode="slaac")
    assert p.is_auto_address and p.ipv6_ra_mode is None


def test_ipv6_modes_need_dhcp() -> None:
    assert refused(cidr="2001:db8::/64", ip_version=6, enable_dhcp=False,
                   ipv6_address_mode="slaac")[2] == (
        "Invalid input for operation: ipv6_ra_mode or ipv6_address_mode cannot be set when "
        "enable_dhcp is set to False.")


def test_auto_address_subnet_must_be_a_slash_64() -> None:
    assert refused(cidr="2001:db8::/80", ip_version=6, ipv6_ra_mode="slaac") == (
        400, "InvalidInput", "Invalid input for operation: Invalid CIDR 2001:db8::/80 for "
        "IPv6 address mode. OpenStack uses the EUI-64 address format, which requires the "
        "prefix to be /64.")
    p = plan("2001:db8::/80", 6, ipv6_ra_mode="dhcpv6-stateful",
             ipv6_address_mode="dhcpv6-stateful")
    assert p.cidr == "2001:db8::/80"


def test_unknown_ipv6_mode() -> None:
    status, kind, message = refused(cidr="2001:db8::/64", ip_version=6, ipv6_ra_mode="magic")
    assert (status, kind) == (400, "HTTPBadRequest")
    assert message.startswith("Invalid input for ipv6_ra_mode. Reason: magic is not in")


# -- the order of checks ------------------------------------------------------------------


def test_format_errors_come_before_rules() -> None:
    # A bad DNS server is reported even though the gateway conflicts with a pool.
    kind = refused(allocation_pools=[{"start": "10.0.0.1", "end": "10.0.0.9"}],
                   dns_nameservers=["x"])[1]
    assert kind == "HTTPBadRequest"


def test_overlap_is_checked_last() -> None:
    kind = refused(existing_cidrs=["10.0.0.0/24"],
                   allocation_pools=[{"start": "10.0.0.1", "end": "10.0.0.9"}])[1]
    assert kind == "GatewayConflictWithAllocationPools"


# -- updates ------------------------------------------------------------------------------


def update(current: ipam.SubnetPlan, **kwargs: Any) -> ipam.SubnetPlan:
    return ipam.plan_subnet_update(current, subnet_id="sub-1", **kwargs)


def update_refused(current: ipam.SubnetPlan, **kwargs: Any) -> tuple[int, str, str]:
    with pytest.raises(OwnstackError) as caught:
        update(current, **kwargs)
    return neutron_error(caught.value)


def test_update_keeps_what_is_not_given() -> None:
    current = plan(dns_nameservers=["8.8.8.8"])
    assert update(current) == current


def test_update_gateway_keeps_pools_and_checks_them() -> None:
    current = plan()
    # Neutron does not regenerate the pools for a new gateway, so a gateway moved into the
    # default pool conflicts with it ...
    assert update_refused(current, gateway_ip="10.0.0.100") == (
        409, "GatewayConflictWithAllocationPools",
        "Gateway ip 10.0.0.100 conflicts with allocation pool 10.0.0.2-10.0.0.254.")
    # ... unless the same update gives pools that leave it out.
    moved = update(current, gateway_ip="10.0.0.100",
                   allocation_pools=[{"start": "10.0.0.1", "end": "10.0.0.99"}])
    assert moved.gateway_ip == "10.0.0.100"
    assert pools(moved) == [{"start": "10.0.0.1", "end": "10.0.0.99"}]


def test_update_gateway_outside_the_pools() -> None:
    current = plan(allocation_pools=[{"start": "10.0.0.10", "end": "10.0.0.20"}])
    assert update(current, gateway_ip="10.0.0.254").gateway_ip == "10.0.0.254"


def test_update_remove_gateway() -> None:
    assert update(plan(), gateway_ip=None).gateway_ip is None


def test_update_pools_are_validated_against_the_gateway() -> None:
    current = plan()
    assert update_refused(current, allocation_pools=[
        {"start": "10.0.0.1", "end": "10.0.0.50"}])[1] == "GatewayConflictWithAllocationPools"
    changed = update(current, allocation_pools=[{"start": "10.0.0.100", "end": "10.0.0.150"}])
    assert pools(changed) == [{"start": "10.0.0.100", "end": "10.0.0.150"}]


def test_update_dns_limit_names_the_subnet() -> None:
    servers = [f"10.1.0.{i}" for i in range(1, 7)]
    assert update_refused(plan(), dns_nameservers=servers) == (
        400, "DNSNameServersExhausted", "Unable to complete operation for sub-1. The number "
        "of DNS nameservers exceeds the limit 5.")


def test_update_host_routes() -> None:
    changed = update(plan(), host_routes=[{"destination": "10.9.0.0/16", "nexthop": "10.0.0.9"}])
    assert changed.host_routes == (ipam.HostRoute("10.9.0.0/16", "10.0.0.9"),)
    assert update_refused(plan(), host_routes=[{"destination": "10.9.0.0/16",
                                                "nexthop": "2001::1"}])[1] == "InvalidInput"


def test_update_turning_dhcp_on_checks_the_prefix() -> None:
    current = plan("192.168.0.0/31", enable_dhcp=False)
    assert update_refused(current, enable_dhcp=True)[1] == "InvalidInput"
    # A subnet that had DHCP keeps it whatever else changes.
    assert update(plan(), enable_dhcp=True).enable_dhcp is True


def test_update_cannot_turn_dhcp_off_with_ipv6_modes() -> None:
    current = plan("2001:db8::/64", 6, ipv6_ra_mode="slaac", ipv6_address_mode="slaac")
    assert update_refused(current, enable_dhcp=False) == (
        400, "InvalidInput", "Invalid input for operation: Cannot disable enable_dhcp with "
        "ipv6 attributes set.")
    assert update(plan("2001:db8::/64", 6), enable_dhcp=False).enable_dhcp is False
