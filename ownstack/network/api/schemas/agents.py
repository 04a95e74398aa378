"""Request bodies of ``/v2.0/agents``: an admin may switch an agent off or describe it."""

from __future__ import annotations

from ownstack.common.api.schema import Validator
from ownstack.network.api.schemas.networks import BOOL, DESCRIPTION

UPDATE = Validator({
    "type": "object",
    "properties": {"agent": {
        "type": "object",
        "properties": {"admin_state_up": BOOL, "description": DESCRIPTION},
        "additionalProperties": False,
    }},
    "required": ["agent"],
    "additionalProperties": False,
})
