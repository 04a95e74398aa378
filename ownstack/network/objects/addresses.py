"""A port's fixed IPs: what it asks for, what it gets, and the race that settles who.

An address is taken by inserting its ``network_ip_allocations`` row, whose primary key is
``(subnet_id, ip_address)``. Each insert stands alone (:mod:`.inserts`: a savepoint on
PostgreSQL and MariaDB, ``ON CONFLICT DO NOTHING`` on SQLite, whose writers take turns):
when another transaction took the address first (on PostgreSQL and MariaDB the insert
waits for that transaction and then fails on the key), only that insert is undone and the
next candidate is tried. In a mostly free pool a few random addresses are tried before
anything is read; the used addresses are read only when they all miss. Nothing is
read-then-written unchecked, so one address never goes to two ports, on any database.

What a port gets without asking is Neutron's choice (``ipam_pluggable_backend``): one IPv4
address from the first of the network's IPv4 subnets that has room, one from the first
stateful IPv6 subnet with room, and its EUI-64 address on every SLAAC or DHCPv6-stateless
subnet (router interfaces excepted). Addresses asked for by ``subnet_id`` and/or
``ip_address`` replace the first two; the EUI-64 addresses come all the same.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from ownstack.common.db.core import Plain, Runner, run
from ownstack.network import ipam
from ownstack.network.errors import InvalidInput
from ownstack.network.objects import loaded
from ownstack.network.objects.inserts import insert_values
from ownstack.network.objects.listing import Ids, in_ids
from ownstack.network.objects.models import IpAllocation, Port, Subnet

# How many addresses are tried at random before anything is read: in a pool at most half
# used, one of them is free with odds of 7 in 8 or better.
_DRAWS: Final = 3
# How many free addresses one look at a subnet offers, and how many looks before it
# counts as full (each look sees the addresses that others took meanwhile).
_CANDIDATES: Final = 64
_LOOKS: Final = 8
# Owners whose ports get no EUI-64 address on auto-address subnets (they route them).
_NO_AUTO_ADDRESS: Final = (*ipam.ROUTER_INTERFACE_OWNERS, "network:router_centralized_snat")


@dataclass(frozen=True)
class Wanted:
    """One fixed IP to allocate: ``address`` on ``subnets[0]``, or any free address of the
    first of ``subnets`` with room, or (``eui64``) the port's SLAAC address."""

    subnets: tuple[Subnet, ...]
    address: str | None = None
    eui64: bool = False


@dataclass(frozen=True)
class FixedIp:
    subnet_id: str
    ip_address: str

    def as_dict(self) -> dict[str, str]:
        return {"subnet_id": self.subnet_id, "ip_address": self.ip_address}


async def network_subnets(db: Runner, network_id: str) -> list[Subnet]:
    """The network's subnets, oldest first (the order Neutron tries them in); on a plain
    connection objects of no session (``loaded.unattached``), for a reader of them."""
    if isinstance(db, Plain):
        return [loaded.unattached(Subnet, row) for row in await run(
            db, _NETWORK_SUBNET_ROWS, {"network_id": network_id})]
    return list((await db.execute(_NETWORK_SUBNETS, {"network_id": network_id})
                 ).scalars().all())


# Built once: every port create and subnet change reads them.
NETWORK_SUBNETS_ORDER: Final = (Subnet.created_at, Subnet.id)
_NETWORK_SUBNETS: Final = (sa.select(Subnet).where(Subnet.network_id == sa.bindparam("network_id"))
                           .order_by(*NETWORK_SUBNETS_ORDER))
_NETWORK_SUBNET_ROWS: Final = (
    sa.select(*loaded.columns_of(Subnet)).where(Subnet.network_id == sa.bindparam("network_id"))
    .order_by(*NETWORK_SUBNETS_ORDER))


def _is_auto(subnet: Subnet) -> bool:
    return subnet.ip_version == 6 and ipam.is_auto_address_subnet(subnet.ipv6_ra_mode,
                                                                  subnet.ipv6_address_mode)


def auto_addresses(subnets: Sequence[Subnet], device_owner: str,
                   exclude: Sequence[str] = ()) -> list[Wanted]:
    """The EUI-64 addresses a port gets on every auto-address subnet it has none on."""
    if device_owner in _NO_AUTO_ADDRESS:
        return []
    return [Wanted((subnet,), eui64=True) for subnet in subnets
            if _is_auto(subnet) and subnet.id not in exclude]


def default_wanted(subnets: Sequence[Subnet], device_owner: str) -> list[Wanted]:
    """What a port gets when it asks for nothing (see the module docstring)."""
    ipv4 = tuple(s for s in subnets if s.ip_version == 4)
    stateful = tuple(s for s in subnets if s.ip_version == 6 and not _is_auto(s))
    wanted = [Wanted(group) for group in (ipv4, stateful) if group]
    return wanted + auto_addresses(subnets, device_owner)


def requested_wanted(network_id: str, subnets: Sequence[Subnet],
                     fixed_ips: Sequence[dict[str, Any]], *, device_owner: str,
                     mac_address: str) -> list[Wanted]:
    """The fixed IPs a request names, checked as Neutron checks them (400s), then the
    port's EUI-64 addresses on the auto-address subnets it did not name by address."""
    by_id = {subnet.id: subnet for subnet in subnets}
    wanted: list[Wanted] = []
    addresses: set[tuple[str, str]] = set()
    for fixed in fixed_ips:
        subnet_id, address = fixed.get("subnet_id"), fixed.get("ip_address")
        if subnet_id is None and address is None:
            raise InvalidInput("IP allocation requires subnet_id or ip_address")
        if subnet_id is not None and subnet_id not in by_id:
            raise InvalidInput(f"Failed to create port on network {network_id}, because "
                               f"fixed_ips included invalid subnet {subnet_id}")
        if subnet_id is None:
            subnet_id = ipam.subnet_for_address(((s.id, s.cidr) for s in subnets),
                                                str(address), device_owner=device_owner)
        subnet = by_id[subnet_id]
        if address is None:
            if device_owner in _NO_AUTO_ADDRESS or not _is_auto(subnet):
                wanted.append(Wanted((subnet,)))
            continue
        parsed = str(ipam.check_requested_address(
            subnet.cidr, str(address), subnet_id=subnet.id, device_owner=device_owner,
            mac_address=mac_address, ipv6_ra_mode=subnet.ipv6_ra_mode,
            ipv6_address_mode=subnet.ipv6_address_mode))
        if (subnet.id, parsed) in addresses:
            raise InvalidInput(f"Duplicate IP address '{address}'")
        addresses.add((subnet.id, parsed))
        wanted.append(Wanted((subnet,), address=parsed))
    named = [w.subnets[0].id for w in wanted if w.address is not None and _is_auto(w.subnets[0])]
    return wanted + auto_addresses(subnets, device_owner, exclude=named)


async def allocate(db: Runner, port: Port, wanted: Sequence[Wanted]) -> list[FixedIp]:
    """Take every address of ``wanted`` for ``port`` (already flushed), in order.

    Raises 409 ``IpAddressInUse`` for an address asked for (or an EUI-64 address) that
    another port holds, 409 ``IpAddressGenerationFailure`` when no subnet of a group has a
    free address left. The caller's transaction rolls everything back on either.
    """
    taken: list[FixedIp] = []
    for want in wanted:
        if want.address is not None or want.eui64:
            subnet = want.subnets[0]
            address = want.address if want.address is not None else \
                str(ipam.eui64_address(subnet.cidr, port.mac_address))
            if not await _take(db, port, subnet.id, address):
                raise ipam.address_in_use(port.network_id, address)
            taken.append(FixedIp(subnet.id, address))
        else:
            taken.append(await _take_any(db, port, want.subnets))
    return taken


async def _take_any(db: Runner, port: Port, subnets: Sequence[Subnet]) -> FixedIp:
    for subnet in subnets:
        pools = [_pool_range(pool["start"], pool["end"])
                 for pool in subnet.allocation_pools or []]
        if not pools:
            continue
        # Most pools are mostly free: a random address, inserted without a read, is taken
        # (the insert refuses one another port holds). Only when a few draws all miss are
        # the used addresses read, to pick among the free ones.
        for candidate in ipam.draws(pools, _DRAWS):
            if await _take(db, port, subnet.id, str(candidate)):
                return FixedIp(subnet.id, str(candidate))
        for _ in range(_LOOKS):
            used = (await run(db, _USED, {"subnet_id": subnet.id})).scalars().all()
            offered = list(ipam.candidates(pools, used, limit=_CANDIDATES))
            if not offered:
                break                                   # this subnet is full: the next
            for candidate in offered:
                if await _take(db, port, subnet.id, str(candidate)):
                    return FixedIp(subnet.id, str(candidate))
    raise ipam.no_more_addresses(port.network_id)


# Built once: a subnet's used addresses, read when random draws miss.
_USED: Final = sa.select(IpAllocation.ip_address).where(
    IpAllocation.subnet_id == sa.bindparam("subnet_id"))


@functools.lru_cache(maxsize=1024)
def _pool_range(start: str, end: str) -> ipam.AddressRange:
    """``AddressRange.of`` a pool's bounds: the same two strings always make the same
    (immutable) range, and every port create on a subnet parses its pools (decision 93)."""
    return ipam.AddressRange.of(start, end)


async def _take(db: Runner, port: Port, subnet_id: str, address: str) -> bool:
    """Whether ``address`` is now ``port``'s (False: another port holds it)."""
    return await insert_values(db, IpAllocation, {
        "subnet_id": subnet_id, "ip_address": address, "port_id": port.id,
        "network_id": port.network_id})


async def release(db: AsyncSession, port_id: str, fixed: Sequence[FixedIp]) -> None:
    for item in fixed:
        await db.execute(sa.delete(IpAllocation).where(
            IpAllocation.port_id == port_id, IpAllocation.subnet_id == item.subnet_id,
            IpAllocation.ip_address == item.ip_address))


async def fixed_ips_of(db: AsyncSession, port_ids: Sequence[str]) -> dict[str, list[FixedIp]]:
    """Each port's fixed IPs, by port id, in the order of the subnets' creation."""
    found: dict[str, list[FixedIp]] = {}
    for port_id, subnet_id, address in await _fixed_ip_rows(db, port_ids):
        found.setdefault(port_id, []).append(FixedIp(subnet_id, address))
    return found


async def fixed_ip_bodies(db: AsyncSession, port_ids: Ids) -> dict[str, list[dict[str, str]]]:
    """:func:`fixed_ips_of` as the port body shows them, for a listing (no objects made)."""
    found: dict[str, list[dict[str, str]]] = {}
    for port_id, subnet_id, address in await _fixed_ip_rows(db, port_ids):
        item = {"subnet_id": subnet_id, "ip_address": address}
        held = found.get(port_id)
        if held is None:
            found[port_id] = [item]
        else:
            held.append(item)
    return found


async def _fixed_ip_rows(db: AsyncSession, port_ids: Ids) -> list[Any]:
    rows: list[Any] = []
    for among in in_ids(IpAllocation.port_id, port_ids):
        rows += (await db.execute(
            sa.select(IpAllocation.port_id, IpAllocation.subnet_id, IpAllocation.ip_address)
            .join(Subnet, Subnet.id == IpAllocation.subnet_id).where(among)
            .order_by(Subnet.created_at, Subnet.id, IpAllocation.ip_address))).all()
    return rows


@dataclass(frozen=True)
class Change:
    keep: list[FixedIp]
    remove: list[FixedIp]
    add: list[Wanted]


def plan_change(network_id: str, subnets: Sequence[Subnet], current: Sequence[FixedIp],
                fixed_ips: Sequence[dict[str, Any]], *, device_owner: str,
                mac_address: str) -> Change:
    """A port update's new ``fixed_ips`` against what it holds, as Neutron reads it: an
    address still named is kept, an entry with only a subnet keeps the port's address
    there (or asks for a new one), its automatic (EUI-64) addresses stay, the rest go."""
    wanted = requested_wanted(network_id, subnets, fixed_ips, device_owner=device_owner,
                              mac_address=mac_address)
    left = list(current)
    keep: list[FixedIp] = []
    add: list[Wanted] = []
    by_id = {subnet.id: subnet for subnet in subnets}
    for want in wanted:
        subnet_id = want.subnets[0].id
        if want.eui64:
            continue
        match = next((ip for ip in left if ip.subnet_id == subnet_id
                      and (want.address is None or ip.ip_address == want.address)), None)
        if match is not None:
            left.remove(match)
            keep.append(match)
        else:
            add.append(want)
    for ip in list(left):
        subnet = by_id.get(ip.subnet_id)
        if subnet is not None and _is_auto(subnet) and device_owner not in _NO_AUTO_ADDRESS:
            left.remove(ip)
            keep.append(ip)
    held = {ip.subnet_id for ip in keep}
    add += auto_addresses(subnets, device_owner, exclude=[*held, *(w.subnets[0].id
                                                                   for w in add)])
    return Change(keep=keep, remove=left, add=add)
