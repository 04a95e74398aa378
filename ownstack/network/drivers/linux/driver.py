"""The Linux network driver: a Linux bridge per network, a tap per port on its network's
bridge, and a VXLAN device per VXLAN network on a host with a tunnel address.

**The driver makes the tap.** ``wire_port`` makes the port's persistent tap
(:func:`~ownstack.network.drivers.naming.tap_name`), gives it the network's MTU and a MAC
derived from the port's, puts it on its network's bridge and brings it up (down for a port
that is administratively down, as Neutron's Linux bridge agent does); QEMU opens that tap
by name. ``unwire_port`` removes it.

**What is wired is what the kernel shows**, joined with the specs the driver last applied
(:mod:`.records`): :meth:`LinuxDriver.wired_ports` and :meth:`LinuxDriver.networks` read
the namespace's links every time. A recorded port whose tap is gone is reported so (not
attached, its tap missing), and the agent wires it again; a persistent ``tap…`` or a
``brq…`` bridge that nobody recorded is reported under the 11 characters of id its name
holds, so the agent removes it. A *passing* tap nobody recorded is a guest's that QEMU made
before its port was wired: it is not reported, and wiring the port takes it as it is.

**Events** come from an rtnetlink socket on the namespace's link group: a tap that
appears, vanishes, or changes bridge, MTU or up state nudges its port.

**Filtering** is a seam: :class:`PortFirewall`, given to :class:`LinuxDriver`, is called
on every wire (``apply_port``, or ``remove_port`` for a port without port security),
unwire and describe. Without one the driver reports no ``supports_port_filter``.

Calls that touch a network's bridge hold that network's lock; all netlink calls run on the
namespace's own thread (:mod:`.namespace`), never on the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import ipaddress
import logging
import shutil
import socket
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

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
from ownstack.network.drivers.linux import l2
from ownstack.network.drivers.linux.firewall import Firewall
from ownstack.network.drivers.linux.l2 import Link
from ownstack.network.drivers.linux.namespace import HostNamespace
from ownstack.network.drivers.linux.records import Records

if TYPE_CHECKING:
    from pyroute2 import IPRoute

    from ownstack.network.drivers.linux.host import HostSide

__all__ = ["LinuxDriver", "PortFirewall", "from_config"]

log = logging.getLogger(__name__)

EVENT_QUEUE_SIZE = 1024
RTM_NEWLINK, RTM_DELLINK = 16, 17
UNRECORDED = "unknown"          # the network_type of a bridge nobody recorded


@runtime_checkable
class PortFirewall(Protocol):
    """A port's filtering on the host (security groups, anti-spoofing): the seam where
    ``drivers/linux/firewall.py`` plugs into :class:`LinuxDriver`. Each method is
    idempotent and raises :class:`~ownstack.network.drivers.base.DriverError` on failure.
    The driver calls ``apply_port`` before the port's tap goes up on its bridge, and
    ``remove_port`` after the tap is gone."""

    async def apply_port(self, spec: PortSpec) -> None:
        """Filter the port's tap (``spec.tap``) as ``spec`` says: its groups, MAC,
        addresses and address pairs."""

    async def remove_port(self, port_id: str) -> None:
        """Remove the port's filtering; succeeds if there is none."""

    async def describe_port(self, port_id: str) -> dict[str, Any]:
        """The port's filtering for ``ownstack show port``: chains, rules, counters."""

    async def remove_tables(self) -> None:
        """Remove all of this host's filtering (``ownstack reset``, after every port's);
        succeeds if there is none."""


class LinuxDriver(NetworkDriver):
    def __init__(self, host: str, state_dir: Path, *, host_namespace: str = "",
                 tunnel_address: str = "", firewall: PortFirewall | None = None,
                 host_side: HostSide | None = None) -> None:
        if tunnel_address:
            try:
                tunnel_address = str(ipaddress.ip_address(tunnel_address))
            except ValueError:
                raise ValueError(f"network.tunnel_address {tunnel_address!r} is not an IP "
                                 f"address") from None
        self.host = host
        self.state_dir = state_dir
        self.tunnel_address = tunnel_address
        self.firewall = firewall
        self.namespace = HostNamespace(host_namespace)
        self.records = Records(state_dir / "network" / "linux" / host)
        from ownstack.network.drivers.linux.dhcp import LinuxDhcp
        from ownstack.network.drivers.linux.l3 import LinuxRouters

        # Routers and DHCP servers keep their own records beside the ports' and networks'.
        self.routers_ = LinuxRouters(self.records.directory, host_namespace or None)
        self.dhcp = LinuxDhcp(self.records.directory, host_namespace=host_namespace or None,
                              metadata=self._dhcp_metadata)
        self.host_side = host_side
        self._locks: dict[str, asyncio.Lock] = {}
        self._queues: set[asyncio.Queue[str | None]] = set()
        self._tap_ports: dict[str, str] = {}               # tap name -> recorded port id
        self._seen: dict[str, tuple[int | None, int, bool]] = {}  # tap -> master, mtu, up
        self._monitor: asyncio.Task[None] | None = None
        self._monitor_socket: socket.socket | None = None

    @property
    def capabilities(self) -> Mapping[str, bool]:
        return {Capability.PORT_FILTER.value: self.firewall is not None,
                Capability.VXLAN.value: True, Capability.DHCP.value: True,
                Capability.ROUTERS.value: True, Capability.METADATA.value: True}

    # -- life ----------------------------------------------------------------------------

    async def init_host(self) -> None:
        """Enter the host namespace, start watching its links, and adopt what is there:
        the devices stay as they are; records of networks whose bridge is gone and that no
        recorded port needs are dropped."""
        await self.namespace.start()
        if self.host_side is not None:
            await self.host_side.ensure()
        if isinstance(self.firewall, Firewall):
            await self.firewall.init()
        try:
            await asyncio.to_thread(self.records.load)
        except OSError as exc:
            raise DriverError(f"cannot read the records in {self.records.directory}: "
                              f"{exc}") from exc
        if self._monitor is None:
            # The monitor's socket is bound before the first read of the links, so that
            # no change between the two goes unseen.
            sock = await self.namespace.open_monitor()
            self._monitor_socket = sock
            links = await self._links()
            self._seen = {name: _tap_state(link) for name, link in links.items()
                          if l2.is_tap_name(name) and link.is_tap}
            self._monitor = asyncio.create_task(self._watch(sock))
        ports, networks = self.records.ports(), self.records.networks()
        self._tap_ports = {spec.tap: port_id for port_id, spec in ports.items()}
        links = await self._links()
        needed = {spec.network.network_id for spec in ports.values()}
        for network_id, spec in networks.items():
            if spec.bridge not in links and network_id not in needed:
                await asyncio.to_thread(self.records.forget_network, network_id)

    async def tear_down(self) -> list[str]:
        """Remove everything of this cloud from the host (``ownstack reset``): its routers
        (namespaces, radvd, metadata proxies: every router recorded, its namespace there or
        not) and DHCP servers (namespaces, dnsmasq, metadata proxies), its ports' taps and
        filtering, its networks' bridges, and the host side (guard, unreachable routes,
        external bridges). What was removed, a line each. Call after :meth:`init_host`."""
        from ownstack.network.drivers import naming
        from ownstack.network.drivers.linux import metadata_proxy

        done = []
        for router_id in await self.routers_.recorded():
            await self.remove_router(router_id)
            done.append(f"router namespace {naming.router_namespace(router_id)}")
        for server in await self.dhcp_servers():
            await self.remove_dhcp(server.network_id)
            done.append(f"DHCP namespace qdhcp-{server.network_id}")
        for port in await self.wired_ports():
            await self.unwire_port(port.port_id)
            done.append(f"tap {port.spec.tap}")
        for network in await self.networks():
            await self.remove_network(network.spec.network_id)
            done.append(f"bridge {network.spec.bridge}")
        if self.firewall is not None:
            await self.firewall.remove_tables()
            done.append("the security group tables")
        for owner in await asyncio.to_thread(metadata_proxy.running_proxies, self.state_dir):
            await metadata_proxy.stop_proxy(self.state_dir, owner)
            done.append(f"metadata proxy of {owner}")
        if self.host_side is not None:
            await self.host_side.remove()
            done.append("the external bridges, their guard and unreachable routes")
        return done

    async def close(self) -> None:
        if self._monitor is not None:
            self._monitor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._monitor
            self._monitor = None
        if self._monitor_socket is not None:
            self._monitor_socket.close()
            self._monitor_socket = None
        for queue in self._queues:
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(None)
        self._queues.clear()
        await self.namespace.close()

    # -- networks ------------------------------------------------------------------------

    async def ensure_network(self, spec: NetworkSpec) -> NetworkInfo:
        async with self._lock(spec.network_id):
            await asyncio.to_thread(self.records.save_network, spec)
            vxlan = self._vxlan_of(spec)

            def ensure(ipr: IPRoute) -> None:
                bridge = l2.ensure_bridge(ipr, spec.bridge, spec.mtu)
                if l2.is_bridge_name(spec.bridge):      # ours; a mapped one is the host's
                    l2.disable_ipv6(spec.bridge)
                for link in l2.links(ipr).values():
                    if link.master != bridge:
                        continue
                    if link.kind == "vxlan" and (vxlan is None or link.name != vxlan[0]):
                        l2.delete_link(ipr, link.name)
                    elif link.mtu != spec.mtu:
                        l2.set_mtu(ipr, link.index, spec.mtu)
                if vxlan is not None:
                    l2.ensure_vxlan(ipr, vxlan[0], vxlan[1], self.tunnel_address, bridge,
                                    spec.mtu)

            await self.namespace.run(ensure, f"cannot make network {spec.network_id}")
            links = await self._links()
        return self._network_info(spec, links[spec.bridge], links, recorded=True)

    def _vxlan_of(self, spec: NetworkSpec) -> tuple[str, int] | None:
        """The VXLAN device ``spec`` wants on this host, if any: its name and VNI."""
        if spec.network_type != "vxlan" or not self.tunnel_address:
            return None
        if spec.segmentation_id is None or not 1 <= spec.segmentation_id < 2 ** 24:
            raise DriverError(f"network {spec.network_id} has no valid VNI "
                              f"({spec.segmentation_id!r})")
        return l2.vxlan_name(spec.segmentation_id), spec.segmentation_id

    async def remove_network(self, network_id: str) -> None:
        bridge_name = naming.bridge_name(network_id)
        async with self._lock(network_id):
            records = self.records.ports()
            ports = [spec for spec in records.values()
                     if spec.network.network_id == network_id]
            elsewhere = {spec.tap for spec in records.values()
                         if spec.network.network_id != network_id}

            def remove(ipr: IPRoute) -> None:
                links = l2.links(ipr)
                bridge = links.get(bridge_name)
                doomed = {spec.tap for spec in ports if spec.tap in links}
                if bridge is not None:
                    doomed |= {link.name for link in links.values()
                               if link.master == bridge.index and link.name not in elsewhere
                               and (link.kind == "vxlan" or
                                    (l2.is_tap_name(link.name) and link.is_tap))}
                for name in sorted(doomed):
                    l2.delete_link(ipr, name)
                if bridge is not None:
                    l2.delete_link(ipr, bridge_name)

            await self.namespace.run(remove, f"cannot remove network {network_id}")
            for spec in ports:
                await self._forget_port(spec.port_id, spec.tap)
            if isinstance(self.firewall, Firewall):
                await self.firewall.remove_bridge(bridge_name)
            await asyncio.to_thread(self.records.forget_network, network_id)

    async def networks(self) -> list[NetworkInfo]:
        links = await self._links()
        known = self._known_networks()
        found = []
        for name, link in sorted(links.items()):
            if not (l2.is_bridge_name(name) and link.kind == "bridge"):
                continue
            spec = known.get(name)
            if spec is None:
                found.append(self._network_info(self._unrecorded_network(link, links),
                                                link, links, recorded=False))
            else:
                found.append(self._network_info(replace(spec, mtu=link.mtu), link, links,
                                                 recorded=True))
        return found

    def _known_networks(self) -> dict[str, NetworkSpec]:
        """The recorded networks by bridge name, with those its recorded ports name."""
        networks, ports = self.records.networks(), self.records.ports()
        known = {spec.network.bridge: spec.network for spec in ports.values()}
        known.update({spec.bridge: spec for spec in networks.values()})
        return known

    @staticmethod
    def _unrecorded_network(bridge: Link, links: Mapping[str, Link]) -> NetworkSpec:
        vxlan = next((link for link in links.values()
                      if link.master == bridge.index and link.kind == "vxlan"), None)
        return NetworkSpec(
            network_id=bridge.name.removeprefix(naming.BRIDGE_PREFIX),
            network_type="vxlan" if vxlan else UNRECORDED,
            segmentation_id=vxlan.info.get("IFLA_VXLAN_ID") if vxlan else None,
            mtu=bridge.mtu)

    @staticmethod
    def _network_info(spec: NetworkSpec, bridge: Link, links: Mapping[str, Link], *,
                      recorded: bool) -> NetworkInfo:
        members = [link for link in links.values() if link.master == bridge.index]
        vxlan = next((link for link in members if link.kind == "vxlan"), None)
        return NetworkInfo(spec, {
            "driver": "linux", "bridge": bridge.name, "mtu": bridge.mtu,
            "up": bridge.up, "operstate": bridge.operstate, "recorded": recorded,
            "taps": sorted(link.name for link in members if link.is_tap),
            "vxlan": vxlan.name if vxlan else None,
            "vni": vxlan.info.get("IFLA_VXLAN_ID") if vxlan else None,
            "tunnel_address": (vxlan.info.get("IFLA_VXLAN_LOCAL")
                               or vxlan.info.get("IFLA_VXLAN_LOCAL6")) if vxlan else None})

    # -- ports ---------------------------------------------------------------------------

    async def wire_port(self, spec: PortSpec) -> WiredPort:
        old = self.records.port(spec.port_id)
        networks = {spec.network.network_id}
        if old is not None:
            networks.add(old.network.network_id)
        async with self._locks_of(networks):
            recorded = self.records.networks()
            links = await self._links()
            if spec.network.network_id not in recorded or spec.bridge not in links:
                raise NetworkMissing(spec.network.network_id)
            # The record first: a tap never exists without one (see .records).
            await asyncio.to_thread(partial(self.records.save_port, spec, pending=True))
            self._tap_ports[spec.tap] = spec.port_id
            if self.firewall is not None:
                if spec.port_security_enabled:
                    await self.firewall.apply_port(spec)
                else:
                    await self.firewall.remove_port(spec.port_id)

            def wire(ipr: IPRoute) -> None:
                found = ipr.link_lookup(ifname=spec.bridge)
                if not found:
                    raise NetworkMissing(spec.network.network_id)   # removed meanwhile
                l2.ensure_tap(ipr, spec.tap, l2.tap_mac(spec.mac_address),
                              spec.network.mtu, int(found[0]), spec.admin_state_up)

            await self.namespace.run(wire, f"cannot wire port {spec.port_id}")
            await asyncio.to_thread(self.records.save_port, spec)
            return _wired(spec, await self._links())

    async def unwire_port(self, port_id: str) -> None:
        spec = self.records.port(port_id)
        tap = spec.tap if spec is not None else naming.tap_name(port_id)
        owner = self._tap_ports.get(tap)
        if spec is None and owner is not None and owner != port_id:
            return                  # the tap of another, recorded, port: not this one's
        networks = {spec.network.network_id} if spec is not None else set()
        async with self._locks_of(networks):
            def unwire(ipr: IPRoute) -> None:
                link = l2.links(ipr).get(tap)
                if link is not None and link.is_tap and l2.is_tap_name(tap) and \
                        (spec is not None or link.info.get("IFLA_TUN_PERSIST")):
                    l2.delete_link(ipr, tap)

            await self.namespace.run(unwire, f"cannot unwire port {port_id}")
            await self._forget_port(port_id, tap)

    async def _forget_port(self, port_id: str, tap: str) -> None:
        if self.firewall is not None:
            await self.firewall.remove_port(port_id)
        await asyncio.to_thread(self.records.forget_port, port_id)
        if self._tap_ports.get(tap) == port_id:
            del self._tap_ports[tap]

    async def wired_ports(self) -> list[WiredPort]:
        ports = self.records.ports()
        links = await self._links()
        wired = [_wired(spec, links, pending=self.records.pending(port_id))
                 for port_id, spec in ports.items()]
        recorded = {spec.tap for spec in ports.values()}
        for name, link in sorted(links.items()):
            if l2.is_tap_name(name) and link.is_tap and name not in recorded and \
                    link.info.get("IFLA_TUN_PERSIST"):
                wired.append(_unrecorded_port(link, links))
        return wired

    async def describe_port(self, port_id: str) -> dict[str, Any]:
        spec = self.records.port(port_id)
        if spec is None:
            raise PortNotWired(port_id)
        links = await self._links()
        tap, bridge = links.get(spec.tap), links.get(spec.bridge)
        vxlan = next((link for link in links.values() if bridge is not None
                      and link.master == bridge.index and link.kind == "vxlan"), None)
        details: dict[str, Any] = {
            "driver": "linux", "namespace": self.namespace.namespace or None,
            "tap": spec.tap, "bridge": spec.bridge, "mac_address": spec.mac_address,
            "attached": _wired(spec, links, pending=self.records.pending(port_id)).attached,
            "tap_exists": tap is not None, "pending": self.records.pending(port_id),
            "tap_mac": tap.mac if tap else None, "mtu": tap.mtu if tap else None,
            "up": tap.up if tap else None, "operstate": tap.operstate if tap else None,
            "master": _name_of(tap.master, links) if tap else None,
            "counters": dict(tap.stats) if tap else {},
            "vxlan": vxlan.name if vxlan else None,
            "filtered": self.firewall is not None and spec.port_security_enabled,
        }
        if self.firewall is not None:
            details["firewall"] = await self.firewall.describe_port(port_id)
        return details

    # -- events --------------------------------------------------------------------------

    # -- remote groups: nft sets of the firewall ------------------------------------------

    def _group_firewall(self) -> Firewall:
        if not isinstance(self.firewall, Firewall):
            raise DriverError("this host filters no ports: no remote-group sets")
        return self.firewall

    async def set_group_members(self, group_id: str, v4: Sequence[str], v6: Sequence[str]
                                ) -> None:
        await self._group_firewall().set_members(group_id, list(v4), list(v6))

    async def group_members(self) -> dict[str, tuple[list[str], list[str]]]:
        if not isinstance(self.firewall, Firewall):
            return {}
        return await self.firewall.members()

    async def remove_group(self, group_id: str) -> None:
        if isinstance(self.firewall, Firewall):
            await self.firewall.remove_group(group_id)

    # -- DHCP: dnsmasq in a namespace per network (:mod:`.dhcp`) -------------------------

    async def ensure_dhcp(self, spec: DhcpSpec) -> DhcpServer:
        if spec.network.bridge not in await self._links():
            raise NetworkMissing(spec.network_id)
        return await self.dhcp.ensure(spec)

    async def remove_dhcp(self, network_id: str) -> None:
        await self.dhcp.remove(network_id)

    async def dhcp_servers(self) -> list[DhcpServer]:
        return await self.dhcp.servers()

    async def describe_dhcp(self, network_id: str) -> dict[str, Any] | None:
        return await self.dhcp.describe(network_id)

    async def _dhcp_metadata(self, network_id: str, namespace: str, wanted: bool) -> None:
        """The metadata proxy of a network no router serves: on 169.254.169.254:80 in its
        DHCP namespace (the DHCP server hands out the route to it)."""
        from ownstack.network.drivers.linux import metadata_proxy

        try:
            if wanted:
                await metadata_proxy.ensure_proxy(self.state_dir, namespace,
                                                  network_id=network_id)
            else:
                await metadata_proxy.stop_proxy(self.state_dir, network_id)
        except metadata_proxy.ProxyError as exc:
            raise DriverError(f"network {network_id}: the metadata proxy did not start: "
                              f"{exc}") from exc

    # -- routers: a namespace each (:mod:`.l3`) -----------------------------------------

    async def ensure_router(self, spec: RouterSpec) -> None:
        """The router's namespace, and in it the metadata proxy its interfaces' guests
        reach at 169.254.169.254:80 (redirected to the proxy's port, which nothing else
        reaches; see :mod:`.l3`)."""
        from ownstack.network.drivers.linux import l3, metadata_proxy

        await self.routers_.ensure(spec)
        try:
            if spec.interfaces:
                await metadata_proxy.ensure_proxy(
                    self.state_dir, spec.namespace, router_id=spec.router_id,
                    bind="0.0.0.0", port=l3.METADATA_PORT)
            else:
                await metadata_proxy.stop_proxy(self.state_dir, spec.router_id)
        except metadata_proxy.ProxyError as exc:
            raise DriverError(f"router {spec.router_id}: the metadata proxy did not start: "
                              f"{exc}") from exc

    async def remove_router(self, router_id: str) -> None:
        from ownstack.network.drivers.linux import metadata_proxy

        await metadata_proxy.stop_proxy(self.state_dir, router_id)
        await self.routers_.remove(router_id)

    async def routers(self) -> list[RouterSpec]:
        return await self.routers_.routers()

    async def describe_router(self, router_id: str) -> dict[str, Any]:
        return await self.routers_.describe(router_id)

    def events(self) -> AsyncIterator[str]:
        """Subscribed at the call (not at the first ``anext``), so nothing that happens
        after it is missed."""
        queue: asyncio.Queue[str | None] = asyncio.Queue(EVENT_QUEUE_SIZE)
        self._queues.add(queue)
        return self._drain(queue)

    async def _drain(self, queue: asyncio.Queue[str | None]) -> AsyncIterator[str]:
        try:
            while (port_id := await queue.get()) is not None:
                yield port_id
        finally:
            self._queues.discard(queue)

    def _notify(self, port_id: str) -> None:
        for queue in self._queues:
            if not queue.full():    # a nudge: a missed one is repaired by the resync
                queue.put_nowait(port_id)

    async def _watch(self, sock: socket.socket) -> None:
        from pyroute2.netlink.rtnl.marshal import MarshalRtnl

        marshal = MarshalRtnl()
        loop = asyncio.get_running_loop()
        while True:
            try:
                data = await loop.sock_recv(sock, 1 << 16)
            except OSError as exc:
                if exc.errno != errno.ENOBUFS:
                    log.error("the link monitor of %s stopped: %s", self.namespace.label, exc)
                    return
                # The kernel dropped notifications: nudge every port, the agent looks again.
                log.warning("link notifications lost in %s; nudging every port",
                            self.namespace.label)
                for port_id in list(self._tap_ports.values()):
                    self._notify(port_id)
                continue
            try:
                for message in marshal.parse(data):
                    kind = message["header"]["type"]
                    if kind in (RTM_NEWLINK, RTM_DELLINK):
                        self._link_changed(l2.link_of(message), gone=kind == RTM_DELLINK)
            except Exception:       # one message we cannot read must not end the watch
                log.exception("cannot read a link notification in %s", self.namespace.label)

    def _link_changed(self, link: Link, *, gone: bool) -> None:
        if not l2.is_tap_name(link.name or ""):
            return
        before = self._seen.get(link.name)
        if gone:
            self._seen.pop(link.name, None)
            changed = before is not None
        else:
            now = _tap_state(link)
            self._seen[link.name] = now
            changed = now != before
        if changed:
            self._notify(self._tap_ports.get(link.name,
                                             link.name.removeprefix(naming.TAP_PREFIX)))

    # -- helpers -------------------------------------------------------------------------

    async def _links(self) -> dict[str, Link]:
        return await self.namespace.run(l2.links, "cannot read links")

    def _lock(self, network_id: str) -> asyncio.Lock:
        return self._locks.setdefault(network_id, asyncio.Lock())

    @contextlib.asynccontextmanager
    async def _locks_of(self, network_ids: Iterable[str]) -> AsyncIterator[None]:
        """The locks of several networks, always taken in the same order."""
        async with contextlib.AsyncExitStack() as stack:
            for network_id in sorted(network_ids):
                await stack.enter_async_context(self._lock(network_id))
            yield


def _tap_state(link: Link) -> tuple[int | None, int, bool]:
    return link.master, link.mtu, link.up


def _name_of(index: int | None, links: Mapping[str, Link]) -> str | None:
    return next((link.name for link in links.values() if link.index == index), None)


def _wired(spec: PortSpec, links: Mapping[str, Link], *, pending: bool = False) -> WiredPort:
    """The port as the kernel has it: its tap exists (as a tap), and it is *attached* when
    that tap is on its network's bridge, up or down as the port's admin state says, and
    its wiring (its filtering too) finished."""
    tap, bridge = links.get(spec.tap), links.get(spec.bridge)
    exists = tap is not None and tap.is_tap
    attached = not pending and exists and bridge is not None and bridge.kind == "bridge" and \
        tap is not None and tap.master == bridge.index and tap.up == spec.admin_state_up
    return WiredPort(spec, attached=attached, tap_exists=exists)


def _unrecorded_port(tap: Link, links: Mapping[str, Link]) -> WiredPort:
    """A persistent tap nobody recorded: reported under the id its name holds, on the
    network its bridge names, so that the agent, which knows no such port, removes it."""
    bridge = _name_of(tap.master, links)
    network_id = bridge.removeprefix(naming.BRIDGE_PREFIX) \
        if bridge is not None and l2.is_bridge_name(bridge) else ""
    spec = PortSpec(port_id=tap.name.removeprefix(naming.TAP_PREFIX),
                    network=NetworkSpec(network_id, UNRECORDED, mtu=tap.mtu),
                    mac_address=tap.mac or "")
    return WiredPort(spec, attached=bridge is not None, tap_exists=True)


def from_config(host: str, state_dir: Path, options: Mapping[str, Any]) -> LinuxDriver:
    """The agent's factory. Options (``network.*``): ``host_namespace`` (empty: the real
    host namespace), ``tunnel_address`` (empty: no VXLAN devices), ``bridge_mappings``
    (physical network -> host bridge), ``public_physnet`` and ``public_cidr`` (the host's
    address on the external bridge: the range's first) and ``external_uplink`` (the opt-in
    way off the host; empty: none). The firewall plugs in here once it exists (see
    :class:`PortFirewall`)."""
    from ownstack.network.drivers.linux.host import ExternalBridge, HostSide

    namespace = str(options.get("host_namespace") or "")
    mappings = dict(options.get("bridge_mappings") or {})
    public = mappings.get(str(options.get("public_physnet") or ""))
    externals = []
    for bridge in sorted(set(mappings.values())):
        address = None
        if bridge == public and options.get("public_cidr"):
            cidr = ipaddress.ip_network(str(options["public_cidr"]))
            address = f"{next(cidr.hosts())}/{cidr.prefixlen}"
        externals.append(ExternalBridge(bridge, address))
    host_side = HostSide(externals, uplink=str(options.get("external_uplink") or "") or None,
                         host_namespace=namespace or None)
    return LinuxDriver(host, state_dir, host_namespace=namespace,
                       tunnel_address=str(options.get("tunnel_address") or ""),
                       firewall=Firewall(namespace or None), host_side=host_side)


async def tear_down_host(host: str, state_dir: Path, options: Mapping[str, Any]) -> list[str]:
    """What :meth:`LinuxDriver.tear_down` removed for the agent of ``host`` whose records
    are under ``state_dir`` (``ownstack reset``); nothing when it has no records."""
    if not (state_dir / "network" / "linux" / host).is_dir():
        return []
    driver = from_config(host, state_dir, options)
    await driver.init_host()
    try:
        removed = await driver.tear_down()
    finally:
        await driver.close()
    await asyncio.to_thread(shutil.rmtree, driver.records.directory, True)
    return removed
