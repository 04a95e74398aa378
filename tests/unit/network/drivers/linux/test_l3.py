"""Routers on the Linux data path: real namespaces, veths and nftables, in namespaces this
test makes (a stand-in host with an internal bridge and ``br-ex``, and guests on them).
Every packet stays inside them: the "external" address 172.24.4.1 is the stand-in host's."""

from __future__ import annotations

import asyncio
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from pyroute2 import IPRoute, netns

from helpers.namespaces import Namespaces, namespaces, pings, run_in
from ownstack.network.drivers import naming
from ownstack.network.drivers.base import (
    DriverError,
    ExtraRoute,
    FloatingIpSpec,
    RouterAddress,
    RouterGateway,
    RouterLeg,
    RouterSpec,
)
from ownstack.network.drivers.linux.l3 import (
    METADATA_PORT,
    LinuxRouters,
    RouterMissing,
    nat_ruleset,
)

INTERNAL = "brqinternal1"
EXTERNAL = "br-ex"
GUEST_MAC = "fa:16:3e:00:00:05"


def _id() -> str:
    return str(uuid.uuid4())


def _spec(router_id: str | None = None, *, snat: bool = True,
          floating: tuple[FloatingIpSpec, ...] = ()) -> RouterSpec:
    return RouterSpec(
        router_id=router_id or _id(),
        interfaces=(RouterLeg(port_id=_id(), mac_address="fa:16:3e:00:00:01", bridge=INTERNAL,
                              addresses=(RouterAddress("10.0.0.1", 24),), mtu=1450),),
        gateway=RouterGateway(
            leg=RouterLeg(port_id=_id(), mac_address="fa:16:3e:00:00:02", bridge=EXTERNAL,
                          addresses=(RouterAddress("172.24.4.10", 24),), mtu=1500),
            next_hops=("172.24.4.1",), enable_snat=snat),
        floating_ips=floating)


# -- the ruleset, pure ---------------------------------------------------------------------


def test_ruleset_snat_floating_and_metadata() -> None:
    spec = _spec(floating=(FloatingIpSpec("172.24.4.20", "10.0.0.5"),))
    assert spec.gateway is not None
    qg = naming.router_gateway_name(spec.gateway.leg.port_id)
    script = nat_ruleset(spec)
    assert "ip daddr 172.24.4.20 counter dnat to 10.0.0.5" in script
    assert f'oifname "{qg}" ip saddr 10.0.0.5 counter snat to 172.24.4.20' in script
    assert f'oifname "{qg}" counter snat to 172.24.4.10' in script
    # the floating IP's own SNAT comes before the router's
    assert script.index("snat to 172.24.4.20") < script.index(f'oifname "{qg}" counter snat')
    assert f"redirect to :{METADATA_PORT}" in script
    assert f'tcp dport {METADATA_PORT} iifname != "qr-*" counter drop' in script


def test_ruleset_without_snat_keeps_floating_ips() -> None:
    spec = _spec(snat=False, floating=(FloatingIpSpec("172.24.4.20", "10.0.0.5"),))
    assert spec.gateway is not None
    qg = naming.router_gateway_name(spec.gateway.leg.port_id)
    script = nat_ruleset(spec)
    assert "snat to 172.24.4.20" in script
    assert f'oifname "{qg}" counter snat to 172.24.4.10' not in script


@pytest.mark.parametrize("floating", [
    FloatingIpSpec("172.24.4.20; flush ruleset", "10.0.0.5"),
    FloatingIpSpec("172.24.4.20", "not-an-ip"),
    FloatingIpSpec("2001:db8::1", "10.0.0.5"),
])
def test_ruleset_refuses_bad_values(floating: FloatingIpSpec) -> None:
    with pytest.raises(DriverError):
        nat_ruleset(_spec(floating=(floating,)))


def test_ruleset_refuses_a_bad_port_id() -> None:
    spec = _spec()
    assert spec.gateway is not None
    bad = replace(spec, gateway=replace(spec.gateway, leg=replace(spec.gateway.leg,
                                                                   port_id='x" accept')))
    with pytest.raises(DriverError):
        nat_ruleset(bad)


# -- real namespaces -----------------------------------------------------------------------


@pytest.fixture
def made() -> Iterator[Namespaces]:
    with namespaces() as made:
        yield made


@pytest.fixture
def host(made: Namespaces) -> str:
    """A stand-in host: an internal bridge, and br-ex with the host's 172.24.4.1 on it."""
    host = made.new("oshost")
    made.bridge(host, INTERNAL, mtu=1450)
    made.bridge(host, EXTERNAL, address="172.24.4.1/24")
    return host


@pytest.fixture
def guest(made: Namespaces, host: str) -> str:
    return made.guest(host, INTERNAL, port_id=_id(), mac=GUEST_MAC, address="10.0.0.5/24",
                      gateway="10.0.0.1", mtu=1450)


def _routers(tmp_path: Path, host: str) -> LinuxRouters:
    return LinuxRouters(tmp_path, host_namespace=host)


def _ensure(routers: LinuxRouters, made: Namespaces, spec: RouterSpec) -> None:
    made.adopt(spec.namespace)
    asyncio.run(routers.ensure(spec))


def _links(namespace: str) -> set[str]:
    with IPRoute(netns=namespace) as ipr:
        return {link.get("ifname") for link in ipr.get_links()}


def test_a_router_forwards_and_snats(tmp_path: Path, made: Namespaces, host: str,
                                     guest: str) -> None:
    routers = _routers(tmp_path, host)
    spec = _spec()
    _ensure(routers, made, spec)
    assert pings(guest, "10.0.0.1")
    # The stand-in host has no route to 10.0.0.0/24: only SNAT brings the reply back.
    assert pings(guest, "172.24.4.1")
    described = asyncio.run(routers.describe(spec.router_id))
    snat = [r for r in described["nat"] if "172.24.4.10" in r["rule"]
            and r["chain"] == "postrouting" and "oifname" in r["rule"]]
    assert snat and snat[-1]["packets"] >= 1
    assert "default via 172.24.4.1" in described["routes"]
    legs = {leg["name"]: leg for leg in described["legs"]}
    assert spec.gateway is not None
    gateway = legs[naming.router_gateway_name(spec.gateway.leg.port_id)]
    assert [a for a in gateway["addresses"] if not a.startswith("fe80:")] == ["172.24.4.10/24"]


def test_without_snat_a_guest_with_no_floating_ip_does_not_get_out(
        tmp_path: Path, made: Namespaces, host: str, guest: str) -> None:
    routers = _routers(tmp_path, host)
    _ensure(routers, made, _spec(snat=False))
    assert pings(guest, "10.0.0.1")
    assert not pings(guest, "172.24.4.1")


def test_a_floating_ip_reaches_its_guest_and_goes_away(tmp_path: Path, made: Namespaces,
                                                        host: str, guest: str) -> None:
    routers = _routers(tmp_path, host)
    spec = _spec(snat=False, floating=(FloatingIpSpec("172.24.4.20", "10.0.0.5"),))
    _ensure(routers, made, spec)
    assert pings(host, "172.24.4.20")            # DNAT in
    assert pings(guest, "172.24.4.1")            # SNAT out as the floating IP, no router SNAT
    asyncio.run(routers.ensure(replace(spec, floating_ips=())))
    assert not pings(host, "172.24.4.20")
    assert not pings(guest, "172.24.4.1")


def test_legs_routes_follow_the_spec_and_remove_cleans_up(tmp_path: Path, made: Namespaces,
                                                          host: str) -> None:
    routers = _routers(tmp_path, host)
    spec = replace(_spec(), routes=(ExtraRoute("192.168.50.0/24", "10.0.0.254"),))
    _ensure(routers, made, spec)
    asyncio.run(routers.ensure(spec))                    # idempotent
    interface = spec.interfaces[0]
    assert naming.router_interface_name(interface.port_id) in _links(spec.namespace)
    assert naming.tap_name(interface.port_id) in _links(host)
    assert "192.168.50.0/24 via 10.0.0.254" in asyncio.run(routers.describe(spec.router_id))[
        "routes"]

    smaller = replace(spec, interfaces=(), routes=())
    with pytest.raises(DriverError):
        # the extra route's next hop is on no connected subnet any more: refused, the
        # interface removal waits for the routes to go first (as the API orders them)
        asyncio.run(routers.ensure(replace(smaller, routes=spec.routes)))
    asyncio.run(routers.ensure(smaller))
    assert naming.router_interface_name(interface.port_id) not in _links(spec.namespace)
    assert naming.tap_name(interface.port_id) not in _links(host)
    assert "192.168.50.0/24 via 10.0.0.254" not in asyncio.run(
        routers.describe(spec.router_id))["routes"]

    # a new driver on the same state directory adopts the router
    assert asyncio.run(_routers(tmp_path, host).routers()) == [smaller]
    asyncio.run(routers.remove(spec.router_id))
    asyncio.run(routers.remove(spec.router_id))          # gone is fine
    assert spec.namespace not in netns.listnetns()
    assert not {name for name in _links(host) if name.startswith("tap")}
    assert asyncio.run(routers.routers()) == []
    with pytest.raises(RouterMissing):
        asyncio.run(routers.describe(spec.router_id))


def test_only_the_leg_holding_an_address_answers_arp_for_it(
        tmp_path: Path, made: Namespaces, host: str, guest: str) -> None:
    """An IPv6 subnet's leg beside the IPv4 one on a network (as a router has them) gives
    no ARP answer for the IPv4 gateway: with its MAC a guest's metadata request would
    reach a leg with no IPv4 address to redirect it to."""
    spec = _spec()
    v6 = RouterLeg(port_id=_id(), mac_address="fa:16:3e:00:00:03", bridge=INTERNAL,
                   addresses=(RouterAddress("fd00:5::1", 64),), mtu=1450)
    _ensure(_routers(tmp_path, host), made, replace(spec, interfaces=(*spec.interfaces, v6)))
    answers = run_in(guest, ["busybox", "arping", "-c", "2", "-w", "3", "-I", "eth0",
                             "10.0.0.1"], timeout=10).stdout.lower()
    assert "fa:16:3e:00:00:01" in answers and "fa:16:3e:00:00:03" not in answers, answers


def test_a_leg_on_a_missing_bridge_is_refused(tmp_path: Path, made: Namespaces,
                                              host: str) -> None:
    spec = _spec()
    leg = replace(spec.interfaces[0], bridge="brqnothere")
    with pytest.raises(DriverError, match="brqnothere"):
        _ensure(_routers(tmp_path, host), made, replace(spec, interfaces=(leg,)))


def test_metadata_is_redirected_from_interfaces_only(tmp_path: Path, made: Namespaces,
                                                     host: str, guest: str) -> None:
    routers = _routers(tmp_path, host)
    spec = _spec()
    _ensure(routers, made, spec)
    listener = subprocess.Popen(
        ["ip", "netns", "exec", spec.namespace, "busybox", "nc", "-l", "-p", str(METADATA_PORT)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        time.sleep(0.3)
        # from the stand-in host, on the gateway's address: dropped
        outside = run_in(host, ["busybox", "nc", "-w", "1", "172.24.4.10", str(METADATA_PORT)],
                         timeout=5)
        assert listener.poll() is None, outside
        # from a guest, to 169.254.169.254:80: it reaches the proxy's port
        run_in(guest, ["sh", "-c", "echo hello-metadata | busybox nc -w 1 169.254.169.254 80"],
               timeout=5)
        out, _ = listener.communicate(timeout=5)
        assert "hello-metadata" in out
    finally:
        listener.kill()
        listener.wait()
