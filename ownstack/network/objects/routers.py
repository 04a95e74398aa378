"""Routers: their external gateway, interfaces and extra routes, as Neutron's L3 API has them.

A router belongs to a project, which alone (and an admin) sees it. Its ports are rows of
``network_router_ports``, whose primary key is the port: one port serves one router at
most. Every port is made through :mod:`.ports`, so its addresses are taken race-free:

* the gateway (``network:router_gateway``, project ``''`` as in Neutron, device the
  router) gets addresses on the external network's subnets, or the
  ``external_fixed_ips`` an admin names. The network must be external to the caller
  (``router:external``, or an ``access_as_external`` policy), else 400;
* an interface by subnet is a new port (``network:router_interface``) holding the
  subnet's gateway IP, except that an IPv6 subnet joins the router's port that already
  has an IPv6 address on its network (one port, several prefixes, as Neutron does; removed
  by subnet, only that subnet's address leaves such a port); an interface by port takes
  over a port of the caller's that no device uses. A subnet is on a router once, and the
  subnets of one router never overlap;
* extra routes (``routes``) go to a next hop on a subnet the router is connected to.

What floating IPs need of a router is checked here too: its gateway while one uses it,
an interface while a floating IP maps to an address of that subnet.
"""

from __future__ import annotations

import ipaddress
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, NamedTuple

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ColumnElement

from ownstack.common.config import NetworkConfig
from ownstack.common.context import RequestContext
from ownstack.common.db.core import run
from ownstack.network.errors import (
    BadNetworkRequest,
    NetworkBadRequest,
    NetworkConflict,
    NetworkNotFound,
    ResourceNotFound,
)
from ownstack.network.objects import addresses, networks, ports, quotas, subnets
from ownstack.network.objects.addresses import FixedIp
from ownstack.network.objects.inserts import add_row, is_sqlite
from ownstack.network.objects.listing import Field, Kind, as_bool, as_int
from ownstack.network.objects.models import (
    FloatingIP,
    IpAllocation,
    Network,
    Port,
    Router,
    RouterPort,
    Subnet,
    Tag,
)
from ownstack.network.objects.standard import check_revision, delete_row, drop_tags, touch
from ownstack.network.subnet_rules import parse_host_routes

GATEWAY: Final = "network:router_gateway"
INTERFACE: Final = "network:router_interface"
# Neutron's [DEFAULT] max_routes.
MAX_ROUTES: Final = 30

ROUTERS = Kind(name="router", collection="routers", model=Router, fields={
    "id": Field(Router.id),
    "name": Field(Router.name),
    "description": Field(Router.description),
    "project_id": Field(Router.project_id),
    "tenant_id": Field(Router.project_id),
    "admin_state_up": Field(Router.admin_state_up, as_bool),
    "status": Field(Router.status),
    "revision_number": Field(Router.revision_number, as_int),
    "created_at": Field(Router.created_at),
    "updated_at": Field(Router.updated_at),
})


def visible(ctx: RequestContext) -> list[ColumnElement[bool]]:
    if ctx.is_admin:
        return []
    return [Router.project_id == ctx.project_id]


async def get_router(db: AsyncSession, ctx: RequestContext, router_id: str) -> Router:
    row = (await db.execute(sa.select(Router).where(Router.id == router_id, *visible(ctx)))
           ).scalar_one_or_none()
    if row is None:
        raise ResourceNotFound("router", router_id)
    return row


def _bad(message: str) -> BadNetworkRequest:
    return BadNetworkRequest("router", message)


@dataclass(frozen=True)
class Gateway:
    """A router's gateway as its body shows it."""

    network_id: str
    enable_snat: bool
    fixed_ips: list[FixedIp]

    def as_dict(self) -> dict[str, Any]:
        return {"network_id": self.network_id, "enable_snat": self.enable_snat,
                "external_fixed_ips": [ip.as_dict() for ip in self.fixed_ips]}


async def gateways(db: AsyncSession, rows: Sequence[Router]) -> dict[str, Gateway]:
    """The gateway of each router that has one, by router id."""
    with_gateway = [row for row in rows if row.gw_port_id and row.gw_network_id]
    fixed = await addresses.fixed_ips_of(db, [str(row.gw_port_id) for row in with_gateway])
    return {row.id: Gateway(str(row.gw_network_id), row.enable_snat,
                            fixed.get(str(row.gw_port_id), []))
            for row in with_gateway}


# -- create, update, delete ---------------------------------------------------------------


async def create_router(db: AsyncSession, config: NetworkConfig, ctx: RequestContext,
                        project_id: str, data: dict[str, Any]) -> Router:
    # The quota judged by the insert (one statement on SQLite: inserts.add_row).
    row = await add_row(db, Router, {
        "id": str(uuid.uuid4()), "project_id": project_id, "name": data.get("name") or "",
        "description": data.get("description") or "",
        "admin_state_up": data.get("admin_state_up", True), "routes": [],
        "availability_zone_hints": data.get("availability_zone_hints") or []},
        quotas.within(config, "router"))
    info = data.get("external_gateway_info")
    if info and info.get("network_id"):
        await _set_gateway(db, config, ctx, row, info)
    return row


async def update_router(db: AsyncSession, config: NetworkConfig, ctx: RequestContext,
                        row: Router, data: dict[str, Any], revision: int | None) -> Router:
    check_revision(row, revision)
    for name in ("name", "description"):
        if name in data:
            setattr(row, name, data[name] or "")
    if "admin_state_up" in data:
        row.admin_state_up = data["admin_state_up"]
    if "external_gateway_info" in data:
        await _update_gateway(db, config, ctx, row, data["external_gateway_info"] or {})
    if "routes" in data:
        await set_routes(db, row, data["routes"] or [])
    touch(row)
    await db.flush()
    return row


class RouterToDelete(NamedTuple):
    """What a router's delete needs beside its row, read with it (:func:`router_to_delete`)."""

    host: str                       # router_info.router_host's
    interface: bool                 # it has an interface
    tags: bool                      # it has tags


async def router_to_delete(db: AsyncSession, ctx: RequestContext, router_id: str
                           ) -> tuple[Router, RouterToDelete | None]:
    """:func:`get_router`, and on SQLite in the same statement the host of its ports,
    whether it has an interface and whether it has tags: the write transaction holds the
    one write lock from its start, so none of them can change before the delete. Where
    writers run concurrently (PostgreSQL, MariaDB) the delete reads them itself (None)."""
    if not is_sqlite(db):
        return await get_router(db, ctx, router_id), None
    query = _ROUTER_TO_DELETE.where(*visible(ctx))
    found = (await db.execute(query, {"router_id": router_id})).one_or_none()
    if found is None:
        raise ResourceNotFound("router", router_id)
    row, host, interface, tags = found
    return row, RouterToDelete(host or "", bool(interface), bool(tags))


# Built once (the visibility filter added when run): every router delete on SQLite reads it.
_ROUTER_TO_DELETE: Final = sa.select(
    Router,
    sa.select(Port.binding_host_id).join(RouterPort, RouterPort.port_id == Port.id)
    .where(RouterPort.router_id == Router.id, Port.binding_host_id != "")
    .limit(1).scalar_subquery(),
    sa.exists().where(RouterPort.router_id == Router.id, RouterPort.port_type == INTERFACE),
    sa.exists().where(Tag.resource_id == Router.id),
).where(Router.id == sa.bindparam("router_id"))


async def delete_router(db: AsyncSession, row: Router, revision: int | None,
                        found: RouterToDelete | None = None) -> None:
    """Delete ``row`` and its gateway; 409 ``RouterInUse`` while it has interfaces.
    ``found``: what :func:`router_to_delete` read with the row, if it did."""
    check_revision(row, revision)
    if found is not None:
        interface = found.interface
    else:
        interface = (await run(db, _AN_INTERFACE, {"router_id": row.id})).scalar() is not None
    if interface:
        raise NetworkConflict("RouterInUse", f"Router {row.id} still has ports")
    await _clear_gateway(db, row)
    if found is None or found.tags:
        await drop_tags(db, [row.id])
    await delete_row(db, row)


_AN_INTERFACE: Final = sa.select(RouterPort.port_id).where(
    RouterPort.router_id == sa.bindparam("router_id"), RouterPort.port_type == INTERFACE
).limit(1)


# -- the external gateway -----------------------------------------------------------------


async def _update_gateway(db: AsyncSession, config: NetworkConfig, ctx: RequestContext,
                          row: Router, info: dict[str, Any]) -> None:
    network_id = info.get("network_id")
    if not network_id:
        await _clear_gateway(db, row)
        return
    if network_id != row.gw_network_id:
        await _clear_gateway(db, row)
        await _set_gateway(db, config, ctx, row, info)
        return
    if info.get("enable_snat") is not None:
        row.enable_snat = info["enable_snat"]
    fixed_ips = info.get("external_fixed_ips")
    if fixed_ips is not None and row.gw_port_id is not None:
        port = await db.get(Port, row.gw_port_id)
        if port is not None:
            held = (await addresses.fixed_ips_of(db, [port.id])).get(port.id, [])
            change = addresses.plan_change(
                port.network_id, await addresses.network_subnets(db, port.network_id), held,
                fixed_ips, device_owner=GATEWAY, mac_address=port.mac_address)
            await addresses.release(db, port.id, change.remove)
            await db.flush()
            await addresses.allocate(db, port, change.add)
            touch(port)


async def external_network(db: AsyncSession, ctx: RequestContext, network_id: str,
                           resource: str) -> Network:
    """The network a gateway or floating IP of the caller goes on: 404 when the caller
    cannot see it, 400 when it is not external."""
    network = await networks.get_network(db, ctx, network_id)
    if not network.external:
        if resource == "router":
            raise _bad(f"Network {network_id} is not an external network")
        raise BadNetworkRequest(resource, f"Network {network_id} is not a valid external "
                                "network")
    return network


async def _set_gateway(db: AsyncSession, config: NetworkConfig, ctx: RequestContext,
                       row: Router, info: dict[str, Any]) -> None:
    network = await external_network(db, ctx, str(info["network_id"]), "router")
    data: dict[str, Any] = {"device_owner": GATEWAY, "device_id": row.id, "name": "",
                            "fixed_ips": info.get("external_fixed_ips")}
    created = await ports.create_port(db, config, ctx, ports.NewPort(
        str(uuid.uuid4()), "", network, data))
    port = created.row
    if not created.fixed_ips:
        raise _bad(f"No IPs available for external network {network.id}")
    db.add(RouterPort(port_id=port.id, router_id=row.id, port_type=GATEWAY))
    row.gw_port_id = port.id
    row.gw_network_id = network.id
    enable_snat = info.get("enable_snat")
    row.enable_snat = True if enable_snat is None else bool(enable_snat)
    await db.flush()


async def _check_gateway_unused(db: AsyncSession, row: Router) -> None:
    """409 while floating IPs reach their external network through this gateway."""
    in_use = await db.scalar(sa.select(FloatingIP.id).where(
        FloatingIP.router_id == row.id,
        FloatingIP.floating_network_id == row.gw_network_id).limit(1))
    if in_use is not None:
        raise NetworkConflict(
            "RouterExternalGatewayInUseByFloatingIp",
            f"Gateway cannot be updated for router {row.id}, since a gateway to external "
            f"network {row.gw_network_id} is required by one or more floating IPs.")


async def _clear_gateway(db: AsyncSession, row: Router) -> None:
    if row.gw_port_id is None:
        return
    await _check_gateway_unused(db, row)
    port_id = row.gw_port_id
    row.gw_port_id = None
    row.gw_network_id = None
    row.enable_snat = True
    await db.flush()
    await delete_service_port(db, port_id)


async def delete_service_port(db: AsyncSession, port_id: str, *tagged: str) -> None:
    """Remove a port the L3 API made (or took over) with everything that hangs off it,
    and the tags of ``tagged`` (resources going with it) in the same statement as its
    own. Its router port, addresses, group memberships, provisioning blocks and the
    floating IP it holds go by their foreign keys' ``ON DELETE CASCADE``, as a network's
    ports and subnets go with it."""
    await drop_tags(db, [port_id, *tagged])
    await run(db, _DELETE_PORT, {"port_id": port_id})


_DELETE_PORT: Final = sa.delete(Port).where(Port.id == sa.bindparam("port_id"))


# -- interfaces ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Interface:
    """What add_router_interface and remove_router_interface answer."""

    router_id: str
    project_id: str
    port_id: str
    network_id: str
    subnet_ids: list[str]

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.router_id, "tenant_id": self.project_id,
                "project_id": self.project_id, "port_id": self.port_id,
                "network_id": self.network_id,
                "subnet_id": self.subnet_ids[0] if self.subnet_ids else None,
                "subnet_ids": self.subnet_ids}


async def _router_subnets(db: AsyncSession, router_id: str) -> list[tuple[str, Subnet]]:
    """Each (port type, subnet) the router's ports have an address on."""
    rows = await db.execute(
        sa.select(RouterPort.port_type, Subnet)
        .join(IpAllocation, IpAllocation.port_id == RouterPort.port_id)
        .join(Subnet, Subnet.id == IpAllocation.subnet_id)
        .where(RouterPort.router_id == router_id))
    return [(port_type, subnet) for port_type, subnet in rows]


async def _check_new_subnets(db: AsyncSession, row: Router, new: Sequence[Subnet]) -> None:
    """Neutron's duplicate check: a subnet is on a router once, and an interface's subnet
    overlaps none of the router's other interfaces' subnets (400 either)."""
    attached = await _router_subnets(db, row.id)
    new_ids = {subnet.id for subnet in new}
    for _, subnet in attached:
        if subnet.id in new_ids:
            raise _bad(f"Router already has a port on subnet {subnet.id}")
    for subnet in new:
        cidr = ipaddress.ip_network(subnet.cidr)
        for port_type, other in attached:
            other_cidr = ipaddress.ip_network(other.cidr)
            if port_type == INTERFACE and other_cidr.version == cidr.version \
                    and cidr.overlaps(other_cidr):
                raise _bad(f"Cidr {subnet.cidr} of subnet {subnet.id} overlaps with cidr "
                           f"{other.cidr} of subnet {other.id}")


async def add_interface(db: AsyncSession, config: NetworkConfig, ctx: RequestContext,
                        row: Router, data: dict[str, Any]) -> Interface:
    subnet_id, port_id = data.get("subnet_id"), data.get("port_id")
    if subnet_id and port_id:
        raise _bad("Cannot specify both subnet-id and port-id")
    if not subnet_id and not port_id:
        raise _bad("Either subnet_id or port_id must be specified")
    if port_id:
        return await _add_port(db, ctx, row, str(port_id))
    subnet = await subnets.get_subnet(db, ctx, str(subnet_id))
    if not subnet.gateway_ip:
        raise _bad("Subnet for router interface must have a gateway IP")
    await _check_new_subnets(db, row, [subnet])
    network = await db.get(Network, subnet.network_id)
    if network is None:
        raise ResourceNotFound("subnet", subnet.id)
    if subnet.ip_version == 6 and (shared := await _ipv6_port_on(db, row, network.id)):
        held = (await addresses.fixed_ips_of(db, [shared.id])).get(shared.id, [])
        await ports.update_port(db, config, ctx, shared, {"fixed_ips": [
            *(ip.as_dict() for ip in held),
            {"subnet_id": subnet.id, "ip_address": subnet.gateway_ip}]}, None)
        touch(row)
        await db.flush()
        return Interface(row.id, shared.project_id, shared.id, shared.network_id,
                         [subnet.id])
    port = (await ports.create_port(db, config, ctx, ports.NewPort(
        str(uuid.uuid4()), row.project_id, network,
        {"device_owner": INTERFACE, "device_id": row.id, "name": "",
         "fixed_ips": [{"subnet_id": subnet.id, "ip_address": subnet.gateway_ip}]}))).row
    db.add(RouterPort(port_id=port.id, router_id=row.id, port_type=INTERFACE))
    touch(row)
    await db.flush()
    return Interface(row.id, port.project_id, port.id, port.network_id, [subnet.id])


async def _ipv6_port_on(db: AsyncSession, row: Router, network_id: str) -> Port | None:
    """Neutron's ``_find_ipv6_router_port_by_network``: the router's interface port on
    ``network_id`` that has an IPv6 address, which a new IPv6 subnet there joins."""
    return (await db.execute(
        sa.select(Port).join(RouterPort, RouterPort.port_id == Port.id)
        .join(IpAllocation, IpAllocation.port_id == Port.id)
        .join(Subnet, Subnet.id == IpAllocation.subnet_id)
        .where(RouterPort.router_id == row.id, RouterPort.port_type == INTERFACE,
               Port.network_id == network_id, Subnet.ip_version == 6)
        .order_by(Port.created_at, Port.id).limit(1))).scalar_one_or_none()


async def _add_port(db: AsyncSession, ctx: RequestContext, row: Router, port_id: str
                    ) -> Interface:
    port = await ports.get_port(db, ctx, port_id)
    if port.device_id or port.device_owner.startswith("network:"):
        raise NetworkConflict(
            "PortInUse", f"Unable to complete operation on port {port.id} for network "
            f"{port.network_id}. Port already has an attached device {port.device_id}.")
    fixed = (await addresses.fixed_ips_of(db, [port.id])).get(port.id, [])
    if not fixed:
        raise _bad("Router port must have at least one fixed IP")
    held = list((await db.execute(sa.select(Subnet).where(
        Subnet.id.in_([ip.subnet_id for ip in fixed])))).scalars().all())
    if sum(1 for subnet in held if subnet.ip_version == 4) > 1:
        raise _bad("Cannot have multiple IPv4 subnets on router port")
    await _check_new_subnets(db, row, held)
    port.device_id = row.id
    port.device_owner = INTERFACE
    touch(port)
    db.add(RouterPort(port_id=port.id, router_id=row.id, port_type=INTERFACE))
    touch(row)
    await db.flush()
    return Interface(row.id, port.project_id, port.id, port.network_id,
                     [ip.subnet_id for ip in fixed])


async def remove_interface(db: AsyncSession, ctx: RequestContext, row: Router,
                           data: dict[str, Any]) -> Interface:
    subnet_id, port_id = data.get("subnet_id"), data.get("port_id")
    if not subnet_id and not port_id:
        raise _bad("Either subnet_id or port_id must be specified")
    if port_id:
        port = await db.scalar(sa.select(Port).join(
            RouterPort, RouterPort.port_id == Port.id).where(
            Port.id == port_id, RouterPort.router_id == row.id,
            RouterPort.port_type == INTERFACE))
        if port is None:
            raise NetworkNotFound("RouterInterfaceNotFound", f"Router {row.id} does not have "
                                  f"an interface with id {port_id}")
        fixed = (await addresses.fixed_ips_of(db, [port.id])).get(port.id, [])
        if subnet_id and all(ip.subnet_id != subnet_id for ip in fixed):
            raise NetworkBadRequest("SubnetMismatchForPort", f"Subnet on port {port.id} does "
                                    f"not match the requested subnet {subnet_id}")
    else:
        subnet = await subnets.get_subnet(db, ctx, str(subnet_id))
        port = await db.scalar(sa.select(Port).join(
            RouterPort, RouterPort.port_id == Port.id).join(
            IpAllocation, IpAllocation.port_id == Port.id).where(
            RouterPort.router_id == row.id, RouterPort.port_type == INTERFACE,
            IpAllocation.subnet_id == subnet.id).limit(1))
        if port is None:
            raise NetworkNotFound("RouterInterfaceNotFoundForSubnet",
                                  f"Router {row.id} has no interface on subnet {subnet.id}")
        fixed = (await addresses.fixed_ips_of(db, [port.id])).get(port.id, [])
    subnet_ids = [ip.subnet_id for ip in fixed]
    if not port_id and len(set(subnet_ids)) > 1:
        # A port of several prefixes: only the subnet's address leaves it.
        await _check_interface_unused(db, row, [str(subnet_id)])
        await addresses.release(db, port.id, [ip for ip in fixed
                                              if ip.subnet_id == subnet_id])
        touch(port)
        touch(row)
        await db.flush()
        return Interface(row.id, port.project_id, port.id, port.network_id, [str(subnet_id)])
    await _check_interface_unused(db, row, subnet_ids)
    answer = Interface(row.id, port.project_id, port.id, port.network_id, subnet_ids)
    await delete_service_port(db, port.id)
    touch(row)
    await db.flush()
    return answer


async def _check_interface_unused(db: AsyncSession, row: Router, subnet_ids: Sequence[str]
                                  ) -> None:
    """409 while a floating IP maps to an address of these subnets through the router, or
    an extra route's next hop is on one of them."""
    cidrs = [(subnet.id, ipaddress.ip_network(subnet.cidr)) for subnet in (await db.execute(
        sa.select(Subnet).where(Subnet.id.in_(subnet_ids)))).scalars()]
    fixed = (await db.execute(sa.select(FloatingIP.fixed_ip_address).where(
        FloatingIP.router_id == row.id, FloatingIP.fixed_ip_address.is_not(None))
    )).scalars().all()
    for subnet_id, cidr in cidrs:
        if any(ipaddress.ip_address(address) in cidr for address in fixed if address):
            raise NetworkConflict(
                "RouterInterfaceInUseByFloatingIP",
                f"Router interface for subnet {subnet_id} on router {row.id} cannot be "
                "deleted, as it is required by one or more floating IPs.")
        if any(ipaddress.ip_address(route["nexthop"]) in cidr for route in row.routes or []):
            raise NetworkConflict(
                "RouterInterfaceInUseByRoute",
                f"Router interface for subnet {subnet_id} on router {row.id} cannot be "
                "deleted, as it is required by one or more routes.")


# -- extra routes -------------------------------------------------------------------------


async def set_routes(db: AsyncSession, row: Router, routes: Sequence[dict[str, Any]]) -> None:
    """Replace the router's extra routes: each next hop on a subnet the router is connected
    to and none of the router's own addresses (400 ``InvalidRoutes``), at most
    :data:`MAX_ROUTES` (400 ``RoutesExhausted``)."""
    parsed = parse_host_routes(list(routes), attribute="routes")
    if len(parsed) > MAX_ROUTES:
        raise NetworkBadRequest("RoutesExhausted", f"Unable to complete operation for "
                                f"{row.id}. The number of routes exceeds the maximum "
                                f"{MAX_ROUTES}.")
    connected = [ipaddress.ip_network(subnet.cidr)
                 for _, subnet in await _router_subnets(db, row.id)]
    own = set((await db.execute(sa.select(IpAllocation.ip_address).join(
        RouterPort, RouterPort.port_id == IpAllocation.port_id).where(
        RouterPort.router_id == row.id))).scalars().all())
    for route in parsed:
        nexthop = ipaddress.ip_address(route.nexthop)
        shown = [r.as_dict() for r in parsed]
        if not any(nexthop in cidr for cidr in connected):
            raise NetworkBadRequest("InvalidRoutes", f"Invalid format for routes: {shown}, "
                                    "the nexthop is not connected with router")
        if route.nexthop in own:
            raise NetworkBadRequest("InvalidRoutes", f"Invalid format for routes: {shown}, "
                                    "the nexthop is used by router")
    row.routes = [route.as_dict() for route in parsed]


async def add_routes(db: AsyncSession, row: Router, routes: Sequence[dict[str, Any]]) -> None:
    """``add_extraroutes``: the union of the router's routes and ``routes``."""
    current = [dict(route) for route in row.routes or []]
    new = [r.as_dict() for r in parse_host_routes(list(routes), attribute="routes")]
    await set_routes(db, row, current + [r for r in new if r not in current])
    touch(row)
    await db.flush()


async def remove_routes(db: AsyncSession, row: Router, routes: Sequence[dict[str, Any]]
                        ) -> None:
    """``remove_extraroutes``: the router's routes less ``routes`` (absent ones ignored)."""
    gone = [r.as_dict() for r in parse_host_routes(list(routes), attribute="routes")]
    row.routes = [dict(route) for route in row.routes or [] if dict(route) not in gone]
    touch(row)
    await db.flush()


# -- what floating IPs ask of routers -----------------------------------------------------


async def router_for_floating_ip(db: AsyncSession, subnet_id: str, external_network_id: str
                                 ) -> str | None:
    """A router with an interface on ``subnet_id`` and its gateway on the external
    network: the one that carries a floating IP's traffic (Neutron's reachability)."""
    found = await db.scalar(
        sa.select(Router.id).join(RouterPort, RouterPort.router_id == Router.id)
        .join(IpAllocation, IpAllocation.port_id == RouterPort.port_id)
        .where(RouterPort.port_type == INTERFACE, IpAllocation.subnet_id == subnet_id,
               Router.gw_network_id == external_network_id)
        .order_by(Router.created_at, Router.id).limit(1))
    return None if found is None else str(found)
