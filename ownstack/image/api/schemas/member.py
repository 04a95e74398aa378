"""The member schema: Glance's ``/v2/schemas/member``, and the bodies that add a member
and answer a share."""

from __future__ import annotations

from typing import Any

from ownstack.common.api.schema import Validator
from ownstack.image.api.schemas.common import UUID_PATTERN, collection_document
from ownstack.image.objects.images import MEMBER_STATUSES

MEMBER_PROPERTIES: dict[str, dict[str, Any]] = {
    "member_id": {"type": "string",
                  "description": "An identifier for the image member (tenantId)"},
    "image_id": {"type": "string", "description": "An identifier for the image",
                 "pattern": UUID_PATTERN},
    "created_at": {"type": "string", "description": "Date and time of image member creation"},
    "updated_at": {"type": "string",
                   "description": "Date and time of last modification of image member"},
    "status": {"type": "string", "description": "The status of this image member",
               "enum": list(MEMBER_STATUSES)},
    "schema": {"type": "string"},
}

CREATE = Validator({"type": "object", "required": ["member"], "properties": {
    "member": {"type": "string", "minLength": 1, "maxLength": 64}}})
UPDATE = Validator({"type": "object", "required": ["status"], "properties": {
    "status": {"enum": list(MEMBER_STATUSES)}}})


def member_document() -> dict[str, Any]:
    return {"name": "member", "properties": MEMBER_PROPERTIES, "additionalProperties": False}


def members_document() -> dict[str, Any]:
    return collection_document("members", member_document())
