"""What a port gets from IPAM: its MAC, its SLAAC address, the check of a fixed IP it asks
for, free addresses to try, and its allowed address pairs."""

from __future__ import annotations

import ipaddress
import random
import time
from typing import Any

import pytest

from ownstack.common.errors import OwnstackError
from ownstack.network import ipam
from ownstack.network.errors import format_error

SUBNET = "9d3b1c5e-0000-4000-8000-000000000002"


def neutron_error(exc: OwnstackError) -> tuple[int, str, str]:
    body, _ = format_error(exc, "req-1")
    return exc.status, body["NeutronError"]["type"], body["NeutronError"]["message"]


def pools_of(cidr: str, **kwargs: Any) -> tuple[ipam.AddressRange, ...]:
    version = ipaddress.ip_network(cidr, strict=False).version
    return ipam.plan_subnet(cidr=cidr, ip_version=version, network_id="net",
                            **kwargs).allocation_pools


# -- EUI-64 -------------------------------------------------------------------------------


@pytest.mark.parametrize(("prefix", "mac", "expected"), [
    ("2001:db8::/64", "00:16:3e:33:44:55", "2001:db8::216:3eff:fe33:4455"),
    ("2001:db8::/64", "fa:16:3e:00:00:01", "2001:db8::f816:3eff:fe00:1"),
    # The universal/local bit flips both ways.
    ("fe80::/64", "02:00:00:00:00:00", "fe80::ff:fe00:0"),
    ("2001:db8:1:2::/64", "00-16-3E-33-44-55", "2001:db8:1:2:216:3eff:fe33:4455"),
    # Host bits of the prefix are ignored; a shorter prefix is allowed.
    ("2001:db8::99/64", "00:16:3e:33:44:55", "2001:db8::216:3eff:fe33:4455"),
    ("2001:db8::/48", "00:16:3e:33:44:55", "2001:db8::216:3eff:fe33:4455"),
])
def test_eui64_known_vectors(prefix: str, mac: str, expected: str) -> None:
    assert ipam.eui64_address(prefix, mac) == ipaddress.IPv6Address(expected)


@pytest.mark.parametrize(("prefix", "mac"), [
    ("10.0.0.0/24", "00:16:3e:33:44:55"),
    ("2001:db8::/80", "00:16:3e:33:44:55"),
    ("2001:db8::/64", "not-a-mac"),
])
def test_eui64_refuses_what_cannot_make_one(prefix: str, mac: str) -> None:
    with pytest.raises(ValueError):
        ipam.eui64_address(prefix, mac)


@pytest.mark.parametrize(("ra", "address", "auto"), [
    ("slaac", "slaac", True),
    (None, "slaac", True),
    ("slaac", None, True),
    ("dhcpv6-stateless", "dhcpv6-stateless", True),
    (None, "dhcpv6-stateless", True),
    ("dhcpv6-stateful", "dhcpv6-stateful", False),
    (None, None, False),
])
def test_auto_address_subnets(ra: str | None, address: str | None, auto: bool) -> None:
    assert ipam.is_auto_address_subnet(ra, address) is auto


# -- MAC addresses ------------------------------------------------------------------------


@pytest.mark.parametrize("given", ["FA:16:3E:0A:0B:0C", "fa-16-3e-0a-0b-0c", "fa:16:3e:a:b:c",
                                   "fa16.3e0a.0b0c", "fa163e:0a0b0c", "FA163E0A0B0C"])
def test_mac_forms_are_normalised(given: str) -> None:
    assert ipam.normalise_mac(given) == "fa:16:3e:0a:0b:0c"


@pytest.mark.parametrize("given", ["00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff", "fa:16:3e:0a:0b",
                                   "fa:16:3e:0a:0b:0c:0d", "fa:16-3e:0a:0b:0c", "zz:16:3e:0a:0b:0c",
                                   " fa:16:3e:0a:0b:0c", "", "fa:16:3e:0a:0b:100"])
def test_invalid_macs_are_refused(given: str) -> None:
    with pytest.raises(OwnstackError) as caught:
        ipam.normalise_mac(given)
    assert neutron_error(caught.value) == (
        400, "HTTPBadRequest",
        f"Invalid input for mac_address. Reason: '{given}' is not a valid MAC address.")


def test_multicast_mac_is_refused_for_a_port_unless_allowed() -> None:
    with pytest.raises(OwnstackError) as caught:
        ipam.normalise_mac("01:00:5e:00:00:01")
    assert neutron_error(caught.value) == (
        400, "HTTPBadRequest",
        "MAC address 01:00:5e:00:00:01 is a multicast address, which is not supported.")
    assert ipam.normalise_mac("01:00:5E:00:00:01", allow_multicast=True) == "01:00:5e:00:00:01"


def test_random_mac_keeps_the_prefix_and_varies() -> None:
    macs = {ipam.random_mac() for _ in range(200)}
    assert len(macs) > 190
    for mac in macs:
        assert mac.startswith("fa:16:3e:")
        assert ipam.normalise_mac(mac) == mac


def test_random_mac_with_other_prefixes() -> None:
    rng = random.Random(7)
    assert ipam.random_mac("fa:16:3e:4f", rng=rng).startswith("fa:16:3e:4f:")
    assert len(ipam.random_mac("02", rng=rng)) == 17


@pytest.mark.parametrize("prefix", ["01:00:5e", "fa:16:3e:00:00:00", "fa:16:3", "", "fa;16"])
def test_random_mac_refuses_bad_prefixes(prefix: str) -> None:
    with pytest.raises(ValueError):
        ipam.random_mac(prefix)


# -- a requested fixed IP -----------------------------------------------------------------


def check(cidr: str, address: str, **kwargs: Any) -> ipam.IPAddress:
    return ipam.check_requested_address(cidr, address, subnet_id=SUBNET, **kwargs)


def check_refused(cidr: str, address: str, **kwargs: Any) -> tuple[int, str, str]:
    with pytest.raises(OwnstackError) as caught:
        check(cidr, address, **kwargs)
    return neutron_error(caught.value)


def test_an_address_inside_the_subnet_is_accepted_even_outside_the_pools() -> None:
    assert check("10.0.0.0/24", "10.0.0.5") == ipaddress.IPv4Address("10.0.0.5")
    # The gateway's address is the subnet's too: a router interface takes it.
    assert check("10.0.0.0/24", "10.0.0.1") == ipaddress.IPv4Address("10.0.0.1")


@pytest.mark.parametrize("address", ["10.0.1.5", "10.0.0.0", "10.0.0.255", "2001:db8::5"])
def test_an_address_the_subnet_cannot_hold(address: str) -> None:
    assert check_refused("10.0.0.0/24", address) == (
        400, "InvalidIpForSubnet",
        f"IP address {address} is not a valid IP for the specified subnet.")


def test_a_value_that_is_not_an_address() -> None:
    assert check_refused("10.0.0.0/24", "10.0.0.x") == (
        400, "HTTPBadRequest",
        "Invalid input for fixed_ips. Reason: '10.0.0.x' is not a valid IP address.")


def test_slash_31_and_slash_32_fixed_ips_as_neutron() -> None:
    # Neutron's check_subnet_ip: a /31 has no broadcast address, but its first address is
    # still "the network address"; a /32's only address is too.
    assert check("192.168.0.0/31", "192.168.0.1") == ipaddress.IPv4Address("192.168.0.1")
    assert check_refused("192.168.0.0/31", "192.168.0.0")[1] == "InvalidIpForSubnet"
    assert check_refused("192.168.0.5/32", "192.168.0.5")[1] == "InvalidIpForSubnet"
    assert check("192.168.0.0/30", "192.168.0.2") == ipaddress.IPv4Address("192.168.0.2")
    assert check_refused("192.168.0.0/30", "192.168.0.3")[1] == "InvalidIpForSubnet"


def test_ipv6_network_address_only_for_router_ports_or_unknown_owners() -> None:
    assert check("2001:db8::/64", "2001:db8::", device_owner="network:router_gateway")
    assert check("2001:db8::/64", "2001:db8::")
    assert check_refused("2001:db8::/64", "2001:db8::",
                         device_owner="compute:nova")[1] == "InvalidIpForSubnet"
    assert check("2001:db8::/64", "2001:DB8::ffff", device_owner="compute:nova") == \
        ipaddress.IPv6Address("2001:db8::ffff")


def test_auto_address_subnet_refuses_a_chosen_address() -> None:
    assert check_refused("2001:db8::/64", "2001:db8::5", device_owner="compute:nova",
                         mac_address="00:16:3e:33:44:55", ipv6_ra_mode="slaac",
                         ipv6_address_mode="slaac") == (
        400, "AllocationOnAutoAddressSubnet",
        f"IPv6 address 2001:db8::5 cannot be directly assigned to a port on subnet {SUBNET} "
        "as the subnet is configured for automatic addresses")


def test_auto_address_subnet_accepts_the_ports_own_eui64_address() -> None:
    own = check("2001:db8::/64", "2001:db8::216:3eff:fe33:4455", device_owner="compute:nova",
                mac_address="00:16:3e:33:44:55", ipv6_address_mode="dhcpv6-stateless")
    assert own == ipaddress.IPv6Address("2001:db8::216:3eff:fe33:4455")
    assert check_refused("2001:db8::/64", "2001:db8::216:3eff:fe33:4455",
                         ipv6_address_mode="slaac")[1] == "AllocationOnAutoAddressSubnet"


def test_auto_address_subnet_lets_router_interfaces_choose() -> None:
    assert check("2001:db8::/64", "2001:db8::1", device_owner="network:router_interface",
                 ipv6_ra_mode="slaac", ipv6_address_mode="slaac")


def test_stateful_ipv6_subnet_takes_a_chosen_address() -> None:
    assert check("2001:db8::/64", "2001:db8::5", ipv6_ra_mode="dhcpv6-stateful",
                 ipv6_address_mode="dhcpv6-stateful")


def test_subnet_for_an_address_given_without_a_subnet() -> None:
    subnets = [("v4", "10.0.0.0/24"), ("v6", "2001:db8::/64"), ("v4b", "10.0.1.0/24")]
    assert ipam.subnet_for_address(subnets, "10.0.1.7") == "v4b"
    assert ipam.subnet_for_address(subnets, "2001:db8::7") == "v6"
    with pytest.raises(OwnstackError) as caught:
        ipam.subnet_for_address(subnets, "10.0.0.255")
    assert neutron_error(caught.value) == (
        400, "InvalidIpForNetwork", "IP address 10.0.0.255 is not a valid IP for any of the "
        "subnets on the specified network.")


# -- free addresses -----------------------------------------------------------------------


def test_candidates_are_free_distinct_and_in_the_pools() -> None:
    pools = pools_of("10.0.0.0/24")
    used = {"10.0.0.2", "10.0.0.3", "10.0.0.200"}
    got = list(ipam.candidates(pools, used, limit=50))
    assert len(got) == len(set(got)) == 50
    for address in got:
        assert str(address) not in used
        assert any(address in pool for pool in pools)


def test_candidates_are_random_not_the_first_free() -> None:
    pools = pools_of("10.0.0.0/24")
    firsts = {next(ipam.candidates(pools, set(), limit=1)) for _ in range(30)}
    assert len(firsts) > 5


def test_candidates_in_a_nearly_full_slash_26() -> None:
    pools = pools_of("10.0.0.0/26")  # 10.0.0.2 - 10.0.0.62: 61 addresses
    free = {"10.0.0.17", "10.0.0.40", "10.0.0.62"}
    used = {f"10.0.0.{i}" for i in range(2, 63)} - free
    assert ipam.available_count(pools, used) == 3
    got = list(ipam.candidates(pools, used, limit=10))
    assert sorted(str(a) for a in got) == sorted(free)


def test_candidates_of_a_full_pool_are_none() -> None:
    pools = pools_of("10.0.0.0/29")
    used = [f"10.0.0.{i}" for i in range(2, 7)]
    assert ipam.available_count(pools, used) == 0
    assert list(ipam.candidates(pools, used, limit=5)) == []
    assert list(ipam.candidates((), [], limit=5)) == []


def test_candidates_in_a_slash_8_with_few_used_are_cheap() -> None:
    pools = pools_of("10.0.0.0/8")
    used = {f"10.0.0.{i}" for i in range(2, 200)}
    started = time.perf_counter()
    got = list(ipam.candidates(pools, used, limit=20))
    assert time.perf_counter() - started < 0.5
    assert len(set(got)) == 20
    assert not {str(a) for a in got} & used
    assert ipam.available_count(pools, used) == 2**24 - 3 - len(used)


def test_candidates_in_a_slash_64() -> None:
    pools = pools_of("2001:db8::/64")
    got = list(ipam.candidates(pools, ["2001:db8::1"], limit=5))
    assert len(set(got)) == 5
    assert all(a in pools[0] and a != ipaddress.IPv6Address("2001:db8::1") for a in got)
    assert ipam.available_count(pools, ["2001:db8::1"]) == 2**64 - 2


def test_candidates_span_every_pool() -> None:
    pools = pools_of("10.0.0.0/24", allocation_pools=[
        {"start": "10.0.0.10", "end": "10.0.0.11"}, {"start": "10.0.0.100", "end": "10.0.0.101"}])
    got = {str(a) for a in ipam.candidates(pools, [], limit=10)}
    assert got == {"10.0.0.10", "10.0.0.11", "10.0.0.100", "10.0.0.101"}


def test_sparse_sampling_gives_everything_free_when_asked_for_more() -> None:
    # 8192 addresses, a third used: the sampling path, then the walk for the last ones.
    pools = (ipam.AddressRange.of("10.0.0.0", "10.0.31.255"),)
    used = {str(ipaddress.IPv4Address(int(ipaddress.IPv4Address("10.0.0.0")) + i))
            for i in range(0, 8192, 3)}
    got = list(ipam.candidates(pools, used, limit=10_000, rng=random.Random(1)))
    assert len(got) == len(set(got)) == 8192 - len(used)
    assert not {str(a) for a in got} & used


def test_sequential_candidates_take_the_lowest_free() -> None:
    pools = pools_of("10.0.0.0/24")
    got = list(ipam.candidates(pools, {"10.0.0.2", "10.0.0.4"}, limit=3, sequential=True))
    assert [str(a) for a in got] == ["10.0.0.3", "10.0.0.5", "10.0.0.6"]


def test_used_addresses_outside_the_pools_or_of_the_other_version_do_not_count() -> None:
    pools = pools_of("10.0.0.0/29")  # 10.0.0.2 - 10.0.0.6
    used = ["10.0.0.1", "10.0.0.7", "10.9.9.9", "2001:db8::1", ipaddress.IPv4Address("10.0.0.3")]
    assert ipam.available_count(pools, used) == 4


# -- allowed address pairs ----------------------------------------------------------------


def pairs_refused(pairs: list[Any], **kwargs: Any) -> tuple[int, str, str]:
    with pytest.raises(OwnstackError) as caught:
        ipam.validate_allowed_address_pairs(pairs, **kwargs)
    return neutron_error(caught.value)


def test_pairs_are_normalised_and_take_the_port_mac() -> None:
    got = ipam.validate_allowed_address_pairs(
        [{"ip_address": "10.0.0.5"},
         {"ip_address": "10.0.0.0/24", "mac_address": "FA-16-3E-00-00-02"},
         {"ip_address": "2001:DB8::0:5"}],
        port_mac="fa:16:3e:00:00:01")
    assert [pair.as_dict() for pair in got] == [
        {"ip_address": "10.0.0.5", "mac_address": "fa:16:3e:00:00:01"},
        {"ip_address": "10.0.0.0/24", "mac_address": "fa:16:3e:00:00:02"},
        {"ip_address": "2001:db8::5", "mac_address": "fa:16:3e:00:00:01"},
    ]


def test_pair_cidr_keeps_its_host_bits_and_any_is_allowed() -> None:
    got = ipam.validate_allowed_address_pairs([{"ip_address": "10.0.0.5/24"},
                                               {"ip_address": "0.0.0.0/0"}])
    assert [pair.as_dict() for pair in got] == [{"ip_address": "10.0.0.5/24"},
                                                {"ip_address": "0.0.0.0/0"}]


def test_duplicate_pairs() -> None:
    assert pairs_refused([{"ip_address": "10.0.0.5"}, {"ip_address": "10.0.0.5"}]) == (
        400, "DuplicateAddressPairInRequest",
        "Request contains duplicate address pair: mac_address None ip_address 10.0.0.5.")
    # The same IP with two MACs is two pairs.
    got = ipam.validate_allowed_address_pairs([
        {"ip_address": "10.0.0.5", "mac_address": "fa:16:3e:00:00:01"},
        {"ip_address": "10.0.0.5", "mac_address": "fa:16:3e:00:00:02"}])
    assert len(got) == 2


def test_too_many_pairs() -> None:
    pairs = [{"ip_address": f"10.0.0.{i}"} for i in range(11)]
    assert pairs_refused(pairs) == (
        400, "AllowedAddressPairExhausted",
        "The number of allowed address pair exceeds the maximum 10.")
    assert len(ipam.validate_allowed_address_pairs(pairs, max_pairs=11)) == 11


def test_pair_without_an_address() -> None:
    assert pairs_refused([{"mac_address": "fa:16:3e:00:00:01"}]) == (
        400, "AllowedAddressPairsMissingIP", "AllowedAddressPair must contain ip_address")


@pytest.mark.parametrize(("pair", "message"), [
    ({"ip_address": "10.0.0.300"}, "'10.0.0.300' is not a valid IP address"),
    ({"ip_address": "10.0.0.0/33"}, "'10.0.0.0/33' is not a valid IP subnet"),
    ({"ip_address": "224.0.0.5"}, "IP 224.0.0.5 is a multicast address, which is not supported."),
    ({"ip_address": "224.0.0.0/24"}, "Subnet 224.0.0.0/24 overlaps with multicast range "
                                     "224.0.0.0/4, which is not supported."),
    ({"ip_address": "::/0"}, "Subnet ::/0 overlaps with multicast range ff00::/8, which is not "
                             "supported."),
    ({"ip_address": "10.0.0.5", "mac_address": "00:00:00:00:00:00"},
     "'00:00:00:00:00:00' is not a valid MAC address"),
    ({"ip_address": "10.0.0.5", "mac_address": "01:00:5e:00:00:01"},
     "MAC address 01:00:5e:00:00:01 is a multicast address, which is not supported."),
    ({"ip_address": "10.0.0.5", "color": "red"}, "Unrecognized attribute(s) 'color'"),
])
def test_bad_pairs(pair: dict[str, str], message: str) -> None:
    assert pairs_refused([pair]) == (400, "HTTPBadRequest", message)


def test_pair_that_is_not_a_dict() -> None:
    assert pairs_refused(["10.0.0.5"])[:2] == (400, "HTTPBadRequest")


# -- errors for the allocating caller -----------------------------------------------------


def test_allocation_errors_carry_neutrons_types() -> None:
    assert neutron_error(ipam.address_in_use("net-1", "10.0.0.5")) == (
        409, "IpAddressInUse",
        "Unable to complete operation for network net-1. The IP address 10.0.0.5 is in use.")
    assert neutron_error(ipam.mac_address_in_use("net-1", "fa:16:3e:00:00:01")) == (
        409, "MacAddressInUse", "Unable to complete operation for network net-1. The mac "
        "address fa:16:3e:00:00:01 is in use.")
    assert neutron_error(ipam.no_more_addresses("net-1")) == (
        409, "IpAddressGenerationFailure", "No more IP addresses available on network net-1.")
