"""The bodies of ``/v3/roles``."""

from __future__ import annotations

from ownstack.common.api.schema import DESCRIPTION, NAME, NULLABLE_ID
from ownstack.identity.api.schemas.common import entity_body

_OPTIONS = {"type": "object", "additionalProperties": False,
            "properties": {"immutable": {"type": ["boolean", "null"]}}}
_FIELDS = {"name": {**NAME, "pattern": r"\S"}, "description": DESCRIPTION,
           "domain_id": NULLABLE_ID, "options": _OPTIONS}

CREATE = entity_body("role", _FIELDS, required=("name",), forbid_id=True)
UPDATE = entity_body("role", _FIELDS, update=True, forbid_id=True)
