"""What makes a subnet pool valid, and which prefix a subnet gets from one: no SQL, no HTTP.

:func:`plan_pool` checks a create (or, given the current pool, an update) request as
Neutron's ``SubnetPoolReader`` does and fills in its defaults: the prefixes compacted, the
IP version read from them, ``min_prefixlen`` 8 (IPv4) or 64 (IPv6), ``max_prefixlen`` the
version's width and ``default_prefixlen`` the minimum. :func:`pick_prefix` finds the
prefix a new subnet gets, as Neutron's ``SubnetAllocator`` does: the first block of the
right size in the smallest free block that can hold it, or exactly the CIDR asked for if
it is still free. Errors carry Neutron's type names (neutron-lib's exceptions).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from ownstack.network.errors import (
    BadNetworkRequest,
    InvalidInput,
    NetworkBadRequest,
    NetworkConflict,
)
from ownstack.network.subnet_rules import IPNetwork, attribute_error

_WIDTH: Final = {4: 32, 6: 128}
_DEFAULT_MIN: Final = {4: 8, 6: 64}
# Neutron counts a pool's default_quota in addresses for IPv4 and in /64s for IPv6.
QUOTA_UNIT: Final = {4: 32, 6: 64}


@dataclass(frozen=True)
class PoolPlan:
    """A pool's valid values. Invariants: ``prefixes`` are canonical, of ``ip_version``,
    disjoint and sorted; ``0 <= min_prefixlen <= default_prefixlen <= max_prefixlen <=``
    the version's width."""

    prefixes: tuple[str, ...]
    ip_version: int
    min_prefixlen: int
    max_prefixlen: int
    default_prefixlen: int

    @property
    def networks(self) -> list[IPNetwork]:
        return [ipaddress.ip_network(prefix) for prefix in self.prefixes]


def _parse_prefix(value: object) -> IPNetwork:
    if not isinstance(value, str) or "/" not in value or any(ch.isspace() for ch in value):
        raise attribute_error("prefixes", f"'{value}' is not a valid IP subnet")
    try:
        return ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise attribute_error("prefixes", f"'{value}' is not a valid IP subnet") from None


def compact(networks: Iterable[IPNetwork]) -> list[IPNetwork]:
    """The smallest list of CIDRs that covers ``networks``, each version on its own."""
    given = list(networks)
    v4 = [n for n in given if isinstance(n, ipaddress.IPv4Network)]
    v6 = [n for n in given if isinstance(n, ipaddress.IPv6Network)]
    return [*ipaddress.collapse_addresses(v4), *ipaddress.collapse_addresses(v6)]


def covers(outer: IPNetwork, inner: IPNetwork) -> bool:
    """Whether ``inner`` lies wholly within ``outer`` (never across versions)."""
    if isinstance(outer, ipaddress.IPv4Network) and isinstance(inner, ipaddress.IPv4Network):
        return outer.supernet_of(inner)
    if isinstance(outer, ipaddress.IPv6Network) and isinstance(inner, ipaddress.IPv6Network):
        return outer.supernet_of(inner)
    return False


def _without(block: IPNetwork, taken: IPNetwork) -> list[IPNetwork]:
    """``block`` less ``taken`` (which it contains), as CIDRs."""
    if isinstance(block, ipaddress.IPv4Network) and isinstance(taken, ipaddress.IPv4Network):
        return list(block.address_exclude(taken))
    if isinstance(block, ipaddress.IPv6Network) and isinstance(taken, ipaddress.IPv6Network):
        return list(block.address_exclude(taken))
    return [block]


def _bounds_error(kind: str, value: int, base_kind: str, base: int) -> NetworkBadRequest:
    return NetworkBadRequest("IllegalSubnetPoolPrefixBounds",
                             f"Illegal prefix bounds: {kind}={value}, {base_kind}={base}.")


def plan_pool(data: dict[str, Any], current: PoolPlan | None = None) -> PoolPlan:
    """Validate a pool's create request (``current`` None) or update (``current`` the pool
    as stored; absent keys keep their value) and fill in Neutron's defaults.

    Raises 400 ``EmptySubnetPoolPrefixList``, ``PrefixVersionMismatch``,
    ``IllegalSubnetPoolPrefixBounds``, ``UnsupportedMinSubnetPoolPrefix``, and, on an
    update that drops an existing prefix, ``IllegalSubnetPoolPrefixUpdate``.
    """
    if "prefixes" in data or current is None:
        raw = data.get("prefixes") or []
        if not raw:
            raise NetworkBadRequest("EmptySubnetPoolPrefixList",
                                    "Empty subnet pool prefix list.")
        parsed = [_parse_prefix(value) for value in raw]
        versions = {network.version for network in parsed}
        if len(versions) > 1:
            raise NetworkBadRequest("PrefixVersionMismatch",
                                    "Cannot mix IPv4 and IPv6 prefixes in a subnet pool.")
        version: int = versions.pop()
        networks = compact(parsed)
        if current is not None:
            if version != current.ip_version:
                raise NetworkBadRequest("PrefixVersionMismatch",
                                        "Cannot mix IPv4 and IPv6 prefixes in a subnet pool.")
            kept = compact([*networks, *current.networks])
            if kept != networks:
                raise NetworkBadRequest(
                    "IllegalSubnetPoolPrefixUpdate",
                    "Illegal update to prefixes: Existing prefixes must be a subset of the "
                    "new prefixes.")
    else:
        version = current.ip_version
        networks = current.networks
    width = _WIDTH[version]

    def bound(name: str, fallback: int) -> int:
        value = data.get(name)
        if value is None:
            return fallback
        return int(value)

    minimum = bound("min_prefixlen", current.min_prefixlen if current else _DEFAULT_MIN[version])
    maximum = bound("max_prefixlen", current.max_prefixlen if current else width)
    default = bound("default_prefixlen", current.default_prefixlen if current else minimum)
    if current is not None and "min_prefixlen" in data and "default_prefixlen" not in data:
        default = max(default, minimum)
    if minimum < 0:
        raise NetworkBadRequest("UnsupportedMinSubnetPoolPrefix",
                                f"Prefix '{minimum}' not supported in IPv{version} pool.")
    if maximum > width:
        raise _bounds_error("max_prefixlen", maximum, "ip_version_max", width)
    if minimum > maximum:
        raise _bounds_error("min_prefixlen", minimum, "max_prefixlen", maximum)
    if default < minimum:
        raise _bounds_error("default_prefixlen", default, "min_prefixlen", minimum)
    if default > maximum:
        raise _bounds_error("default_prefixlen", default, "max_prefixlen", maximum)
    return PoolPlan(prefixes=tuple(str(network) for network in networks), ip_version=version,
                    min_prefixlen=minimum, max_prefixlen=maximum, default_prefixlen=default)


def free_blocks(prefixes: Sequence[IPNetwork], allocated: Iterable[IPNetwork]
                ) -> list[IPNetwork]:
    """The parts of ``prefixes`` no ``allocated`` CIDR covers, as few CIDRs as possible,
    smallest first (Neutron's order: the best fit comes first)."""
    free = compact(prefixes)
    for taken in allocated:
        remaining: list[IPNetwork] = []
        for block in free:
            if block.version != taken.version or not block.overlaps(taken):
                remaining.append(block)
            elif covers(taken, block):
                continue
            else:
                remaining.extend(_without(block, taken))
        free = remaining
    return sorted(compact(free), key=lambda block: (-block.prefixlen, int(block.network_address)))


def check_prefixlen(plan: PoolPlan, prefixlen: int) -> None:
    """A requested prefix length within the pool's bounds (400 Min/MaxPrefix...Error)."""
    if prefixlen > plan.max_prefixlen:
        raise NetworkBadRequest(
            "MaxPrefixSubnetAllocationError",
            f"Unable to allocate subnet with prefix length {prefixlen}, maximum allowed "
            f"prefix is {plan.max_prefixlen}.")
    if prefixlen < plan.min_prefixlen:
        raise NetworkBadRequest(
            "MinPrefixSubnetAllocationError",
            f"Unable to allocate subnet with prefix length {prefixlen}, minimum allowed "
            f"prefix is {plan.min_prefixlen}.")


def allocation_error(reason: str) -> NetworkConflict:
    """Neutron's ``SubnetAllocationError``. Neutron answers it with a 500 (the class has no
    status); ownstack answers 409, since the pool's state, not the server, refused."""
    return NetworkConflict("SubnetAllocationError", f"Failed to allocate subnet: {reason}.")


def pick_prefix(plan: PoolPlan, allocated: Iterable[str], *, prefixlen: int | None = None,
                cidr: str | None = None) -> IPNetwork:
    """The prefix a new subnet gets from the pool: ``cidr`` if it is free, else the first
    free block of ``prefixlen`` (the pool's default when None).

    Raises 400 for a prefix length out of bounds and 409 ``SubnetAllocationError`` when
    the pool has no room or the CIDR is not free.
    """
    free = free_blocks(plan.networks, [ipaddress.ip_network(c) for c in allocated])
    if cidr is not None:
        wanted = ipaddress.ip_network(cidr)
        check_prefixlen(plan, wanted.prefixlen)
        for block in free:
            if covers(block, wanted):
                return wanted
        raise allocation_error("Cannot allocate requested subnet from the available set of "
                               "prefixes")
    length = plan.default_prefixlen if prefixlen is None else prefixlen
    check_prefixlen(plan, length)
    for block in free:
        if block.prefixlen <= length:
            return ipaddress.ip_network((block.network_address, length))
    raise allocation_error(f"Insufficient prefix space to allocate subnet size /{length}")


def quota_units(ip_version: int, prefixlen: int) -> float:
    """How much of a pool's ``default_quota`` a prefix of ``prefixlen`` uses."""
    return 2.0 ** (QUOTA_UNIT[ip_version] - prefixlen)


def check_pool_quota(ip_version: int, quota: int | None, used_prefixlens: Iterable[int],
                     prefixlen: int) -> None:
    """409 ``SubnetPoolQuotaExceeded`` when a project's subnets from the pool, with the new
    one, would exceed the pool's ``default_quota`` (None or 0: no limit, as in Neutron)."""
    if not quota:
        return
    used = sum(quota_units(ip_version, length) for length in used_prefixlens)
    if used + quota_units(ip_version, prefixlen) > quota:
        raise NetworkConflict("SubnetPoolQuotaExceeded",
                              "Per-tenant subnet pool prefix quota exceeded.")


def cidr_and_prefixlen_conflict() -> BadNetworkRequest:
    return BadNetworkRequest("subnets", "cidr and prefixlen must not be supplied together")


def version_mismatch(requested: int, pool_version: int) -> BadNetworkRequest:
    return BadNetworkRequest("subnets", f"Cannot allocate IPv{requested} subnet from "
                             f"IPv{pool_version} subnet pool")


def default_exists() -> InvalidInput:
    return InvalidInput("A default subnetpool for this IP family has already been set. Only "
                        "one default may exist per IP family")
