"""Request bodies of ``/v2.0/rbac-policies``."""

from __future__ import annotations

from typing import Any

from ownstack.common.api.schema import Validator
from ownstack.network.api.schemas.networks import PROJECT, UUID

TARGET: dict[str, Any] = {"type": "string", "minLength": 1, "maxLength": 255}

CREATE = Validator({
    "type": "object",
    "properties": {"rbac_policy": {
        "type": "object",
        "properties": {
            "object_type": {"enum": ["network"]},
            "object_id": UUID,
            "action": {"enum": ["access_as_shared", "access_as_external"]},
            "target_tenant": TARGET,
            "target_project": TARGET,
            "project_id": PROJECT,
            "tenant_id": PROJECT,
        },
        "required": ["object_type", "object_id", "action"],
        "additionalProperties": False,
    }},
    "required": ["rbac_policy"],
    "additionalProperties": False,
})

UPDATE = Validator({
    "type": "object",
    "properties": {"rbac_policy": {
        "type": "object",
        "properties": {"target_tenant": TARGET, "target_project": TARGET},
        "additionalProperties": False,
    }},
    "required": ["rbac_policy"],
    "additionalProperties": False,
})
