"""Security group and rule bodies, as Neutron's API reference shows them."""

from __future__ import annotations

from typing import Any

from ownstack.network.api.common import standard
from ownstack.network.objects.models import SecurityGroup, SecurityGroupRule
from ownstack.network.objects.security_groups import spec_of


def rule(row: SecurityGroupRule, *, in_default_group: bool) -> dict[str, Any]:
    return {
        **standard(row),
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
        "belongs_to_default_sg": in_default_group,
    }


def group(row: SecurityGroup, *, rules: list[SecurityGroupRule], tags: list[str]
          ) -> dict[str, Any]:
    is_default = bool(row.default_marker)
    return {
        **standard(row, tags),
        "name": row.name,
        "stateful": row.stateful,
        "shared": False,
        "security_group_rules": [rule(item, in_default_group=is_default) for item in rules],
    }
