"""Trait names, provider trait bodies and the GET /traits query."""

from __future__ import annotations

from typing import Any, Final

from ownstack.placement.api.schemas.common import CUSTOM_PATTERN

TRAIT: Final[dict[str, Any]] = {"type": "string", "minLength": 1, "maxLength": 255}
CUSTOM_TRAIT: Final[dict[str, Any]] = {**TRAIT, "pattern": CUSTOM_PATTERN}
SET_PROVIDER_TRAITS: Final[dict[str, Any]] = {
    "type": "object",
    "properties": {"traits": {"type": "array", "items": TRAIT},
                   "resource_provider_generation": {"type": "integer"}},
    "required": ["traits", "resource_provider_generation"],
    "additionalProperties": False,
}
LIST: Final[dict[str, Any]] = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "associated": {"type": "string"}},
    "additionalProperties": False,
}
