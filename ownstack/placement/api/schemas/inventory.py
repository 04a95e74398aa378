"""Inventory bodies (Placement's ``schemas/inventory.py``)."""

from __future__ import annotations

from typing import Any, Final

from ownstack.placement.api.schemas.common import RC_PATTERN, SQL_SP_FLOAT_MAX, extend
from ownstack.placement.objects.inventories import MAX_INT


def _int(minimum: int) -> dict[str, Any]:
    return {"type": "integer", "maximum": MAX_INT, "minimum": minimum}


BASE: Final[dict[str, Any]] = {
    "type": "object",
    "properties": {
        "resource_provider_generation": {"type": "integer"},
        "total": _int(1),
        "reserved": _int(0),
        "min_unit": _int(1),
        "max_unit": _int(1),
        "step_size": _int(1),
        "allocation_ratio": {"type": "number", "maximum": SQL_SP_FLOAT_MAX},
    },
    "required": ["total", "resource_provider_generation"],
    "additionalProperties": False,
}
# As in Placement, a record of a PUT of all inventories, and a POSTed one, may name the
# generation but need not.
_RECORD: Final = extend(BASE, drop_props=("resource_provider_generation",),
                        resource_provider_generation={"type": "integer"})
POST: Final = extend(_RECORD, resource_class={"type": "string", "pattern": RC_PATTERN},
                     require=("resource_class",))
PUT_ALL: Final[dict[str, Any]] = {
    "type": "object",
    "properties": {
        "resource_provider_generation": {"type": "integer"},
        "inventories": {"type": "object", "patternProperties": {RC_PATTERN: _RECORD},
                        "additionalProperties": False},
    },
    "required": ["resource_provider_generation", "inventories"],
    "additionalProperties": False,
}
