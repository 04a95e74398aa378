"""Aggregate bodies: a bare list before 1.19, then a list with the provider generation."""

from __future__ import annotations

from typing import Any, Final

from ownstack.placement.api.schemas.common import UUID

_LIST: Final[dict[str, Any]] = {"type": "array", "items": UUID, "uniqueItems": True}
PUT_1_1: Final = _LIST
PUT_1_19: Final[dict[str, Any]] = {
    "type": "object",
    "properties": {"aggregates": _LIST, "resource_provider_generation": {"type": "integer"}},
    "required": ["aggregates", "resource_provider_generation"],
    "additionalProperties": False,
}
