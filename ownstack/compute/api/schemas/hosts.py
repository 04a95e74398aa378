"""``os-hosts`` bodies, after Nova's ``schemas/hosts.py``: ``status`` and/or
``maintenance_mode``, each ``enable`` or ``disable`` in one of Nova's three spellings.

Queries are not checked: Nova's take any parameter (the list reads ``zone`` only).
"""

from __future__ import annotations

from typing import Final

from ownstack.common.api.schema import Validator

_SWITCH: Final = {"type": "string", "enum": ["enable", "disable", "Enable", "Disable",
                                             "ENABLE", "DISABLE"]}

# PUT /os-hosts/{host}
UPDATE: Final = Validator({
    "type": "object", "additionalProperties": False,
    "properties": {"status": _SWITCH, "maintenance_mode": _SWITCH},
    "anyOf": [{"required": ["status"]}, {"required": ["maintenance_mode"]}]})
