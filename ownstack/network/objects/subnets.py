"""Subnets: who sees which, who may add one to a network, and the rules of change.

A project sees its own subnets, the subnets of networks it owns and those of shared
networks; an admin sees all (Neutron's ``get_subnet``: owner, or ``rule:shared``; the
subnets of an external network that is not shared stay hidden, as in Neutron). A subnet
is added to a network by the network's owner or an admin; another project's shared network
is then a 403 (policy), a network the caller does not own nor share a 404.

The values themselves are checked by :func:`ipam.plan_subnet`. Two subnets of one network
must not overlap: each create bumps the network's ``revision_number`` (as Neutron does, a
subnet revises its network) by compare-and-swap before it reads the network's other
subnets, so two concurrent creates on one network cannot both pass the overlap check; the
loser raises :class:`NetworkRaced` and runs again.
"""

from __future__ import annotations

import ipaddress
from typing import Any, Final, NamedTuple

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.sql import ColumnElement

from ownstack.common.config import NetworkConfig
from ownstack.common.context import RequestContext
from ownstack.common.db.base import utcnow
from ownstack.common.db.cas import rows_matched
from ownstack.common.db.core import run
from ownstack.common.errors import NotFound
from ownstack.network import ipam, pool_rules
from ownstack.network.errors import (
    BadNetworkRequest,
    ConcurrentUpdate,
    InUse,
    NetworkConflict,
    ResourceNotFound,
)
from ownstack.network.objects import addresses, dhcp, networks, quotas, subnetpools
from ownstack.network.objects.inserts import add_row, is_sqlite
from ownstack.network.objects.listing import Field, Kind, as_bool, as_int
from ownstack.network.objects.models import IpAllocation, Network, Port, Subnet, SubnetPool
from ownstack.network.objects.networks import SERVICE_OWNERS
from ownstack.network.objects.standard import check_revision, drop_tags, touch
from ownstack.network.subnet_rules import canonical_cidr

SUBNETS = Kind(name="subnet", collection="subnets", model=Subnet, fields={
    "id": Field(Subnet.id),
    "name": Field(Subnet.name),
    "description": Field(Subnet.description),
    "project_id": Field(Subnet.project_id),
    "tenant_id": Field(Subnet.project_id),
    "network_id": Field(Subnet.network_id),
    "ip_version": Field(Subnet.ip_version, as_int),
    "cidr": Field(Subnet.cidr),
    "gateway_ip": Field(Subnet.gateway_ip),
    "enable_dhcp": Field(Subnet.enable_dhcp, as_bool),
    "ipv6_ra_mode": Field(Subnet.ipv6_ra_mode),
    "ipv6_address_mode": Field(Subnet.ipv6_address_mode),
    "subnetpool_id": Field(Subnet.subnetpool_id),
    "revision_number": Field(Subnet.revision_number, as_int),
    "created_at": Field(Subnet.created_at),
    "updated_at": Field(Subnet.updated_at),
})

_UNSET: Final = ipam.UNSET


class NetworkRaced(ConcurrentUpdate):
    """Another transaction changed the subnets of the same network meanwhile: run again."""


def visible(ctx: RequestContext) -> list[ColumnElement[bool]]:
    if ctx.is_admin:
        return []
    reachable = sa.select(Network.id).where(sa.or_(Network.shared.is_(True),
                                                   Network.project_id == ctx.project_id))
    return [sa.or_(Subnet.project_id == ctx.project_id, Subnet.network_id.in_(reachable))]


async def get_subnet(db: AsyncSession, ctx: RequestContext, subnet_id: str) -> Subnet:
    row = (await db.execute(sa.select(Subnet).where(Subnet.id == subnet_id, *visible(ctx)))
           ).scalar_one_or_none()
    if row is None:
        raise ResourceNotFound("subnet", subnet_id)
    return row


async def networks_of(db: AsyncSession, rows: list[Subnet]) -> dict[str, Network]:
    ids = sorted({row.network_id for row in rows})
    if not ids:
        return {}
    found = (await db.execute(sa.select(Network).where(Network.id.in_(ids)))).scalars()
    return {network.id: network for network in found}


class SubnetNetwork(NamedTuple):
    """The network of a subnet to make, as :func:`network_for_new_subnet` reads it, and
    the project's subnet quota read in the same statement."""

    network: Network
    quota: tuple[Any, Any]          # quotas.judge's own limit and usage of "subnet"
    dhcp_idle: bool = False         # dhcp.IDLE, read on SQLite only
    subnets: list[Subnet] | None = None     # the network's, read with it on SQLite only


async def network_for_new_subnet(db: AsyncSession, config: NetworkConfig,
                                 ctx: RequestContext, network_id: str, project_id: str
                                 ) -> SubnetNetwork:
    """The network a new subnet of ``project_id`` goes on, as Neutron finds it: 404
    ``NetworkNotFound`` if the caller cannot see it, a plain 404 if it is neither shared
    nor the project's own (Neutron hides it so); whether the caller may then add the
    subnet is the ``create_subnet`` rule's to say. With it, the project's subnet limit
    and usage, which :func:`create_subnet` judges: one statement where it took two.
    On SQLite, also whether its DHCP serving is idle (``dhcp.IDLE``) and the network's
    subnets (a row each, in ``addresses.network_subnets``' order): the write transaction
    holds the one write lock from its start, so neither changes before its commit unless
    the transaction itself changes it (a bulk create reads again for each subnet, after
    its earlier ones went in, and a subnet create makes no agent, DHCP port or block).
    Where writers run concurrently (PostgreSQL, MariaDB) the subnets are read after the
    network's revision is claimed, as before, and the DHCP scheduling runs."""
    seen = networks.visible(ctx)
    sqlite = is_sqlite(db)
    query = _SUBNET_NETWORK_SQLITE if sqlite else _SUBNET_NETWORK
    rows = (await db.execute(query.where(*seen) if seen else query,
                             {"network_id": network_id, "project_id": project_id,
                              **quotas.default_limits_bound(config, "subnet")})).all()
    if not rows:
        raise ResourceNotFound("network", network_id)
    network, own_limit, usage, *more = rows[0]
    if not ctx.is_admin and not network.shared and network.project_id != project_id:
        raise NotFound("The resource could not be found.")
    if not sqlite:
        return SubnetNetwork(network, (own_limit, usage))
    return SubnetNetwork(network, (own_limit, usage), bool(more[0]),
                         [row[4] for row in rows if row[4] is not None])


# Built once, ``network_id``, ``project_id`` and the default subnet limit bound when run:
# every subnet create reads it.
_SUBNET_NETWORK: Final = sa.select(Network, *quotas.limit_and_usage_of("subnet")).where(
    Network.id == sa.bindparam("network_id"))
_SUBNET_NETWORK_SQLITE: Final = _SUBNET_NETWORK.add_columns(dhcp.IDLE, Subnet).outerjoin(
    Subnet, Subnet.network_id == Network.id).order_by(*addresses.NETWORK_SUBNETS_ORDER)


async def _claim_network(db: AsyncSession, network: Network) -> None:
    """Bump ``network``'s revision by compare-and-swap (see the module docstring)."""
    revision, now = network.revision_number + 1, utcnow()
    won = rows_matched(await run(db, _CLAIM_NETWORK, {
        "claim_id": network.id, "claim_revision": network.revision_number,
        "claim_next": revision, "claim_now": now}))
    if not won:
        raise NetworkRaced()
    # The row as the swap left it: every change to a network bumps its revision, so
    # nothing else changed since it was read (no read back needed).
    set_committed_value(network, "revision_number", revision)
    set_committed_value(network, "updated_at", now)


# Built once, run on the session's connection (decision 87): a Core UPDATE, where the
# ORM's bulk update by query (``db.execute``) cost about a quarter of a subnet create's
# server CPU. The session holds no change of the network to synchronise: the swap's
# values are set on the object as committed ones.
_CLAIM_NETWORK: Final = sa.update(Network).where(
    Network.id == sa.bindparam("claim_id"),
    Network.revision_number == sa.bindparam("claim_revision")).values(
    revision_number=sa.bindparam("claim_next"), updated_at=sa.bindparam("claim_now"))


async def _pool_for(db: AsyncSession, ctx: RequestContext, data: dict[str, Any]
                    ) -> SubnetPool | None:
    pool_id = data.get("subnetpool_id")
    version = data["ip_version"]
    pool: SubnetPool | None = None
    if pool_id is not None:
        pool = await subnetpools.get_subnetpool(db, ctx, pool_id)
    elif data.get("use_default_subnetpool"):
        pool = await subnetpools.default_pool(db, ctx, version)
        if pool is None:
            raise BadNetworkRequest("subnets", f"No default subnetpool found for IPv{version}")
    if pool is None:
        if data.get("cidr") is None:
            raise BadNetworkRequest("subnets", "a subnetpool must be specified in the "
                                    "absence of a cidr")
        if data.get("prefixlen") is not None:
            raise pool_rules.cidr_and_prefixlen_conflict()
        return None
    if pool.ip_version != version:
        raise pool_rules.version_mismatch(version, pool.ip_version)
    if data.get("cidr") is not None and data.get("prefixlen") is not None:
        raise pool_rules.cidr_and_prefixlen_conflict()
    return pool


class NewSubnet(NamedTuple):
    """A subnet :func:`create_subnet` made, and every subnet of its network then."""

    row: Subnet
    network_subnets: list[Subnet]   # in addresses.network_subnets' order, itself included


async def create_subnet(db: AsyncSession, config: NetworkConfig, ctx: RequestContext,
                        found: SubnetNetwork, project_id: str, data: dict[str, Any],
                        subnet_id: str) -> NewSubnet:
    """A new subnet of ``project_id`` on the network :func:`network_for_new_subnet`
    found, its prefix from a pool when asked.

    Raises :class:`NetworkRaced` or :class:`subnetpools.PoolRaced` when a concurrent
    create won the network or the pool; the caller runs the transaction again.
    """
    network = found.network
    quotas.judge(config, "subnet", *found.quota)
    pool = await _pool_for(db, ctx, data)
    await _claim_network(db, network)
    cidr = data.get("cidr")
    gateway = data.get("gateway_ip", _UNSET)
    if pool is not None:
        if cidr is not None:
            cidr = str(canonical_cidr(cidr, pool.ip_version))
        prefix = await subnetpools.allocate(db, pool, project_id,
                                            prefixlen=data.get("prefixlen"), cidr=cidr)
        cidr = str(prefix)
        if gateway is _UNSET:
            # Neutron gives a subnet from a pool its first address as gateway, IPv6 too.
            gateway = str(ipaddress.ip_address(int(prefix.network_address) + 1)) \
                if prefix.num_addresses > 1 else None
    existing = found.subnets if found.subnets is not None else \
        await addresses.network_subnets(db, network.id)
    plan = ipam.plan_subnet(
        cidr=str(cidr), ip_version=data["ip_version"], network_id=network.id,
        gateway_ip=gateway, allocation_pools=data.get("allocation_pools", _UNSET),
        dns_nameservers=data.get("dns_nameservers") or (),
        host_routes=data.get("host_routes") or (), enable_dhcp=data.get("enable_dhcp", True),
        ipv6_ra_mode=data.get("ipv6_ra_mode"), ipv6_address_mode=data.get("ipv6_address_mode"),
        existing_cidrs=[subnet.cidr for subnet in existing],
        max_dns_nameservers=config.max_dns_nameservers,
        max_host_routes=config.max_subnet_host_routes)
    row = await add_row(db, Subnet, {
        "id": subnet_id, "project_id": project_id, "name": data.get("name") or "",
        "description": data.get("description") or "", "network_id": network.id,
        "subnetpool_id": None if pool is None else pool.id, **_stored(plan)})
    # The network's subnets now, in addresses.network_subnets' order, for the DHCP
    # scheduling of the same transaction (dhcp.sync_network) to read no more.
    return NewSubnet(row, sorted([*existing, row], key=lambda s: (s.created_at, s.id)))



def _stored(plan: ipam.SubnetPlan) -> dict[str, Any]:
    return dict(ip_version=plan.ip_version, cidr=plan.cidr, gateway_ip=plan.gateway_ip,
                enable_dhcp=plan.enable_dhcp, ipv6_ra_mode=plan.ipv6_ra_mode,
                ipv6_address_mode=plan.ipv6_address_mode,
                allocation_pools=plan.allocation_pools_as_dicts(),
                dns_nameservers=list(plan.dns_nameservers),
                host_routes=plan.host_routes_as_dicts())


def plan_of(row: Subnet) -> ipam.SubnetPlan:
    """The stored subnet as the plan it was made from."""
    return ipam.SubnetPlan(
        cidr=row.cidr, ip_version=row.ip_version, gateway_ip=row.gateway_ip,
        allocation_pools=tuple(ipam.AddressRange.of(p["start"], p["end"])
                               for p in row.allocation_pools),
        dns_nameservers=tuple(row.dns_nameservers),
        host_routes=tuple(ipam.HostRoute(r["destination"], r["nexthop"])
                          for r in row.host_routes),
        enable_dhcp=row.enable_dhcp, ipv6_ra_mode=row.ipv6_ra_mode,
        ipv6_address_mode=row.ipv6_address_mode)


async def update_subnet(db: AsyncSession, config: NetworkConfig, row: Subnet,
                        network: Network, data: dict[str, Any], revision: int | None
                        ) -> Subnet:
    check_revision(row, revision)
    # Neutron reads a null list as an empty one.
    lists = {name: data[name] or [] for name in ("allocation_pools", "dns_nameservers",
                                                  "host_routes") if name in data}
    plan = ipam.plan_subnet_update(
        plan_of(row), subnet_id=row.id, gateway_ip=data.get("gateway_ip", _UNSET),
        allocation_pools=lists.get("allocation_pools", _UNSET),
        dns_nameservers=lists.get("dns_nameservers", _UNSET),
        host_routes=lists.get("host_routes", _UNSET),
        enable_dhcp=data.get("enable_dhcp", _UNSET),
        max_dns_nameservers=config.max_dns_nameservers,
        max_host_routes=config.max_subnet_host_routes)
    if plan.gateway_ip != row.gateway_ip and row.gateway_ip is not None:
        await _check_gateway_free(db, row)
    for name, value in _stored(plan).items():
        setattr(row, name, value)
    for name in ("name", "description"):
        if name in data:
            setattr(row, name, data[name] or "")
    touch(row)
    touch(network)
    await db.flush()
    return row


async def _check_gateway_free(db: AsyncSession, row: Subnet) -> None:
    """409 ``GatewayIpInUse`` while a router port holds the gateway being changed."""
    holder = await db.scalar(sa.select(IpAllocation.port_id).join(
        Port, Port.id == IpAllocation.port_id).where(
        IpAllocation.subnet_id == row.id, IpAllocation.ip_address == row.gateway_ip,
        Port.device_owner.in_(ipam.ROUTER_PORT_OWNERS)).limit(1))
    if holder is not None:
        raise NetworkConflict("GatewayIpInUse", f"Current gateway ip {row.gateway_ip} "
                              f"already in use by port {holder}. Unable to update.")


async def delete_subnet(db: AsyncSession, row: Subnet, network: Network,
                        revision: int | None) -> list[Port]:
    """Delete ``row`` unless a port other than the service's own has an address on it
    (409 ``SubnetInUse``); the service's ports (DHCP) lose theirs. On an IPv6 subnet whose
    addresses are automatic (SLAAC, DHCPv6-stateless) only a router's interface holds it:
    the other ports lose their address, as in Neutron. The ports that lost one are
    returned, for the agents."""
    check_revision(row, revision)
    holders = sa.select(IpAllocation.port_id).join(
        Port, Port.id == IpAllocation.port_id).where(
        IpAllocation.subnet_id == row.id, Port.device_owner.not_in(SERVICE_OWNERS))
    automatic = row.ip_version == 6 and ipam.is_auto_address_subnet(row.ipv6_ra_mode,
                                                                   row.ipv6_address_mode)
    if automatic:
        holders = holders.where(Port.device_owner.in_(ipam.ROUTER_INTERFACE_OWNERS))
    in_use = await db.scalar(holders.limit(1))
    if in_use is not None:
        raise InUse("subnet", f"Unable to complete operation on subnet {row.id}: One or more "
                    "ports have an IP allocation from this subnet.")
    losers: list[Port] = []
    if automatic:
        losers = list((await db.execute(sa.select(Port).join(
            IpAllocation, IpAllocation.port_id == Port.id).where(
            IpAllocation.subnet_id == row.id, Port.device_owner.not_in(SERVICE_OWNERS))
            )).scalars().unique().all())
    await db.execute(sa.delete(IpAllocation).where(IpAllocation.subnet_id == row.id))
    for port in losers:
        touch(port)
    await drop_tags(db, [row.id])
    await db.delete(row)
    touch(network)
    await db.flush()
    return losers
