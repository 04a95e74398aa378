"""What the Linux driver does to the kernel, beyond the shared contract: the devices it
makes, what it adopts and repairs, and what it refuses. Every test runs the driver in a
network namespace of its own (``host_namespace``) and reads the kernel with ``ip``."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from helpers import netns
from helpers.network_driver_contract import Events, a_network, a_port
from ownstack.network.drivers import driver_factory, naming
from ownstack.network.drivers.base import (
    DOWN,
    Capability,
    DriverError,
    NetworkMissing,
    NetworkSpec,
    PortNotWired,
    PortSpec,
)
from ownstack.network.drivers.linux.driver import LinuxDriver, PortFirewall
from ownstack.network.drivers.linux.l2 import vxlan_name

TUNNEL = "192.0.2.10"           # TEST-NET-1: never routed; the VXLAN device only names it


@pytest.fixture
def ns() -> Iterator[str]:
    with netns.namespace() as name:
        yield name


def make(tmp_path: Path, ns: str, **options: str) -> LinuxDriver:
    return LinuxDriver("node-1", tmp_path / "state", host_namespace=ns, **options)


@pytest.fixture
async def driver(tmp_path: Path, ns: str) -> AsyncIterator[LinuxDriver]:
    driver = make(tmp_path, ns)
    await driver.init_host()
    yield driver
    await driver.close()


@pytest.fixture
async def tunnelled(tmp_path: Path, ns: str) -> AsyncIterator[LinuxDriver]:
    driver = make(tmp_path, ns, tunnel_address=TUNNEL)
    await driver.init_host()
    yield driver
    await driver.close()


async def plug(driver: LinuxDriver, network: NetworkSpec, **changes: object) -> PortSpec:
    await driver.ensure_network(network)
    spec = a_port(network, **changes)
    await driver.wire_port(spec)
    return spec


def link(ns: str, name: str) -> dict[str, object] | None:
    return netns.links(ns).get(name)


def master(ns: str, name: str) -> object:
    found = link(ns, name)
    return found.get("master") if found else None


# -- the devices -----------------------------------------------------------------------


async def test_a_wired_port_is_a_persistent_tap_on_its_bridge(driver: LinuxDriver,
                                                             ns: str) -> None:
    network = a_network(mtu=1450)
    spec = await plug(driver, network)
    bridge, tap = link(ns, spec.bridge), link(ns, spec.tap)
    assert bridge is not None and tap is not None
    assert bridge["mtu"] == 1450 and "UP" in bridge["flags"]          # type: ignore[operator]
    assert tap["master"] == spec.bridge and tap["mtu"] == 1450
    assert "UP" in tap["flags"]                                        # type: ignore[operator]
    assert tap["address"] == "fe" + spec.mac_address[2:]
    tun = tap["linkinfo"]["info_data"]                                 # type: ignore[index]
    assert tun["type"] == "tap" and tun["persist"] is True and tun["pi"] is False
    assert link(ns, "lo") is not None and netns.links(ns).keys() == {"lo", spec.bridge, spec.tap}
    # No VXLAN device without a tunnel address.
    assert not any(name.startswith("vxlan") for name in netns.links(ns))


async def test_an_administratively_down_port_has_its_tap_down(driver: LinuxDriver,
                                                             ns: str) -> None:
    spec = await plug(driver, a_network(), admin_state_up=False)
    assert "UP" not in link(ns, spec.tap)["flags"]                    # type: ignore[index,operator]
    await driver.wire_port(replace(spec, admin_state_up=True))
    assert "UP" in link(ns, spec.tap)["flags"]                        # type: ignore[index,operator]


async def test_a_network_mtu_change_reaches_its_taps(driver: LinuxDriver, ns: str) -> None:
    network = a_network(mtu=1450)
    spec = await plug(driver, network)
    await driver.ensure_network(replace(network, mtu=1400))
    assert link(ns, spec.bridge)["mtu"] == link(ns, spec.tap)["mtu"] == 1400  # type: ignore[index]


async def test_a_vxlan_network_gets_its_vxlan_device_with_a_tunnel_address(
        tunnelled: LinuxDriver, ns: str) -> None:
    network = a_network(segmentation_id=4242, mtu=1450)
    info = await tunnelled.ensure_network(network)
    device = link(ns, vxlan_name(4242))
    assert device is not None and device["master"] == network.bridge
    vxlan = device["linkinfo"]["info_data"]                           # type: ignore[index]
    assert vxlan["id"] == 4242 and vxlan["port"] == 4789 and vxlan["local"] == TUNNEL
    assert vxlan["learning"] is True and device["mtu"] == 1450
    assert info.details["vxlan"] == "vxlan-4242" and info.details["vni"] == 4242
    assert len("vxlan-16777215") <= naming.MAX_DEVICE_NAME
    # Another VNI: the device is made again; a flat network has none.
    await tunnelled.ensure_network(replace(network, segmentation_id=4243))
    assert link(ns, "vxlan-4242") is None and master(ns, "vxlan-4243") == network.bridge
    await tunnelled.ensure_network(replace(network, network_type="flat",
                                           segmentation_id=None))
    assert not any(name.startswith("vxlan") for name in netns.links(ns))


async def test_a_vxlan_network_without_a_valid_vni_is_refused(tunnelled: LinuxDriver) -> None:
    with pytest.raises(DriverError, match="no valid VNI"):
        await tunnelled.ensure_network(a_network(segmentation_id=2 ** 24))


async def test_remove_network_leaves_no_link(tunnelled: LinuxDriver, ns: str) -> None:
    network = a_network(segmentation_id=77)
    for _ in range(2):
        await plug(tunnelled, network)
    netns.ip(ns, "tuntap", "add", "dev", "tap0a1b2c3d-4e", "mode", "tap")
    netns.ip(ns, "link", "set", "tap0a1b2c3d-4e", "master", network.bridge)
    await tunnelled.remove_network(network.network_id)
    assert set(netns.links(ns)) == {"lo"}
    assert await tunnelled.wired_ports() == [] and await tunnelled.networks() == []


async def test_describe_port_shows_the_kernel_objects(tunnelled: LinuxDriver, ns: str) -> None:
    spec = await plug(tunnelled, a_network(segmentation_id=88))
    details = await tunnelled.describe_port(spec.port_id)
    assert details["tap"] == spec.tap and details["bridge"] == spec.bridge
    assert details["master"] == spec.bridge and details["mtu"] == 1450
    assert details["tap_mac"] == "fe" + spec.mac_address[2:]
    assert details["vxlan"] == "vxlan-88" and details["namespace"] == ns
    assert details["attached"] is True and details["filtered"] is False
    assert details["operstate"] == "DOWN"      # no guest holds the tap: no carrier
    assert set(details["counters"]) >= {"rx_packets", "tx_packets", "rx_bytes", "tx_bytes"}
    with pytest.raises(PortNotWired):
        await tunnelled.describe_port("1a2b3c4d-0000-0000-0000-000000000000")


# -- restarts and repairs --------------------------------------------------------------


async def test_a_restarted_driver_adopts_everything_and_removes_nothing(
        tmp_path: Path, ns: str) -> None:
    first = make(tmp_path, ns, tunnel_address=TUNNEL)
    await first.init_host()
    network = a_network(segmentation_id=99)
    specs = [await plug(first, network) for _ in range(2)]
    before = netns.links(ns)
    await first.close()
    assert netns.links(ns).keys() == before.keys()            # close removes nothing
    second = make(tmp_path, ns, tunnel_address=TUNNEL)
    await second.init_host()
    try:
        wired = {p.port_id: (p.spec, p.attached) for p in await second.wired_ports()}
        assert wired == {spec.port_id: (spec, True) for spec in specs}
        assert [n.spec for n in await second.networks()] == [network]
        await second.ensure_network(network)
        for spec in specs:
            await second.wire_port(spec)
        after = netns.links(ns)
        assert {name: item["ifindex"] for name, item in after.items()} == \
            {name: item["ifindex"] for name, item in before.items()}   # nothing made again
    finally:
        await second.close()


async def test_a_tap_off_its_bridge_is_an_event_and_wiring_puts_it_back(
        driver: LinuxDriver, ns: str) -> None:
    spec = await plug(driver, a_network())
    events = Events(driver.events())
    try:
        await events.quiet()
        netns.ip(ns, "link", "set", spec.tap, "nomaster")
        assert await events.next(2.0) == spec.port_id
        (wired,) = await driver.wired_ports()
        assert wired.tap_exists and not wired.attached and wired.status == DOWN
        assert (await driver.wire_port(spec)).attached
        assert master(ns, spec.tap) == spec.bridge
    finally:
        await events.close()


async def test_a_deleted_tap_is_made_again_by_wiring(driver: LinuxDriver, ns: str) -> None:
    spec = await plug(driver, a_network())
    netns.ip(ns, "link", "del", spec.tap)
    assert not (await driver.wired_ports())[0].tap_exists
    await driver.wire_port(spec)
    assert master(ns, spec.tap) == spec.bridge


async def test_a_deleted_bridge_is_made_again_and_its_ports_rewired(driver: LinuxDriver,
                                                                   ns: str) -> None:
    network = a_network()
    spec = await plug(driver, network)
    netns.ip(ns, "link", "del", network.bridge)
    assert not (await driver.wired_ports())[0].attached
    assert await driver.networks() == []          # as it is, not as it was asked for
    with pytest.raises(NetworkMissing):
        await driver.wire_port(spec)
    await driver.ensure_network(network)
    assert (await driver.wire_port(spec)).attached
    assert master(ns, spec.tap) == network.bridge


async def test_devices_nobody_recorded_are_reported_so_the_agent_removes_them(
        driver: LinuxDriver, ns: str) -> None:
    netns.ip(ns, "link", "add", "brq0a1b2c3d-4e", "type", "bridge")
    netns.ip(ns, "tuntap", "add", "dev", "tap9f8e7d6c-5b", "mode", "tap")
    netns.ip(ns, "link", "set", "tap9f8e7d6c-5b", "master", "brq0a1b2c3d-4e")
    netns.ip(ns, "tuntap", "add", "dev", "tap0", "mode", "tap")     # not ours: never touched
    (orphan,) = await driver.wired_ports()
    assert orphan.port_id == "9f8e7d6c-5b" and orphan.spec.network.network_id == "0a1b2c3d-4e"
    (network,) = await driver.networks()
    assert network.spec.network_id == "0a1b2c3d-4e" and network.details["recorded"] is False
    await driver.unwire_port(orphan.port_id)
    await driver.remove_network(network.spec.network_id)
    assert set(netns.links(ns)) == {"lo", "tap0"}


async def test_unwiring_a_short_id_spares_the_tap_of_a_recorded_port(
        driver: LinuxDriver, ns: str) -> None:
    spec = await plug(driver, a_network())
    await driver.unwire_port(spec.port_id[:11])
    assert master(ns, spec.tap) == spec.bridge
    assert [p.port_id for p in await driver.wired_ports()] == [spec.port_id]


async def test_a_passing_tap_is_not_reported_and_wiring_takes_it(driver: LinuxDriver,
                                                                 ns: str) -> None:
    """QEMU makes a tap of its own when it opens one that does not exist yet; it lasts as
    long as QEMU holds it, and it is the port's tap once the port is wired."""
    network = a_network()
    await driver.ensure_network(network)
    spec = a_port(network)
    holder = hold_tap(ns, spec.tap)
    try:
        assert await driver.wired_ports() == []
        await driver.unwire_port(spec.port_id[:11])            # an orphan's removal: spared
        assert link(ns, spec.tap) is not None
        assert (await driver.wire_port(spec)).attached
        assert master(ns, spec.tap) == network.bridge
    finally:
        holder.kill()
        holder.wait()


def hold_tap(ns: str, name: str) -> subprocess.Popen[str]:
    """A process in ``ns`` that holds a passing (not persistent) tap ``name`` open."""
    code = ("import fcntl, os, struct, sys, time\n"
            "fd = os.open('/dev/net/tun', os.O_RDWR)\n"
            "fcntl.ioctl(fd, 0x400454CA, struct.pack('16sH', sys.argv[1].encode(), 0x1002))\n"
            "print('ready', flush=True)\n"
            "time.sleep(60)\n")
    process = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, "-c", code, name],
                               stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None and process.stdout.readline().strip() == "ready"
    return process


# -- refusals ----------------------------------------------------------------------------


async def test_a_link_of_a_bridge_name_that_is_no_bridge_is_refused(driver: LinuxDriver,
                                                                    ns: str) -> None:
    network = a_network()
    netns.ip(ns, "link", "add", network.bridge, "type", "veth", "peer", "name", "peer0")
    with pytest.raises(DriverError, match="not a bridge"):
        await driver.ensure_network(network)


async def test_a_link_of_a_tap_name_that_is_no_tap_is_refused(driver: LinuxDriver,
                                                              ns: str) -> None:
    network = a_network()
    await driver.ensure_network(network)
    spec = a_port(network)
    netns.ip(ns, "link", "add", spec.tap, "type", "veth", "peer", "name", "peer0")
    with pytest.raises(DriverError, match="not a tap"):
        await driver.wire_port(spec)
    assert link(ns, spec.tap)["linkinfo"]["info_kind"] == "veth"     # type: ignore[index]


async def test_a_missing_namespace_is_refused_at_init_host(tmp_path: Path) -> None:
    driver = LinuxDriver("node-1", tmp_path, host_namespace="ostest-does-not-exist")
    with pytest.raises(DriverError, match="ostest-does-not-exist"):
        await driver.init_host()
    with pytest.raises(DriverError, match="init_host"):
        await driver.networks()
    assert not Path("/run/netns/ostest-does-not-exist").exists()      # not made either


def test_a_tunnel_address_must_be_an_address(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="tunnel_address"):
        LinuxDriver("node-1", tmp_path, tunnel_address="not-an-ip")


# -- the factory, the records, the package -----------------------------------------------


async def test_the_factory_reads_the_network_options(tmp_path: Path, ns: str) -> None:
    driver = driver_factory("linux")("node-1", tmp_path,
                                     {"host_namespace": ns, "tunnel_address": TUNNEL})
    assert isinstance(driver, LinuxDriver)
    assert driver.namespace.namespace == ns and driver.tunnel_address == TUNNEL
    assert driver.capabilities[Capability.VXLAN.value] is True
    # the factory's driver filters ports (security groups) and routes
    assert driver.capabilities[Capability.PORT_FILTER.value] is True
    assert driver.capabilities[Capability.ROUTERS.value] is True


async def test_an_unreadable_record_is_ignored_and_its_tap_reported_unrecorded(
        tmp_path: Path, ns: str) -> None:
    first = make(tmp_path, ns)
    await first.init_host()
    spec = await plug(first, a_network())
    await first.close()
    record = first.records.ports_dir / f"{spec.port_id}.json"
    assert json.loads(record.read_text())["port_id"] == spec.port_id
    record.write_text("{not json")
    second = make(tmp_path, ns)
    await second.init_host()
    try:
        (orphan,) = await second.wired_ports()
        assert orphan.port_id == spec.port_id[:11] and orphan.tap_exists
    finally:
        await second.close()


async def test_records_survive_only_as_long_as_their_devices_are_wanted(
        tmp_path: Path, ns: str) -> None:
    """A network record whose bridge is gone and that no port needs is dropped at start."""
    first = make(tmp_path, ns)
    await first.init_host()
    kept, dropped = a_network(), a_network(1002)
    await plug(first, kept)
    await first.ensure_network(dropped)
    await first.close()
    netns.ip(ns, "link", "del", dropped.bridge)
    netns.ip(ns, "link", "del", kept.bridge)
    second = make(tmp_path, ns)
    await second.init_host()
    try:
        assert set(second.records.networks()) == {kept.network_id}
        assert not (second.records.networks_dir / f"{dropped.network_id}.json").exists()
    finally:
        await second.close()


async def test_a_driver_not_started_refuses_to_work(tmp_path: Path) -> None:
    driver = LinuxDriver("node-1", tmp_path)
    with pytest.raises(DriverError, match="init_host"):
        await driver.wired_ports()
    with pytest.raises(DriverError, match="init_host"):
        await driver.wire_port(a_port(a_network()))


def test_the_package_imports_without_pyroute2() -> None:
    code = ("import sys\nimport ownstack.network.drivers.linux.driver\n"
            "assert 'pyroute2' not in sys.modules, 'pyroute2 imported'\n")
    subprocess.run([sys.executable, "-c", code], check=True)


# -- the firewall seam -------------------------------------------------------------------


class RecordingFirewall:
    """A stand-in for the nftables firewall: what the driver asked of it, and when (whether
    the port's tap was on its bridge yet); ``refuse`` makes the next ``apply_port`` fail."""

    def __init__(self, ns: str) -> None:
        self.ns = ns
        self.calls: list[tuple[str, str, bool]] = []
        self.refuse = False

    def _on_bridge(self, port_id: str) -> bool:
        tap = netns.links(self.ns).get(naming.tap_name(port_id))
        return tap is not None and "master" in tap

    async def apply_port(self, spec: PortSpec) -> None:
        self.calls.append(("apply", spec.port_id, self._on_bridge(spec.port_id)))
        if self.refuse:
            self.refuse = False
            raise DriverError("nft refused")

    async def remove_port(self, port_id: str) -> None:
        self.calls.append(("remove", port_id, self._on_bridge(port_id)))

    async def describe_port(self, port_id: str) -> dict[str, object]:
        return {"chains": [f"port-{port_id[:8]}"]}

    async def remove_tables(self) -> None:
        self.calls.append(("remove_tables", "", False))


@pytest.fixture
async def guarded(tmp_path: Path, ns: str) -> AsyncIterator[tuple[LinuxDriver,
                                                                  RecordingFirewall]]:
    firewall = RecordingFirewall(ns)
    driver = LinuxDriver("node-1", tmp_path, host_namespace=ns, firewall=firewall)
    assert isinstance(firewall, PortFirewall)
    await driver.init_host()
    yield driver, firewall
    await driver.close()


async def test_the_firewall_filters_a_port_before_its_tap_joins_the_bridge(
        guarded: tuple[LinuxDriver, RecordingFirewall]) -> None:
    driver, firewall = guarded
    assert driver.capabilities[Capability.PORT_FILTER.value] is True
    network = a_network()
    spec = await plug(driver, network)
    assert firewall.calls == [("apply", spec.port_id, False)]
    details = await driver.describe_port(spec.port_id)
    assert details["filtered"] is True and details["firewall"] == {
        "chains": [f"port-{spec.port_id[:8]}"]}
    await driver.wire_port(replace(spec, port_security_enabled=False))
    assert firewall.calls[-1] == ("remove", spec.port_id, True)
    await driver.unwire_port(spec.port_id)
    assert firewall.calls[-1] == ("remove", spec.port_id, False)     # after the tap went
    other = await plug(driver, network)
    await driver.remove_network(network.network_id)
    assert firewall.calls[-1] == ("remove", other.port_id, False)


async def test_a_wiring_the_firewall_refused_is_not_attached_until_done_again(
        tmp_path: Path, ns: str) -> None:
    firewall = RecordingFirewall(ns)
    driver = LinuxDriver("node-1", tmp_path, host_namespace=ns, firewall=firewall)
    await driver.init_host()
    network = a_network()
    spec = await plug(driver, network)
    changed = replace(spec, security_group_ids=())
    firewall.refuse = True
    with pytest.raises(DriverError, match="nft refused"):
        await driver.wire_port(changed)
    (wired,) = await driver.wired_ports()
    assert wired.spec == changed and not wired.attached      # the agent wires it again
    await driver.close()
    # Killed there: a new driver still knows the wiring did not finish.
    driver = LinuxDriver("node-1", tmp_path, host_namespace=ns, firewall=firewall)
    await driver.init_host()
    try:
        assert not (await driver.wired_ports())[0].attached
        assert (await driver.wire_port(changed)).attached
        assert (await driver.wired_ports())[0].attached
    finally:
        await driver.close()


# -- the host namespace, by name or by path ----------------------------------------------


@pytest.mark.parametrize("by_path", [False, True])
async def test_the_host_namespace_holds_the_devices_and_the_programs(
        tmp_path: Path, ns: str, by_path: bool) -> None:
    where = f"/run/netns/{ns}" if by_path else ns
    driver = LinuxDriver("node-1", tmp_path, host_namespace=where)
    await driver.init_host()
    try:
        network = a_network()
        await driver.ensure_network(network)
        assert network.bridge in netns.links(ns)
        shown = subprocess.run(driver.namespace.argv(["ip", "-j", "link"]), check=True,
                               capture_output=True, text=True).stdout
        assert {link["ifname"] for link in json.loads(shown)} == {"lo", network.bridge}
    finally:
        await driver.close()
    real = subprocess.run(["ip", "-j", "link"], check=True, capture_output=True, text=True)
    assert network.bridge not in {link["ifname"] for link in json.loads(real.stdout)}
