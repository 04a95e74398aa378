"""The network driver boundary: what the network agent asks of a host's data path.

The agent is a level-triggered reconciler: it compares the ports the control plane binds to
its host with what :meth:`NetworkDriver.wired_ports` says is wired, and closes the gap with
the other methods. So every method is idempotent, states its postconditions in its
docstring, and fails with a typed :class:`DriverError`.

Conventions every driver keeps:

* **The agent serialises calls per port id.** Calls for different ports may run at once; a
  driver serialises what they share (a network's bridge) itself.
* **The data path outlives the agent.** :meth:`NetworkDriver.close` never removes a bridge
  or a port's filtering, and a new driver on the same host adopts what an old one left
  (:meth:`NetworkDriver.init_host`), so a restarted agent interrupts no guest's traffic.
* **The network driver makes the tap.** The privileged host code lives in one place:
  :meth:`NetworkDriver.wire_port` makes the port's tap (named
  :func:`~ownstack.network.drivers.naming.tap_name`), puts it on its network's bridge and
  filters it, and :meth:`NetworkDriver.unwire_port` removes it; the compute driver only
  opens the tap of that name. A tap that vanishes or changes behind the driver's back is
  reported as it is (not *attached*), the driver says so through
  :meth:`NetworkDriver.events`, and the agent wires the port again.
* **Capabilities are data.** :attr:`NetworkDriver.capabilities` holds the flags of
  :class:`Capability`; a driver reports all of them, and callers read them rather than
  discover a missing feature by an error.
* **Names come from** :mod:`ownstack.network.drivers.naming`, never from the driver's own
  rules, so the compute side and ``ownstack show port`` agree with it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from ownstack.network.drivers import naming
from ownstack.network.sg_rules import RuleSpec

ACTIVE = "ACTIVE"
DOWN = "DOWN"


class Capability(StrEnum):
    """The flags in :attr:`NetworkDriver.capabilities`; every driver reports all of them."""

    PORT_FILTER = "supports_port_filter"     # security groups and anti-spoofing on ports
    VXLAN = "supports_vxlan"                 # VXLAN segments joined to a network's bridge
    DHCP = "supports_dhcp"                   # a DHCP server per network (ensure_dhcp & co.)
    ROUTERS = "supports_routers"             # L3: router namespaces and NAT (the next issue)
    METADATA = "supports_metadata"           # the 169.254.169.254 proxy (the next issue)


class DriverError(Exception):
    """A host operation failed; the message says which and why."""


class NetworkMissing(DriverError):
    """A port was wired on a network the driver has not been asked to ensure."""

    def __init__(self, network_id: str) -> None:
        self.network_id = network_id
        super().__init__(f"network {network_id} is not on this host; ensure it first")


class PortNotWired(DriverError):
    def __init__(self, port_id: str) -> None:
        self.port_id = port_id
        super().__init__(f"port {port_id} is not wired on this host")


@dataclass(frozen=True, slots=True)
class NetworkSpec:
    """One network as a host carries it: a bridge, and its segment."""

    network_id: str
    network_type: str                  # "vxlan", "flat", "vlan", "local"
    segmentation_id: int | None = None
    physical_network: str | None = None
    mtu: int = 1450
    # The host bridge of a flat network's physical network (``network.bridge_mappings``,
    # e.g. ``br-ex``); None: the network's own bridge.
    mapped_bridge: str | None = None

    @property
    def bridge(self) -> str:
        return self.mapped_bridge or naming.bridge_name(self.network_id)


@dataclass(frozen=True, slots=True)
class FixedIp:
    subnet_id: str
    ip_address: str


@dataclass(frozen=True, slots=True)
class AddressPair:
    ip_address: str
    mac_address: str


@dataclass(frozen=True, slots=True)
class SecurityGroupSpec:
    """One security group of a port, with its rules resolved (each a
    :class:`~ownstack.network.sg_rules.RuleSpec`, in the group's order). A rule naming a
    ``remote_group_id`` matches the addresses the driver holds for that group
    (:meth:`NetworkDriver.set_group_members`), so a membership change rewrites those, not
    the port."""

    group_id: str
    rules: tuple[RuleSpec, ...] = ()


@dataclass(frozen=True, slots=True)
class PortSpec:
    """One port as the host wires it. Equal specs need no rewiring; any difference (a
    security group added, an address pair, admin state) does."""

    port_id: str
    network: NetworkSpec
    mac_address: str
    fixed_ips: tuple[FixedIp, ...] = ()
    admin_state_up: bool = True
    port_security_enabled: bool = True
    security_group_ids: tuple[str, ...] = ()
    allowed_address_pairs: tuple[AddressPair, ...] = ()
    device_owner: str = ""
    device_id: str = ""
    security_groups: tuple[SecurityGroupSpec, ...] = ()   # the groups' rules, resolved

    @property
    def remote_group_ids(self) -> frozenset[str]:
        """The groups whose members the port's rules match (their sets must exist)."""
        return frozenset(rule.remote_group_id for group in self.security_groups
                         for rule in group.rules if rule.remote_group_id)

    @property
    def tap(self) -> str:
        return naming.tap_name(self.port_id)

    @property
    def bridge(self) -> str:
        return self.network.bridge


@dataclass(frozen=True, slots=True)
class WiredPort:
    """A port as the host has it: the spec last applied, whether its tap exists (the
    driver made it at wiring; somebody may have removed it since), and whether the tap is
    on its bridge as the spec wants it (``attached``). A port that is not attached needs
    wiring again."""

    spec: PortSpec
    attached: bool
    tap_exists: bool = True

    @property
    def port_id(self) -> str:
        return self.spec.port_id

    @property
    def status(self) -> str:
        """What the control plane should say of the port: ACTIVE once its tap carries
        traffic on its bridge, with the port administratively up; DOWN otherwise."""
        return ACTIVE if self.attached and self.spec.admin_state_up else DOWN


@dataclass(frozen=True, slots=True)
class NetworkInfo:
    """A network as the host has it."""

    spec: NetworkSpec
    details: Mapping[str, Any] = field(default_factory=dict)


# -- routers (L3) ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RouterAddress:
    """An address on a router leg, with its subnet's prefix length (``10.0.0.1``, 24), and
    for an IPv6 subnet its modes and DNS servers: a subnet whose ``ipv6_ra_mode`` is set
    has its router advertisements sent from the leg that holds the address."""

    ip_address: str
    prefixlen: int
    ipv6_ra_mode: str | None = None
    ipv6_address_mode: str | None = None
    dns_nameservers: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RouterLeg:
    """One port of a router, as the host wires it: a veth whose host end (``tap`` + the
    port id, :func:`~ownstack.network.drivers.naming.tap_name`) sits on ``bridge`` and
    whose other end, in the router's namespace, has the port's MAC and addresses."""

    port_id: str
    mac_address: str
    bridge: str
    addresses: tuple[RouterAddress, ...]
    mtu: int = 1450
    network_id: str = ""


@dataclass(frozen=True, slots=True)
class RouterGateway:
    """The router's leg on the external network, the next hop beyond it, and whether the
    router source-NATs its subnets' traffic out through it."""

    leg: RouterLeg
    next_hops: tuple[str, ...] = ()        # the external subnets' gateways (default routes)
    enable_snat: bool = True


@dataclass(frozen=True, slots=True)
class FloatingIpSpec:
    floating_ip_address: str
    fixed_ip_address: str


@dataclass(frozen=True, slots=True)
class ExtraRoute:
    destination: str
    nexthop: str


@dataclass(frozen=True, slots=True)
class RouterSpec:
    """One router as a host carries it. Equal specs need no rework; any difference (an
    interface added, a floating IP associated) is applied without disturbing the rest."""

    router_id: str
    interfaces: tuple[RouterLeg, ...] = ()
    gateway: RouterGateway | None = None
    routes: tuple[ExtraRoute, ...] = ()
    floating_ips: tuple[FloatingIpSpec, ...] = ()
    admin_state_up: bool = True

    @property
    def namespace(self) -> str:
        return naming.router_namespace(self.router_id)


def group_networks(addresses: Iterable[str], version: int) -> list[str]:
    """The members of one IP version as a set of a remote group holds them: each address
    or CIDR as its network (``10.0.0.5/32``), sorted, without those another one covers.
    Drivers keep members so (nft refuses overlapping interval elements), and the agent
    compares wanted and held members through it. :class:`ValueError` for a bad address."""
    nets = sorted((net for net in (ipaddress.ip_network(a, strict=False) for a in addresses)
                   if net.version == version),
                  key=lambda net: (int(net.network_address), net.prefixlen))
    kept: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
    for net in nets:
        if kept and (net == kept[-1] or net.subnet_of(kept[-1])):  # type: ignore[arg-type]
            continue
        kept.append(net)
    return [str(net) for net in kept]


# -- DHCP ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HostRoute:
    destination: str
    nexthop: str


@dataclass(frozen=True, slots=True)
class DhcpSubnet:
    """One subnet of a network as its DHCP server serves it. ``has_router``: a router
    interface holds an address on it (else DHCP hands out a route to 169.254.169.254 via
    the DHCP port, Neutron's isolated-subnet metadata route)."""

    subnet_id: str
    cidr: str
    ip_version: int
    gateway_ip: str | None = None
    enable_dhcp: bool = True
    dns_nameservers: tuple[str, ...] = ()
    host_routes: tuple[HostRoute, ...] = ()
    allocation_pools: tuple[tuple[str, str], ...] = ()
    ipv6_ra_mode: str | None = None
    ipv6_address_mode: str | None = None
    has_router: bool = False


@dataclass(frozen=True, slots=True)
class DhcpHost:
    """One port's static DHCP entry: its MAC, its addresses and its host name."""

    port_id: str
    mac_address: str
    fixed_ips: tuple[FixedIp, ...]
    hostname: str


@dataclass(frozen=True, slots=True)
class DhcpSpec:
    """A network's DHCP server as the host runs it: the DHCP port (``port_id``,
    ``mac_address``, ``fixed_ips``) on ``network``'s bridge, every subnet of the network
    (served when ``enable_dhcp``) and a static entry per port. Equal specs need nothing
    done; a spec that differs in ``hosts`` only is applied without restarting the
    server."""

    network: NetworkSpec
    port_id: str
    mac_address: str
    fixed_ips: tuple[FixedIp, ...]
    subnets: tuple[DhcpSubnet, ...]
    hosts: tuple[DhcpHost, ...] = ()

    @property
    def network_id(self) -> str:
        return self.network.network_id

    @property
    def served_subnets(self) -> tuple[DhcpSubnet, ...]:
        return tuple(subnet for subnet in self.subnets if subnet.enable_dhcp)

    @property
    def needs_metadata_route(self) -> bool:
        """An IPv4 subnet served here has no router: 169.254.169.254 is the DHCP port's
        (the metadata proxy answers it in the DHCP namespace)."""
        return any(subnet.ip_version == 4 and not subnet.has_router
                   for subnet in self.served_subnets)


@dataclass(frozen=True, slots=True)
class DhcpServer:
    """A network's DHCP server as the host has it: the spec last applied, and whether its
    server process runs (``pid``) with its interface in place and ``spec`` loaded
    (``running``): a server whose files were written but not yet reread (an agent killed
    in between) is not running as ``spec``."""

    spec: DhcpSpec
    running: bool
    pid: int | None = None

    @property
    def network_id(self) -> str:
        return self.spec.network_id


@runtime_checkable
class NetworkDriver(Protocol):
    """The data path of one host."""

    @property
    def capabilities(self) -> Mapping[str, bool]:
        """Every :class:`Capability` flag, True or False."""

    async def init_host(self) -> None:
        """Probe the host and adopt what a previous agent left. Raises
        :class:`DriverError` when the host cannot carry networks at all."""

    async def close(self) -> None:
        """Release the driver's own resources. Bridges, taps and filtering stay."""

    async def ensure_network(self, spec: NetworkSpec) -> NetworkInfo:
        """Make the network's bridge exist with ``spec``'s MTU (and, for a VXLAN segment on
        a host with a tunnel address, its VXLAN device on the bridge). Idempotent: a
        network that exists is brought to ``spec`` and left otherwise untouched, with its
        ports still attached."""

    async def remove_network(self, network_id: str) -> None:
        """Remove the network's bridge and what the driver put on it, unwiring any port
        still on it (their taps are removed). Succeeds if it is gone."""

    async def networks(self) -> list[NetworkInfo]:
        """Every network on this host, as it is (not as it was asked for)."""

    async def wire_port(self, spec: PortSpec) -> WiredPort:
        """Apply ``spec``: the port's filtering (when the driver has
        :attr:`Capability.PORT_FILTER` and port security is on), and its tap, made if it
        is missing, on its network's bridge with the network's MTU. Idempotent; a port wired
        with another spec is brought to this one. Raises :class:`NetworkMissing` unless
        :meth:`ensure_network` made the port's network; on any other failure nothing of
        the port is left half-applied that a repeated call would not fix."""

    async def unwire_port(self, port_id: str) -> None:
        """Remove the port's tap and its filtering. Succeeds if not wired."""

    async def wired_ports(self) -> list[WiredPort]:
        """Every port wired on this host, attached or not, as it is."""

    async def describe_port(self, port_id: str) -> dict[str, Any]:
        """The host objects behind a port, for ``ownstack show port``: its tap, bridge,
        filtering (and, in the Linux driver, chains with their counters). Raises
        :class:`PortNotWired`."""

    async def set_group_members(self, group_id: str, v4: Sequence[str], v6: Sequence[str]
                                ) -> None:
        """Make the addresses (or CIDRs) that a rule with ``remote_group_id`` = ``group_id``
        matches exactly ``v4`` and ``v6``: one rewrite of the group's sets, no port's rules
        touched. Idempotent; creates the sets when missing."""

    async def group_members(self) -> dict[str, tuple[list[str], list[str]]]:
        """Every remote group the host holds, with its (IPv4, IPv6) members, as it is."""

    async def remove_group(self, group_id: str) -> None:
        """Remove a remote group's sets. Succeeds if gone; raises :class:`DriverError`
        while a wired port's rules still match it (wire that port anew first)."""


    # -- DHCP (when the driver has Capability.DHCP) ----------------------------------------

    async def ensure_dhcp(self, spec: DhcpSpec) -> DhcpServer:
        """Serve DHCP on ``spec.network`` (whose bridge :meth:`ensure_network` made, else
        :class:`NetworkMissing`): the DHCP port's interface on the bridge with its MAC,
        addresses and the network's MTU, and a server answering each port of
        ``spec.hosts`` with its address only (static leases; nobody else gets one).
        Idempotent; a server with other hosts is brought to ``spec`` without a restart
        (its process, its ``pid``, stays), one with other subnets or another port is
        restarted. Returns once the server answers exactly ``spec.hosts`` (it has loaded
        them: the agent then reports them ready), as :meth:`dhcp_servers` would show it,
        running. Raises :class:`DriverError` when the host refuses or the server does
        not load them; a repeated call fixes whatever a failed one left."""

    async def remove_dhcp(self, network_id: str) -> None:
        """Stop the network's DHCP server and remove everything it had on the host (its
        interface, namespace and files). Succeeds if there is none."""

    async def dhcp_servers(self) -> list[DhcpServer]:
        """Every DHCP server this host has, as it is: one whose process died, whose
        interface vanished or which has not loaded its spec is listed with ``running``
        False."""

    async def describe_dhcp(self, network_id: str) -> dict[str, Any] | None:
        """The host objects behind a network's DHCP server, for operators: its namespace,
        interface, addresses, process (pid, command line), host entries and leases;
        ``None`` when the host has none."""

    def events(self) -> AsyncIterator[str]:
        """The id of each port whose tap appeared, vanished or changed, as it happens (the
        agent then reconciles that port); a driver may also report the taps it changed
        itself. Subscribed when called; one consumer; ends when the driver closes."""


    # -- routers (when the driver has :attr:`Capability.ROUTERS`) --------------------------

    async def ensure_router(self, spec: RouterSpec) -> None:
        """Make the router exist on this host exactly as ``spec`` says: its legs on their
        networks' bridges with their MACs, MTUs and addresses, its routes and its NAT
        (source NAT through the gateway when ``enable_snat``, each floating IP both ways),
        and router advertisements on each leg with an address on a subnet whose
        ``ipv6_ra_mode`` is set.
        Idempotent; a router with another spec is brought to this one without disturbing
        what stays. Raises :class:`DriverError` (the router may then be half made; a
        repeated call finishes it) when a leg's bridge is not on the host."""

    async def remove_router(self, router_id: str) -> None:
        """Remove everything of the router from the host. Succeeds if it is gone."""

    async def routers(self) -> list[RouterSpec]:
        """The routers on this host, each with the spec last applied to it."""

    async def describe_router(self, router_id: str) -> dict[str, Any]:
        """The host objects behind a router, for ``ownstack show router``: its namespace,
        legs, routes and NAT rules with their counters. Raises :class:`DriverError` when
        the router is not on this host."""


@runtime_checkable
class DriverFactory(Protocol):
    def __call__(self, host: str, state_dir: Path, options: Mapping[str, Any]
                 ) -> NetworkDriver: ...

