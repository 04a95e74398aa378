"""Custom resource class names (Placement's ``schemas/resource_class.py``)."""

from __future__ import annotations

from typing import Any, Final

from ownstack.placement.api.schemas.common import CUSTOM_PATTERN

NAME: Final[dict[str, Any]] = {"type": "string", "pattern": CUSTOM_PATTERN, "maxLength": 255}
POST: Final[dict[str, Any]] = {
    "type": "object",
    "properties": {"name": NAME},
    "required": ["name"],
    "additionalProperties": False,
}
PUT_1_2: Final = POST
