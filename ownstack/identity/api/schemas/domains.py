"""The bodies of ``/v3/domains``."""

from __future__ import annotations

from ownstack.common.api.schema import BOOLEAN, DESCRIPTION, NAME
from ownstack.identity.api.schemas.common import entity_body

# Keystone's resource schema: a domain's or project's name is 1 to 64 characters.
_NAME = {**NAME, "maxLength": 64}
_FIELDS = {"name": _NAME, "description": DESCRIPTION, "enabled": BOOLEAN,
           "tags": {"type": "array", "items": {"type": "string"}}, "options": {"type": "object"}}

CREATE = entity_body("domain", {
    **_FIELDS, "explicit_domain_id": {"type": "string", "pattern": "^[a-zA-Z0-9_-]{1,64}$"}},
    required=("name",))
UPDATE = entity_body("domain", _FIELDS, update=True, forbid_id=True)
