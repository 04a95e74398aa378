"""The bodies of ``/v3/credentials``, ``OS-EC2`` and ``/v3/policies``, as Keystone's
schemas: other attributes are kept as ``extra``."""

from __future__ import annotations

from typing import Any

from ownstack.common.api.schema import ID, NULLABLE_ID, Validator

_TYPE = {"type": "string", "minLength": 1, "maxLength": 255}
_CREDENTIAL = {"blob": {"type": "string"}, "project_id": NULLABLE_ID, "type": _TYPE,
               "user_id": ID}


def _body(key: str, inner: dict[str, Any]) -> Validator:
    return Validator({"type": "object", "required": [key], "additionalProperties": False,
                      "properties": {key: {"type": "object", **inner}}})


CREATE_CREDENTIAL = _body("credential", {
    "required": ["blob", "type", "user_id"],
    "properties": {"id": {"type": "string"}, **_CREDENTIAL},
    # An EC2 key pair works only in a project.
    "if": {"required": ["type"], "properties": {"type": {"const": "ec2"}}},
    "then": {"required": ["project_id"]},
})
UPDATE_CREDENTIAL = _body("credential", {"minProperties": 1, "properties": {
    "id": {"type": "string"}, **_CREDENTIAL}})

# ``POST /v3/users/{user_id}/credentials/OS-EC2``: the project the key pair works in.
CREATE_EC2 = Validator({"type": "object", "required": ["tenant_id"],
                        "properties": {"tenant_id": ID}})

_POLICY = {"blob": {"type": "string"}, "type": _TYPE, "id": {"type": "string"}}
CREATE_POLICY = _body("policy", {"required": ["blob", "type"], "properties": _POLICY})
UPDATE_POLICY = _body("policy", {"minProperties": 1, "properties": _POLICY})
