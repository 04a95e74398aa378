"""The bodies of ``/v3/users`` and of the self-service password change."""

from __future__ import annotations

from ownstack.common.api.schema import BOOLEAN, DESCRIPTION, ID, NAME, NULLABLE_ID
from ownstack.identity.api.schemas.common import entity_body

_FLAG = {"type": ["boolean", "null"]}
_OPTIONS = {"type": "object", "additionalProperties": False, "properties": {
    "ignore_change_password_upon_first_use": _FLAG, "ignore_password_expiry": _FLAG,
    "ignore_lockout_failure_attempts": _FLAG, "lock_password": _FLAG,
    "ignore_user_inactivity": _FLAG, "multi_factor_auth_enabled": _FLAG,
    "multi_factor_auth_rules": {"type": ["array", "null"],
                                "items": {"type": "array", "items": {"type": "string"}}},
}}
_PASSWORD = {"type": "string", "maxLength": 4096}
_FIELDS = {"name": {**NAME, "pattern": r"\S"}, "domain_id": ID,
           "password": {**_PASSWORD, "type": ["string", "null"]}, "enabled": BOOLEAN,
           "default_project_id": NULLABLE_ID, "description": DESCRIPTION,
           "email": {"type": ["string", "null"], "maxLength": 255}, "options": _OPTIONS}

CREATE = entity_body("user", _FIELDS, required=("name",))
UPDATE = entity_body("user", _FIELDS, update=True)
CHANGE_PASSWORD = entity_body(
    "user", {"password": _PASSWORD, "original_password": _PASSWORD},
    required=("password", "original_password"), closed=True)
