"""``os-services`` bodies and query, after Nova's ``schemas/services.py``."""

from __future__ import annotations

from typing import Any, Final

from ownstack.common.api.microversion import Version, at_least
from ownstack.common.api.schema import ByVersion, Validator
from ownstack.compute.api.schemas.parameter_types import BASE_VERSION, SHORT_TEXT

_FORCED_DOWN: Final = {"type": "boolean"}

# PUT /os-services/{uuid} (2.53+).
UPDATE: Final = Validator({
    "type": "object", "additionalProperties": False,
    "properties": {"status": {"type": "string", "enum": ["enabled", "disabled"]},
                   "disabled_reason": SHORT_TEXT,
                   "forced_down": _FORCED_DOWN}})


def _legacy_action(version: Version) -> dict[str, Any]:
    """The body of ``PUT /os-services/{enable,disable,disable-log-reason,force-down}``,
    the actions that 2.53 replaced by ``PUT /os-services/{uuid}``; 2.11 adds
    ``forced_down``."""
    properties: dict[str, Any] = {"host": SHORT_TEXT, "binary": SHORT_TEXT,
                                  "disabled_reason": SHORT_TEXT}
    if at_least(version, "2.11"):
        properties["forced_down"] = _FORCED_DOWN
    return {"type": "object", "required": ["host", "binary"], "additionalProperties": False,
            "properties": properties}


LEGACY_ACTION: Final = ByVersion(_legacy_action, "2.11", base=BASE_VERSION)
LIST_QUERY: Final = frozenset({"host", "binary"})
