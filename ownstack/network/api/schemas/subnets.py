"""Request bodies of ``/v2.0/subnets``: types here, the address rules in :mod:`ipam`."""

from __future__ import annotations

from typing import Any

from ownstack.common.api.schema import Validator
from ownstack.network.api.schemas.networks import BOOL, DESCRIPTION, NAME, PROJECT, UUID

_TEXT: dict[str, Any] = {"type": "string", "maxLength": 64}
# The shapes of the lists are checked by ipam (Neutron's messages); here only their size.
_POOLS: dict[str, Any] = {"type": ["array", "null"], "maxItems": 1024,
                          "items": {"type": "object"}}
_SERVERS: dict[str, Any] = {"type": ["array", "null"], "maxItems": 1024}
_ROUTES: dict[str, Any] = {"type": ["array", "null"], "maxItems": 1024,
                           "items": {"type": "object"}}
_MODE: dict[str, Any] = {"type": ["string", "null"], "maxLength": 32}

_UPDATABLE: dict[str, Any] = {
    "name": NAME,
    "description": DESCRIPTION,
    "gateway_ip": {"type": ["string", "null"], "maxLength": 64},
    "allocation_pools": _POOLS,
    "dns_nameservers": _SERVERS,
    "host_routes": _ROUTES,
    "enable_dhcp": BOOL,
}

SUBNET: dict[str, Any] = {
    "type": "object",
    "properties": {
        **_UPDATABLE,
        "network_id": UUID,
        "ip_version": {"type": ["integer", "string"], "enum": [4, 6, "4", "6"]},
        "cidr": {"type": ["string", "null"], "maxLength": 64},
        "prefixlen": {"type": ["integer", "null"], "minimum": 0, "maximum": 128},
        "subnetpool_id": {"type": ["string", "null"], "maxLength": 36},
        "use_default_subnetpool": BOOL,
        "ipv6_ra_mode": _MODE,
        "ipv6_address_mode": _MODE,
        "project_id": PROJECT,
        "tenant_id": PROJECT,
    },
    "required": ["network_id", "ip_version"],
    "additionalProperties": False,
}

CREATE = Validator({
    "type": "object",
    "properties": {"subnet": SUBNET},
    "required": ["subnet"],
    "additionalProperties": False,
})

CREATE_BULK = Validator({
    "type": "object",
    "properties": {"subnets": {"type": "array", "minItems": 1, "maxItems": 100,
                               "items": SUBNET}},
    "required": ["subnets"],
    "additionalProperties": False,
})

UPDATE = Validator({
    "type": "object",
    "properties": {"subnet": {
        "type": "object",
        "properties": _UPDATABLE,
        "additionalProperties": False,
    }},
    "required": ["subnet"],
    "additionalProperties": False,
})
