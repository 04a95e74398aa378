"""The body of ``POST /v3/users/{user_id}/application_credentials``."""

from __future__ import annotations

from ownstack.common.api.schema import BOOLEAN, DESCRIPTION, ID, NAME
from ownstack.identity.api.schemas.common import entity_body

_ROLE_REF = {"type": "object", "minProperties": 1, "maxProperties": 1,
             "additionalProperties": False, "properties": {"id": ID, "name": NAME}}

# Keystone ignores attributes it does not know here (clients send e.g. "user"), so do we.
CREATE = entity_body("application_credential", {
    "name": NAME, "description": DESCRIPTION,
    "secret": {"type": ["string", "null"], "maxLength": 4096},
    "expires_at": {"type": ["string", "null"]},
    "roles": {"type": "array", "items": _ROLE_REF},
    "unrestricted": BOOLEAN,
    "access_rules": {"type": ["array", "null"]},
}, required=("name",))
