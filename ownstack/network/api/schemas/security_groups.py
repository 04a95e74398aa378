"""Request bodies of ``/v2.0/security-groups`` and ``/v2.0/security-group-rules``.

A rule's matching fields take any JSON here: :func:`ownstack.network.sg_rules.normalise_rule`
converts and checks them with Neutron's own error types and messages, which a schema's
generic 400 would hide.
"""

from __future__ import annotations

from typing import Any

from ownstack.common.api.schema import Validator
from ownstack.network.api.schemas.networks import BOOL, DESCRIPTION, NAME, PROJECT, UUID

_GROUP: dict[str, Any] = {"name": NAME, "description": DESCRIPTION, "stateful": BOOL}

CREATE_GROUP = Validator({
    "type": "object",
    "properties": {"security_group": {
        "type": "object",
        "properties": {**_GROUP, "project_id": PROJECT, "tenant_id": PROJECT},
        "additionalProperties": False,
    }},
    "required": ["security_group"],
    "additionalProperties": False,
})

UPDATE_GROUP = Validator({
    "type": "object",
    "properties": {"security_group": {
        "type": "object",
        "properties": _GROUP,
        "additionalProperties": False,
    }},
    "required": ["security_group"],
    "additionalProperties": False,
})

_ANY: dict[str, Any] = {}
_RULE: dict[str, Any] = {
    "type": "object",
    "properties": {
        "security_group_id": UUID,
        "direction": _ANY,
        "ethertype": _ANY,
        "protocol": _ANY,
        "port_range_min": _ANY,
        "port_range_max": _ANY,
        "remote_ip_prefix": _ANY,
        "remote_group_id": _ANY,
        # Address groups are not implemented: only "none" may be said.
        "remote_address_group_id": {"type": "null"},
        "description": DESCRIPTION,
        "project_id": PROJECT,
        "tenant_id": PROJECT,
    },
    "required": ["security_group_id"],
    "additionalProperties": False,
}

# One rule, or Neutron's bulk form {"security_group_rules": [rule, ...]}.
CREATE_RULES = Validator({
    "type": "object",
    "properties": {
        "security_group_rule": _RULE,
        "security_group_rules": {"type": "array", "minItems": 1, "maxItems": 1000,
                                 "items": _RULE},
    },
    "minProperties": 1,
    "maxProperties": 1,
    "additionalProperties": False,
})
