"""Routers as the agent that hosts them sees them, and which agent that is.

A router is hosted by one network agent: the host its ports are bound to
(``binding:host_id``), as Neutron binds router ports to the host of the L3 agent that
serves the router. :func:`schedule` picks that host when a router gets its first port (the
alive agent with the routers capability that hosts the fewest routers) and binds every port
of the router there; a router nobody could host yet is given to the next agent that asks
(:func:`host_routers`, Neutron's auto-scheduling).

:func:`router_info` is the desired state of one router, read over the bus by its agent:
its legs (MAC, addresses with their prefix lengths and their subnets' IPv6 modes and DNS
servers, network), gateway with the external
subnets' gateways as next hops, extra routes and the floating IPs behind it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from ownstack.common.db.base import utcnow
from ownstack.network.drivers.base import Capability
from ownstack.network.objects import agents, provisioning
from ownstack.network.objects.bindings import network_info, set_binding
from ownstack.network.objects.models import (
    FloatingIP,
    IpAllocation,
    Network,
    NetworkAgent,
    Port,
    Router,
    RouterPort,
    Subnet,
)
from ownstack.network.rpc import (
    ACTIVE,
    DOWN,
    FloatingIpInfo,
    RouterAddressInfo,
    RouterGatewayInfo,
    RouterInfo,
    RouterLegInfo,
)


def can_route(row: NetworkAgent) -> bool:
    capabilities = (row.configurations or {}).get("capabilities") or {}
    return bool(capabilities.get(Capability.ROUTERS.value))


async def router_host(db: AsyncSession, router_id: str) -> str:
    """The host of the router's ports ("" when it has none bound)."""
    host = (await db.execute(
        sa.select(Port.binding_host_id).join(RouterPort, RouterPort.port_id == Port.id)
        .where(RouterPort.router_id == router_id, Port.binding_host_id != "")
        .limit(1))).scalar()
    return host or ""


async def _router_counts(db: AsyncSession) -> dict[str, int]:
    rows = await db.execute(
        sa.select(Port.binding_host_id, sa.func.count(sa.distinct(RouterPort.router_id)))
        .join(RouterPort, RouterPort.port_id == Port.id)
        .where(Port.binding_host_id != "").group_by(Port.binding_host_id))
    return {host: count for host, count in rows}


async def _candidate(db: AsyncSession, down_time: float) -> str:
    """The alive routing agent's host with the fewest routers ("" when there is none);
    alive: a heartbeat younger than ``down_time`` seconds."""
    now = utcnow()
    hosts = [row.host for row in (await db.execute(sa.select(NetworkAgent))).scalars()
             if row.admin_state_up and can_route(row)
             and agents.is_alive(row, now, down_time)]
    if not hosts:
        return ""
    counts = await _router_counts(db)
    return min(sorted(hosts), key=lambda host: counts.get(host, 0))


async def schedule(db: AsyncSession, router_id: str, host: str | None = None, *,
                   down_time: float = 75.0) -> str:
    """Bind every port of the router to its host: the one it has, else ``host``, else the
    best candidate. The host ("" when no agent can take it yet)."""
    host = await router_host(db, router_id) or host or await _candidate(db, down_time)
    if not host:
        return ""
    ports = (await db.execute(sa.select(Port).join(RouterPort, RouterPort.port_id == Port.id)
                              .where(RouterPort.router_id == router_id))).scalars().all()
    for port in ports:
        previous = port.binding_host_id or ""
        if previous != host:
            set_binding(port, host)
            await provisioning.port_bound(db, port, previous_host=previous)
    return host


async def host_routers(db: AsyncSession, host: str, *, routing: bool) -> list[RouterInfo]:
    """The routers ``host`` hosts; when its agent can route, routers nobody hosts join it
    first."""
    if not host:
        return []
    if routing:
        unhosted = (await db.execute(
            sa.select(RouterPort.router_id).distinct().join(Port, Port.id == RouterPort.port_id)
            .group_by(RouterPort.router_id)
            .having(sa.func.max(Port.binding_host_id) == ""))).scalars().all()
        for router_id in unhosted:
            await schedule(db, router_id, host)
        if unhosted:
            await db.flush()
    ids = (await db.execute(
        sa.select(RouterPort.router_id).distinct().join(Port, Port.id == RouterPort.port_id)
        .where(Port.binding_host_id == host).order_by(RouterPort.router_id))).scalars().all()
    infos = [await router_info(db, router_id) for router_id in ids]
    return [info for info in infos if info is not None]


async def _legs(db: AsyncSession, ports: Sequence[Port]) -> dict[str, RouterLegInfo]:
    if not ports:
        return {}
    networks = {row.id: row for row in (await db.execute(sa.select(Network).where(
        Network.id.in_({port.network_id for port in ports})))).scalars()}
    addresses: dict[str, list[RouterAddressInfo]] = {}
    rows = await db.execute(
        sa.select(IpAllocation.port_id, IpAllocation.subnet_id, IpAllocation.ip_address,
                  Subnet.cidr, Subnet.ipv6_ra_mode, Subnet.ipv6_address_mode,
                  Subnet.dns_nameservers)
        .join(Subnet, Subnet.id == IpAllocation.subnet_id)
        .where(IpAllocation.port_id.in_([port.id for port in ports]))
        .order_by(IpAllocation.subnet_id, IpAllocation.ip_address))
    for port_id, subnet_id, address, cidr, ra_mode, address_mode, dns in rows:
        addresses.setdefault(port_id, []).append({
            "subnet_id": subnet_id, "ip_address": address,
            "prefixlen": ipaddress.ip_network(cidr).prefixlen,
            "ipv6_ra_mode": ra_mode, "ipv6_address_mode": address_mode,
            "dns_nameservers": [str(server) for server in dns or []]})
    return {port.id: {"port_id": port.id, "mac_address": port.mac_address,
                      "status": port.status,
                      "network": network_info(networks[port.network_id]),
                      "addresses": addresses.get(port.id, [])}
            for port in ports if port.network_id in networks}


async def router_info(db: AsyncSession, router_id: str) -> RouterInfo | None:
    router = await db.get(Router, router_id)
    if router is None:
        return None
    ports = (await db.execute(
        sa.select(Port).join(RouterPort, RouterPort.port_id == Port.id)
        .where(RouterPort.router_id == router_id).order_by(Port.id))).scalars().all()
    legs = await _legs(db, ports)
    gateway: RouterGatewayInfo | None = None
    if router.gw_port_id is not None and router.gw_port_id in legs:
        leg = legs[router.gw_port_id]
        hops = (await db.execute(
            sa.select(Subnet.gateway_ip).where(
                Subnet.id.in_([a["subnet_id"] for a in leg["addresses"]]),
                Subnet.gateway_ip.is_not(None)).order_by(Subnet.ip_version, Subnet.id)
        )).scalars().all()
        gateway = {"leg": leg, "next_hops": [str(hop) for hop in hops],
                   "enable_snat": router.enable_snat}
    floating: list[FloatingIpInfo] = [
        {"id": row.id, "floating_ip_address": row.floating_ip_address,
         "fixed_ip_address": row.fixed_ip_address or "", "status": row.status}
        for row in (await db.execute(
            sa.select(FloatingIP).where(FloatingIP.router_id == router_id,
                                        FloatingIP.fixed_ip_address.is_not(None))
            .order_by(FloatingIP.floating_ip_address))).scalars()]
    return {
        "id": router.id, "host": next((p.binding_host_id for p in ports if p.binding_host_id),
                                      ""),
        "admin_state_up": router.admin_state_up, "status": router.status,
        "interfaces": [legs[p.id] for p in ports if p.id in legs and p.id != router.gw_port_id],
        "gateway": gateway,
        "routes": [{"destination": str(r["destination"]), "nexthop": str(r["nexthop"])}
                   for r in router.routes or []],
        "floating_ips": floating,
    }


async def report_status(db: AsyncSession, router_id: str, host: str, status: str
                        ) -> list[tuple[str, str]]:
    """Apply an agent's report on a router it hosts: its ports and its associated floating
    IPs take ``status`` (for its ports, as the L2 agent's report does for a guest's:
    :mod:`.provisioning`). The (port id, status) of each port that changed; nothing when
    the router is not hosted on ``host`` (any more)."""
    if status not in (ACTIVE, DOWN) or await router_host(db, router_id) != host:
        return []
    changed = []
    ports = (await db.execute(sa.select(Port).join(RouterPort, RouterPort.port_id == Port.id)
                              .where(RouterPort.router_id == router_id)
                              .order_by(Port.id).with_for_update())).scalars().all()
    for port in ports:
        was = port.status
        if status == ACTIVE:
            await provisioning.complete(db, port, provisioning.L2)
        else:
            await provisioning.reopen(db, port, provisioning.L2)
        if port.status != was:
            changed.append((port.id, port.status))
    for row in (await db.execute(sa.select(FloatingIP).where(
            FloatingIP.router_id == router_id))).scalars():
        wanted = status if row.fixed_ip_address else DOWN
        if row.status != wanted:
            row.status = wanted
    return changed
