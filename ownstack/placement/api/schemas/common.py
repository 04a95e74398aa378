"""Patterns and fragments the placement schemas share (Placement's ``schemas/common.py``)."""

from __future__ import annotations

from typing import Any, Final

SQL_SP_FLOAT_MAX: Final = 3.40282e38

# Keys that are provider or consumer uuids: 36 characters of hex and dashes, as Placement.
UUID_KEY: Final = "^[0-9a-fA-F-]{36}$"
# A uuid value: with or without dashes, as oslo's is_uuid_like accepts.
UUID_VALUE: Final = (r"^(?:[0-9a-fA-F]{32}|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                     r"[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$")
RC_PATTERN: Final = "^[A-Z0-9_]+$"
CUSTOM_PATTERN: Final = "^CUSTOM_[A-Z0-9_]+$"
CONSUMER_TYPE_PATTERN: Final = RC_PATTERN
CONSUMER_TYPE_GET_PATTERN: Final = "^[A-Z0-9_]+$|^all$|^unknown$"
GROUP_SUFFIX: Final = "[1-9][0-9]*"
GROUP_SUFFIX_1_33: Final = "[a-zA-Z0-9_-]{1,64}"

UUID: Final[dict[str, Any]] = {"type": "string", "pattern": UUID_VALUE}
NULLABLE_UUID: Final[dict[str, Any]] = {"anyOf": [UUID, {"type": "null"}]}


def extend(schema: dict[str, Any], *, drop_props: tuple[str, ...] = (),
           require: tuple[str, ...] = (), **properties: Any) -> dict[str, Any]:
    """A copy of an object schema with properties added or dropped: how a schema grows
    from one microversion to the next."""
    props = {k: v for k, v in schema["properties"].items() if k not in drop_props}
    props.update(properties)
    result = {**schema, "properties": props}
    needed = [name for name in schema.get("required", []) if name not in drop_props]
    needed += [name for name in require if name not in needed]
    if needed:
        result["required"] = needed
    else:
        result.pop("required", None)
    return result
