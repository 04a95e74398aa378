"""Security group and rule bodies, as Neutron's API reference shows them."""

from __future__ import annotations

from typing import Any

from ownstack.network.api.common import timestamp
from ownstack.network.objects.models import SecurityGroup, SecurityGroupRule
from ownstack.network.objects.security_groups import spec_of


def rule(row: SecurityGroupRule, *, in_default_group: bool) -> dict[str, Any]:
    return {
        "id": row.id,
        "security_group_id": row.security_group_id,
        "direction": row.direction,
        "ethertype": row.ethertype,
        "protocol": row.protocol,
        "port_range_min": row.port_range_min,
        "port_range_max": row.port_range_max,
        "remote_ip_prefix": row.remote_ip_prefix,
        "normalized_cidr": spec_of(row).normalized_cidr,
        "remote_group_id": row.remote_group_id,
        "remote_address_group_id": None,
        "description": row.description,
        "project_id": row.project_id,
        "tenant_id": row.project_id,
        "belongs_to_default_sg": in_default_group,
        "created_at": timestamp(row.created_at),
        "updated_at": timestamp(row.updated_at),
        "revision_number": row.revision_number,
    }


def group(row: SecurityGroup, *, rules: list[SecurityGroupRule], tags: list[str]
          ) -> dict[str, Any]:
    is_default = bool(row.default_marker)
    return {
        "id": row.id,
        "name": row.name,
        "description": row.description,
        "project_id": row.project_id,
        "tenant_id": row.project_id,
        "stateful": row.stateful,
        "shared": False,
        "security_group_rules": [rule(item, in_default_group=is_default) for item in rules],
        "tags": tags,
        "created_at": timestamp(row.created_at),
        "updated_at": timestamp(row.updated_at),
        "revision_number": row.revision_number,
    }
