"""Router advertisements from a router's namespace: what radvd is told (pure), and real
radvd in namespaces this test makes (a stand-in host with two bridges, guests on them that
take what the router advertises, as a guest kernel does with ``accept_ra``). Every packet
stays inside them."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from pyroute2 import IPRoute

from helpers.namespaces import Namespaces, namespaces, run_in
from ownstack.network.drivers import naming
from ownstack.network.drivers.base import (
    DriverError,
    RouterAddress,
    RouterGateway,
    RouterLeg,
    RouterSpec,
)
from ownstack.network.drivers.linux import processes
from ownstack.network.drivers.linux.l3 import LinuxRouters
from ownstack.network.drivers.linux.radvd import radvd_config
from ownstack.network.ipam import eui64_address

BRIDGE_A, BRIDGE_B = "brqipv6a", "brqipv6b"
ROUTER_MAC_A, ROUTER_MAC_B = "fa:16:3e:00:0a:01", "fa:16:3e:00:0b:01"
GUEST_MAC_A, GUEST_MAC_B = "fa:16:3e:00:0a:05", "fa:16:3e:00:0b:05"
SETTLE = 20.0                   # seconds a guest may take for an RA and its SLAAC address


def _id() -> str:
    return str(uuid.uuid4())


def _leg(bridge: str, mac: str, *addresses: RouterAddress, mtu: int = 1450) -> RouterLeg:
    return RouterLeg(port_id=_id(), mac_address=mac, bridge=bridge, addresses=addresses,
                     mtu=mtu)


def _v6(address: str, mode: str | None, *dns: str, prefixlen: int = 64) -> RouterAddress:
    return RouterAddress(address, prefixlen, mode, mode, dns)


def _router(*legs: RouterLeg, gateway: RouterGateway | None = None) -> RouterSpec:
    return RouterSpec(router_id=_id(), interfaces=legs, gateway=gateway)


# -- the configuration, pure -----------------------------------------------------------


def test_a_slaac_leg_advertises_its_prefix_as_autonomous_the_mtu_and_its_dns() -> None:
    leg = _leg(BRIDGE_A, ROUTER_MAC_A, RouterAddress("10.0.0.1", 24),
               _v6("fd00:a::1", "slaac", "fd00:a::53", "10.0.0.53"))
    config = radvd_config(_router(leg))
    assert config == (
        f"interface {naming.router_interface_name(leg.port_id)}\n"
        "{\n"
        "    AdvSendAdvert on;\n"
        "    MinRtrAdvInterval 30;\n"
        "    MaxRtrAdvInterval 100;\n"
        "    AdvLinkMTU 1450;\n"
        "    RDNSS fd00:a::53 {};\n"
        "    prefix fd00:a::/64\n"
        "    {\n"
        "        AdvOnLink on;\n"
        "        AdvAutonomous on;\n"
        "    };\n"
        "};\n")


def test_stateless_sets_o_and_stateful_sets_m_without_autonomous_prefixes() -> None:
    stateless = _leg(BRIDGE_A, ROUTER_MAC_A, _v6("fd00:a::1", "dhcpv6-stateless", "fd00::53"))
    stateful = _leg(BRIDGE_B, ROUTER_MAC_B, _v6("fd00:b::1", "dhcpv6-stateful"),
                    _v6("fd00:c::1", "slaac"), mtu=1200)
    config = radvd_config(_router(stateless, stateful))
    second_at = config.index(f"interface {naming.router_interface_name(stateful.port_id)}")
    first, second = config[:second_at], config[second_at:]
    assert first.startswith(f"interface {naming.router_interface_name(stateless.port_id)}")
    assert "AdvOtherConfigFlag on;" in first and "AdvManagedFlag" not in first
    assert "RDNSS" not in first                    # DNS comes from DHCPv6 there
    assert "prefix fd00:a::/64\n    {\n        AdvOnLink on;\n        AdvAutonomous on;" \
        in first
    assert "AdvManagedFlag on;" in second and "AdvOtherConfigFlag" not in second
    assert "prefix fd00:b::/64\n    {\n        AdvOnLink on;\n        AdvAutonomous off;" \
        in second
    assert "prefix fd00:c::/64\n    {\n        AdvOnLink on;\n        AdvAutonomous on;" \
        in second
    assert "AdvLinkMTU" not in second               # below IPv6's 1280: left to the link


def test_only_interface_legs_with_an_ra_mode_advertise() -> None:
    v4 = _leg(BRIDGE_A, ROUTER_MAC_A, RouterAddress("10.0.0.1", 24))
    no_mode = _leg(BRIDGE_B, ROUTER_MAC_B, RouterAddress("fd00:b::1", 64, None,
                                                         "dhcpv6-stateful"))
    gateway = RouterGateway(_leg("br-ex", "fa:16:3e:00:0c:01", _v6("fd00:c::1", "slaac")))
    assert radvd_config(_router(v4, no_mode, gateway=gateway)) == ""


@pytest.mark.parametrize("address", [
    RouterAddress("fd00:a::1", 64, "slaac; AdvSendAdvert off", None),
    RouterAddress("fd00:a::1", 64, "slaac", "slaac", ("fd00::53 {};\ninterface x",)),
    RouterAddress("fd00:a::1/64", 64, "slaac", "slaac"),
])
def test_bad_values_are_refused(address: RouterAddress) -> None:
    with pytest.raises(DriverError):
        radvd_config(_router(_leg(BRIDGE_A, ROUTER_MAC_A, address)))


def test_a_bad_port_id_is_refused() -> None:
    leg = replace(_leg(BRIDGE_A, ROUTER_MAC_A, _v6("fd00:a::1", "slaac")), port_id="x\ny")
    with pytest.raises(DriverError):
        radvd_config(_router(leg))


# -- real namespaces -------------------------------------------------------------------


@pytest.fixture
def made() -> Iterator[Namespaces]:
    with namespaces() as made:
        yield made


@pytest.fixture
def host(made: Namespaces) -> str:
    """A stand-in host with two networks' bridges, IPv6 off on them as the driver's
    ``ensure_network`` has it."""
    host = made.new("oshost")
    for bridge in (BRIDGE_A, BRIDGE_B):
        made.bridge(host, bridge, mtu=1450)
        run_in(host, ["sysctl", "-q", "-w", f"net.ipv6.conf.{bridge}.disable_ipv6=1"],
               check=True)
    return host


@pytest.fixture
def routers(tmp_path: Path, host: str) -> Iterator[LinuxRouters]:
    """The routers of the stand-in host; whatever a test leaves is removed (radvd too,
    which would outlive its namespace)."""
    routers = LinuxRouters(tmp_path, host_namespace=host)
    try:
        yield routers
    finally:
        for router_id in asyncio.run(routers.recorded()):
            asyncio.run(routers.remove(router_id))


def _guest(made: Namespaces, host: str, bridge: str, mac: str) -> str:
    """A guest with no address: its kernel takes addresses and routes from RAs."""
    guest = made.new("osgst")
    tap = "tap" + _id()[:11]
    with IPRoute(netns=host) as ipr:
        ipr.link("add", ifname=tap, kind="veth", peer={"ifname": "eth0", "net_ns_fd": guest})
        ipr.link("set", index=ipr.link_lookup(ifname=tap)[0],
                 master=ipr.link_lookup(ifname=bridge)[0], mtu=1450, state="up")
    with IPRoute(netns=guest) as ipr:
        ipr.link("set", index=ipr.link_lookup(ifname="eth0")[0], address=mac, mtu=1450,
                 state="up")
    return guest


def _settled(namespace: str, what: str, check: str) -> str:
    """The output of ``ip -6 <what>`` in ``namespace`` once it contains ``check``."""
    async def wait() -> str:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SETTLE
        while True:
            out = run_in(namespace, ["ip", "-6", *what.split()]).stdout
            if check in out and "tentative" not in out:
                return out
            if loop.time() > deadline:
                raise AssertionError(f"never {check!r} in {namespace}'s {what}: {out}")
            await asyncio.sleep(0.1)
    return asyncio.run(wait())


def _sysctl(namespace: str, key: str) -> str:
    return run_in(namespace, ["sysctl", "-n", key], check=True).stdout.strip()


def _radvd_pids(state: Path) -> list[int]:
    return sorted(pid for pid in processes.pids()
                  if (argv := processes.cmdline(pid)) and argv[0].endswith("radvd")
                  and any(str(state) in arg for arg in argv))


def _capture_ra(namespace: str, interface: str) -> subprocess.Popen[str]:
    """tcpdump of the first router advertisement on ``interface``, verbose."""
    capture = subprocess.Popen(
        ["ip", "netns", "exec", namespace, "tcpdump", "-l", "-n", "-vv", "-c", "1", "-i",
         interface, "icmp6 and ip6[40] == 134"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert capture.stderr is not None
    capture.stderr.readline()                   # "listening on …": it captures from here
    return capture


def test_guests_take_address_and_default_route_from_the_router_and_reach_each_other(
        tmp_path: Path, made: Namespaces, host: str, routers: LinuxRouters) -> None:
    slaac = _leg(BRIDGE_A, ROUTER_MAC_A, RouterAddress("10.0.0.1", 24),
                 _v6("fd00:a::1", "slaac", "fd00:a::53"))
    stateless = _leg(BRIDGE_B, ROUTER_MAC_B, _v6("fd00:b::1", "dhcpv6-stateless"))
    spec = _router(slaac, stateless)
    guest_a = _guest(made, host, BRIDGE_A, GUEST_MAC_A)
    guest_b = _guest(made, host, BRIDGE_B, GUEST_MAC_B)
    capture = _capture_ra(guest_a, "eth0")
    try:
        made.adopt(spec.namespace)
        asyncio.run(routers.ensure(spec))
        ra, _ = capture.communicate(timeout=SETTLE)
    finally:
        capture.kill()
    router_ll = eui64_address("fe80::/64", ROUTER_MAC_A)

    # The advertisement: from the router's link-local address, default router, the
    # prefix to make addresses in, the MTU and the DNS server; no DHCPv6 flags.
    assert "IP6 (" in ra and f") {router_ll} > " in ra, ra
    assert "router advertisement" in ra and "Flags [none]" in ra, ra
    lifetime = int(re.search(r"router lifetime (\d+)s", ra).group(1))  # type: ignore[union-attr]
    assert lifetime > 0, ra
    assert "fd00:a::/64, Flags [onlink, auto]" in ra, ra
    assert re.search(r"mtu option .*\n?\s*1450", ra), ra
    assert "fd00:a::53" in ra, ra

    # The guest: its SLAAC address, a default route by the router's link-local address.
    address_a = str(eui64_address("fd00:a::/64", GUEST_MAC_A))
    assert f"{address_a}/64" in _settled(guest_a, "addr show dev eth0", address_a)
    route = _settled(guest_a, "route show default", "default")
    assert f"default via {router_ll} dev eth0 proto ra" in route, route

    # The stateless subnet: O flag, an address all the same; across the router both ways.
    address_b = str(eui64_address("fd00:b::/64", GUEST_MAC_B))
    _settled(guest_b, "addr show dev eth0", address_b)
    _settled(guest_b, "route show default", "default via fe80:")
    assert run_in(guest_a, ["busybox", "ping", "-6", "-c", "1", "-W", "2", address_b],
                  timeout=10).returncode == 0
    assert run_in(guest_b, ["busybox", "ping", "-6", "-c", "1", "-W", "2", address_a],
                  timeout=10).returncode == 0

    # IPv6 forwarding in the router's namespace, and only there. The host takes nothing
    # from the advertisements: the legs' host ends have no IPv6.
    assert _sysctl(spec.namespace, "net.ipv6.conf.all.forwarding") == "1"
    for other in (host, guest_a, guest_b):
        assert _sysctl(other, "net.ipv6.conf.all.forwarding") == "0"
    for leg in spec.interfaces:
        tap = naming.tap_name(leg.port_id)
        assert _sysctl(host, f"net.ipv6.conf.{tap}.disable_ipv6") == "1"
    assert run_in(host, ["ip", "-6", "route", "show", "default"]).stdout == ""
    assert "fd00:" not in run_in(host, ["ip", "-6", "addr"]).stdout

    described = asyncio.run(routers.describe(spec.router_id))["radvd"]
    assert described["running"] and described["pid"] in _radvd_pids(tmp_path)
    assert "    AdvOtherConfigFlag on;" in described["config"]
    asyncio.run(routers.remove(spec.router_id))
    assert _radvd_pids(tmp_path) == []


def test_radvd_follows_the_legs_is_adopted_restarted_and_stopped(
        tmp_path: Path, made: Namespaces, host: str, routers: LinuxRouters) -> None:
    v4 = _leg(BRIDGE_A, ROUTER_MAC_A, RouterAddress("10.0.0.1", 24))
    spec = _router(v4)
    made.adopt(spec.namespace)
    asyncio.run(routers.ensure(spec))
    assert _radvd_pids(tmp_path) == []                 # nothing to advertise
    assert asyncio.run(routers.describe(spec.router_id))["radvd"] is None

    slaac = replace(spec, interfaces=(v4, _leg(BRIDGE_B, ROUTER_MAC_B,
                                                _v6("fd00:b::1", "slaac"))))
    asyncio.run(routers.ensure(slaac))
    first = routers.advertisements.running(spec.router_id, spec.namespace)
    assert first is not None
    # A subnet more on the leg: the same radvd rereads its configuration.
    leg = slaac.interfaces[1]
    both = replace(slaac, interfaces=(v4, replace(leg, addresses=(
        *leg.addresses, _v6("fd00:c::1", "dhcpv6-stateful")))))
    asyncio.run(routers.ensure(both))
    assert routers.advertisements.running(spec.router_id, spec.namespace) == first
    config = (tmp_path / "radvd" / spec.router_id / "radvd.conf").read_text()
    assert "AdvManagedFlag on;" in config and "prefix fd00:c::/64" in config

    # A new driver adopts it, with its pid file or (lost) without.
    assert asyncio.run(LinuxRouters(tmp_path, host_namespace=host).routers()) == [both]
    (tmp_path / "radvd" / spec.router_id / "pid").unlink()
    again = LinuxRouters(tmp_path, host_namespace=host)
    assert asyncio.run(again.routers()) == [both]
    asyncio.run(again.ensure(both))
    assert again.advertisements.running(spec.router_id, spec.namespace) == first

    # Killed: the router counts as absent, and the next ensure starts it again.
    os.kill(first, signal.SIGKILL)
    _wait_gone(tmp_path)
    assert asyncio.run(again.routers()) == []
    asyncio.run(again.ensure(both))
    second = again.advertisements.running(spec.router_id, spec.namespace)
    assert second is not None and second != first

    # No IPv6 subnet to advertise any more: radvd goes, and its files.
    asyncio.run(again.ensure(spec))
    assert _radvd_pids(tmp_path) == []
    assert not (tmp_path / "radvd" / spec.router_id).exists()
    asyncio.run(again.ensure(both))
    assert _radvd_pids(tmp_path)
    asyncio.run(again.remove(spec.router_id))
    assert _radvd_pids(tmp_path) == []
    assert asyncio.run(again.recorded()) == []


def _wait_gone(state: Path) -> None:
    """Until no radvd of ``state`` is left (its helper follows the main one out)."""
    async def wait() -> None:
        for _ in range(250):
            if not _radvd_pids(state):
                return
            await asyncio.sleep(0.02)
        raise AssertionError(f"radvd still runs: {_radvd_pids(state)}")
    asyncio.run(wait())
