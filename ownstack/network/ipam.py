"""IP address management of the network service: pure rules, no SQL, no HTTP.

The subnet rules live in :mod:`ownstack.network.subnet_rules` and are re-exported here, so
callers import one module: ``from ownstack.network import ipam``. This module adds what a
port needs: its MAC address (:func:`normalise_mac`, :func:`random_mac`), its SLAAC address
(:func:`eui64_address`), the check of a requested fixed IP
(:func:`check_requested_address`, :func:`subnet_for_address`), free addresses to try
(:func:`candidates`, :func:`available_count`) and its allowed address pairs
(:func:`validate_allowed_address_pairs`).

Errors carry Neutron's type names and messages (neutron-lib's exceptions and validators,
``neutron/ipam/utils.py``, ``neutron/db/ipam_pluggable_backend.py``).
"""

from __future__ import annotations

import bisect
import ipaddress
import random
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from ownstack.common.errors import BadRequest
from ownstack.network.errors import NetworkBadRequest, NetworkConflict
from ownstack.network.subnet_rules import (
    DHCPV6_STATEFUL,
    DHCPV6_STATELESS,
    IPV6_MODES,
    IPV6_SLAAC,
    MAX_DNS_NAMESERVERS,
    MAX_SUBNET_HOST_ROUTES,
    UNSET,
    AddressRange,
    HostRoute,
    IPAddress,
    IPNetwork,
    SubnetPlan,
    Unset,
    attribute_error,
    check_gateway_out_of_pools,
    default_allocation_pools,
    default_gateway,
    ip_address_problem,
    is_auto_address_subnet,
    parse_allocation_pools,
    parse_ip_address,
    plan_subnet,
    plan_subnet_update,
    validate_allocation_pools,
)

__all__ = [
    "DEFAULT_MAC_PREFIX",
    "DHCPV6_STATEFUL",
    "DHCPV6_STATELESS",
    "IPV6_MODES",
    "IPV6_SLAAC",
    "MAX_ALLOWED_ADDRESS_PAIRS",
    "MAX_DNS_NAMESERVERS",
    "MAX_SUBNET_HOST_ROUTES",
    "ROUTER_INTERFACE_OWNERS",
    "ROUTER_PORT_OWNERS",
    "UNSET",
    "AddressPair",
    "AddressRange",
    "HostRoute",
    "IPAddress",
    "IPNetwork",
    "SubnetPlan",
    "Unset",
    "address_in_use",
    "attribute_error",
    "available_count",
    "candidates",
    "check_gateway_out_of_pools",
    "check_requested_address",
    "default_allocation_pools",
    "default_gateway",
    "eui64_address",
    "ip_address_problem",
    "is_auto_address_subnet",
    "mac_address_in_use",
    "no_more_addresses",
    "normalise_mac",
    "parse_allocation_pools",
    "parse_ip_address",
    "plan_subnet",
    "plan_subnet_update",
    "random_mac",
    "subnet_for_address",
    "validate_allocation_pools",
    "validate_allowed_address_pairs",
]

DEFAULT_MAC_PREFIX: Final = "fa:16:3e"
"""Neutron's ``base_mac`` (fa:16:3e:00:00:00): locally administered, unicast."""

MAX_ALLOWED_ADDRESS_PAIRS: Final = 10
"""Neutron's default for its ``max_allowed_address_pair`` option."""

# Owners whose ports may take any address of an auto-address IPv6 subnet (Neutron's
# ROUTER_INTERFACE_OWNERS), and, with the router gateway and SNAT ports, the IPv6 subnet's
# network address (ROUTER_PORT_OWNERS).
ROUTER_INTERFACE_OWNERS: Final = (
    "network:router_interface",
    "network:ha_router_replicated_interface",
    "network:router_interface_distributed",
)
ROUTER_PORT_OWNERS: Final = (*ROUTER_INTERFACE_OWNERS, "network:router_centralized_snat",
                             "network:router_gateway")

_MAC_SIX_GROUPS: Final = re.compile(r"^[0-9a-f]{1,2}([:-])[0-9a-f]{1,2}(?:\1[0-9a-f]{1,2}){4}$",
                                    re.IGNORECASE)
_MAC_OTHER_FORMS: Final = re.compile(
    r"^(?:[0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4}|[0-9a-f]{6}:[0-9a-f]{6}|[0-9a-f]{12})$",
    re.IGNORECASE)
_MAC_PREFIX: Final = re.compile(r"^[0-9a-f]{2}(?::[0-9a-f]{2}){0,4}$", re.IGNORECASE)
_MULTICAST_BIT: Final = 1 << 40
_ALL_ONES_MAC: Final = (1 << 48) - 1
_IPV4_MULTICAST: Final = ipaddress.IPv4Network("224.0.0.0/4")
_IPV6_MULTICAST: Final = ipaddress.IPv6Network("ff00::/8")

# Below this many addresses, or with at least half of them in use, candidates() lists the
# free addresses and shuffles them; above, it samples at random.
_LIST_BELOW: Final = 4096

_rng = random.Random()


# -- MAC addresses ------------------------------------------------------------------------


def _mac_value(value: object) -> int | None:
    """The 48-bit value of a MAC written in a form netaddr accepts, or None."""
    if not isinstance(value, str):
        return None
    if _MAC_SIX_GROUPS.match(value):
        groups = re.split(r"[:-]", value)
        return int("".join(f"{int(group, 16):02x}" for group in groups), 16)
    if _MAC_OTHER_FORMS.match(value):
        return int(re.sub(r"[.:]", "", value), 16)
    return None


def _format_mac(value: int) -> str:
    raw = f"{value:012x}"
    return ":".join(raw[i:i + 2] for i in range(0, 12, 2))


def normalise_mac(value: object, *, attribute: str = "mac_address",
                  allow_multicast: bool = False) -> str:
    """``value`` as a MAC in lower-case colon form (``fa:16:3e:0a:0b:0c``).

    Accepts the forms Neutron (netaddr) accepts: six groups split by ``:`` or ``-``,
    ``xxxx.xxxx.xxxx``, ``xxxxxx:xxxxxx`` and twelve bare hex digits. Refuses, as Neutron
    does, the all-zero and the broadcast address (400 ``HTTPBadRequest``, "Invalid input for
    <attribute>. Reason: '...' is not a valid MAC address."). A multicast MAC is refused
    unless ``allow_multicast``: Neutron itself refuses one only in allowed address pairs,
    but a guest NIC cannot use one, so ownstack refuses it for ports too.
    """
    mac = _mac_value(value)
    if mac is None or mac in (0, _ALL_ONES_MAC):
        raise attribute_error(attribute, f"'{value}' is not a valid MAC address")
    if mac & _MULTICAST_BIT and not allow_multicast:
        raise BadRequest(f"MAC address {value} is a multicast address, which is not "
                         "supported.")
    return _format_mac(mac)


def random_mac(prefix: str = DEFAULT_MAC_PREFIX, *, rng: random.Random | None = None) -> str:
    """A random unicast MAC that starts with ``prefix`` (one to five octets, colon form).

    Postcondition: lower-case colon form, never all-zero nor broadcast. Uniqueness on the
    network is the caller's to check (``MacAddressInUse``), by retrying with a new one.
    Raises ValueError for a malformed prefix or one with the multicast bit set.
    """
    if not _MAC_PREFIX.match(prefix):
        raise ValueError(f"not a MAC prefix: {prefix!r}")
    fixed = [int(octet, 16) for octet in prefix.split(":")]
    if fixed[0] & 1:
        raise ValueError(f"MAC prefix {prefix!r} is multicast")
    source = rng or _rng
    while True:
        octets = fixed + [source.getrandbits(8) for _ in range(6 - len(fixed))]
        value = int.from_bytes(bytes(octets), "big")
        if value != 0:
            return _format_mac(value)


def eui64_address(prefix: str, mac: str) -> ipaddress.IPv6Address:
    """The SLAAC address (modified EUI-64, RFC 4291 appendix A) of ``mac`` in ``prefix``.

    ``prefix`` is an IPv6 CIDR of length 64 or less (host bits ignored). Example:
    ``eui64_address("2001:db8::/64", "00:16:3e:33:44:55")`` is ``2001:db8::216:3eff:fe33:4455``.
    Raises ValueError for an IPv4 or too long prefix or a MAC that is not one: both come
    from stored, validated values, so either is a programming error.
    """
    network = ipaddress.ip_network(prefix, strict=False)
    if not isinstance(network, ipaddress.IPv6Network) or network.prefixlen > 64:
        raise ValueError(f"EUI-64 needs an IPv6 prefix of /64 or shorter, not {prefix}")
    value = _mac_value(mac)
    if value is None:
        raise ValueError(f"not a MAC address: {mac!r}")
    interface_id = ((value >> 24) << 40) | (0xFFFE << 24) | (value & 0xFFFFFF)
    interface_id ^= 1 << 57  # the universal/local bit, inverted
    return ipaddress.IPv6Address(int(network.network_address) | interface_id)


# -- a requested fixed IP -----------------------------------------------------------------


def _valid_on_subnet(network: IPNetwork, address: IPAddress, device_owner: str) -> bool:
    """Neutron's ``check_subnet_ip``: inside the subnet, and for IPv4 neither the network
    nor (below /31) the broadcast address; for IPv6 the network address only for router
    ports and ports whose owner is not known ("")."""
    if address.version != network.version or address not in network:
        return False
    if network.version == 4:
        if address == network.network_address:
            return False
        return network.prefixlen >= 31 or address != network.broadcast_address
    return (device_owner in (*ROUTER_PORT_OWNERS, "")
            or address != network.network_address)


def check_requested_address(
    cidr: str,
    address: str,
    *,
    subnet_id: str,
    device_owner: str = "",
    mac_address: str | None = None,
    ipv6_ra_mode: str | None = None,
    ipv6_address_mode: str | None = None,
) -> IPAddress:
    """Check a fixed IP a port asks for on subnet ``cidr``, as Neutron does.

    The address may lie outside the allocation pools, as in Neutron: only the subnet
    bounds matter. Raises a 400 ``HTTPBadRequest`` if ``address`` is not an address;
    400 ``InvalidIpForSubnet`` if it is outside the subnet or is the IPv4 network or
    broadcast address (the IPv6 network address is refused only to non-router ports);
    400 ``AllocationOnAutoAddressSubnet`` on a SLAAC/DHCPv6-stateless subnet unless it is
    the port's own EUI-64 address (of ``mac_address``) or the port is a router interface.

    Postcondition: returns the address, parsed; whether it is already allocated is the
    caller's to check (409 :func:`address_in_use`).
    """
    requested = parse_ip_address(address, "fixed_ips")
    network = ipaddress.ip_network(cidr, strict=False)
    if not _valid_on_subnet(network, requested, device_owner):
        raise NetworkBadRequest(
            "InvalidIpForSubnet",
            f"IP address {address} is not a valid IP for the specified subnet.")
    if (network.version == 6 and is_auto_address_subnet(ipv6_ra_mode, ipv6_address_mode)
            and device_owner not in ROUTER_INTERFACE_OWNERS):
        own = (eui64_address(str(network), mac_address)
               if mac_address is not None and _mac_value(mac_address) is not None else None)
        if requested != own:
            raise NetworkBadRequest(
                "AllocationOnAutoAddressSubnet",
                f"IPv6 address {address} cannot be directly assigned to a port on subnet "
                f"{subnet_id} as the subnet is configured for automatic addresses")
    return requested


def subnet_for_address(subnets: Iterable[tuple[str, str]], address: str, *,
                       device_owner: str = "") -> str:
    """The id of the first of ``subnets`` (``(id, cidr)`` pairs) that can hold ``address``,
    for a fixed IP given without a subnet.

    Raises a 400 ``HTTPBadRequest`` if ``address`` is not an address, and 400
    ``InvalidIpForNetwork`` if no subnet can hold it.
    """
    requested = parse_ip_address(address, "fixed_ips")
    for subnet_id, cidr in subnets:
        if _valid_on_subnet(ipaddress.ip_network(cidr, strict=False), requested,
                            device_owner):
            return subnet_id
    raise NetworkBadRequest(
        "InvalidIpForNetwork",
        f"IP address {address} is not a valid IP for any of the subnets on the specified "
        "network.")


# -- free addresses -----------------------------------------------------------------------


class _FreeSpace:
    """The pools as one index space (pool after pool), less the used addresses."""

    def __init__(self, pools: Sequence[AddressRange], used: Iterable[IPAddress | str]) -> None:
        spans: list[tuple[int, int]] = []
        self.version = pools[0].version if pools else 4
        for pool in sorted((p for p in pools if p.version == self.version),
                           key=lambda p: p.first):
            if spans and pool.first <= spans[-1][1] + 1:
                spans[-1] = (spans[-1][0], max(spans[-1][1], pool.last))
            else:
                spans.append((pool.first, pool.last))
        self.spans = spans
        self.starts = [first for first, _ in spans]
        self.offsets: list[int] = []
        total = 0
        for first, last in spans:
            self.offsets.append(total)
            total += last - first + 1
        self.total = total
        self.used: set[int] = set()
        for item in used:
            value = _address_value(item, self.version)
            if value is not None and self.holds(value):
                self.used.add(value)
        self.free = total - len(self.used)

    def holds(self, value: int) -> bool:
        index = bisect.bisect_right(self.starts, value) - 1
        return index >= 0 and value <= self.spans[index][1]

    def at(self, index: int) -> int:
        """The address at ``index`` (0 <= index < total) of the index space."""
        span = bisect.bisect_right(self.offsets, index) - 1
        return self.spans[span][0] + index - self.offsets[span]

    def walk(self, start: int) -> Iterator[int]:
        """Every address from index ``start`` on, wrapping round once."""
        for step in range(self.total):
            yield self.at((start + step) % self.total)


def draws(pools: Sequence[AddressRange], count: int, *,
          rng: random.Random | None = None) -> list[IPAddress]:
    """Up to ``count`` distinct addresses of ``pools`` at random, used or not: a first try
    that reads nothing, for pools that are mostly free (see :func:`candidates`)."""
    space = _FreeSpace(pools, ())
    source = rng or _rng
    picked = {space.at(source.randrange(space.total)) for _ in range(count)} \
        if space.total else set()
    return [_make(value, space.version) for value in picked]


def _address_value(item: IPAddress | str, version: int) -> int | None:
    try:
        address = ipaddress.ip_address(item)
    except ValueError:
        return None
    return int(address) if address.version == version else None


def _make(value: int, version: int) -> IPAddress:
    if version == 4:
        return ipaddress.IPv4Address(value)
    return ipaddress.IPv6Address(value)


def available_count(pools: Sequence[AddressRange], used: Iterable[IPAddress | str]) -> int:
    """How many addresses of ``pools`` are not in ``used`` (used addresses outside the pools
    do not count). Costs O(len(used) log len(pools)), whatever the pools' size."""
    return _FreeSpace(pools, used).free


def candidates(pools: Sequence[AddressRange], used: Iterable[IPAddress | str], *,
               limit: int, sequential: bool = False,
               rng: random.Random | None = None) -> Iterator[IPAddress]:
    """Up to ``limit`` distinct free addresses of ``pools`` (not in ``used``), to try in turn.

    By default in random order over the whole free space, so that concurrent creators
    rarely pick the same address (the loser of a race retries with the next candidate).
    ``sequential=True`` gives the lowest free addresses in order instead, as Neutron gives
    DHCP ports. Yields nothing when the pools are full (then raise :func:`no_more_addresses`).

    Cost: O(len(used) + limit) for sparse pools of any size (a /8, a /64): addresses are
    drawn at random and never listed; pools of under 4096 addresses, or at least half
    used, are listed and shuffled, which costs O(pool size) = O(len(used)).
    """
    space = _FreeSpace(pools, used)
    wanted = min(limit, space.free)
    if wanted <= 0:
        return
    source = rng or _rng
    version = space.version
    if sequential:
        given = 0
        for value in space.walk(0):
            if value not in space.used:
                yield _make(value, version)
                given += 1
                if given == wanted:
                    return
        return
    if space.total < _LIST_BELOW or 2 * len(space.used) >= space.total:
        free = [value for value in space.walk(0) if value not in space.used]
        source.shuffle(free)
        for value in free[:wanted]:
            yield _make(value, version)
        return
    # Sparse: at least half the space is free, so a draw hits a free address at least every
    # other time; after many misses in a row (bad luck), walk on from a random point.
    given_set: set[int] = set()
    misses = 0
    while len(given_set) < wanted and misses < 64:
        value = space.at(source.randrange(space.total))
        if value in space.used or value in given_set:
            misses += 1
            continue
        misses = 0
        given_set.add(value)
        yield _make(value, version)
    if len(given_set) < wanted:
        for value in space.walk(source.randrange(space.total)):
            if value not in space.used and value not in given_set:
                given_set.add(value)
                yield _make(value, version)
                if len(given_set) == wanted:
                    return


# -- allowed address pairs ----------------------------------------------------------------


@dataclass(frozen=True)
class AddressPair:
    """An allowed address pair: an address or CIDR (as given, host bits kept, IPv6
    compressed) and a MAC in colon form (None: the port's own, when the port is unknown)."""

    ip_address: str
    mac_address: str | None

    def as_dict(self) -> dict[str, str]:
        pair = {"ip_address": self.ip_address}
        if self.mac_address is not None:
            pair["mac_address"] = self.mac_address
        return pair


def _pair_ip(value: object) -> str:
    """An allowed address pair's ``ip_address``, checked as neutron-lib does (400
    ``HTTPBadRequest``), in canonical text."""
    text = value if isinstance(value, str) else str(value)
    if "/" not in text:
        problem = ip_address_problem(value)
        if problem is not None:
            raise BadRequest(problem)
        address = ipaddress.ip_address(text)
        if address.is_multicast:
            raise BadRequest(f"IP {text} is a multicast address, which is not supported.")
        return str(address)
    address_part, _, prefix = text.partition("/")
    try:
        if ip_address_problem(address_part) is not None or not prefix.isdigit():
            raise ValueError(text)
        interface = ipaddress.ip_interface(text)
    except ValueError:
        raise BadRequest(f"'{text}' is not a valid IP subnet") from None
    network = interface.network
    multicast = _IPV4_MULTICAST if network.version == 4 else _IPV6_MULTICAST
    # As neutron-lib: 0.0.0.0/0 is allowed (it is "any"), ::/0 is not (it holds ff00::/8).
    if network != ipaddress.IPv4Network("0.0.0.0/0") and network.overlaps(multicast):
        raise BadRequest(f"Subnet {interface} overlaps with multicast range {multicast}, "
                         "which is not supported.")
    return str(interface)


def validate_allowed_address_pairs(
    pairs: Sequence[object],
    *,
    port_mac: str | None = None,
    max_pairs: int = MAX_ALLOWED_ADDRESS_PAIRS,
) -> tuple[AddressPair, ...]:
    """A port's ``allowed_address_pairs`` checked and normalised as Neutron does.

    Each pair is ``{"ip_address": address or CIDR, "mac_address": optional MAC}``; a pair
    without a MAC takes ``port_mac`` when given. 0.0.0.0/0 is accepted (allow any IPv4).
    Errors, in Neutron's order: more than ``max_pairs`` -> 400
    ``AllowedAddressPairExhausted``; a bad MAC -> 400 ``HTTPBadRequest``; no
    ``ip_address`` -> 400 ``AllowedAddressPairsMissingIP``; the same pair twice -> 400
    ``DuplicateAddressPairInRequest``; other keys, a bad or multicast address or CIDR, a
    multicast MAC -> 400 ``HTTPBadRequest``.

    Postcondition: the pairs in request order, canonical, distinct.
    """
    if len(pairs) > max_pairs:
        raise NetworkBadRequest(
            "AllowedAddressPairExhausted",
            f"The number of allowed address pair exceeds the maximum {max_pairs}.")
    result: list[AddressPair] = []
    for pair in pairs:
        if not isinstance(pair, Mapping):
            raise attribute_error("allowed_address_pairs", f"'{pair}' is not a dictionary")
        mac_value: int | None = None
        if "mac_address" in pair:
            mac_value = _mac_value(pair["mac_address"])
            if mac_value is None or mac_value in (0, _ALL_ONES_MAC):
                raise BadRequest(f"'{pair['mac_address']}' is not a valid MAC address")
        if "ip_address" not in pair:
            raise NetworkBadRequest("AllowedAddressPairsMissingIP",
                                    "AllowedAddressPair must contain ip_address")
        unknown = sorted(str(key) for key in set(pair) - {"ip_address", "mac_address"})
        if unknown:
            raise BadRequest(f"Unrecognized attribute(s) '{', '.join(unknown)}'")
        ip = _pair_ip(pair["ip_address"])
        if mac_value is not None and mac_value & _MULTICAST_BIT:
            raise BadRequest(f"MAC address {pair['mac_address']} is a multicast address, "
                             "which is not supported.")
        if mac_value is not None:
            mac: str | None = _format_mac(mac_value)
        else:
            mac = None if port_mac is None else normalise_mac(port_mac,
                                                              allow_multicast=True)
        candidate = AddressPair(ip, mac)
        if candidate in result:
            raise NetworkBadRequest(
                "DuplicateAddressPairInRequest",
                f"Request contains duplicate address pair: mac_address {mac} ip_address "
                f"{ip}.")
        result.append(candidate)
    return tuple(result)


# -- errors the allocating caller raises --------------------------------------------------


def address_in_use(network_id: str, address: str) -> NetworkConflict:
    """409 ``IpAddressInUse``: a requested fixed IP another port already holds."""
    return NetworkConflict(
        "IpAddressInUse",
        f"Unable to complete operation for network {network_id}. The IP address {address} "
        "is in use.")


def mac_address_in_use(network_id: str, mac: str) -> NetworkConflict:
    """409 ``MacAddressInUse``: a requested MAC another port on the network holds."""
    return NetworkConflict(
        "MacAddressInUse",
        f"Unable to complete operation for network {network_id}. The mac address {mac} "
        "is in use.")


def no_more_addresses(network_id: str) -> NetworkConflict:
    """409 ``IpAddressGenerationFailure``: no free address left on the network's subnets."""
    return NetworkConflict("IpAddressGenerationFailure",
                           f"No more IP addresses available on network {network_id}.")
