"""Which port a guest's metadata request comes from, as Neutron's metadata agent asks it
(``_get_ports_for_remote_address``): the port holding the request's source address on the
proxy's network, or on one of the networks the proxy's router has an interface on."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from ownstack.network.objects.models import IpAllocation, Port, RouterPort
from ownstack.network.rpc import MetadataPort

ROUTER_INTERFACE = "network:router_interface"


async def port_of_address(db: AsyncSession, ip_address: str, *, network_id: str | None = None,
                          router_id: str | None = None) -> MetadataPort | None:
    """The port with ``ip_address`` on ``network_id`` (a qdhcp proxy) or on a network of
    ``router_id``'s interfaces (a qrouter proxy); ``None`` when there is none."""
    if (network_id is None) == (router_id is None):
        raise ValueError("give exactly one of network_id and router_id")
    if network_id is not None:
        networks: sa.ColumnElement[bool] = IpAllocation.network_id == network_id
    else:
        router_networks = (sa.select(Port.network_id)
                           .join(RouterPort, RouterPort.port_id == Port.id)
                           .where(RouterPort.router_id == router_id,
                                  RouterPort.port_type == ROUTER_INTERFACE))
        networks = IpAllocation.network_id.in_(router_networks)
    row = (await db.execute(
        sa.select(Port.id, Port.device_id, Port.project_id, Port.network_id)
        .join(IpAllocation, IpAllocation.port_id == Port.id)
        .where(IpAllocation.ip_address == ip_address, networks)
        .order_by(Port.created_at, Port.id).limit(1))).first()
    if row is None:
        return None
    return MetadataPort(id=row.id, device_id=row.device_id, tenant_id=row.project_id,
                        network_id=row.network_id)
