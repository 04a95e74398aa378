"""The bodies of ``/v3/projects`` and its tags."""

from __future__ import annotations

from ownstack.common.api.schema import BOOLEAN, DESCRIPTION, NAME, NULLABLE_ID, Validator
from ownstack.identity.api.schemas.common import entity_body

_OPTIONS = {"type": "object", "additionalProperties": False,
            "properties": {"immutable": {"type": ["boolean", "null"]}}}
_TAGS = {"type": "array", "items": {"type": "string"}}
# Keystone's resource schema: a project's name is 1 to 64 characters, not all blank.
_FIELDS = {"name": {**NAME, "maxLength": 64, "pattern": r"\S"}, "description": DESCRIPTION,
           "enabled": BOOLEAN,
           # null: the token's domain, or none for a project acting as a domain
           "domain_id": NULLABLE_ID, "parent_id": NULLABLE_ID, "is_domain": BOOLEAN,
           "tags": _TAGS, "options": _OPTIONS}

CREATE = entity_body("project", _FIELDS, required=("name",))
UPDATE = entity_body("project", _FIELDS, update=True)
TAGS = Validator({
    "type": "object", "required": ["tags"], "additionalProperties": False,
    "properties": {"tags": _TAGS},
})
