"""The network body, as Neutron's API reference shows it."""

from __future__ import annotations

from typing import Any

from ownstack.network.api.common import standard
from ownstack.network.objects.models import Network
from ownstack.network.objects.networks import ListedNetwork


def network(row: Network | ListedNetwork, *, subnets: list[str], tags: list[str],
            shared: bool, zone: str, hidden: set[str]) -> dict[str, Any]:
    """``shared`` is as the caller sees it: true too where a policy shares the network with
    the caller's project by name."""
    body = standard(row, tags)
    body.update({
        "name": row.name,
        "admin_state_up": row.admin_state_up,
        "status": row.status,
        "shared": shared,
        "router:external": row.external,
        "is_default": row.is_default,
        "mtu": row.mtu,
        "port_security_enabled": row.port_security_enabled,
        "subnets": subnets,
        "availability_zone_hints": list(row.availability_zone_hints or []),
        "availability_zones": [zone],
        "l2_adjacency": True,
        "ipv4_address_scope": None,
        "ipv6_address_scope": None,
        "provider:network_type": row.network_type,
        "provider:physical_network": row.physical_network,
        "provider:segmentation_id": row.segmentation_id,
    })
    for name in hidden:
        body.pop(name, None)
    return body
