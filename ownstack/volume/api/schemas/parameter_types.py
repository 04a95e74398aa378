"""The parameter types the volume schemas share, after Cinder's
``api/validation/parameter_types.py``."""

from __future__ import annotations

from typing import Any, Final

from ownstack.common.api.microversion import Version
from ownstack.common.api.schema import FLEXIBLE_BOOLEAN

BASE_VERSION: Final = Version(3, 0)
MAX_INT: Final = 2147483647         # Cinder's constants.DB_MAX_INT

BOOLEAN: Final = FLEXIBLE_BOOLEAN
NAME: Final = {"type": ["string", "null"], "minLength": 0, "maxLength": 255}
REQUIRED_NAME: Final = {"type": "string", "minLength": 1, "maxLength": 255,
                        "pattern": r"^(?!\s*$).+"}
DESCRIPTION: Final = {"type": ["string", "null"], "minLength": 0, "maxLength": 255}
UUID: Final = {"type": "string", "format": "uuid"}
NULLABLE_UUID: Final = {"type": ["string", "null"], "format": "uuid"}
# Cinder takes sizes as JSON integers or strings of digits, at least 1.
SIZE: Final = {"type": ["integer", "string"], "pattern": "^[0-9]+$", "minimum": 1,
               "maximum": MAX_INT}
NULLABLE_SIZE: Final = {"type": ["integer", "string", "null"], "pattern": "^[0-9]+$",
                        "minimum": 1, "maximum": MAX_INT}
QUOTA_LIMIT: Final = {"type": ["integer", "string"], "pattern": "^-?[0-9]+$", "minimum": -1,
                      "maximum": MAX_INT}
METADATA: Final = {
    "type": "object", "additionalProperties": False,
    "patternProperties": {"^.{1,255}$": {"type": "string", "maxLength": 255}}}
NULLABLE_METADATA: Final = {**METADATA, "type": ["object", "null"]}
CONNECTOR: Final = {"type": "object"}
EMPTY: Final = {"type": ["object", "null"], "additionalProperties": False,
                "properties": {}}


def one(key: str, value: Any) -> dict[str, Any]:
    """A body holding exactly ``{key: value}``."""
    return {"type": "object", "required": [key], "additionalProperties": False,
            "properties": {key: value}}


def wrapped(key: str, properties: dict[str, Any], required: list[str] | None = None, *,
            strict: bool = True, min_properties: int = 0) -> dict[str, Any]:
    """A body ``{key: {...}}`` whose object takes ``properties`` (and no others when
    ``strict``)."""
    inner: dict[str, Any] = {"type": "object", "properties": properties,
                             "required": required or [], "additionalProperties": not strict}
    if min_properties:
        inner["minProperties"] = min_properties
    return one(key, inner)
