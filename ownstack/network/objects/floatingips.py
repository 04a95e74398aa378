"""Floating IPs: an address of an external network, mapped to a fixed IP of a port.

A floating IP belongs to a project, which alone (and an admin) sees it. Its address is
held by a port of its own on the external network (``network:floatingip``, project
``''``, device the floating IP, as in Neutron), allocated race-free through
:mod:`.addresses`: the first IPv4 subnet with room, or the address (an admin's) or subnet
asked for. A full external network is 409 ``IpAddressGenerationFailure``.

Associating it with a port (and one of the port's IPv4 addresses) needs Neutron's
reachability: a router with an interface on that address's subnet and its gateway on the
floating IP's network (else 404 ``ExternalGatewayForFloatingIPNotFound``); that router
becomes ``router_id``. One fixed IP has one floating IP per external network: the unique
``(floating_network_id, fixed_port_id, fixed_ip_address)`` settles two concurrent
associations, so exactly one wins and the other is 409
``FloatingIPPortAlreadyAssociated``. The status stays DOWN: only the agent that serves the
router may report a floating IP ACTIVE.
"""

from __future__ import annotations

import ipaddress
import uuid
from collections.abc import Sequence
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ColumnElement

from ownstack.common.config import NetworkConfig
from ownstack.common.context import RequestContext
from ownstack.network.errors import (
    BadNetworkRequest,
    NetworkConflict,
    NetworkNotFound,
)
from ownstack.network.objects import addresses, networks, ports, quotas, routers
from ownstack.network.objects.addresses import FixedIp, Wanted
from ownstack.network.objects.bindings import COMPUTE_OWNER_PREFIX
from ownstack.network.objects.listing import Field, Kind, as_int
from ownstack.network.objects.models import FloatingIP, Network, Port, Subnet
from ownstack.network.objects.standard import check_revision, touch

OWNER: Final = "network:floatingip"
DOWN: Final = "DOWN"

FLOATINGIPS = Kind(name="floatingip", collection="floatingips", model=FloatingIP, fields={
    "id": Field(FloatingIP.id),
    "description": Field(FloatingIP.description),
    "project_id": Field(FloatingIP.project_id),
    "tenant_id": Field(FloatingIP.project_id),
    "floating_ip_address": Field(FloatingIP.floating_ip_address),
    "floating_network_id": Field(FloatingIP.floating_network_id),
    "router_id": Field(FloatingIP.router_id),
    "port_id": Field(FloatingIP.fixed_port_id),
    "fixed_ip_address": Field(FloatingIP.fixed_ip_address),
    "status": Field(FloatingIP.status),
    "revision_number": Field(FloatingIP.revision_number, as_int),
    "created_at": Field(FloatingIP.created_at),
    "updated_at": Field(FloatingIP.updated_at),
})


def visible(ctx: RequestContext) -> list[ColumnElement[bool]]:
    if ctx.is_admin:
        return []
    return [FloatingIP.project_id == ctx.project_id]


async def get_floating_ip(db: AsyncSession, ctx: RequestContext, floatingip_id: str
                          ) -> FloatingIP:
    row = (await db.execute(sa.select(FloatingIP).where(
        FloatingIP.id == floatingip_id, *visible(ctx)))).scalar_one_or_none()
    if row is None:
        raise NetworkNotFound("FloatingIPNotFound",
                              f"Floating IP {floatingip_id} could not be found")
    return row


def _bad(message: str) -> BadNetworkRequest:
    return BadNetworkRequest("floatingip", message)


async def create_floating_ip(db: AsyncSession, config: NetworkConfig, ctx: RequestContext,
                             project_id: str, data: dict[str, Any]) -> FloatingIP:
    await quotas.check(db, config, project_id, "floatingip")
    if data.get("fixed_ip_address") and not data.get("port_id"):
        raise _bad("fixed_ip_address cannot be specified without a port_id")
    network = await routers.external_network(db, ctx, data["floating_network_id"],
                                             "floatingip")
    floatingip_id = str(uuid.uuid4())
    asked: dict[str, Any] = {}
    if data.get("subnet_id"):
        asked["subnet_id"] = data["subnet_id"]
    if data.get("floating_ip_address"):
        asked["ip_address"] = data["floating_ip_address"]
    created = await ports.create_port(db, config, ctx, ports.NewPort(
        str(uuid.uuid4()), "", network,
        {"device_owner": OWNER, "device_id": floatingip_id, "name": "",
         "fixed_ips": [asked] if asked else []}))
    port = created.row
    if asked:
        taken = created.fixed_ips
        address = next(ip.ip_address for ip in taken
                       if ip.subnet_id == asked.get("subnet_id", ip.subnet_id)
                       and ip.ip_address == asked.get("ip_address", ip.ip_address))
    else:
        ipv4 = tuple(subnet for subnet in await addresses.network_subnets(db, network.id)
                     if subnet.ip_version == 4)
        if not ipv4:
            raise _bad(f"Network {network.id} does not contain any IPv4 subnet")
        (taken_ip,) = await addresses.allocate(db, port, [Wanted(ipv4)])
        address = taken_ip.ip_address
    row = FloatingIP(id=floatingip_id, project_id=project_id,
                     description=data.get("description") or "",
                     floating_network_id=network.id, floating_port_id=port.id,
                     floating_ip_address=address, status=DOWN)
    db.add(row)
    await db.flush()
    if data.get("port_id"):
        await _associate(db, ctx, row, str(data["port_id"]), data.get("fixed_ip_address"))
    return row


async def update_floating_ip(db: AsyncSession, ctx: RequestContext, row: FloatingIP,
                             data: dict[str, Any], revision: int | None) -> FloatingIP:
    check_revision(row, revision)
    if "description" in data:
        row.description = data["description"] or ""
    if "port_id" in data:
        if data["port_id"] is None:
            _disassociate(row)
        else:
            await _associate(db, ctx, row, str(data["port_id"]), data.get("fixed_ip_address"))
    elif data.get("fixed_ip_address"):
        raise _bad("fixed_ip_address cannot be specified without a port_id")
    touch(row)
    await db.flush()
    return row


async def delete_floating_ip(db: AsyncSession, row: FloatingIP, revision: int | None) -> None:
    check_revision(row, revision)
    # The row goes with its port (``floating_port_id``'s ON DELETE CASCADE).
    await routers.delete_service_port(db, row.floating_port_id, row.id)
    db.expunge(row)


async def delete_unassociated_on(db: AsyncSession, network_id: str) -> None:
    """Delete the floating IPs of external network ``network_id`` that map nowhere, as
    Neutron does when the network is deleted; an associated one keeps its port, so the
    network stays in use."""
    rows = (await db.execute(sa.select(FloatingIP).where(
        FloatingIP.floating_network_id == network_id,
        FloatingIP.fixed_port_id.is_(None)))).scalars().all()
    for row in rows:
        await delete_floating_ip(db, row, None)


def _disassociate(row: FloatingIP) -> None:
    row.fixed_port_id = None
    row.fixed_ip_address = None
    row.router_id = None
    row.status = DOWN               # mapped nowhere (the API may say DOWN, never ACTIVE)


def _fixed_ip_for(port: Port, fixed: Sequence[FixedIp], wanted: str | None) -> FixedIp:
    """The fixed IP of ``port`` the floating IP maps to, checked as Neutron checks it."""
    if wanted:
        match = next((ip for ip in fixed if ip.ip_address == wanted), None)
        if match is None:
            raise _bad(f"Port {port.id} does not have fixed ip {wanted}")
        if ipaddress.ip_address(match.ip_address).version != 4:
            raise _bad(f"Cannot create floating IP and bind it to {wanted}, since that is "
                       "not an IPv4 address.")
        return match
    ipv4 = [ip for ip in fixed if ipaddress.ip_address(ip.ip_address).version == 4]
    if not ipv4:
        raise _bad(f"Cannot add floating IP to port {port.id} that has no global IPv4 "
                   "addresses.")
    if len(ipv4) > 1:
        raise _bad(f"Port {port.id} has multiple fixed IPv4 addresses.  Must provide a "
                   "specific IPv4 address when assigning a floating IP")
    return ipv4[0]


def _already_associated(row: FloatingIP, port_id: str, fixed_ip: str) -> NetworkConflict:
    return NetworkConflict(
        "FloatingIPPortAlreadyAssociated",
        f"Cannot associate floating IP {row.floating_ip_address} ({row.id}) with port "
        f"{port_id} using fixed IP {fixed_ip}, as that fixed IP already has a floating IP "
        f"on external network {row.floating_network_id}.")


async def _associate(db: AsyncSession, ctx: RequestContext, row: FloatingIP, port_id: str,
                     wanted: str | None) -> None:
    port = await ports.get_port(db, ctx, port_id)
    if not ctx.is_admin and port.project_id != row.project_id:
        raise _bad(f"Cannot create floating IP and bind it to Port {port.id}, since that "
                   "port is owned by a different tenant.")
    if port.device_owner.startswith("network:"):
        raise _bad(f"Port {port.id} has owner {port.device_owner} and therefore cannot be "
                   "associated with a floating IP.")
    fixed = (await addresses.fixed_ips_of(db, [port.id])).get(port.id, [])
    chosen = _fixed_ip_for(port, fixed, wanted)
    if row.fixed_port_id == port.id and row.fixed_ip_address == chosen.ip_address:
        return
    router_id = await routers.router_for_floating_ip(db, chosen.subnet_id,
                                                     row.floating_network_id)
    if router_id is None:
        raise NetworkNotFound(
            "ExternalGatewayForFloatingIPNotFound",
            f"External network {row.floating_network_id} is not reachable from subnet "
            f"{chosen.subnet_id}.  Therefore, cannot associate Port {port.id} with a "
            "Floating IP.")
    taken = await db.scalar(sa.select(FloatingIP.id).where(
        FloatingIP.floating_network_id == row.floating_network_id,
        FloatingIP.fixed_port_id == port.id,
        FloatingIP.fixed_ip_address == chosen.ip_address, FloatingIP.id != row.id).limit(1))
    if taken is not None:
        raise _already_associated(row, port.id, chosen.ip_address)
    # The statement, not the row's changed attributes, under the savepoint: a session
    # flushes what is pending before it opens a savepoint, and that flush would fail
    # outside it.
    await db.flush()
    try:
        async with db.begin_nested():
            await db.execute(sa.update(FloatingIP).where(FloatingIP.id == row.id).values(
                fixed_port_id=port.id, fixed_ip_address=chosen.ip_address,
                router_id=router_id, status=DOWN,
            ).execution_options(synchronize_session=False))
    except IntegrityError:
        # Another association of the same fixed IP committed first.
        raise _already_associated(row, port.id, chosen.ip_address) from None
    row.fixed_port_id = port.id
    row.fixed_ip_address = chosen.ip_address
    row.router_id = router_id
    row.status = DOWN               # until the agent hosting the router reports it ACTIVE


async def servers_of_ports(db: AsyncSession, port_ids: set[str | None]
                           ) -> list[tuple[str, str]]:
    """``(port id, server uuid)`` of those of ``port_ids`` that a server uses: the ports
    compute hears ``network-changed`` of when a floating IP changes on them."""
    ids = sorted(port_id for port_id in port_ids if port_id)
    if not ids:
        return []
    rows = await db.execute(sa.select(Port.id, Port.device_id).where(
        Port.id.in_(ids), Port.device_owner.startswith(COMPUTE_OWNER_PREFIX),
        Port.device_id != ""))
    return [(str(port_id), str(device_id)) for port_id, device_id in rows]


async def port_details(db: AsyncSession, rows: Sequence[FloatingIP]) -> dict[str, Port]:
    """The associated port of each floating IP that has one (``fip-port-details``)."""
    ids = sorted({row.fixed_port_id for row in rows if row.fixed_port_id})
    if not ids:
        return {}
    found = (await db.execute(sa.select(Port).where(Port.id.in_(ids)))).scalars().all()
    return {port.id: port for port in found}


async def pools(db: AsyncSession, ctx: RequestContext) -> list[tuple[Subnet, Network]]:
    """The IPv4 subnets of the external networks the caller sees (``floatingip-pools``)."""
    rows = await db.execute(
        sa.select(Subnet, Network).join(Network, Network.id == Subnet.network_id)
        .where(Network.external.is_(True), Subnet.ip_version == 4, *networks.visible(ctx))
        .order_by(Subnet.created_at, Subnet.id))
    return [(subnet, network) for subnet, network in rows]
