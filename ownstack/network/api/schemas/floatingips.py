"""Request bodies of ``/v2.0/floatingips``."""

from __future__ import annotations

from ownstack.common.api.schema import Validator
from ownstack.network.api.schemas.networks import DESCRIPTION, PROJECT, UUID

_ADDRESS = {"type": ["string", "null"], "maxLength": 64}

CREATE = Validator({
    "type": "object",
    "properties": {"floatingip": {
        "type": "object",
        "properties": {
            "floating_network_id": UUID,
            "floating_ip_address": _ADDRESS,
            "subnet_id": {"type": ["string", "null"], "maxLength": 36},
            "port_id": {"type": ["string", "null"], "maxLength": 36},
            "fixed_ip_address": _ADDRESS,
            "description": DESCRIPTION,
            "project_id": PROJECT,
            "tenant_id": PROJECT,
        },
        "required": ["floating_network_id"],
        "additionalProperties": False,
    }},
    "required": ["floatingip"],
    "additionalProperties": False,
})

UPDATE = Validator({
    "type": "object",
    "properties": {"floatingip": {
        "type": "object",
        "properties": {
            "port_id": {"type": ["string", "null"], "maxLength": 36},
            "fixed_ip_address": _ADDRESS,
            "description": DESCRIPTION,
        },
        "additionalProperties": False,
    }},
    "required": ["floatingip"],
    "additionalProperties": False,
})
