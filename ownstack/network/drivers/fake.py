"""The fake network driver: a host's data path in memory, the same contract as Linux.

The *machine* and the *driver* are separate, as a Linux host and its agent are: a
:class:`FakeNetworkHost` holds the bridges, the taps that exist and the ports' filtering,
and a :class:`FakeNetworkDriver` drives one. A new driver on the same host (an agent
restart) adopts what is there, and the host's knobs change things behind the agent's back.

The driver makes a port's tap when it wires it (see :mod:`ownstack.network.drivers.base`), so
a port bound to the host goes ACTIVE without a compute side. Behind the driver's back a test
makes a tap vanish (:meth:`FakeNetworkHost.remove_tap`, as an operator's ``ip link del``) or
appear off any bridge (:meth:`FakeNetworkHost.add_tap`, as QEMU's own passing tap), and
the driver reports each as an event.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ownstack.network.drivers import naming
from ownstack.network.drivers.base import (
    Capability,
    DhcpServer,
    DhcpSpec,
    DriverError,
    NetworkDriver,
    NetworkInfo,
    NetworkMissing,
    NetworkSpec,
    PortNotWired,
    PortSpec,
    RouterSpec,
    WiredPort,
)

__all__ = ["FakeNetworkDriver", "FakeNetworkHost", "from_config"]

EVENT_QUEUE_SIZE = 1024
DEFAULT_CAPABILITIES: Mapping[str, bool] = {
    Capability.PORT_FILTER.value: True, Capability.VXLAN.value: True,
    Capability.DHCP.value: True, Capability.ROUTERS.value: True,
    Capability.METADATA.value: False,
}


@dataclass
class FakeBridge:
    spec: NetworkSpec
    members: set[str] = field(default_factory=set)          # tap names on the bridge


@dataclass
class FakeDhcp:
    """A network's DHCP server: the spec applied and its (simulated) process."""

    spec: DhcpSpec
    pid: int | None
    restarts: int = 0


@dataclass
class FakeNetworkHost:
    """The simulated machine: its bridges, taps and filters outlive any one driver."""

    host: str = "fake-host"
    bridges: dict[str, FakeBridge] = field(default_factory=dict)     # network id -> bridge
    ports: dict[str, PortSpec] = field(default_factory=dict)          # port id -> applied
    taps: set[str] = field(default_factory=set)                       # taps that exist
    filters: dict[str, tuple[str, ...]] = field(default_factory=dict)  # port id -> groups
    routers: dict[str, RouterSpec] = field(default_factory=dict)      # router id -> applied
    # remote group id -> (IPv4, IPv6) members, as the Linux driver's nft sets hold them
    group_sets: dict[str, tuple[list[str], list[str]]] = field(default_factory=dict)
    subscribers: set[asyncio.Queue[str | None]] = field(default_factory=set)
    dhcp: dict[str, FakeDhcp] = field(default_factory=dict)           # network id ->
    next_pid: int = 1000

    # -- behind the agent's back (the compute side, an operator) ------------------------

    def add_tap(self, port_id: str) -> None:
        """Somebody made the port's tap, off any bridge: an event."""
        tap = naming.tap_name(port_id)
        if tap not in self.taps:
            self.taps.add(tap)
            self.notify(port_id)

    def remove_tap(self, port_id: str) -> None:
        """The port's tap vanished (somebody removed it): off its bridge, an event."""
        tap = naming.tap_name(port_id)
        self.taps.discard(tap)
        for bridge in self.bridges.values():
            bridge.members.discard(tap)
        self.notify(port_id)

    def kill_dhcp(self, network_id: str) -> None:
        """The network's DHCP server process died."""
        server = self.dhcp.get(network_id)
        if server is not None:
            server.pid = None

    def delete_bridge(self, network_id: str) -> None:
        """Someone removed a bridge by hand; its taps fall off it."""
        self.bridges.pop(network_id, None)

    # -- shared with the driver ----------------------------------------------------------

    def notify(self, port_id: str) -> None:
        for queue in self.subscribers:
            if not queue.full():    # a nudge: a missed one is repaired by the resync
                queue.put_nowait(port_id)

    def has_tap(self, port_id: str) -> bool:
        return naming.tap_name(port_id) in self.taps

    def attached(self, spec: PortSpec) -> bool:
        bridge = self.bridges.get(spec.network.network_id)
        return bridge is not None and spec.tap in bridge.members


class FakeNetworkDriver(NetworkDriver):
    def __init__(self, host: FakeNetworkHost, *,
                 capabilities: Mapping[str, bool] | None = None) -> None:
        self.host = host
        self._capabilities = {**DEFAULT_CAPABILITIES, **(capabilities or {})}
        self._queues: set[asyncio.Queue[str | None]] = set()

    @property
    def capabilities(self) -> Mapping[str, bool]:
        return dict(self._capabilities)

    async def init_host(self) -> None:
        return None

    async def close(self) -> None:
        for queue in self._queues:
            self.host.subscribers.discard(queue)
            if queue.full():        # the consumer lags: make room for the end marker
                queue.get_nowait()
            queue.put_nowait(None)
        self._queues.clear()

    # -- networks ------------------------------------------------------------------------

    async def ensure_network(self, spec: NetworkSpec) -> NetworkInfo:
        bridge = self.host.bridges.get(spec.network_id)
        if bridge is None:
            bridge = self.host.bridges[spec.network_id] = FakeBridge(spec)
        bridge.spec = spec
        return self._info(bridge)

    async def remove_network(self, network_id: str) -> None:
        for port_id, spec in list(self.host.ports.items()):
            if spec.network.network_id == network_id:
                await self.unwire_port(port_id)
        self.host.bridges.pop(network_id, None)

    async def networks(self) -> list[NetworkInfo]:
        return [self._info(bridge) for bridge in self.host.bridges.values()]

    def _info(self, bridge: FakeBridge) -> NetworkInfo:
        vxlan = bridge.spec.network_type == "vxlan" and \
            self._capabilities[Capability.VXLAN.value]
        return NetworkInfo(bridge.spec, {
            "bridge": bridge.spec.bridge, "mtu": bridge.spec.mtu,
            "taps": sorted(bridge.members),
            "vxlan": f"vxlan-{bridge.spec.segmentation_id}" if vxlan else None})

    # -- ports ---------------------------------------------------------------------------

    async def wire_port(self, spec: PortSpec) -> WiredPort:
        bridge = self.host.bridges.get(spec.network.network_id)
        if bridge is None:
            raise NetworkMissing(spec.network.network_id)
        old = self.host.ports.get(spec.port_id)
        if old is not None and old.network.network_id != spec.network.network_id:
            await self.unwire_port(spec.port_id)        # moved to another network
        filtering = self._capabilities[Capability.PORT_FILTER.value] and \
            spec.port_security_enabled
        if filtering:
            self.host.filters[spec.port_id] = spec.security_group_ids
            for group_id in spec.remote_group_ids:      # as nft makes a rule's sets
                self.host.group_sets.setdefault(group_id, ([], []))
        else:
            self.host.filters.pop(spec.port_id, None)
        self.host.taps.add(spec.tap)
        bridge.members.add(spec.tap)
        self.host.ports[spec.port_id] = spec
        return self._wired(spec)

    async def unwire_port(self, port_id: str) -> None:
        spec = self.host.ports.pop(port_id, None)
        self.host.filters.pop(port_id, None)
        if spec is None:
            return
        self.host.taps.discard(spec.tap)
        bridge = self.host.bridges.get(spec.network.network_id)
        if bridge is not None:
            bridge.members.discard(spec.tap)

    async def wired_ports(self) -> list[WiredPort]:
        return [self._wired(spec) for spec in self.host.ports.values()]

    def _wired(self, spec: PortSpec) -> WiredPort:
        return WiredPort(spec, self.host.attached(spec), self.host.has_tap(spec.port_id))

    async def describe_port(self, port_id: str) -> dict[str, Any]:
        spec = self.host.ports.get(port_id)
        if spec is None:
            raise PortNotWired(port_id)
        return {"tap": spec.tap, "bridge": spec.bridge, "mac_address": spec.mac_address,
                "attached": self.host.attached(spec),
                "filtered": port_id in self.host.filters,
                "security_groups": list(self.host.filters.get(port_id, ())),
                "rules": {group.group_id: len(group.rules) for group in spec.security_groups
                          if port_id in self.host.filters},
                "driver": "fake"}

    # -- DHCP --------------------------------------------------------------------------

    async def ensure_dhcp(self, spec: DhcpSpec) -> DhcpServer:
        if spec.network_id not in self.host.bridges:
            raise NetworkMissing(spec.network_id)
        server = self.host.dhcp.get(spec.network_id)
        if server is None:
            server = self.host.dhcp[spec.network_id] = FakeDhcp(spec, None)
        if server.pid is None or _restart_needed(server.spec, spec):
            if server.pid is not None:
                server.restarts += 1
            server.pid = self.host.next_pid
            self.host.next_pid += 1
        server.spec = spec
        return self._server(server)

    async def remove_dhcp(self, network_id: str) -> None:
        self.host.dhcp.pop(network_id, None)

    async def dhcp_servers(self) -> list[DhcpServer]:
        return [self._server(server) for server in self.host.dhcp.values()]

    async def describe_dhcp(self, network_id: str) -> dict[str, Any] | None:
        server = self.host.dhcp.get(network_id)
        if server is None:
            return None
        spec = server.spec
        return {"namespace": f"qdhcp-{network_id}", "pid": server.pid,
                "interface": naming.tap_name(spec.port_id),
                "addresses": [ip.ip_address for ip in spec.fixed_ips],
                "hosts": [{"mac_address": host.mac_address, "hostname": host.hostname,
                           "ip_addresses": [ip.ip_address for ip in host.fixed_ips]}
                          for host in spec.hosts],
                "driver": "fake"}

    def _server(self, server: FakeDhcp) -> DhcpServer:
        running = server.pid is not None and server.spec.network_id in self.host.bridges
        return DhcpServer(server.spec, running, server.pid)

    # -- routers ------------------------------------------------------------------------

    def _require_routers(self) -> None:
        if not self._capabilities[Capability.ROUTERS.value]:
            raise DriverError("this fake host has no routers capability")

    async def ensure_router(self, spec: RouterSpec) -> None:
        self._require_routers()
        bridges = {bridge.spec.bridge for bridge in self.host.bridges.values()}
        for leg in (*spec.interfaces, *([spec.gateway.leg] if spec.gateway else [])):
            if leg.bridge not in bridges:
                raise DriverError(f"bridge {leg.bridge} of port {leg.port_id} does not exist")
        self.host.routers[spec.router_id] = spec

    async def remove_router(self, router_id: str) -> None:
        self.host.routers.pop(router_id, None)

    async def routers(self) -> list[RouterSpec]:
        return list(self.host.routers.values())

    async def describe_router(self, router_id: str) -> dict[str, Any]:
        spec = self.host.routers.get(router_id)
        if spec is None:
            raise DriverError(f"router {router_id} is not on this host")
        return {"namespace": spec.namespace, "driver": "fake",
                "legs": [leg.port_id for leg in spec.interfaces],
                "gateway": spec.gateway.leg.port_id if spec.gateway else None,
                "floating_ips": [(f.floating_ip_address, f.fixed_ip_address)
                                 for f in spec.floating_ips]}

    # -- remote groups -------------------------------------------------------------------

    async def set_group_members(self, group_id: str, v4: Sequence[str], v6: Sequence[str]
                                ) -> None:
        self.host.group_sets[group_id] = (sorted(set(v4)), sorted(set(v6)))

    async def group_members(self) -> dict[str, tuple[list[str], list[str]]]:
        return {group_id: (list(v4), list(v6))
                for group_id, (v4, v6) in self.host.group_sets.items()}

    async def remove_group(self, group_id: str) -> None:
        users = [port_id for port_id in self.host.filters
                 if group_id in self.host.ports[port_id].remote_group_ids]
        if users:
            raise DriverError(f"group {group_id} is still matched by port {users[0]}")
        self.host.group_sets.pop(group_id, None)

    def events(self) -> AsyncIterator[str]:
        queue: asyncio.Queue[str | None] = asyncio.Queue(EVENT_QUEUE_SIZE)
        self._queues.add(queue)
        self.host.subscribers.add(queue)
        return self._drain(queue)

    async def _drain(self, queue: asyncio.Queue[str | None]) -> AsyncGenerator[str, None]:
        try:
            while (port_id := await queue.get()) is not None:
                yield port_id
        finally:
            self._queues.discard(queue)
            self.host.subscribers.discard(queue)


def _restart_needed(old: DhcpSpec, new: DhcpSpec) -> bool:
    """What a real server cannot reread on SIGHUP: anything but its host entries."""
    return (old.network, old.port_id, old.mac_address, old.fixed_ips, old.subnets) != \
        (new.network, new.port_id, new.mac_address, new.fixed_ips, new.subnets)


_HOSTS: dict[tuple[str, str], FakeNetworkHost] = {}


def from_config(host: str, state_dir: Path, options: Mapping[str, Any]) -> NetworkDriver:
    """The agent's factory; it reads no options.

    The host is kept per ``(state_dir, host)`` for the life of the process, so an agent
    restarted in the same process adopts its bridges and ports, as one restarted on a
    Linux host does.
    """
    key = (str(state_dir), host)
    if key not in _HOSTS:
        _HOSTS[key] = FakeNetworkHost(host)
    return FakeNetworkDriver(_HOSTS[key])


def host_of(state_dir: Path, host: str) -> FakeNetworkHost | None:
    """The simulated machine of ``(state_dir, host)``, for tests that act behind the
    agent's back."""
    return _HOSTS.get((str(state_dir), host))
