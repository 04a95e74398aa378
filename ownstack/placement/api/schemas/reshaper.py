"""POST /reshaper bodies (1.30+; allocations as in POST /allocations of that version)."""

from __future__ import annotations

from typing import Any, Final

from ownstack.placement.api.schemas import allocation, inventory
from ownstack.placement.api.schemas.common import UUID_KEY


def _reshaper(allocations: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "inventories": {"type": "object", "minProperties": 1, "additionalProperties": False,
                            "patternProperties": {UUID_KEY: inventory.PUT_ALL}},
            "allocations": {**allocations, "minProperties": 0},
        },
        "required": ["inventories", "allocations"],
        "additionalProperties": False,
    }


POST_1_30: Final = _reshaper(allocation.POST_1_28)
POST_1_34: Final = _reshaper(allocation.POST_1_34)
POST_1_38: Final = _reshaper(allocation.POST_1_38)
