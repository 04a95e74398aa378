"""Request bodies of ``/v2.0/ports``: one port (``{"port": {...}}``) or many
(``{"ports": [...]}``, made all or none)."""

from __future__ import annotations

from typing import Any

from ownstack.common.api.schema import Validator
from ownstack.network.api.schemas.networks import BOOL, DESCRIPTION, NAME, PROJECT, UUID

_TEXT: dict[str, Any] = {"type": ["string", "null"], "maxLength": 255}
_FIXED_IP: dict[str, Any] = {
    "type": "object",
    "properties": {"subnet_id": UUID, "ip_address": {"type": "string", "maxLength": 64}},
    "additionalProperties": False,
}
# Each pair is checked by ipam.validate_allowed_address_pairs, with Neutron's messages.
_PAIRS: dict[str, Any] = {"type": ["array", "null"], "maxItems": 1000,
                          "items": {"type": "object"}}

_COMMON: dict[str, Any] = {
    "name": NAME,
    "description": DESCRIPTION,
    "admin_state_up": BOOL,
    "device_id": _TEXT,
    "device_owner": _TEXT,
    "fixed_ips": {"type": ["array", "null"], "maxItems": 100, "items": _FIXED_IP},
    "mac_address": {"type": "string", "maxLength": 32},
    "security_groups": {"type": ["array", "null"], "maxItems": 100, "items": UUID},
    "allowed_address_pairs": _PAIRS,
    "port_security_enabled": BOOL,
    "binding:host_id": _TEXT,
    "binding:vnic_type": {"type": "string", "maxLength": 64},
    "binding:profile": {"type": ["object", "null"], "maxProperties": 64},
}

_PORT: dict[str, Any] = {
    "type": "object",
    "properties": {**_COMMON, "network_id": UUID, "project_id": PROJECT, "tenant_id": PROJECT},
    "required": ["network_id"],
    "additionalProperties": False,
}

CREATE = Validator({
    "type": "object",
    "properties": {"port": _PORT,
                   "ports": {"type": "array", "minItems": 1, "maxItems": 1000, "items": _PORT}},
    "minProperties": 1,
    "maxProperties": 1,
    "additionalProperties": False,
})

UPDATE = Validator({
    "type": "object",
    "properties": {"port": {
        "type": "object",
        "properties": _COMMON,
        "additionalProperties": False,
    }},
    "required": ["port"],
    "additionalProperties": False,
})
