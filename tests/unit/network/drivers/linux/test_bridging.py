"""Frames through the Linux driver's bridges, with no guest: a helper process inside the
test's namespace opens the ports' taps as QEMU would and writes a broadcast frame into one;
the others read what the bridge delivers. Nothing leaves the namespace, which has no other
link."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from helpers import netns
from helpers.network_driver_contract import a_network, a_port
from ownstack.network.drivers.base import NetworkSpec, PortSpec
from ownstack.network.drivers.linux.driver import LinuxDriver

# Open taps (argv[2:]) as QEMU does, send one broadcast frame of an experimental EtherType
# from the first, and print which taps received it within half a second.
EXCHANGE = r"""
import fcntl, json, os, select, struct, sys, time
TUNSETIFF, IFF_TAP, IFF_NO_PI = 0x400454CA, 0x0002, 0x1000
taps = sys.argv[2:]
fds = {}
for name in taps:
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TAP | IFF_NO_PI))
    fds[name] = fd
time.sleep(0.1)                       # carrier up on every tap before the frame goes
marker = sys.argv[1].encode()
source = bytes.fromhex("fa163e" + marker.hex()[:6])
os.write(fds[taps[0]], b"\xff" * 6 + source + b"\x88\xb5" + marker.ljust(46, b"\0"))
seen, deadline = set(), time.monotonic() + 0.5
while time.monotonic() < deadline:
    ready, _, _ = select.select(list(fds.values()), [], [], 0.05)
    for name, fd in fds.items():
        if fd in ready:
            frame = os.read(fd, 65536)
            if frame[12:14] == b"\x88\xb5" and marker in frame:
                seen.add(name)
print(json.dumps(sorted(seen)))
"""


def exchange(ns: str, sender: PortSpec, *others: PortSpec) -> set[str]:
    """The taps among ``others`` that got a broadcast frame ``sender``'s guest sent."""
    result = subprocess.run(
        ["ip", "netns", "exec", ns, sys.executable, "-c", EXCHANGE, sender.port_id[:8],
         sender.tap, *(spec.tap for spec in others)],
        check=True, capture_output=True, text=True, timeout=10)
    return set(json.loads(result.stdout)) - {sender.tap}


@pytest.fixture
def ns() -> Iterator[str]:
    with netns.namespace() as name:
        yield name


@pytest.fixture
async def driver(tmp_path: Path, ns: str) -> AsyncIterator[LinuxDriver]:
    driver = LinuxDriver("node-1", tmp_path, host_namespace=ns)
    await driver.init_host()
    yield driver
    await driver.close()


async def port_on(driver: LinuxDriver, network: NetworkSpec, **changes: object) -> PortSpec:
    await driver.ensure_network(network)
    spec = a_port(network, **changes)
    await driver.wire_port(spec)
    return spec


async def test_ports_on_one_network_share_a_broadcast_domain_and_no_other(
        driver: LinuxDriver, ns: str) -> None:
    blue, red = a_network(1001), a_network(1002)
    a, b = await port_on(driver, blue), await port_on(driver, blue)
    c = await port_on(driver, red)
    assert exchange(ns, a, b, c) == {b.tap}
    assert exchange(ns, c, a, b) == set()


async def test_an_unwired_or_administratively_down_port_gets_nothing(
        driver: LinuxDriver, ns: str) -> None:
    network = a_network()
    a, b = await port_on(driver, network), await port_on(driver, network)
    assert exchange(ns, a, b) == {b.tap}
    await driver.wire_port(replace(b, admin_state_up=False))
    assert exchange(ns, a, b) == set()
    await driver.wire_port(b)
    netns.ip(ns, "link", "set", b.tap, "nomaster")       # behind the driver's back
    assert exchange(ns, a, b) == set()
    await driver.wire_port(b)                              # the agent's repair
    assert exchange(ns, a, b) == {b.tap}


async def test_the_networks_bridges_have_no_ipv6_and_a_mapped_one_keeps_its_own(
        driver: LinuxDriver, ns: str) -> None:
    """No address or default route from a tenant network's router advertisements for the
    host: its bridges have IPv6 off (a mapped bridge is the operator's, left as it is)."""
    network = a_network()
    mapped = replace(a_network(), network_type="flat", mapped_bridge="brmapped")
    await driver.ensure_network(network)
    await driver.ensure_network(mapped)

    def disabled(name: str) -> str:
        return subprocess.run(["ip", "netns", "exec", ns, "sysctl", "-n",
                               f"net.ipv6.conf.{name}.disable_ipv6"], capture_output=True,
                              text=True, check=True).stdout.strip()

    assert disabled(network.bridge) == "1"
    assert disabled("brmapped") == "0"
