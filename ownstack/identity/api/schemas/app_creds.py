"""The body of ``POST /v3/users/{user_id}/application_credentials``."""

from __future__ import annotations

from ownstack.common.api.schema import BOOLEAN, DESCRIPTION, ID, NAME
from ownstack.identity.api.schemas.common import entity_body

_ROLE_REF = {"type": "object", "minProperties": 1, "maxProperties": 1,
             "additionalProperties": False, "properties": {"id": ID, "name": NAME}}

# Keystone's access rule: a method on a path pattern (``*`` one segment, ``**`` any) of
# the service of a catalog type; or the id of one of the user's rules.
_ACCESS_RULE = {"type": "object", "additionalProperties": False, "minProperties": 1,
                "properties": {
                    "id": ID,
                    "service": {"type": "string", "minLength": 1, "maxLength": 64},
                    "path": {"type": "string", "maxLength": 225, "pattern": "^/"},
                    "method": {"enum": ["DELETE", "GET", "HEAD", "PATCH", "POST", "PUT"]}}}

# Keystone ignores attributes it does not know here (clients send e.g. "user"), so do we.
CREATE = entity_body("application_credential", {
    "name": NAME, "description": DESCRIPTION,
    "secret": {"type": ["string", "null"], "maxLength": 4096},
    "expires_at": {"type": ["string", "null"]},
    "roles": {"type": "array", "items": _ROLE_REF},
    "unrestricted": BOOLEAN,
    "access_rules": {"type": ["array", "null"], "items": _ACCESS_RULE},
}, required=("name",))
