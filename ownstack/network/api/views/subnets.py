"""The subnet, subnet pool and network IP availability bodies, as Neutron's API reference
shows them."""

from __future__ import annotations

from typing import Any

from ownstack.network.api.common import standard
from ownstack.network.objects.ip_availability import NetworkAvailability
from ownstack.network.objects.models import Subnet, SubnetPool


def subnet(row: Subnet, *, tags: list[str]) -> dict[str, Any]:
    return {
        **standard(row, tags),
        "name": row.name,
        "network_id": row.network_id,
        "ip_version": row.ip_version,
        "cidr": row.cidr,
        "gateway_ip": row.gateway_ip,
        "allocation_pools": [dict(pool) for pool in row.allocation_pools],
        "dns_nameservers": list(row.dns_nameservers),
        "host_routes": [dict(route) for route in row.host_routes],
        "enable_dhcp": row.enable_dhcp,
        "ipv6_ra_mode": row.ipv6_ra_mode,
        "ipv6_address_mode": row.ipv6_address_mode,
        "subnetpool_id": row.subnetpool_id,
    }


def subnetpool(row: SubnetPool, *, tags: list[str]) -> dict[str, Any]:
    return {
        **standard(row, tags),
        "name": row.name,
        "ip_version": row.ip_version,
        "prefixes": list(row.prefixes),
        "default_prefixlen": row.default_prefixlen,
        "min_prefixlen": row.min_prefixlen,
        "max_prefixlen": row.max_prefixlen,
        "shared": row.shared,
        "is_default": row.is_default,
        "default_quota": row.default_quota,
        "address_scope_id": None,
    }


def ip_availability(found: NetworkAvailability) -> dict[str, Any]:
    network = found.network
    return {
        "network_id": network.id,
        "network_name": network.name,
        "project_id": network.project_id,
        "tenant_id": network.project_id,
        "total_ips": found.total,
        "used_ips": found.used,
        "subnet_ip_availability": [
            {"subnet_id": item.subnet.id, "subnet_name": item.subnet.name,
             "cidr": item.subnet.cidr, "ip_version": item.subnet.ip_version,
             "total_ips": item.total, "used_ips": item.used}
            for item in found.subnets],
    }
