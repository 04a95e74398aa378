"""DHCP on Linux as Neutron's DHCP agent does it: dnsmasq per network, in a namespace.

For a network the host serves, :class:`LinuxDhcp` keeps:

* a namespace ``qdhcp-<network_id>``;
* a veth pair: its host end ``tap<port[:11]>`` (the DHCP port's tap, Neutron's name) on the
  network's bridge in the namespace that stands for the host (``host_namespace``; ``None``
  is the real host), its other end ``ns-<port[:11]>`` in ``qdhcp-…`` with the DHCP port's
  MAC, addresses and the network's MTU, and 169.254.169.254/32 when an IPv4 subnet has no
  router (Neutron's isolated metadata); it ignores router advertisements;
* one dnsmasq in that namespace, bound to the ``ns-`` interface only, serving static
  leases only (one host entry per port), reading no ``/etc/resolv.conf`` or
  ``/etc/hosts`` of the host, daemonized with a pidfile so that it outlives the agent;
* its files in ``<state_dir>/dhcp/<network_id>/``: ``host`` (dhcp-hostsfile), ``opts``
  (dhcp-optsfile), ``leases``, ``pid``, and ``spec.json``, the spec last applied (what
  :meth:`LinuxDhcp.servers` reports after a restart).

Host entries change without a restart: the files are rewritten and dnsmasq gets SIGHUP,
on which it rereads its hostsfile and optsfile. A change of subnets changes dnsmasq's
command line, and only then is it restarted. A new agent adopts a running dnsmasq whose
``/proc/<pid>/cmdline`` is the one it would start.

An ensure returns once dnsmasq has reread both files (its log says ``read <file>`` after
the SIGHUP or the start), and only then records the spec as ``loaded`` (a digest of
``spec.json``): a server whose ``loaded`` is not its ``spec.json`` (an agent killed after
writing the files, before the reload) is listed as not running, so the next ensure reloads
it. What the agent reports ready to the network service is therefore what dnsmasq
answers.

The metadata proxy is not this module's: :data:`MetadataHook` is the seam. ``LinuxDhcp``
calls it after each ensure with whether the network needs 169.254.169.254 answered in its
namespace (the address is already on the ``ns-`` interface then), and with ``False`` before
the namespace is removed.

The rendering (:func:`dnsmasq_argv`, :func:`hosts_file`, :func:`opts_file`) is pure, so
each case is a unit test.
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import json
import logging
import os
import shutil
import signal
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any, Final

from pyroute2 import IPRoute, netns

from ownstack.network.drivers import naming
from ownstack.network.drivers.base import (
    DhcpHost,
    DhcpServer,
    DhcpSpec,
    DhcpSubnet,
    DriverError,
    FixedIp,
    HostRoute,
    NetworkMissing,
    NetworkSpec,
)
from ownstack.network.drivers.linux import l2
from ownstack.network.drivers.linux.namespace import create_namespace, run_in
from ownstack.network.drivers.linux.run import run

log = logging.getLogger(__name__)

NAMESPACE_PREFIX: Final = "qdhcp-"
NS_PREFIX: Final = "ns-"
METADATA_ADDRESS: Final = "169.254.169.254"
METADATA_CIDR: Final = "169.254.169.254/32"
LEASE_SECONDS: Final = 86400            # Neutron's dhcp_lease_duration
MAX_LEASES: Final = 2 ** 24
IPV4_ANY: Final = "0.0.0.0/0"
SLAAC: Final = "slaac"
STATEFUL: Final = "dhcpv6-stateful"
STATELESS: Final = "dhcpv6-stateless"
STOP_WAIT: Final = 5.0                   # seconds a dnsmasq gets to exit on SIGTERM
RELOAD_WAIT: Final = 5.0                 # seconds a dnsmasq gets to reread its files
RELOAD_POLL: Final = 0.005

# The seam for the metadata proxy: (network_id, namespace, wanted) -> start or stop it.
MetadataHook = Callable[[str, str, bool], Awaitable[None]]


def namespace_name(network_id: str) -> str:
    return NAMESPACE_PREFIX + network_id


def ns_interface(port_id: str) -> str:
    """The DHCP port's end in the namespace: ``ns-`` + 11 characters of its id."""
    return NS_PREFIX + port_id[:naming.ID_PREFIX_LENGTH]


def subnet_tag(subnet: DhcpSubnet) -> str:
    return f"subnet-{subnet.subnet_id}"


# -- rendering (pure) -------------------------------------------------------------------

def _ipv6_mode(subnet: DhcpSubnet) -> str | None:
    """dnsmasq's dhcp-range mode for an IPv6 subnet, as its modes say; None for a subnet
    dnsmasq has nothing to do for (SLAAC advertised by a router).

    A subnet with an ``ipv6_ra_mode`` and a router gets its advertisements from the router
    (:mod:`.radvd`): dnsmasq then answers DHCPv6 only, as Neutron's does. With no router
    on it, dnsmasq advertises the prefix and flags itself (``ra-*`` modes, router lifetime
    0), so that its hosts still make their addresses."""
    ra, address = subnet.ipv6_ra_mode, subnet.ipv6_address_mode
    if ra is None and address is None:
        return "static"                 # Neutron's behaviour before the modes existed
    if address == STATEFUL:
        return "static"
    if ra is None or subnet.has_router:     # advertised by a router (elsewhere, or ours)
        return "static" if address == STATELESS else None
    return "ra-stateless" if address == STATELESS else "ra-only"


def _advertises(subnet: DhcpSubnet) -> bool:
    """Whether dnsmasq sends the subnet's router advertisements (no router does)."""
    return subnet.ipv6_ra_mode is not None and not subnet.has_router


def dnsmasq_argv(spec: DhcpSpec, state: Path) -> list[str]:
    """dnsmasq's command line for ``spec``, its files in ``state``."""
    interface = ns_interface(spec.port_id)
    argv = ["dnsmasq", "--conf-file=/dev/null", "--no-hosts", "--no-resolv",
            f"--pid-file={state / 'pid'}", f"--dhcp-hostsfile={state / 'host'}",
            f"--dhcp-optsfile={state / 'opts'}", f"--dhcp-leasefile={state / 'leases'}",
            "--bind-interfaces", f"--interface={interface}", "--except-interface=lo",
            # It rereads its files on SIGHUP: as root, since the agent's state directory
            # need not be readable by dnsmasq's default user.
            "--user=root", "--group=root",
            # Its log beside its files (there may be no syslog), for operators and tests.
            f"--log-facility={state / 'log'}"]
    possible = 0
    ra = False
    for subnet in spec.served_subnets:
        net = ipaddress.ip_network(subnet.cidr, strict=False)
        tag = f"set:{subnet_tag(subnet)}"
        if net.version == 4:
            argv.append(f"--dhcp-range={tag},{net.network_address},static,{net.netmask},"
                        f"{LEASE_SECONDS}s")
        else:
            mode = _ipv6_mode(subnet)
            # Neutron skips prefixes longer than /64's peers; SLAAC needs exactly /64.
            if mode is None or net.prefixlen < 64 or (mode != "static" and net.prefixlen != 64):
                continue
            argv.append(f"--dhcp-range={tag},{net.network_address},{mode},{net.prefixlen},"
                        f"{LEASE_SECONDS}s")
            ra = ra or _advertises(subnet)
        possible += net.num_addresses
    if ra:
        # No router on the subnet: this server's RAs carry the prefix and flags only
        # (router lifetime 0), so that hosts make their addresses; none is default router.
        argv += ["--enable-ra", f"--ra-param={interface},mtu:{spec.network.mtu},0,0"]
    argv.append(f"--dhcp-lease-max={max(1, min(possible, MAX_LEASES))}")
    return argv


def _address(ip: str) -> str:
    return f"[{ip}]" if ipaddress.ip_address(ip).version == 6 else ip


def hosts_file(spec: DhcpSpec) -> str:
    """One line per address a port holds on a subnet this server hands addresses on:
    ``mac,hostname,address`` (IPv6 addresses bracketed). No ``set:`` tag per port, as
    Neutron writes for its per-port options (which ownstack has not): dnsmasq 2.90
    segfaults on SIGHUP when a tagged entry whose port holds a lease is removed."""
    served = {subnet.subnet_id: subnet for subnet in spec.served_subnets
              if subnet.ip_version == 4 or _ipv6_mode(subnet) in ("static",)}
    lines = []
    for host in spec.hosts:
        for ip in host.fixed_ips:
            if ip.subnet_id in served:
                lines.append(f"{host.mac_address},{host.hostname},"
                             f"{_address(ip.ip_address)}\n")
    return "".join(lines)


def _dhcp_ip(spec: DhcpSpec, subnet: DhcpSubnet) -> str | None:
    for ip in spec.fixed_ips:
        if ip.subnet_id == subnet.subnet_id:
            return ip.ip_address
    return None


def opts_file(spec: DhcpSpec) -> str:
    """Per subnet (tag ``subnet-<id>``): router (an empty one when there is no gateway,
    so dnsmasq does not offer itself), DNS servers, classless static routes (host routes,
    the other subnets on-link, 169.254.169.254 via the DHCP port where no router is, and
    then the default route, since clients ignore option 3 when 121 is present) and the MTU
    (option 26)."""
    lines: list[str] = []
    served = spec.served_subnets
    for subnet in served:
        tag = f"tag:{subnet_tag(subnet)}"
        if subnet.ip_version == 6:
            if subnet.dns_nameservers:
                servers = ",".join(_address(ip) for ip in subnet.dns_nameservers)
                lines.append(f"{tag},option6:dns-server,{servers}")
            continue
        gateway = subnet.gateway_ip
        routes: list[str] = []
        for route in subnet.host_routes:
            if route.destination == IPV4_ANY:
                gateway = gateway or route.nexthop
            else:
                routes.append(f"{route.destination},{route.nexthop}")
        routes += [f"{other.cidr},0.0.0.0" for other in served
                   if other.ip_version == 4 and other.cidr != subnet.cidr]
        dhcp_ip = _dhcp_ip(spec, subnet)
        if not subnet.has_router and dhcp_ip is not None:
            routes.append(f"{METADATA_CIDR},{dhcp_ip}")
        if routes:
            if gateway:
                routes.append(f"{IPV4_ANY},{gateway}")
            lines.append(f"{tag},option:classless-static-route,{','.join(routes)}")
            lines.append(f"{tag},249,{','.join(routes)}")
        lines.append(f"{tag},option:router,{gateway}" if gateway else f"{tag},option:router")
        if subnet.dns_nameservers:
            lines.append(f"{tag},option:dns-server,{','.join(subnet.dns_nameservers)}")
        lines.append(f"{tag},option:mtu,{spec.network.mtu}")
    return "".join(line + "\n" for line in lines)


def interface_addresses(spec: DhcpSpec) -> list[str]:
    """The ``ns-`` interface's addresses, with prefix length: the DHCP port's on every
    subnet, and the metadata address where it is needed."""
    prefix = {subnet.subnet_id: ipaddress.ip_network(subnet.cidr, strict=False).prefixlen
              for subnet in spec.subnets}
    found = [f"{ip.ip_address}/{prefix[ip.subnet_id]}" for ip in spec.fixed_ips
             if ip.subnet_id in prefix]
    if spec.needs_metadata_route:
        found.append(METADATA_CIDR)
    return found


# -- the spec on disk -----------------------------------------------------------------

def spec_to_json(spec: DhcpSpec) -> str:
    return json.dumps(asdict(spec), sort_keys=True)


def spec_from_json(text: str) -> DhcpSpec:
    data = json.loads(text)

    def fixed(items: list[dict[str, str]]) -> tuple[FixedIp, ...]:
        return tuple(FixedIp(**item) for item in items)

    return DhcpSpec(
        network=NetworkSpec(**data["network"]), port_id=data["port_id"],
        mac_address=data["mac_address"], fixed_ips=fixed(data["fixed_ips"]),
        subnets=tuple(DhcpSubnet(**{
            **subnet, "dns_nameservers": tuple(subnet["dns_nameservers"]),
            "host_routes": tuple(HostRoute(**route) for route in subnet["host_routes"]),
            "allocation_pools": tuple(tuple(pool) for pool in subnet["allocation_pools"]),
        }) for subnet in data["subnets"]),
        hosts=tuple(DhcpHost(host["port_id"], host["mac_address"], fixed(host["fixed_ips"]),
                             host["hostname"]) for host in data["hosts"]))


# -- processes ------------------------------------------------------------------------

def _cmdline(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part] or None


def _read_pid(state: Path) -> int | None:
    try:
        return int((state / "pid").read_text().strip())
    except (OSError, ValueError):
        return None


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


class LinuxDhcp:
    """The DHCP servers of one host (see the module's docstring); the Linux driver's
    DHCP methods delegate here. Calls for one network must not overlap (the agent
    serialises them per network)."""

    def __init__(self, state_dir: Path, *, host_namespace: str | None = None,
                 metadata: MetadataHook | None = None) -> None:
        self.root = state_dir / "dhcp"
        self.host_namespace = host_namespace
        self.metadata = metadata

    def state(self, network_id: str) -> Path:
        return self.root / network_id

    # -- the driver's DHCP methods -----------------------------------------------------

    async def ensure(self, spec: DhcpSpec, bridge: str | None = None) -> DhcpServer:
        state = self.state(spec.network_id)
        state.mkdir(parents=True, exist_ok=True)
        before = self._spec(spec.network_id)
        if before is not None and before.port_id != spec.port_id:
            # Another DHCP port: the old one's pair goes (dnsmasq restarts: its
            # interface is in its command line).
            tap = naming.tap_name(before.port_id)
            await asyncio.to_thread(run_in, self.host_namespace,
                                    lambda host: _delete_link(host, tap))
        text = spec_to_json(spec)
        # The spec first (what the host may hold, for a removal after a kill), and what
        # dnsmasq has loaded only once it has: a kill in between leaves them different,
        # and the next ensure reloads it.
        _atomic_write(state / "spec.json", text)
        await self._plug(spec, bridge or spec.network.bridge)
        _atomic_write(state / "host", hosts_file(spec))
        _atomic_write(state / "opts", opts_file(spec))
        (state / "leases").touch()
        argv = dnsmasq_argv(spec, state)
        pid = self._running_pid(spec.network_id, argv)
        mark = _log_size(state)
        if pid is not None:
            os.kill(pid, signal.SIGHUP)        # rereads hostsfile and optsfile
        else:
            await self._stop_dnsmasq(spec.network_id)
            mark = _log_size(state)
            await run(["ip", "netns", "exec", namespace_name(spec.network_id), *argv])
            pid = self._running_pid(spec.network_id, argv)
            if pid is None:
                raise DriverError(f"dnsmasq of network {spec.network_id} did not stay up")
            log.info("dnsmasq %d serves network %s", pid, spec.network_id)
        await _reloaded(state, mark, pid)
        _atomic_write(state / "loaded", _digest(text))
        if self.metadata is not None:
            await self.metadata(spec.network_id, namespace_name(spec.network_id),
                                spec.needs_metadata_route)
        return DhcpServer(spec, True, pid)

    async def remove(self, network_id: str) -> None:
        namespace = namespace_name(network_id)
        if self.metadata is not None:
            await self.metadata(network_id, namespace, False)
        await self._stop_dnsmasq(network_id)
        spec = self._spec(network_id)
        if spec is not None:
            tap = naming.tap_name(spec.port_id)
            await asyncio.to_thread(run_in, self.host_namespace,
                                    lambda host: _delete_link(host, tap))
        if namespace in netns.listnetns():
            await asyncio.to_thread(netns.remove, namespace)
        shutil.rmtree(self.state(network_id), ignore_errors=True)

    async def servers(self) -> list[DhcpServer]:
        if not self.root.is_dir():
            return []
        namespaces = set(netns.listnetns())
        found = []
        for state in sorted(self.root.iterdir()):
            text = _read(state / "spec.json")
            spec = _parsed(text)
            if spec is None or text is None:
                continue
            pid = self._running_pid(state.name, dnsmasq_argv(spec, state))
            running = (pid is not None and namespace_name(state.name) in namespaces
                       and _read(state / "loaded") == _digest(text))
            found.append(DhcpServer(spec, running, pid))
        return found

    async def describe(self, network_id: str) -> dict[str, Any] | None:
        spec = self._spec(network_id)
        if spec is None:
            return None
        state = self.state(network_id)
        namespace = namespace_name(network_id)
        interface = ns_interface(spec.port_id)
        addresses: list[str] = []
        if namespace in netns.listnetns():
            def listed(ipr: IPRoute) -> list[str]:
                index = _index_of(ipr, interface)
                if index is None:
                    return []
                return [f"{a.get('IFA_ADDRESS')}/{a['prefixlen']}"
                        for a in ipr.get_addr(index=index)]
            addresses = await asyncio.to_thread(run_in, namespace, listed)
        pid = _read_pid(state)
        return {"namespace": namespace, "interface": interface,
                "tap": naming.tap_name(spec.port_id), "addresses": addresses,
                "pid": pid, "cmdline": _cmdline(pid) if pid else None,
                "hosts": _lines(state / "host"), "options": _lines(state / "opts"),
                "leases": _lines(state / "leases"), "driver": "linux"}

    # -- pieces ------------------------------------------------------------------------

    def _spec(self, network_id: str) -> DhcpSpec | None:
        return _parsed(_read(self.state(network_id) / "spec.json"))

    def _running_pid(self, network_id: str, argv: list[str] | None = None) -> int | None:
        """The pid of the network's dnsmasq, if it runs (with ``argv`` when given)."""
        state = self.state(network_id)
        pid = _read_pid(state)
        if pid is None:
            return None
        cmdline = _cmdline(pid)
        if cmdline is None or not cmdline[0].endswith("dnsmasq"):
            return None
        if f"--pid-file={state / 'pid'}" not in cmdline:
            return None                         # a reused pid, someone else's process
        if argv is not None and cmdline[1:] != argv[1:]:
            return None
        return pid

    async def _stop_dnsmasq(self, network_id: str) -> None:
        pid = self._running_pid(network_id)
        if pid is None:
            return
        os.kill(pid, signal.SIGTERM)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + STOP_WAIT
        # Not our child (it daemonized): nothing to wait on but its /proc entry.
        while _cmdline(pid) is not None and loop.time() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.02)
        if _cmdline(pid) is not None:
            os.kill(pid, signal.SIGKILL)

    async def _plug(self, spec: DhcpSpec, bridge: str) -> None:
        """The DHCP port's veth: its host end on ``bridge``, its other end in the
        network's namespace with the port's MAC, MTU and addresses."""
        namespace = namespace_name(spec.network_id)
        tap, inner = naming.tap_name(spec.port_id), ns_interface(spec.port_id)
        if await asyncio.to_thread(run_in, self.host_namespace,
                                   lambda host: _index_of(host, bridge)) is None:
            raise NetworkMissing(spec.network_id)
        await asyncio.to_thread(create_namespace, namespace)
        has_inner = await asyncio.to_thread(run_in, namespace,
                                            lambda ns: _lo_up_and_find(ns, inner))
        has_tap = await asyncio.to_thread(run_in, self.host_namespace,
                                          lambda host: _index_of(host, tap) is not None)
        fresh = not (has_inner and has_tap)
        if fresh:
            # Half a pair (a kill between the steps): both ends go, and the pair is made
            # anew with its other end straight in the namespace.
            await asyncio.to_thread(run_in, namespace, lambda ns: _delete_link(ns, inner))
            await asyncio.to_thread(run_in, self.host_namespace,
                                    lambda host: _delete_link(host, tap))

        def host_end(host: IPRoute) -> None:
            bridge_index = _index_of(host, bridge)
            if bridge_index is None:
                raise NetworkMissing(spec.network_id)
            if fresh:
                host.link("add", ifname=tap, kind="veth",
                          peer={"ifname": inner, "net_ns_fd": namespace})
            tap_index = _index_of(host, tap)
            if tap_index is None:
                raise DriverError(f"{tap} vanished from the host")
            l2.disable_ipv6(tap)
            host.link("set", index=tap_index, master=bridge_index, mtu=spec.network.mtu,
                      state="up")

        def inner_end(ns: IPRoute) -> None:
            index = _index_of(ns, inner)
            if index is None:
                raise DriverError(f"{inner} vanished from {namespace}")
            _ignore_router_advertisements(inner)
            ns.link("set", index=index, state="down", address=spec.mac_address,
                    mtu=spec.network.mtu)
            ns.link("set", index=index, state="up")
            _set_addresses(ns, index, interface_addresses(spec))

        await asyncio.to_thread(run_in, self.host_namespace, host_end)
        await asyncio.to_thread(run_in, namespace, inner_end)


def _ignore_router_advertisements(name: str) -> None:
    """In the namespace of the calling thread: ``name`` takes no address or route from a
    router advertisement (the router's, on this network), as Neutron's DHCP port does.
    The DHCP port's addresses are its own."""
    for device in ("default", name):
        try:
            Path(f"/proc/sys/net/ipv6/conf/{device}/accept_ra").write_text("0")
        except FileNotFoundError:
            return                      # IPv6 is off on this host
        except OSError as exc:
            raise DriverError(f"cannot set accept_ra on {device}: {exc}") from exc


def _lo_up_and_find(ns: IPRoute, name: str) -> bool:
    lo = _index_of(ns, "lo")
    if lo is not None:
        ns.link("set", index=lo, state="up")
    return _index_of(ns, name) is not None


def _index_of(ipr: IPRoute, name: str) -> int | None:
    found = ipr.link_lookup(ifname=name)
    return int(found[0]) if found else None


def _delete_link(ipr: IPRoute, name: str) -> None:
    index = _index_of(ipr, name)
    if index is not None:
        ipr.link("del", index=index)


def _set_addresses(ipr: IPRoute, index: int, wanted: list[str]) -> None:
    have = {}
    for addr in ipr.get_addr(index=index):
        address = addr.get("IFA_ADDRESS")
        if address is None or address.startswith("fe80:"):
            continue                    # the kernel's link-local address stays
        have[f"{address}/{addr['prefixlen']}"] = addr["prefixlen"]
    for cidr in have.keys() - set(wanted):
        address, prefix = cidr.split("/")
        ipr.addr("del", index=index, address=address, prefixlen=int(prefix))
    for cidr in wanted:
        if cidr not in have:
            address, prefix = cidr.split("/")
            ipr.addr("add", index=index, address=address, prefixlen=int(prefix))


def _parsed(text: str | None) -> DhcpSpec | None:
    if text is None:
        return None
    try:
        return spec_from_json(text)
    except (ValueError, KeyError, TypeError):
        return None


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except OSError:
        return None


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _log_size(state: Path) -> int:
    try:
        return (state / "log").stat().st_size
    except OSError:
        return 0


async def _reloaded(state: Path, mark: int, pid: int) -> None:
    """Wait until dnsmasq ``pid`` has (re)read its host and options files since its log
    was ``mark`` bytes long: it logs ``read <file>`` for each, after a SIGHUP as at its
    start. Raises :class:`DriverError` if it does not within :data:`RELOAD_WAIT`."""
    wanted = [f"read {state / 'host'}\n".encode(), f"read {state / 'opts'}\n".encode()]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + RELOAD_WAIT
    while True:
        try:
            with (state / "log").open("rb") as log_file:
                log_file.seek(mark)
                written = log_file.read()
        except OSError:
            written = b""
        # The lines of this pid only (a dnsmasq being stopped may still write).
        lines = [line for line in written.splitlines(keepends=True)
                 if f"[{pid}]: ".encode() in line]
        if all(any(line.endswith(text) for line in lines) for text in wanted):
            return
        if loop.time() >= deadline:
            raise DriverError(f"dnsmasq {pid} did not reread {state / 'host'} within "
                              f"{RELOAD_WAIT:g} s")
        await asyncio.sleep(RELOAD_POLL)


def _lines(path: Path) -> list[str]:
    try:
        return path.read_text().splitlines()
    except OSError:
        return []
