"""Allocation bodies, per microversion (Placement's ``schemas/allocation.py``).

Before 1.12 a consumer's allocations are a list of ``{resource_provider: {uuid}, resources}``;
from 1.12 a dict keyed by provider uuid. 1.13 adds POST /allocations for many consumers,
1.28 the consumer generation, 1.34 mappings and 1.38 the consumer type.
"""

from __future__ import annotations

from typing import Any, Final

from ownstack.placement.api.schemas.common import (
    CONSUMER_TYPE_PATTERN,
    GROUP_SUFFIX_1_33,
    RC_PATTERN,
    UUID,
    UUID_KEY,
    extend,
)

_RESOURCES: Final[dict[str, Any]] = {
    "type": "object",
    "minProperties": 1,
    "patternProperties": {RC_PATTERN: {"type": "integer", "minimum": 1}},
    "additionalProperties": False,
}
_ID: Final[dict[str, Any]] = {"type": "string", "minLength": 1, "maxLength": 255}

PUT_1_0: Final[dict[str, Any]] = {
    "type": "object",
    "properties": {
        "allocations": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "properties": {
                    "resource_provider": {
                        "type": "object",
                        "properties": {"uuid": UUID},
                        "required": ["uuid"],
                        "additionalProperties": False,
                    },
                    "resources": _RESOURCES,
                },
                "required": ["resource_provider", "resources"],
                "additionalProperties": False,
            },
        },
    },
    "required": ["allocations"],
    "additionalProperties": False,
}
PUT_1_8: Final = extend(PUT_1_0, project_id=_ID, user_id=_ID, require=("project_id", "user_id"))

_BY_PROVIDER: Final[dict[str, Any]] = {
    "type": "object",
    "minProperties": 1,
    "patternProperties": {UUID_KEY: {
        "type": "object",
        "properties": {"generation": {"type": "integer"}, "resources": _RESOURCES},
        "required": ["resources"],
        "additionalProperties": False,
    }},
    "additionalProperties": False,
}
PUT_1_12: Final[dict[str, Any]] = {
    "type": "object",
    "properties": {"allocations": _BY_PROVIDER, "project_id": _ID, "user_id": _ID},
    "required": ["allocations", "project_id", "user_id"],
    "additionalProperties": False,
}
# From 1.28 an empty dict is how PUT removes a consumer's allocations.
_DELETABLE: Final = extend(PUT_1_12, allocations={**_BY_PROVIDER, "minProperties": 0})
_GENERATION: Final[dict[str, Any]] = {"type": ["integer", "null"]}
PUT_1_28: Final = extend(_DELETABLE, consumer_generation=_GENERATION,
                         require=("consumer_generation",))
_MAPPINGS: Final[dict[str, Any]] = {
    "type": "object",
    "minProperties": 1,
    "patternProperties": {GROUP_SUFFIX_1_33: {"type": "array", "minItems": 1, "items": UUID}},
}
PUT_1_34: Final = extend(PUT_1_28, mappings=_MAPPINGS)
PUT_1_38: Final = extend(PUT_1_34, require=("consumer_type",), consumer_type={
    **_ID, "pattern": CONSUMER_TYPE_PATTERN})


def _many(one: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "minProperties": 1, "additionalProperties": False,
            "patternProperties": {UUID_KEY: one}}


POST_1_13: Final = _many(_DELETABLE)
POST_1_28: Final = _many(PUT_1_28)
POST_1_34: Final = _many(PUT_1_34)
POST_1_38: Final = _many(PUT_1_38)
