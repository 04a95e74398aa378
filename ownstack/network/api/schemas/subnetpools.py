"""Request bodies of ``/v2.0/subnetpools``."""

from __future__ import annotations

from typing import Any

from ownstack.common.api.schema import Validator
from ownstack.network.api.schemas.networks import BOOL, DESCRIPTION, NAME, PROJECT

_PREFIXLEN: dict[str, Any] = {"type": ["integer", "null"], "minimum": 0, "maximum": 128}

_UPDATABLE: dict[str, Any] = {
    "name": NAME,
    "description": DESCRIPTION,
    "prefixes": {"type": "array", "maxItems": 1024,
                 "items": {"type": "string", "maxLength": 64}},
    "default_prefixlen": _PREFIXLEN,
    "min_prefixlen": _PREFIXLEN,
    "max_prefixlen": _PREFIXLEN,
    "is_default": BOOL,
    "default_quota": {"type": ["integer", "null"], "minimum": 0, "maximum": 2**31 - 1},
}

CREATE = Validator({
    "type": "object",
    "properties": {"subnetpool": {
        "type": "object",
        "properties": {**_UPDATABLE, "shared": BOOL, "project_id": PROJECT,
                       "tenant_id": PROJECT},
        "required": ["prefixes"],
        "additionalProperties": False,
    }},
    "required": ["subnetpool"],
    "additionalProperties": False,
})

UPDATE = Validator({
    "type": "object",
    "properties": {"subnetpool": {
        "type": "object",
        "properties": _UPDATABLE,
        "additionalProperties": False,
    }},
    "required": ["subnetpool"],
    "additionalProperties": False,
})
