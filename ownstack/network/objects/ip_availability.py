"""Network IP availability (admin): how many addresses each network's subnets hold and
how many of them are in use.

As Neutron counts them: a subnet's total is the size of its allocation pools, and its used
addresses are the allocated ones inside those pools (a router's gateway outside the pools
does not count); a network's figures are the sums of its subnets'.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ColumnElement

from ownstack.network import ipam
from ownstack.network.errors import ResourceNotFound
from ownstack.network.objects.listing import Field, Kind, ListQuery, Page, as_int, list_page
from ownstack.network.objects.models import IpAllocation, Network, Subnet


def _with_ip_version(values: list[str]) -> ColumnElement[bool]:
    versions = [as_int(value) for value in values]
    return Network.id.in_(sa.select(Subnet.network_id).where(Subnet.ip_version.in_(versions)))


AVAILABILITIES = Kind(
    name="network", collection="network_ip_availabilities", model=Network,
    fields={"network_id": Field(Network.id), "network_name": Field(Network.name),
            "project_id": Field(Network.project_id), "tenant_id": Field(Network.project_id)},
    special={"ip_version": _with_ip_version})


@dataclass(frozen=True)
class SubnetAvailability:
    subnet: Subnet
    total: int
    used: int


@dataclass(frozen=True)
class NetworkAvailability:
    network: Network
    subnets: list[SubnetAvailability]

    @property
    def total(self) -> int:
        return sum(item.total for item in self.subnets)

    @property
    def used(self) -> int:
        return sum(item.used for item in self.subnets)


async def list_availabilities(db: AsyncSession, query: ListQuery
                              ) -> tuple[Page, list[NetworkAvailability]]:
    """The page of networks ``query`` asks for, each with its figures (with an
    ``ip_version`` filter, only its subnets of those versions count)."""
    page = await list_page(db, AVAILABILITIES, query, [])
    versions = [as_int(value) for value in query.filters.get("ip_version", [])]
    return page, await _measure(db, page.rows, versions)


async def show_availability(db: AsyncSession, network_id: str) -> NetworkAvailability:
    network = await db.get(Network, network_id)
    if network is None:
        raise ResourceNotFound("network", network_id)
    (found,) = await _measure(db, [network], [])
    return found


async def _measure(db: AsyncSession, networks: list[Network], versions: list[int]
                   ) -> list[NetworkAvailability]:
    ids = [network.id for network in networks]
    subnets: dict[str, list[Subnet]] = {}
    used: dict[str, list[str]] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        where = [Subnet.network_id.in_(chunk)]
        if versions:
            where.append(Subnet.ip_version.in_(versions))
        for subnet in (await db.execute(sa.select(Subnet).where(*where)
                                        .order_by(Subnet.created_at, Subnet.id))).scalars():
            subnets.setdefault(subnet.network_id, []).append(subnet)
        rows = await db.execute(sa.select(IpAllocation.subnet_id, IpAllocation.ip_address)
                                .where(IpAllocation.network_id.in_(chunk)))
        for subnet_id, address in rows:
            used.setdefault(subnet_id, []).append(address)
    found = []
    for network in networks:
        items = []
        for subnet in subnets.get(network.id, []):
            pools = [ipam.AddressRange.of(p["start"], p["end"]) for p in subnet.allocation_pools]
            total = sum(pool.size for pool in pools)
            free = ipam.available_count(pools, used.get(subnet.id, []))
            items.append(SubnetAvailability(subnet, total, total - free))
        found.append(NetworkAvailability(network, items))
    return found
