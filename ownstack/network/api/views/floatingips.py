"""The floating IP body, as Neutron's API reference shows it with ``fip-port-details``,
and the ``floatingip-pools`` body."""

from __future__ import annotations

from typing import Any

from ownstack.network.api.common import timestamp
from ownstack.network.objects.models import FloatingIP, Network, Port, Subnet


def floating_ip(row: FloatingIP, *, port: Port | None, tags: list[str]) -> dict[str, Any]:
    details = None if port is None else {
        "name": port.name, "network_id": port.network_id, "mac_address": port.mac_address,
        "admin_state_up": port.admin_state_up, "status": port.status,
        "device_id": port.device_id, "device_owner": port.device_owner,
    }
    return {
        "id": row.id,
        "description": row.description,
        "project_id": row.project_id,
        "tenant_id": row.project_id,
        "floating_network_id": row.floating_network_id,
        "floating_ip_address": row.floating_ip_address,
        "router_id": row.router_id,
        "port_id": row.fixed_port_id,
        "fixed_ip_address": row.fixed_ip_address,
        "status": row.status,
        "port_details": details,
        "tags": tags,
        "created_at": timestamp(row.created_at),
        "updated_at": timestamp(row.updated_at),
        "revision_number": row.revision_number,
    }


def pool(subnet: Subnet, network: Network) -> dict[str, Any]:
    return {"subnet_id": subnet.id, "subnet_name": subnet.name, "network_id": network.id,
            "project_id": subnet.project_id, "tenant_id": subnet.project_id,
            "cidr": subnet.cidr}
