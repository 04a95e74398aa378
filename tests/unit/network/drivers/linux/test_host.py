"""Nothing leaks off the host, proved entirely inside namespaces this test makes.

The stand-in host has ``br-ex`` with 172.24.4.1 and an uplink: a veth into a second
namespace that stands for the outside world (198.51.100.1, its default route's next hop).
A guest behind a router pings the outside address: the guard's drop counter rises and a
capture in the outside namespace sees nothing. With the guard taken away (still inside the
namespaces), the same capture does see the packet, so the test would notice a leak."""

from __future__ import annotations

import asyncio
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from pyroute2 import IPRoute

from helpers.namespaces import Namespaces, namespaces, pings, run_in
from ownstack.network.drivers.base import (
    DriverError,
    RouterAddress,
    RouterGateway,
    RouterLeg,
    RouterSpec,
)
from ownstack.network.drivers.linux.host import (
    ExternalBridge,
    HostSide,
    guard_ruleset,
)
from ownstack.network.drivers.linux.l3 import LinuxRouters

OUTSIDE = "198.51.100.1"


def test_guard_ruleset_drops_bridges_and_opens_only_an_opted_in_uplink() -> None:
    closed = guard_ruleset(["br-ex"])
    assert "table inet ownstack_guard_br_ex {" in closed
    assert 'iifname "br-ex" oifname != "br-ex" counter drop' in closed
    assert 'iifname "brq*" oifname != "brq*" counter drop' in closed
    assert "masquerade" not in closed and "counter accept" not in closed
    opened = guard_ruleset(["br-ex"], uplink="eth0")
    assert 'iifname "br-ex" oifname "eth0" counter masquerade' in opened
    # the opt-in accepts come before the drops
    assert opened.index('oifname "eth0" counter accept') < opened.index("counter drop")


@pytest.mark.parametrize("name", ['br-ex" accept', "a" * 16, ""])
def test_guard_ruleset_refuses_bad_names(name: str) -> None:
    with pytest.raises(DriverError):
        guard_ruleset([name])


@pytest.fixture
def made() -> Iterator[Namespaces]:
    with namespaces() as made:
        yield made


def _world(made: Namespaces) -> tuple[str, str]:
    """A stand-in host with a forwarding uplink into a stand-in outside world."""
    host, outside = made.new("oshost"), made.new("osworld")
    with IPRoute(netns=host) as ipr:
        ipr.link("add", ifname="uplink0", kind="veth", peer={"ifname": "eth0",
                                                             "net_ns_fd": outside})
        index = ipr.link_lookup(ifname="uplink0")[0]
        ipr.link("set", index=index, state="up")
        ipr.addr("add", index=index, address="198.51.100.2", prefixlen=24)
        ipr.route("add", dst="0.0.0.0/0", gateway=OUTSIDE)
    with IPRoute(netns=outside) as ipr:
        index = ipr.link_lookup(ifname="eth0")[0]
        ipr.link("set", index=index, state="up")
        ipr.addr("add", index=index, address=OUTSIDE, prefixlen=24)
    run_in(host, ["sysctl", "-q", "-w", "net.ipv4.ip_forward=1"], check=True)
    return host, outside


def _capture(outside: str) -> subprocess.Popen[str]:
    capture = subprocess.Popen(
        ["ip", "netns", "exec", outside, "tcpdump", "-l", "-n", "-i", "eth0", "icmp"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    time.sleep(0.5)
    return capture


def _captured(capture: subprocess.Popen[str]) -> str:
    time.sleep(0.3)
    capture.terminate()
    out, _ = capture.communicate(timeout=5)
    return out


def test_nothing_routed_from_br_ex_leaves_the_host(tmp_path: Path, made: Namespaces) -> None:
    host, outside = _world(made)
    side = HostSide([ExternalBridge("br-ex", "172.24.4.1/24")], host_namespace=host)
    asyncio.run(side.ensure())
    asyncio.run(side.ensure())                                    # idempotent
    made.bridge(host, "brqtenant001", mtu=1450)
    guest = made.guest(host, "brqtenant001", port_id=str(uuid.uuid4()),
                       mac="fa:16:3e:00:00:05", address="10.0.0.5/24", gateway="10.0.0.1",
                       mtu=1450)
    spec = RouterSpec(
        router_id=str(uuid.uuid4()),
        interfaces=(RouterLeg(str(uuid.uuid4()), "fa:16:3e:00:00:01", "brqtenant001",
                              (RouterAddress("10.0.0.1", 24),)),),
        gateway=RouterGateway(RouterLeg(str(uuid.uuid4()), "fa:16:3e:00:00:02", "br-ex",
                                        (RouterAddress("172.24.4.10", 24),), mtu=1500),
                              next_hops=("172.24.4.1",)))
    made.adopt(spec.namespace)
    asyncio.run(LinuxRouters(tmp_path, host_namespace=host).ensure(spec))
    assert pings(guest, "172.24.4.1")                  # the host itself is reachable

    before = asyncio.run(side.drops())
    capture = _capture(outside)
    assert not pings(guest, OUTSIDE)
    assert OUTSIDE not in _captured(capture)
    assert asyncio.run(side.drops()) > before

    # Without the guard the same packet does reach the outside namespace: the capture
    # above would have seen a leak.
    run_in(host, ["nft", "delete", "table", "inet", side.table], check=True)
    capture = _capture(outside)
    pings(guest, OUTSIDE)
    assert OUTSIDE in _captured(capture)


def test_an_unreachable_route_holds_when_br_ex_is_down(made: Namespaces) -> None:
    host, _ = _world(made)
    side = HostSide([ExternalBridge("br-ex", "172.24.4.1/24")], host_namespace=host)
    asyncio.run(side.ensure())
    assert "172.24.4.0/24" in asyncio.run(side.describe())["unreachable"]
    with IPRoute(netns=host) as ipr:
        ipr.link("set", index=ipr.link_lookup(ifname="br-ex")[0], state="down")
    # with the bridge's own route gone, 172.24.4.50 is unreachable, not via the uplink
    route = run_in(host, ["ip", "route", "get", "172.24.4.50"])
    assert route.returncode != 0 or "uplink0" not in route.stdout, route.stdout
    assert "unreachable" in (route.stdout + route.stderr).lower() \
        or "no route" in route.stderr.lower()
