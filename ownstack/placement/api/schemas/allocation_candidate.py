"""The GET /allocation_candidates query, per microversion (Placement's schema).

Values are validated here only as strings; their syntax (``VCPU:1``, ``in:a,b``, ``!T``)
is parsed, with Placement's messages, by :mod:`ownstack.placement.api.request_groups`.
"""

from __future__ import annotations

from typing import Any, Final

from ownstack.placement.api.schemas.common import GROUP_SUFFIX, GROUP_SUFFIX_1_33, extend

_STRING: Final[dict[str, Any]] = {"type": "string"}

GET_1_10: Final[dict[str, Any]] = {
    "type": "object",
    "properties": {"resources": _STRING},
    "required": ["resources"],
    "additionalProperties": False,
}
GET_1_16: Final = extend(GET_1_10, limit={"type": "string", "pattern": "^[1-9][0-9]*$"})
GET_1_17: Final = extend(GET_1_16, required=_STRING)
GET_1_21: Final = extend(GET_1_17, member_of=_STRING)


def _granular(suffix: str, prefixes: tuple[str, ...]) -> dict[str, Any]:
    return {f"^{prefix}({suffix})?$": _STRING for prefix in prefixes}


GET_1_25: Final[dict[str, Any]] = {
    "type": "object",
    "properties": {"limit": GET_1_16["properties"]["limit"],
                   "group_policy": {"type": "string", "enum": ["none", "isolate"]}},
    "patternProperties": _granular(GROUP_SUFFIX, ("resources", "required", "member_of")),
    "additionalProperties": False,
}
GET_1_31: Final[dict[str, Any]] = {
    **GET_1_25,
    "patternProperties": _granular(GROUP_SUFFIX,
                                   ("resources", "required", "member_of", "in_tree")),
}
GET_1_33: Final[dict[str, Any]] = {
    **GET_1_25,
    "patternProperties": _granular(GROUP_SUFFIX_1_33,
                                   ("resources", "required", "member_of", "in_tree")),
}
GET_1_35: Final = extend(GET_1_33, root_required=_STRING)
GET_1_36: Final = extend(GET_1_35, same_subtree=_STRING)
