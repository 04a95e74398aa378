"""The task schemas (Glance's ``/v2/schemas/task`` and ``/tasks``) and the create body."""

from __future__ import annotations

import copy
from typing import Any

from ownstack.common.api.schema import Validator
from ownstack.image.api.schemas.common import UUID_PATTERN, collection_document
from ownstack.image.objects.images import DISK_FORMATS
from ownstack.image.objects.tasks import STATUSES

# Glance's _TASK_SCHEMA: its type enum names the types Glance runs internally too.
TASK_PROPERTIES: dict[str, dict[str, Any]] = {
    "id": {"description": "An identifier for the task", "pattern": UUID_PATTERN,
           "type": "string"},
    "type": {"description": "The type of task represented by this content",
             "enum": ["import", "api_image_import", "location_import"], "type": "string"},
    "status": {"description": "The current status of this task", "enum": list(STATUSES),
               "type": "string"},
    "input": {"description": "The parameters required by task, JSON blob",
              "type": ["null", "object"]},
    "result": {"description": "The result of current task, JSON blob",
               "type": ["null", "object"]},
    "owner": {"description": "An identifier for the owner of this task", "type": "string"},
    "message": {"description": "Human-readable informative message only included when "
                               "appropriate (usually on failure)", "type": "string"},
    "image_id": {"description": "Image associated with the task", "type": "string"},
    "request_id": {"description": "Human-readable informative request-id", "type": "string"},
    "user_id": {"description": "User associated with the task", "type": "string"},
    "expires_at": {"description": "Datetime when this resource would be subject to removal",
                   "type": ["null", "string"]},
    "created_at": {"description": "Datetime when this resource was created",
                   "type": "string"},
    "updated_at": {"description": "Datetime when this resource was updated",
                   "type": "string"},
    "self": {"readOnly": True, "type": "string"},
    "schema": {"readOnly": True, "type": "string"},
}
_HIDDEN_IN_LISTS = ("input", "result", "message")

# POST /v2/tasks: Glance requires type and input; only import can run here.
CREATE = Validator({"type": "object", "required": ["type", "input"], "properties": {
    "type": {"type": "string", "enum": ["import"]},
    "input": {"type": "object"}}})
IMPORT_INPUT = Validator({
    "type": "object", "required": ["import_from", "import_from_format", "image_properties"],
    "properties": {
        "import_from": {"type": "string", "minLength": 1, "maxLength": 2048},
        "import_from_format": {"type": "string", "enum": list(DISK_FORMATS)},
        "image_properties": {"type": "object",
                             "required": ["disk_format", "container_format"]}}})


def task_document() -> dict[str, Any]:
    return {"name": "task", "properties": copy.deepcopy(TASK_PROPERTIES),
            "additionalProperties": False}


def tasks_document() -> dict[str, Any]:
    item = {"name": "task", "properties": {k: v for k, v in TASK_PROPERTIES.items()
                                           if k not in _HIDDEN_IN_LISTS},
            "additionalProperties": False}
    return collection_document("tasks", item)
