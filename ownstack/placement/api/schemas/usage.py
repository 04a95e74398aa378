"""The GET /usages query (Placement's ``schemas/usage.py``)."""

from __future__ import annotations

from typing import Any, Final

from ownstack.placement.api.schemas.common import CONSUMER_TYPE_GET_PATTERN, extend

_ID: Final[dict[str, Any]] = {"type": "string", "minLength": 1, "maxLength": 255}
GET_1_9: Final[dict[str, Any]] = {
    "type": "object",
    "properties": {"project_id": _ID, "user_id": _ID},
    "required": ["project_id"],
    "additionalProperties": False,
}
GET_1_38: Final = extend(GET_1_9, consumer_type={**_ID, "pattern": CONSUMER_TYPE_GET_PATTERN})
