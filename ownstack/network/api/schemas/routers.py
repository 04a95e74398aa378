"""Request bodies of ``/v2.0/routers``, its interface actions and its extra-route actions."""

from __future__ import annotations

from typing import Any

from ownstack.common.api.schema import Validator
from ownstack.network.api.schemas.networks import BOOL, DESCRIPTION, NAME, PROJECT, UUID

_FIXED_IP: dict[str, Any] = {
    "type": "object",
    "properties": {"subnet_id": UUID, "ip_address": {"type": "string", "maxLength": 64}},
    "additionalProperties": False,
}
_GATEWAY: dict[str, Any] = {
    "type": ["object", "null"],
    "properties": {
        "network_id": {"type": ["string", "null"], "maxLength": 36},
        "enable_snat": {**BOOL, "type": ["boolean", "string", "integer", "null"],
                        "enum": [*BOOL["enum"], None]},
        "external_fixed_ips": {"type": ["array", "null"], "maxItems": 100,
                               "items": _FIXED_IP},
    },
    "additionalProperties": False,
}
# Each route is checked by subnet_rules.parse_host_routes, with Neutron's messages.
_ROUTES: dict[str, Any] = {"type": ["array", "null"], "maxItems": 1000,
                           "items": {"type": "object"}}

_COMMON: dict[str, Any] = {
    "name": NAME,
    "description": DESCRIPTION,
    "admin_state_up": BOOL,
    "external_gateway_info": _GATEWAY,
}

CREATE = Validator({
    "type": "object",
    "properties": {"router": {
        "type": "object",
        "properties": {
            **_COMMON,
            "project_id": PROJECT,
            "tenant_id": PROJECT,
            "availability_zone_hints": {"type": "array", "maxItems": 16,
                                        "items": {"type": "string", "maxLength": 255}},
        },
        "additionalProperties": False,
    }},
    "required": ["router"],
    "additionalProperties": False,
})

UPDATE = Validator({
    "type": "object",
    "properties": {"router": {
        "type": "object",
        "properties": {**_COMMON, "routes": _ROUTES},
        "additionalProperties": False,
    }},
    "required": ["router"],
    "additionalProperties": False,
})

INTERFACE = Validator({
    "type": "object",
    "properties": {"subnet_id": UUID, "port_id": UUID},
    "additionalProperties": False,
})

EXTRAROUTES = Validator({
    "type": "object",
    "properties": {"router": {
        "type": "object",
        "properties": {"routes": {**_ROUTES, "type": "array"}},
        "required": ["routes"],
        "additionalProperties": False,
    }},
    "required": ["router"],
    "additionalProperties": False,
})
