"""What dnsmasq is told for a DhcpSpec: its command line, hosts file and options file."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from ownstack.network.drivers.base import (
    DhcpHost,
    DhcpSpec,
    DhcpSubnet,
    FixedIp,
    HostRoute,
    NetworkSpec,
)
from ownstack.network.drivers.linux.dhcp import (
    dnsmasq_argv,
    hosts_file,
    interface_addresses,
    opts_file,
    spec_from_json,
    spec_to_json,
)

NET = "7c2e4a10-1111-4222-8333-444455556666"
PORT = "d4c3b2a1-aaaa-4bbb-8ccc-dddddddddddd"
V4 = DhcpSubnet("sub4", "10.0.0.0/24", 4, gateway_ip="10.0.0.1",
                dns_nameservers=("10.0.0.53", "10.0.0.54"), has_router=True)
STATE = Path("/state/dhcp") / NET


def spec(*subnets: DhcpSubnet, fixed: tuple[FixedIp, ...] = (FixedIp("sub4", "10.0.0.2"),),
         hosts: tuple[DhcpHost, ...] = ()) -> DhcpSpec:
    return DhcpSpec(NetworkSpec(NET, "vxlan", 5, mtu=1450), PORT, "fa:16:3e:00:00:02",
                    fixed, subnets or (V4,), hosts)


def test_ipv4_command_line_serves_static_leases_on_its_interface_only() -> None:
    argv = dnsmasq_argv(spec(), STATE)

    assert argv[0] == "dnsmasq"
    for flag in ("--no-hosts", "--no-resolv", "--bind-interfaces",
                 "--interface=ns-d4c3b2a1-aa", "--except-interface=lo",
                 f"--pid-file={STATE}/pid", f"--dhcp-hostsfile={STATE}/host",
                 f"--dhcp-optsfile={STATE}/opts", f"--dhcp-leasefile={STATE}/leases",
                 "--dhcp-range=set:subnet-sub4,10.0.0.0,static,255.255.255.0,86400s",
                 "--dhcp-lease-max=256", "--conf-file=/dev/null"):
        assert flag in argv
    assert "--enable-ra" not in argv


def test_a_subnet_without_dhcp_gets_no_range_and_no_entries() -> None:
    off = replace(V4, enable_dhcp=False)
    host = DhcpHost("p1", "fa:16:3e:00:00:05", (FixedIp("sub4", "10.0.0.5"),), "h")

    argv = dnsmasq_argv(spec(off, hosts=(host,)), STATE)

    assert not [a for a in argv if a.startswith("--dhcp-range")]
    assert hosts_file(spec(off, hosts=(host,))) == ""


def test_hosts_file_has_one_static_entry_per_address() -> None:
    v6 = DhcpSubnet("sub6", "2001:db8::/64", 6, ipv6_ra_mode="dhcpv6-stateful",
                    ipv6_address_mode="dhcpv6-stateful")
    host = DhcpHost("p1", "fa:16:3e:00:00:05",
                    (FixedIp("sub4", "10.0.0.5"), FixedIp("sub6", "2001:db8::5")),
                    "host-10-0-0-5")

    text = hosts_file(spec(V4, v6, hosts=(host,)))

    assert text == ("fa:16:3e:00:00:05,host-10-0-0-5,10.0.0.5\n"
                    "fa:16:3e:00:00:05,host-10-0-0-5,[2001:db8::5]\n")


def test_options_with_a_router_give_router_dns_and_mtu() -> None:
    assert opts_file(spec()) == (
        "tag:subnet-sub4,option:router,10.0.0.1\n"
        "tag:subnet-sub4,option:dns-server,10.0.0.53,10.0.0.54\n"
        "tag:subnet-sub4,option:mtu,1450\n")


def test_a_subnet_without_a_router_gets_the_metadata_route_via_the_dhcp_port() -> None:
    isolated = replace(V4, has_router=False, dns_nameservers=())
    s = spec(isolated)

    routes = "169.254.169.254/32,10.0.0.2,0.0.0.0/0,10.0.0.1"
    assert opts_file(s) == (
        f"tag:subnet-sub4,option:classless-static-route,{routes}\n"
        f"tag:subnet-sub4,249,{routes}\n"
        "tag:subnet-sub4,option:router,10.0.0.1\n"
        "tag:subnet-sub4,option:mtu,1450\n")
    assert interface_addresses(s) == ["10.0.0.2/24", "169.254.169.254/32"]
    assert interface_addresses(spec()) == ["10.0.0.2/24"]


def test_host_routes_other_subnets_and_a_default_route_from_host_routes() -> None:
    routed = replace(V4, gateway_ip=None, dns_nameservers=(), host_routes=(
        HostRoute("192.168.50.0/24", "10.0.0.9"), HostRoute("0.0.0.0/0", "10.0.0.254")))
    other = DhcpSubnet("sub5", "10.5.0.0/24", 4, gateway_ip=None, has_router=True)

    text = opts_file(spec(routed, other, fixed=(FixedIp("sub4", "10.0.0.2"),
                                                FixedIp("sub5", "10.5.0.2"))))

    routes = "192.168.50.0/24,10.0.0.9,10.5.0.0/24,0.0.0.0,0.0.0.0/0,10.0.0.254"
    assert f"tag:subnet-sub4,option:classless-static-route,{routes}\n" in text
    assert "tag:subnet-sub4,option:router,10.0.0.254\n" in text
    # No gateway at all: an empty router option, or dnsmasq would offer itself.
    assert "tag:subnet-sub5,option:router\n" in text
    assert "tag:subnet-sub5,option:classless-static-route,10.0.0.0/24,0.0.0.0\n" in text


def test_ipv6_slaac_is_router_advertisements_only() -> None:
    slaac = DhcpSubnet("sub6", "2001:db8::/64", 6, ipv6_ra_mode="slaac",
                       ipv6_address_mode="slaac", dns_nameservers=("2001:db8::53",))
    host = DhcpHost("p1", "fa:16:3e:00:00:05", (FixedIp("sub6", "2001:db8::5"),), "h")
    s = spec(slaac, fixed=(FixedIp("sub6", "2001:db8::2"),), hosts=(host,))

    argv = dnsmasq_argv(s, STATE)

    assert "--dhcp-range=set:subnet-sub6,2001:db8::,ra-only,64,86400s" in argv
    assert "--enable-ra" in argv
    assert "--ra-param=ns-d4c3b2a1-aa,mtu:1450,0,0" in argv
    assert hosts_file(s) == ""
    assert opts_file(s) == "tag:subnet-sub6,option6:dns-server,[2001:db8::53]\n"


def test_ipv6_stateless_and_stateful_and_slaac_from_another_router() -> None:
    stateless = DhcpSubnet("a", "2001:db8:a::/64", 6, ipv6_ra_mode="dhcpv6-stateless",
                           ipv6_address_mode="dhcpv6-stateless")
    stateful = DhcpSubnet("b", "2001:db8:b::/64", 6, ipv6_ra_mode="dhcpv6-stateful",
                          ipv6_address_mode="dhcpv6-stateful")
    elsewhere = DhcpSubnet("c", "2001:db8:c::/64", 6, ipv6_address_mode="slaac")
    too_long = DhcpSubnet("d", "2001:db8:d::/80", 6, ipv6_ra_mode="slaac",
                          ipv6_address_mode="slaac")

    ranges = [a for a in dnsmasq_argv(spec(stateless, stateful, elsewhere, too_long), STATE)
              if a.startswith("--dhcp-range")]

    assert ranges == ["--dhcp-range=set:subnet-a,2001:db8:a::,ra-stateless,64,86400s",
                      "--dhcp-range=set:subnet-b,2001:db8:b::,static,64,86400s"]


def test_a_router_advertises_instead_of_dnsmasq_which_answers_dhcpv6_only() -> None:
    """Neutron's split: the router's radvd sends the RAs of a subnet it is on; dnsmasq
    serves DHCPv6 for the stateful and stateless ones and nothing for SLAAC."""
    slaac = DhcpSubnet("a", "2001:db8:a::/64", 6, ipv6_ra_mode="slaac",
                       ipv6_address_mode="slaac", has_router=True)
    stateless = DhcpSubnet("b", "2001:db8:b::/64", 6, ipv6_ra_mode="dhcpv6-stateless",
                           ipv6_address_mode="dhcpv6-stateless", has_router=True)
    stateful = DhcpSubnet("c", "2001:db8:c::/64", 6, ipv6_ra_mode="dhcpv6-stateful",
                          ipv6_address_mode="dhcpv6-stateful", has_router=True)

    argv = dnsmasq_argv(spec(slaac, stateless, stateful), STATE)

    assert [a for a in argv if a.startswith("--dhcp-range")] == [
        "--dhcp-range=set:subnet-b,2001:db8:b::,static,64,86400s",
        "--dhcp-range=set:subnet-c,2001:db8:c::,static,64,86400s"]
    assert "--enable-ra" not in argv
    assert not [a for a in argv if a.startswith("--ra-param")]
    # One subnet without a router on the same network: dnsmasq advertises that one only.
    isolated = DhcpSubnet("d", "2001:db8:d::/64", 6, ipv6_ra_mode="slaac",
                          ipv6_address_mode="slaac")
    argv = dnsmasq_argv(spec(slaac, isolated), STATE)
    assert [a for a in argv if a.startswith("--dhcp-range")] == [
        "--dhcp-range=set:subnet-d,2001:db8:d::,ra-only,64,86400s"]
    assert "--enable-ra" in argv


def test_the_spec_survives_its_file() -> None:
    s = spec(replace(V4, host_routes=(HostRoute("10.9.0.0/16", "10.0.0.9"),),
                     allocation_pools=(("10.0.0.2", "10.0.0.254"),)),
             hosts=(DhcpHost("p1", "fa:16:3e:00:00:05", (FixedIp("sub4", "10.0.0.5"),),
                             "h"),))

    assert spec_from_json(spec_to_json(s)) == s
