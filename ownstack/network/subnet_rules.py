"""What makes a subnet request valid, and what Neutron fills in: no SQL, no HTTP.

:func:`plan_subnet` takes a create request's values (after the JSON schema has checked their
types) and either raises the error Neutron raises for it or returns a :class:`SubnetPlan`
holding the canonical values to store: the CIDR with its host bits cleared, the gateway
(by default the first host for IPv4 and the subnet-router anycast address, the network
address itself, for IPv6), the allocation pools (by default the whole usable range less the
gateway), and the DNS servers and host routes in canonical text. :func:`plan_subnet_update`
does the same for an update of a planned subnet.

Errors follow Neutron (``neutron/db/db_base_plugin_v2.py:_validate_subnet``,
``neutron/db/ipam_backend_mixin.py``, ``neutron/ipam/utils.py`` and neutron-lib's
validators), in the order Neutron checks them: the format of each attribute first (a webob
400, type ``HTTPBadRequest``, "Invalid input for <attribute>. Reason: ..."), then the
rules between attributes (``InvalidInput`` and the typed errors), the pools, and last the
overlap with the network's other subnets.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Final, Literal, TypeAlias

from ownstack.common.errors import BadRequest
from ownstack.network.errors import InvalidInput, NetworkBadRequest, NetworkConflict

IPAddress: TypeAlias = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork: TypeAlias = ipaddress.IPv4Network | ipaddress.IPv6Network


class _Unset(Enum):
    UNSET = "UNSET"

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Final = _Unset.UNSET
"""An attribute the request did not give (Neutron's ``ATTR_NOT_SPECIFIED``)."""
Unset: TypeAlias = Literal[_Unset.UNSET]

DHCPV6_STATEFUL: Final = "dhcpv6-stateful"
DHCPV6_STATELESS: Final = "dhcpv6-stateless"
IPV6_SLAAC: Final = "slaac"
IPV6_MODES: Final = (DHCPV6_STATEFUL, DHCPV6_STATELESS, IPV6_SLAAC)

# Neutron's defaults for its ``max_dns_nameservers`` and ``max_subnet_host_routes`` options.
MAX_DNS_NAMESERVERS: Final = 5
MAX_SUBNET_HOST_ROUTES: Final = 20

_DOTTED_QUAD: Final = re.compile(r"^\d+\.\d+\.\d+\.\d+$")


# -- reading addresses as Neutron's validators do ------------------------------------------


def attribute_error(attribute: str, reason: str) -> BadRequest:
    """The 400 Neutron's API layer answers for an attribute that fails its validator.

    Its type is ``HTTPBadRequest`` (the network error formatter names a plain 400 so).
    """
    return BadRequest(f"Invalid input for {attribute}. Reason: {reason}.")


def ip_address_problem(value: object) -> str | None:
    """Why ``value`` is not an IP address as Neutron accepts one, or None if it is one.

    Neutron refuses whitespace, IPv4 forms other than the dotted quad, IPv4 octets with
    leading zeros (ambiguous: octal or decimal) and IPv6 zone indices.
    """
    if not isinstance(value, str):
        return f"'{value}' is not a valid IP address"
    if ":" not in value and _DOTTED_QUAD.match(value):
        octets = [int(part) for part in value.split(".")]
        if all(octet <= 255 for octet in octets):
            canonical = ".".join(str(octet) for octet in octets)
            if canonical != value:
                return f"'{value}' is not an accepted IP address, '{canonical}' is recommended"
    if value != value.strip() or any(ch.isspace() for ch in value) or "%" in value:
        return f"'{value}' is not a valid IP address"
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return f"'{value}' is not a valid IP address"
    return None


def parse_ip_address(value: object, attribute: str) -> IPAddress:
    """``value`` as an address; a 400 naming ``attribute`` if Neutron would refuse it."""
    problem = ip_address_problem(value)
    if problem is not None:
        raise attribute_error(attribute, problem)
    return ipaddress.ip_address(str(value))


def _parse_interface(value: str) -> ipaddress.IPv4Interface | ipaddress.IPv6Interface | None:
    """``value`` as ``address/prefix`` (host bits kept), or None if it is not one."""
    if not isinstance(value, str) or any(ch.isspace() for ch in value) or "%" in value:
        return None
    address = value.partition("/")[0]
    if ":" not in address and not _DOTTED_QUAD.match(address):
        return None
    try:
        return ipaddress.ip_interface(value)
    except ValueError:
        return None


def _version_error(name: str, value: str, ip_version: int) -> InvalidInput:
    return InvalidInput(f"{name} '{value}' does not match the ip_version '{ip_version}'")


# -- values -------------------------------------------------------------------------------


@dataclass(frozen=True)
class AddressRange:
    """An inclusive range of addresses of one IP version (Neutron's ``IPRange``).

    Invariant: ``start`` and ``end`` are of the same version and ``start <= end``.
    """

    start: IPAddress
    end: IPAddress

    def __post_init__(self) -> None:
        if self.start.version != self.end.version or int(self.start) > int(self.end):
            raise ValueError(f"not an address range: {self.start} - {self.end}")

    @classmethod
    def of(cls, start: str, end: str) -> AddressRange:
        """The range from two address strings (a ValueError if they are not one)."""
        return cls(ipaddress.ip_address(start), ipaddress.ip_address(end))

    @property
    def version(self) -> int:
        return self.start.version

    @property
    def first(self) -> int:
        return int(self.start)

    @property
    def last(self) -> int:
        return int(self.end)

    @property
    def size(self) -> int:
        return self.last - self.first + 1

    def __contains__(self, address: object) -> bool:
        if not isinstance(address, ipaddress.IPv4Address | ipaddress.IPv6Address):
            return False
        return address.version == self.version and self.first <= int(address) <= self.last

    def overlaps(self, other: AddressRange) -> bool:
        return (self.version == other.version
                and self.first <= other.last and other.first <= self.last)

    def __str__(self) -> str:
        return f"{self.start}-{self.end}"

    def as_dict(self) -> dict[str, str]:
        """The range as the API shows it: ``{"start": ..., "end": ...}``."""
        return {"start": str(self.start), "end": str(self.end)}


@dataclass(frozen=True)
class HostRoute:
    """A subnet host route, in canonical text (destination has no host bits)."""

    destination: str
    nexthop: str

    def as_dict(self) -> dict[str, str]:
        return {"destination": self.destination, "nexthop": self.nexthop}


def is_auto_address_subnet(ipv6_ra_mode: str | None, ipv6_address_mode: str | None) -> bool:
    """Whether ports get their address on this subnet by SLAAC (EUI-64), not from pools.

    True when either mode is ``slaac`` or ``dhcpv6-stateless``, as Neutron's
    ``ipv6_utils.is_auto_address_subnet`` decides.
    """
    auto = (IPV6_SLAAC, DHCPV6_STATELESS)
    return ipv6_address_mode in auto or ipv6_ra_mode in auto


@dataclass(frozen=True)
class SubnetPlan:
    """A subnet's valid, canonical values, ready to store.

    Invariants: ``cidr`` is the canonical network (no host bits; IPv6 compressed); every
    pool lies in the usable range of ``cidr``, the pools are sorted and disjoint and none
    holds ``gateway_ip``; every DNS server and route next hop is of ``ip_version``.
    """

    cidr: str
    ip_version: int
    gateway_ip: str | None
    allocation_pools: tuple[AddressRange, ...]
    dns_nameservers: tuple[str, ...]
    host_routes: tuple[HostRoute, ...]
    enable_dhcp: bool
    ipv6_ra_mode: str | None
    ipv6_address_mode: str | None

    @property
    def network(self) -> IPNetwork:
        return ipaddress.ip_network(self.cidr)

    @property
    def is_auto_address(self) -> bool:
        return is_auto_address_subnet(self.ipv6_ra_mode, self.ipv6_address_mode)

    def allocation_pools_as_dicts(self) -> list[dict[str, str]]:
        return [pool.as_dict() for pool in self.allocation_pools]

    def host_routes_as_dicts(self) -> list[dict[str, str]]:
        return [route.as_dict() for route in self.host_routes]


# -- the single rules ---------------------------------------------------------------------


def canonical_cidr(cidr: str, ip_version: int) -> IPNetwork:
    """The network ``cidr`` names, host bits cleared, checked against ``ip_version``.

    Raises 400 ``InvalidInput`` for a value that is not a CIDR or one of the other version.
    An address without a prefix length is the one-address network, as in Neutron.
    """
    interface = _parse_interface(cidr)
    if interface is None:
        raise InvalidInput(f"{cidr} is not in a CIDR format")
    network = interface.network
    if network.version != ip_version:
        raise _version_error("cidr", str(network), ip_version)
    return network


def check_dhcp_compatible(network: IPNetwork) -> None:
    """The rules Neutron applies to a subnet whose DHCP is being turned on.

    Refused (400 ``InvalidInput``): IPv4 longer than /30, IPv6 longer than /126, multicast,
    loopback, and an IPv4 subnet starting at 0.0.0.0.
    """
    if network.prefixlen > (30 if network.version == 4 else 126):
        raise InvalidInput("Subnet has a prefix length that is incompatible with DHCP "
                           "service enabled")
    if network.is_multicast:
        raise InvalidInput("Multicast IP subnet is not supported if enable_dhcp is True")
    if network.is_loopback:
        raise InvalidInput("Loopback IP subnet is not supported if enable_dhcp is True")
    if network.version == 4 and int(network.network_address) == 0:
        raise InvalidInput("First IP '0.0.0.0' of network is not supported if enable_dhcp "
                           "is True")


def check_gateway(gateway: IPAddress, network: IPNetwork) -> None:
    """A gateway of the subnet's version that, inside the subnet, is a usable address.

    A gateway outside the subnet is allowed (Neutron assumes it is on link). Inside, an
    IPv4 gateway may be neither the network nor the broadcast address. 400 ``InvalidInput``.
    """
    if gateway.version != network.version:
        raise _version_error("gateway_ip", str(gateway), network.version)
    if (network.version == 4 and gateway in network
            and gateway in (network.network_address, network.broadcast_address)):
        raise InvalidInput("Gateway is not valid on subnet")


def default_gateway(network: IPNetwork) -> IPAddress:
    """Neutron's gateway when none is given: the address after the network's for IPv4, the
    network address itself (the subnet-router anycast address) for IPv6.

    For an IPv4 /32 that address lies outside the subnet, as it does in Neutron.
    """
    if network.version == 6:
        return network.network_address
    return ipaddress.ip_address(int(network.network_address) + 1)


def _usable_bounds(network: IPNetwork) -> tuple[int, int]:
    """First and last address a pool may hold: IPv4 skips network and broadcast (but not on
    /31 and /32), IPv6 skips the subnet-router anycast address (the network address)."""
    first, last = int(network.network_address), int(network.broadcast_address)
    if network.version == 4:
        if network.prefixlen <= 30:
            return first + 1, last - 1
        return first, last
    return first + 1, last


def _make_address(value: int, version: int) -> IPAddress:
    if version == 4:
        return ipaddress.IPv4Address(value)
    return ipaddress.IPv6Address(value)


def default_allocation_pools(network: IPNetwork,
                             gateway: IPAddress | None) -> tuple[AddressRange, ...]:
    """The pools Neutron makes when none are given: the usable range less the gateway.

    Postcondition: at most two ranges, computed without listing addresses (a /8 or a /64
    costs the same as a /24). A one-address subnet's pool is that address, gateway or not.
    """
    version = network.version
    if network.num_addresses == 1:
        only = network.network_address
        return (AddressRange(only, only),)
    first, last = _usable_bounds(network)
    spans = [(first, last)]
    if gateway is not None and gateway.version == version and first <= int(gateway) <= last:
        gw = int(gateway)
        spans = [(first, gw - 1), (gw + 1, last)]
    return tuple(AddressRange(_make_address(lo, version), _make_address(hi, version))
                 for lo, hi in spans if lo <= hi)


def parse_allocation_pools(pools: Sequence[Mapping[str, object]]) -> list[AddressRange]:
    """The API's pool dicts as ranges, sorted by start.

    Raises a 400 ``HTTPBadRequest`` for a pool whose keys are not exactly ``start`` and
    ``end`` or whose addresses are not addresses, and 400 ``InvalidAllocationPool`` for a
    pool that ends before it starts or mixes IP versions.
    """
    ranges = []
    for pool in pools:
        if not isinstance(pool, Mapping) or set(pool) != {"start", "end"}:
            provided = sorted(pool) if isinstance(pool, Mapping) else pool
            raise attribute_error(
                "allocation_pools", "Validation of dictionary's keys failed. Expected keys: "
                f"['end', 'start'] Provided keys: {provided}")
        start = parse_ip_address(pool["start"], "allocation_pools")
        end = parse_ip_address(pool["end"], "allocation_pools")
        if start.version != end.version or int(start) > int(end):
            shown = {"start": str(start), "end": str(end)}
            raise NetworkBadRequest("InvalidAllocationPool",
                                    f"The allocation pool {shown} is not valid.")
        ranges.append(AddressRange(start, end))
    return sorted(ranges, key=lambda pool: pool.first)


def validate_allocation_pools(pools: Sequence[AddressRange], network: IPNetwork) -> None:
    """Pools of the subnet's version, inside its usable range, not overlapping.

    Raises 400 ``InvalidAllocationPool`` (wrong version), 400 ``OutOfBoundsAllocationPool``
    (beyond the usable range), 409 ``OverlappingAllocationPools`` (as Neutron: a Conflict).
    """
    first, last = _usable_bounds(network)
    for pool in pools:
        if pool.version != network.version:
            raise NetworkBadRequest("InvalidAllocationPool",
                                    f"The allocation pool {pool} is not valid.")
        if pool.first < first or pool.last > last:
            raise NetworkBadRequest(
                "OutOfBoundsAllocationPool",
                f"The allocation pool {pool} spans beyond the subnet cidr {network}.")
    for index, left in enumerate(pools):
        for right in pools[index + 1:]:
            if left.overlaps(right):
                raise NetworkConflict(
                    "OverlappingAllocationPools",
                    f"Found overlapping allocation pools: {left} {right} for subnet "
                    f"{network}.")


def check_gateway_out_of_pools(gateway: IPAddress, pools: Iterable[AddressRange]) -> None:
    """409 ``GatewayConflictWithAllocationPools`` if a pool holds the gateway."""
    for pool in pools:
        if gateway in pool:
            raise NetworkConflict(
                "GatewayConflictWithAllocationPools",
                f"Gateway ip {gateway} conflicts with allocation pool {pool}.")


def parse_dns_nameservers(servers: Sequence[object]) -> list[IPAddress]:
    """The API's DNS server list read as Neutron's ``type:nameservers`` validator reads it.

    A 400 ``HTTPBadRequest`` for a server that is not an address or is listed twice (the
    same address written two ways counts as twice).
    """
    seen: list[IPAddress] = []
    for server in servers:
        problem = ip_address_problem(server)
        if problem is not None:
            raise attribute_error("dns_nameservers",
                                  f"'{server}' is not a valid nameserver. {problem}")
        address = ipaddress.ip_address(str(server))
        if address in seen:
            raise attribute_error("dns_nameservers", f"Duplicate nameserver '{server}'")
        seen.append(address)
    return seen


def check_dns_nameservers(servers: Sequence[IPAddress], ip_version: int, *,
                          limit: int, subnet_label: str) -> None:
    """At most ``limit`` servers (400 ``DNSNameServersExhausted``), all of ``ip_version``."""
    if len(servers) > limit:
        raise NetworkBadRequest(
            "DNSNameServersExhausted",
            f"Unable to complete operation for {subnet_label}. The number of DNS "
            f"nameservers exceeds the limit {limit}.")
    for server in servers:
        if server.version != ip_version:
            raise _version_error("dns_nameserver", str(server), ip_version)


def parse_host_routes(routes: Sequence[Mapping[str, object]], *,
                      attribute: str = "host_routes") -> list[HostRoute]:
    """The API's host routes (a subnet's, or a router's extra ``routes``) read as
    Neutron's ``type:hostroutes`` validator reads them.

    A 400 ``HTTPBadRequest`` for keys other than ``destination`` and ``nexthop``, a
    destination that is not a CIDR without host bits or is loopback, a next hop that is
    not an address, or a route listed twice.
    """
    seen: list[HostRoute] = []
    for route in routes:
        if not isinstance(route, Mapping) or set(route) != {"destination", "nexthop"}:
            provided = sorted(route) if isinstance(route, Mapping) else route
            raise attribute_error(
                attribute, "Validation of dictionary's keys failed. Expected keys: "
                f"['destination', 'nexthop'] Provided keys: {provided}")
        destination = route["destination"]
        interface = _parse_interface(destination) if isinstance(destination, str) else None
        if (interface is None or "/" not in str(destination)
                or interface.ip != interface.network.network_address):
            raise attribute_error(attribute, f"'{destination}' is not a valid CIDR")
        if interface.network.is_loopback:
            raise attribute_error(attribute, f"'{destination}' is not a routable CIDR")
        nexthop = parse_ip_address(route["nexthop"], attribute)
        parsed = HostRoute(str(interface.network), str(nexthop))
        if parsed in seen:
            shown = {"destination": destination, "nexthop": route["nexthop"]}
            raise attribute_error(attribute, f"Duplicate hostroute '{shown}'")
        seen.append(parsed)
    return seen


def check_host_routes(routes: Sequence[HostRoute], ip_version: int, *,
                      limit: int, subnet_label: str) -> None:
    """At most ``limit`` routes (400 ``HostRoutesExhausted``), next hop and destination of
    ``ip_version`` (400 ``InvalidInput``)."""
    if len(routes) > limit:
        raise NetworkBadRequest(
            "HostRoutesExhausted",
            f"Unable to complete operation for {subnet_label}. The number of host routes "
            f"exceeds the limit {limit}.")
    for route in routes:
        if ipaddress.ip_address(route.nexthop).version != ip_version:
            raise _version_error("nexthop", route.nexthop, ip_version)
        if ipaddress.ip_network(route.destination).version != ip_version:
            raise _version_error("destination", route.destination, ip_version)


def _check_mode_value(attribute: str, mode: str | None) -> None:
    if mode is not None and mode not in IPV6_MODES:
        raise attribute_error(attribute, f"{mode} is not in {list(IPV6_MODES)}")


def check_ipv6_modes(network: IPNetwork, ipv6_ra_mode: str | None,
                     ipv6_address_mode: str | None, *, enable_dhcp: bool) -> None:
    """The IPv6 RA and address modes Neutron accepts on a new subnet (400 ``InvalidInput``).

    IPv4: neither mode may be set. IPv6: modes need DHCP enabled, two modes given must be
    equal, and an auto-address (SLAAC, DHCPv6-stateless) subnet must be a /64.
    """
    if network.version == 4:
        for name, mode in (("ipv6_ra_mode", ipv6_ra_mode),
                           ("ipv6_address_mode", ipv6_address_mode)):
            if mode is not None:
                raise InvalidInput(f"{name} is not valid when ip_version is 4")
        return
    if (ipv6_ra_mode is not None or ipv6_address_mode is not None) and not enable_dhcp:
        raise InvalidInput("ipv6_ra_mode or ipv6_address_mode cannot be set when "
                           "enable_dhcp is set to False")
    if (ipv6_ra_mode is not None and ipv6_address_mode is not None
            and ipv6_ra_mode != ipv6_address_mode):
        raise InvalidInput(
            f"ipv6_ra_mode set to '{ipv6_ra_mode}' with ipv6_address_mode set to "
            f"'{ipv6_address_mode}' is not valid. If both attributes are set, they must be "
            "the same value")
    if is_auto_address_subnet(ipv6_ra_mode, ipv6_address_mode) and network.prefixlen != 64:
        raise InvalidInput(
            f"Invalid CIDR {network} for IPv6 address mode. OpenStack uses the EUI-64 "
            "address format, which requires the prefix to be /64")


def check_no_overlap(network: IPNetwork, other_cidrs: Iterable[str], *,
                     network_id: str) -> None:
    """A prefix length above 0 and no overlap with the network's other subnets.

    400 ``InvalidInput`` for either; the message does not name the other subnet (Neutron
    keeps its details from the caller).
    """
    if network.prefixlen == 0:
        raise InvalidInput("0 is not allowed as CIDR prefix length")
    for other in other_cidrs:
        other_net = ipaddress.ip_network(other, strict=False)
        if other_net.version == network.version and other_net.overlaps(network):
            raise InvalidInput(
                f"Requested subnet with cidr: {network} for network: {network_id} overlaps "
                "with another subnet")


# -- the whole request --------------------------------------------------------------------


def plan_subnet(
    *,
    cidr: str,
    ip_version: int,
    network_id: str,
    gateway_ip: str | Unset | None = UNSET,
    allocation_pools: Sequence[Mapping[str, object]] | Unset | None = UNSET,
    dns_nameservers: Sequence[object] = (),
    host_routes: Sequence[Mapping[str, object]] = (),
    enable_dhcp: bool = True,
    ipv6_ra_mode: str | None = None,
    ipv6_address_mode: str | None = None,
    existing_cidrs: Iterable[str] = (),
    max_dns_nameservers: int = MAX_DNS_NAMESERVERS,
    max_host_routes: int = MAX_SUBNET_HOST_ROUTES,
) -> SubnetPlan:
    """Validate a subnet create request as Neutron does and fill in its defaults.

    ``gateway_ip``: UNSET for the default (see :func:`default_gateway`), None for no
    gateway, else an address. ``allocation_pools``: UNSET or None for the default pools
    (the usable range less the gateway), else a list of ``{"start", "end"}`` (an empty
    list means no pools). ``existing_cidrs``: the CIDRs of the network's other subnets.

    Postcondition: the returned plan holds the invariants of :class:`SubnetPlan`; on any
    rule broken, the error Neutron raises for it (see the module docstring) and nothing
    else happened.
    """
    # Attribute formats, in the order of Neutron's attribute map.
    if ip_version not in (4, 6):
        raise attribute_error("ip_version", f"{ip_version} is not in [4, 6]")
    interface = _parse_interface(cidr)
    if interface is None:
        raise InvalidInput(f"{cidr} is not in a CIDR format")
    gateway = (parse_ip_address(gateway_ip, "gateway_ip")
               if isinstance(gateway_ip, str) else None)
    pools = (None if allocation_pools is UNSET or allocation_pools is None
             else parse_allocation_pools(allocation_pools))
    servers = parse_dns_nameservers(dns_nameservers)
    routes = parse_host_routes(host_routes)
    _check_mode_value("ipv6_ra_mode", ipv6_ra_mode)
    _check_mode_value("ipv6_address_mode", ipv6_address_mode)

    # The rules between attributes, as _validate_subnet orders them.
    network = canonical_cidr(cidr, ip_version)
    if network.version == 6 and int(network.network_address) == 0:
        raise InvalidInput("IPv6 subnet '::' is not supported")
    if enable_dhcp:
        check_dhcp_compatible(network)
    if gateway is not None:
        check_gateway(gateway, network)
    check_dns_nameservers(servers, ip_version, limit=max_dns_nameservers,
                          subnet_label="new subnet")
    check_host_routes(routes, ip_version, limit=max_host_routes, subnet_label="new subnet")
    check_ipv6_modes(network, ipv6_ra_mode, ipv6_address_mode, enable_dhcp=enable_dhcp)

    # The gateway and pools, then the overlap with the other subnets.
    if gateway_ip is UNSET:
        gateway = default_gateway(network)
    if pools is None:
        planned_pools = default_allocation_pools(network, gateway)
    else:
        validate_allocation_pools(pools, network)
        if gateway is not None:
            check_gateway_out_of_pools(gateway, pools)
        planned_pools = tuple(pools)
    check_no_overlap(network, existing_cidrs, network_id=network_id)

    return SubnetPlan(
        cidr=str(network),
        ip_version=ip_version,
        gateway_ip=None if gateway is None else str(gateway),
        allocation_pools=planned_pools,
        dns_nameservers=tuple(str(server) for server in servers),
        host_routes=tuple(routes),
        enable_dhcp=enable_dhcp,
        ipv6_ra_mode=ipv6_ra_mode,
        ipv6_address_mode=ipv6_address_mode,
    )


def plan_subnet_update(
    current: SubnetPlan,
    *,
    subnet_id: str,
    gateway_ip: str | Unset | None = UNSET,
    allocation_pools: Sequence[Mapping[str, object]] | Unset = UNSET,
    dns_nameservers: Sequence[object] | Unset = UNSET,
    host_routes: Sequence[Mapping[str, object]] | Unset = UNSET,
    enable_dhcp: bool | Unset = UNSET,
    max_dns_nameservers: int = MAX_DNS_NAMESERVERS,
    max_host_routes: int = MAX_SUBNET_HOST_ROUTES,
) -> SubnetPlan:
    """Validate an update of the stored subnet ``current`` as Neutron does; UNSET keeps a
    value, ``gateway_ip=None`` removes the gateway.

    As in Neutron, changing the gateway does not regenerate the pools; a new gateway (or
    new pools) is checked against the pools that will apply. The DHCP prefix rules apply
    only when DHCP is being turned on; DHCP cannot be turned off while IPv6 modes are set.
    Whether the old gateway is held by a router port (``GatewayIpInUse``) is for the
    caller, who can see the ports.

    Postcondition: as :func:`plan_subnet`; ``current`` is unchanged.
    """
    network = current.network
    label = subnet_id
    gateway = (parse_ip_address(gateway_ip, "gateway_ip")
               if isinstance(gateway_ip, str) else None)
    pools = (None if isinstance(allocation_pools, _Unset)
             else parse_allocation_pools(allocation_pools))
    servers = (None if isinstance(dns_nameservers, _Unset)
               else parse_dns_nameservers(dns_nameservers))
    routes = None if isinstance(host_routes, _Unset) else parse_host_routes(host_routes)

    dhcp = current.enable_dhcp if isinstance(enable_dhcp, _Unset) else enable_dhcp
    if dhcp and not current.enable_dhcp:
        check_dhcp_compatible(network)
    if gateway is not None:
        check_gateway(gateway, network)
    if servers is not None:
        check_dns_nameservers(servers, current.ip_version, limit=max_dns_nameservers,
                              subnet_label=label)
    if routes is not None:
        check_host_routes(routes, current.ip_version, limit=max_host_routes,
                          subnet_label=label)
    if (current.ip_version == 6 and not dhcp
            and (current.ipv6_ra_mode is not None or current.ipv6_address_mode is not None)):
        raise InvalidInput("Cannot disable enable_dhcp with ipv6 attributes set")

    if pools is not None:
        validate_allocation_pools(pools, network)
    new_gateway = current.gateway_ip if isinstance(gateway_ip, _Unset) else (
        None if gateway is None else str(gateway))
    planned_pools = current.allocation_pools if pools is None else tuple(pools)
    if (new_gateway != current.gateway_ip or pools is not None) and new_gateway is not None:
        check_gateway_out_of_pools(ipaddress.ip_address(new_gateway), planned_pools)

    return SubnetPlan(
        cidr=current.cidr,
        ip_version=current.ip_version,
        gateway_ip=new_gateway,
        allocation_pools=planned_pools,
        dns_nameservers=(current.dns_nameservers if servers is None
                         else tuple(str(server) for server in servers)),
        host_routes=current.host_routes if routes is None else tuple(routes),
        enable_dhcp=dhcp,
        ipv6_ra_mode=current.ipv6_ra_mode,
        ipv6_address_mode=current.ipv6_address_mode,
    )
