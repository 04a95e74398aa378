"""The parameter types the volume schemas share, after Cinder's
``api/validation/parameter_types.py``."""

from __future__ import annotations

from typing import Any, Final

from ownstack.common.api.microversion import Version
from ownstack.common.api.schema import FLEXIBLE_BOOLEAN
from ownstack.volume.errors import InvalidInput

BASE_VERSION: Final = Version(3, 0)
MAX_INT: Final = 2147483647         # Cinder's constants.DB_MAX_INT

BOOLEAN: Final = FLEXIBLE_BOOLEAN
NAME: Final = {"type": ["string", "null"], "minLength": 0, "maxLength": 255}
REQUIRED_NAME: Final = {"type": "string", "minLength": 1, "maxLength": 255,
                        "pattern": r"^(?!\s*$).+"}
DESCRIPTION: Final = {"type": ["string", "null"], "minLength": 0, "maxLength": 255}
UUID: Final = {"type": "string", "format": "uuid"}
NULLABLE_UUID: Final = {"type": ["string", "null"], "format": "uuid"}
# Cinder takes sizes as JSON integers or strings of digits, at least 1. A string's range
# is its pattern's (JSON Schema's minimum and maximum apply to numbers only); what the
# pattern cannot bound (a ten-digit string over MAX_INT) the handler refuses (in_range).
SIZE: Final = {"type": ["integer", "string"], "pattern": "^[1-9][0-9]{0,9}$", "minimum": 1,
               "maximum": MAX_INT}
NULLABLE_SIZE: Final = {**SIZE, "type": ["integer", "string", "null"]}
QUOTA_LIMIT: Final = {"type": ["integer", "string"], "pattern": "^(-1|0|[1-9][0-9]{0,9})$",
                      "minimum": -1, "maximum": MAX_INT}


def in_range(value: object, name: str, minimum: int) -> int:
    """A number the schema let through (an integer or a string of digits) as an int
    within ``[minimum, MAX_INT]``; :class:`InvalidInput` (400) otherwise."""
    number = int(str(value))
    if not minimum <= number <= MAX_INT:
        raise InvalidInput(f"{name} must be an integer between {minimum} and {MAX_INT}.")
    return number
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
