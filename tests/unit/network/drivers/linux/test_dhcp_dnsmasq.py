"""Real dnsmasq in namespaces the test makes: a "host" namespace with the network's bridge,
the DHCP server ensured on it, and clients (busybox udhcpc) on veths to the bridge.

Every packet stays inside these namespaces; each test removes what it made, even on
failure."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from pyroute2 import AsyncIPRoute, netns

from helpers.names import unique
from ownstack.network.drivers import naming
from ownstack.network.drivers.base import (
    DhcpHost,
    DhcpSpec,
    DhcpSubnet,
    DriverError,
    FixedIp,
    NetworkMissing,
    NetworkSpec,
)
from ownstack.network.drivers.linux import dhcp
from ownstack.network.drivers.linux.dhcp import LinuxDhcp

SUBNET = "5d0c1f36-0000-4000-8000-000000000001"
SCRIPT = """#!/bin/sh
[ "$1" = bound ] || exit 0
echo "ip=$ip"
echo "subnet=$subnet"
echo "router=$router"
echo "dns=$dns"
echo "mtu=$mtu"
echo "staticroutes=$staticroutes"
echo "hostname=$hostname"
"""


def port(n: int) -> DhcpHost:
    return DhcpHost(f"{n:08d}-aaaa-4bbb-8ccc-000000000000", f"fa:16:3e:00:00:{n:02x}",
                    (FixedIp(SUBNET, f"10.99.0.{n}"),), f"host-10-99-0-{n}")


def make_spec(network_id: str, *hosts: DhcpHost, has_router: bool = False) -> DhcpSpec:
    return DhcpSpec(
        network=NetworkSpec(network_id, "vxlan", 77, mtu=1400),
        port_id=str(uuid.uuid4()), mac_address="fa:16:3e:00:00:02",
        fixed_ips=(FixedIp(SUBNET, "10.99.0.2"),),
        subnets=(DhcpSubnet(SUBNET, "10.99.0.0/24", 4, gateway_ip="10.99.0.1",
                            dns_nameservers=("10.99.0.53",), has_router=has_router,
                            allocation_pools=(("10.99.0.2", "10.99.0.254"),)),),
        hosts=hosts)


@dataclass
class Lab:
    network_id: str
    host_ns: str
    tmp: Path
    server: LinuxDhcp
    clients: list[str]

    @property
    def bridge(self) -> str:
        return naming.bridge_name(self.network_id)

    async def dhclient(self, mac: str, *, tries: int = 3) -> dict[str, str] | None:
        """A client namespace on the bridge with ``mac``: what udhcpc got, or None."""
        name = unique("dhc")
        self.clients.append(name)
        await asyncio.to_thread(netns.create, name)
        outer = "v" + name[-8:]
        async with AsyncIPRoute(netns=self.host_ns) as host:
            await host.link("add", ifname=outer, kind="veth", peer={"ifname": "eth0"})
            inner = (await host.link_lookup(ifname="eth0"))[0]
            await host.link("set", index=inner, net_ns_fd=name)
            bridge = (await host.link_lookup(ifname=self.bridge))[0]
            index = (await host.link_lookup(ifname=outer))[0]
            await host.link("set", index=index, master=bridge, state="up")
        async with AsyncIPRoute(netns=name) as ns:
            index = (await ns.link_lookup(ifname="eth0"))[0]
            await ns.link("set", index=index, address=mac, state="up")
        script = self.tmp / "udhcpc.sh"
        script.write_text(SCRIPT)
        script.chmod(0o755)
        proc = await asyncio.create_subprocess_exec(
            "ip", "netns", "exec", name, "busybox", "udhcpc", "-i", "eth0", "-n", "-q",
            "-t", str(tries), "-T", "1", "-O", "mtu", "-O", "staticroutes",
            "-s", str(script), stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL)
        out, _ = await asyncio.wait_for(proc.communicate(), 30)
        if proc.returncode != 0:
            return None
        return dict(line.split("=", 1) for line in out.decode().splitlines() if "=" in line)


@pytest.fixture
async def lab(tmp_path: Path) -> AsyncIterator[Lab]:
    network_id = str(uuid.uuid4())
    host_ns = unique("dhh")
    await asyncio.to_thread(netns.create, host_ns)
    lab = Lab(network_id, host_ns, tmp_path, LinuxDhcp(tmp_path / "state",
                                                       host_namespace=host_ns), [])
    try:
        async with AsyncIPRoute(netns=host_ns) as host:
            await host.link("add", ifname=lab.bridge, kind="bridge")
            index = (await host.link_lookup(ifname=lab.bridge))[0]
            await host.link("set", index=index, state="up")
        yield lab
    finally:
        await lab.server.remove(network_id)
        for name in [*lab.clients, host_ns, dhcp.namespace_name(network_id)]:
            if name in netns.listnetns():
                await asyncio.to_thread(netns.remove, name)


def pids_of_dnsmasq(state: Path) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
            except OSError:
                continue
            if str(state).encode() in cmdline and b"dnsmasq" in cmdline:
                found.append(int(entry))
    return found


async def test_a_port_gets_its_address_router_dns_mtu_and_the_metadata_route(
        lab: Lab) -> None:
    spec = make_spec(lab.network_id, port(5))
    server = await lab.server.ensure(spec)
    assert server.running and server.pid is not None

    lease = await lab.dhclient(port(5).mac_address)

    assert lease is not None
    assert lease["ip"] == "10.99.0.5"
    assert lease["subnet"] == "255.255.255.0"
    assert lease["router"] == "10.99.0.1"
    assert lease["dns"] == "10.99.0.53"
    assert lease["mtu"] == "1400"
    assert lease["hostname"] == "host-10-99-0-5"
    assert lease["staticroutes"] == "169.254.169.254/32 10.99.0.2 0.0.0.0/0 10.99.0.1"

    # The namespace side: the DHCP port's MAC, address, MTU and the metadata address.
    ns = dhcp.namespace_name(lab.network_id)
    async with AsyncIPRoute(netns=ns) as ipr:
        index = (await ipr.link_lookup(ifname=dhcp.ns_interface(spec.port_id)))[0]
        (link,) = await ipr.link("get", index=index)
        assert link.get("IFLA_ADDRESS") == spec.mac_address
        assert link.get("IFLA_MTU") == 1400
    described = await lab.server.describe(lab.network_id)
    assert described is not None
    assert {a for a in described["addresses"] if not a.startswith("fe80:")} == {
        "10.99.0.2/24", "169.254.169.254/32"}
    assert described["pid"] == server.pid
    assert described["cmdline"][0] == "dnsmasq"
    assert "--no-resolv" in described["cmdline"]
    assert described["hosts"] == [
        "fa:16:3e:00:00:05,host-10-99-0-5,"
        "10.99.0.5"]
    assert any("10.99.0.5" in line for line in described["leases"])


async def test_a_new_port_is_served_by_the_same_dnsmasq_and_strangers_get_nothing(
        lab: Lab) -> None:
    spec = make_spec(lab.network_id, port(5), has_router=True)
    first = await lab.server.ensure(spec)

    second = await lab.server.ensure(replace(spec, hosts=(port(5), port(6))))
    lease = await lab.dhclient(port(6).mac_address)

    assert second.pid == first.pid
    assert lease is not None and lease["ip"] == "10.99.0.6"
    assert lease.get("staticroutes", "") == ""          # a router serves this subnet
    assert await lab.dhclient("fa:16:3e:00:00:77", tries=2) is None


async def test_a_port_with_a_lease_removed_keeps_the_same_dnsmasq_alive(lab: Lab) -> None:
    """A deleted server's port leaves the host entries by SIGHUP, and dnsmasq carries on.
    (dnsmasq 2.90 segfaulted here when entries carried ``set:`` tags.)"""
    spec = make_spec(lab.network_id, port(5), port(6), has_router=True)
    first = await lab.server.ensure(spec)
    assert await lab.dhclient(port(6).mac_address) is not None      # a lease for port 6
    after = await lab.server.ensure(replace(spec, hosts=(port(5),)))
    await asyncio.sleep(0.5)                      # dnsmasq has handled the SIGHUP
    assert after.pid == first.pid
    assert pids_of_dnsmasq(lab.server.root) == [first.pid]
    assert (await lab.server.servers())[0].running
    assert await lab.dhclient(port(5).mac_address) is not None      # and still serves


async def test_remove_leaves_no_namespace_veth_or_process(lab: Lab) -> None:
    spec = make_spec(lab.network_id, port(5))
    await lab.server.ensure(spec)
    assert pids_of_dnsmasq(lab.server.root)

    await lab.server.remove(lab.network_id)
    await lab.server.remove(lab.network_id)              # and again: nothing to do

    assert dhcp.namespace_name(lab.network_id) not in netns.listnetns()
    async with AsyncIPRoute(netns=lab.host_ns) as host:
        assert await host.link_lookup(ifname=naming.tap_name(spec.port_id)) == []
    assert pids_of_dnsmasq(lab.server.root) == []
    assert await lab.server.servers() == []
    assert await lab.server.describe(lab.network_id) is None


async def test_a_new_agent_adopts_dnsmasq_and_restarts_it_only_for_new_subnets(
        lab: Lab) -> None:
    spec = make_spec(lab.network_id, port(5))
    first = await lab.server.ensure(spec)
    again = LinuxDhcp(lab.tmp / "state", host_namespace=lab.host_ns)

    (seen,) = await again.servers()
    kept = await again.ensure(spec)
    other = DhcpSubnet("5d0c1f36-0000-4000-8000-000000000002", "10.98.0.0/24", 4)
    moved = await again.ensure(replace(spec, subnets=(*spec.subnets, other),
                                       fixed_ips=(*spec.fixed_ips,
                                                  FixedIp(other.subnet_id, "10.98.0.2"))))

    assert seen.spec == spec and seen.running and seen.pid == first.pid
    assert kept.pid == first.pid
    assert moved.pid != first.pid
    assert pids_of_dnsmasq(lab.server.root) == [moved.pid]


async def test_a_dead_dnsmasq_is_seen_and_started_again(lab: Lab) -> None:
    spec = make_spec(lab.network_id, port(5))
    first = await lab.server.ensure(spec)
    assert first.pid is not None
    os.kill(first.pid, 9)
    while Path(f"/proc/{first.pid}/cmdline").exists() and \
            Path(f"/proc/{first.pid}/cmdline").read_bytes():
        await asyncio.sleep(0.02)

    (seen,) = await lab.server.servers()
    started = await lab.server.ensure(spec)

    assert not seen.running
    assert started.running and started.pid != first.pid
    assert (await lab.dhclient(port(5).mac_address) or {}).get("ip") == "10.99.0.5"


async def test_a_network_without_its_bridge_is_refused(lab: Lab) -> None:
    spec = make_spec(str(uuid.uuid4()), port(5))
    try:
        with pytest.raises(NetworkMissing):
            await lab.server.ensure(spec)
        assert dhcp.namespace_name(spec.network_id) not in netns.listnetns()
    finally:
        await lab.server.remove(spec.network_id)


async def test_dnsmasq_takes_ipv6_stateful_and_slaac_subnets_beside_ipv4(lab: Lab) -> None:
    stateful = DhcpSubnet("5d0c1f36-0000-4000-8000-000000000006", "fd00:99::/64", 6,
                          ipv6_ra_mode="dhcpv6-stateful",
                          ipv6_address_mode="dhcpv6-stateful")
    slaac = DhcpSubnet("5d0c1f36-0000-4000-8000-000000000007", "fd00:98::/64", 6,
                       ipv6_ra_mode="slaac", ipv6_address_mode="slaac")
    base = make_spec(lab.network_id, port(5))
    spec = replace(base, subnets=(*base.subnets, stateful, slaac),
                   fixed_ips=(*base.fixed_ips, FixedIp(stateful.subnet_id, "fd00:99::2"),
                              FixedIp(slaac.subnet_id, "fd00:98::f816:3eff:fe00:2")))

    server = await lab.server.ensure(spec)

    described = await lab.server.describe(lab.network_id)
    assert server.running and described is not None
    assert {"fd00:99::2/64", "fd00:98::f816:3eff:fe00:2/64"} <= set(described["addresses"])
    assert "--enable-ra" in described["cmdline"]
    assert (await lab.dhclient(port(5).mac_address) or {}).get("ip") == "10.99.0.5"
    # The DHCP port takes no address or route from a router's advertisements, and the
    # host end of its veth has no IPv6 at all.
    inner = dhcp.ns_interface(spec.port_id)
    assert await _sysctl(dhcp.namespace_name(lab.network_id),
                         f"net.ipv6.conf.{inner}.accept_ra") == "0"
    tap = naming.tap_name(spec.port_id)
    assert await _sysctl(lab.host_ns, f"net.ipv6.conf.{tap}.disable_ipv6") == "1"


async def _sysctl(namespace: str, key: str) -> str:
    proc = await asyncio.create_subprocess_exec(
        "ip", "netns", "exec", namespace, "sysctl", "-n", key,
        stdout=asyncio.subprocess.PIPE)
    out, _ = await proc.communicate()
    return out.decode().strip()


async def test_a_new_dhcp_port_replaces_the_old_ones_interface(lab: Lab) -> None:
    old = make_spec(lab.network_id, port(5))
    first = await lab.server.ensure(old)
    new = replace(old, port_id=str(uuid.uuid4()), mac_address="fa:16:3e:00:00:03")

    second = await lab.server.ensure(new)

    async with AsyncIPRoute(netns=lab.host_ns) as host:
        assert await host.link_lookup(ifname=naming.tap_name(old.port_id)) == []
        assert await host.link_lookup(ifname=naming.tap_name(new.port_id)) != []
    assert second.pid != first.pid
    assert (await lab.dhclient(port(5).mac_address) or {}).get("ip") == "10.99.0.5"


async def test_a_dnsmasq_that_refuses_to_start_is_a_driver_error(
        lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    real = dhcp.dnsmasq_argv
    monkeypatch.setattr(dhcp, "dnsmasq_argv",
                        lambda spec, state: [*real(spec, state), "--no-such-option"])

    with pytest.raises(DriverError, match="dnsmasq"):
        await lab.server.ensure(make_spec(lab.network_id, port(5)))

    (seen,) = await lab.server.servers()
    assert not seen.running


async def test_files_written_but_not_reloaded_are_seen_and_reloaded(lab: Lab) -> None:
    """An agent killed after writing a new spec's files, before dnsmasq reread them: the
    server is listed as not running (not as serving the new spec), and the next ensure
    reloads the same dnsmasq, which then answers the new port."""
    first = await lab.server.ensure(make_spec(lab.network_id, port(5)))
    spec = replace(first.spec, hosts=(port(5), port(6)))
    state = lab.server.state(lab.network_id)
    (state / "spec.json").write_text(dhcp.spec_to_json(spec))     # as the killed ensure
    (state / "host").write_text(dhcp.hosts_file(spec))

    (seen,) = await lab.server.servers()
    reloaded = await lab.server.ensure(spec)

    assert seen.spec == spec and seen.pid == first.pid and not seen.running
    assert reloaded.pid == first.pid and reloaded.running
    assert await lab.server.servers() == [reloaded]
    assert (await lab.dhclient(port(6).mac_address) or {}).get("ip") == "10.99.0.6"


async def test_an_ensure_returns_once_dnsmasq_has_reread_its_files(
        lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    """The SIGHUP is not the reload: ensure waits for dnsmasq's word that it reread its
    files, and one that never rereads them is a driver error (and not recorded loaded)."""
    first = await lab.server.ensure(make_spec(lab.network_id, port(5)))
    log_size = (lab.server.state(lab.network_id) / "log").stat().st_size
    await lab.server.ensure(replace(first.spec, hosts=(port(5), port(6))))
    written = (lab.server.state(lab.network_id) / "log").read_text()[log_size:]
    assert f"read {lab.server.state(lab.network_id) / 'host'}" in written

    monkeypatch.setattr(dhcp, "RELOAD_WAIT", 0.3)
    monkeypatch.setattr(dhcp.os, "kill", lambda pid, sig: None)     # the SIGHUP is lost
    with pytest.raises(DriverError, match="did not reread"):
        await lab.server.ensure(replace(first.spec, hosts=(port(5), port(7))))
    (seen,) = await lab.server.servers()
    assert not seen.running and seen.pid == first.pid
