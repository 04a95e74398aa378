"""Request bodies of ``/v2.0/networks``."""

from __future__ import annotations

from typing import Any

from ownstack.common.api.schema import Validator

# Neutron's convert_to_boolean: a JSON boolean, or a string or number that reads as one.
BOOL: dict[str, Any] = {"type": ["boolean", "string", "integer"],
                        "enum": [True, False, "true", "false", "True", "False", "TRUE", "FALSE",
                                 "1", "0", 1, 0]}
NAME: dict[str, Any] = {"type": "string", "maxLength": 255}
# Neutron's convert_to_int: a JSON integer, or a string of digits (the CLI sends "1400").
INT_OR_DIGITS: dict[str, Any] = {"type": ["integer", "string"], "pattern": "^-?[0-9]{1,19}$"}
DESCRIPTION: dict[str, Any] = {"type": "string", "maxLength": 255}
PROJECT: dict[str, Any] = {"type": "string", "minLength": 1, "maxLength": 255}
UUID: dict[str, Any] = {"type": "string", "minLength": 1, "maxLength": 36}

_COMMON: dict[str, Any] = {
    "name": NAME,
    "description": DESCRIPTION,
    "admin_state_up": BOOL,
    "shared": BOOL,
    "router:external": BOOL,
    "is_default": BOOL,
    "mtu": {**INT_OR_DIGITS, "minimum": 68, "maximum": 65535},
    "port_security_enabled": BOOL,
}

_NEW_NETWORK: dict[str, Any] = {
    "type": "object",
    "properties": {
        **_COMMON,
        "project_id": PROJECT,
        "tenant_id": PROJECT,
        "provider:network_type": {"type": ["string", "null"], "maxLength": 32},
        "provider:physical_network": {"type": ["string", "null"], "minLength": 1,
                                      "maxLength": 64},
        "provider:segmentation_id": {"type": ["integer", "string", "null"],
                                     "pattern": INT_OR_DIGITS["pattern"]},
        "availability_zone_hints": {"type": "array", "maxItems": 16,
                                    "items": {"type": "string", "maxLength": 255}},
    },
    "additionalProperties": False,
}

CREATE = Validator({
    "type": "object",
    "properties": {"network": _NEW_NETWORK},
    "required": ["network"],
    "additionalProperties": False,
})

# Neutron's bulk create: several networks made all or none.
CREATE_BULK = Validator({
    "type": "object",
    "properties": {"networks": {"type": "array", "minItems": 1, "maxItems": 100,
                                "items": _NEW_NETWORK}},
    "required": ["networks"],
    "additionalProperties": False,
})

UPDATE = Validator({
    "type": "object",
    "properties": {"network": {
        "type": "object",
        "properties": _COMMON,
        "additionalProperties": False,
    }},
    "required": ["network"],
    "additionalProperties": False,
})
