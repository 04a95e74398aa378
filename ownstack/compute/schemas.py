"""JSON schemas of compute request bodies, per microversion, after Nova's."""

from __future__ import annotations

from typing import Any, Final

_MAX_INT: Final = 2147483647
_NAME: Final = {"type": "string", "minLength": 1, "maxLength": 255,
                "pattern": r"^\S(?:.*\S)?$"}
# Nova accepts integers as JSON numbers or as strings of digits.
_POSITIVE: Final = {"type": ["integer", "string"], "pattern": "^[0-9]*$", "minimum": 1,
                    "minLength": 1, "maximum": _MAX_INT}
_NON_NEGATIVE: Final = {"type": ["integer", "string"], "pattern": "^[0-9]*$", "minimum": 0,
                        "minLength": 1, "maximum": _MAX_INT}
_BOOLEAN: Final = {"type": ["boolean", "string"], "enum": [
    True, "True", "TRUE", "true", "1", "ON", "On", "on", "YES", "Yes", "yes",
    False, "False", "FALSE", "false", "0", "OFF", "Off", "off", "NO", "No", "no"]}
_DESCRIPTION: Final = {"type": ["string", "null"], "minLength": 0, "maxLength": 65535}
_FLAVOR_ID: Final = {"type": ["string", "null"], "minLength": 1, "maxLength": 255,
                     "pattern": r"^(?! )[a-zA-Z0-9. _-]+(?<! )$"}


def create_flavor(with_description: bool) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "name": _NAME, "id": _FLAVOR_ID, "ram": _POSITIVE, "vcpus": _POSITIVE,
        "disk": _NON_NEGATIVE, "OS-FLV-EXT-DATA:ephemeral": _NON_NEGATIVE,
        # "" means no swap, as Nova's pattern lets through.
        "swap": {"type": ["integer", "string"], "pattern": "^[0-9]*$", "minimum": 0,
                 "maximum": _MAX_INT},
        "rxtx_factor": {"type": ["number", "string"], "pattern": r"^[0-9]+(\.[0-9]+)?$",
                        "exclusiveMinimum": 0, "maximum": 3.40282e38},
        "os-flavor-access:is_public": _BOOLEAN,
    }
    if with_description:
        properties["description"] = _DESCRIPTION
    return {"type": "object", "required": ["flavor"], "additionalProperties": False,
            "properties": {"flavor": {"type": "object", "properties": properties,
                                      "required": ["name", "ram", "vcpus", "disk"],
                                      "additionalProperties": False}}}


UPDATE_FLAVOR: Final = {
    "type": "object", "required": ["flavor"], "additionalProperties": False,
    "properties": {"flavor": {"type": "object", "required": ["description"],
                              "additionalProperties": False,
                              "properties": {"description": _DESCRIPTION}}}}

_SPEC_KEY: Final = r"^[a-zA-Z0-9-_:. ]{1,255}$"
_SPEC_VALUE: Final = {"type": ["string", "number", "boolean"], "minLength": 0, "maxLength": 255}

CREATE_EXTRA_SPECS: Final = {
    "type": "object", "required": ["extra_specs"], "additionalProperties": False,
    "properties": {"extra_specs": {"type": "object", "additionalProperties": False,
                                   "patternProperties": {_SPEC_KEY: _SPEC_VALUE}}}}

UPDATE_EXTRA_SPEC: Final = {
    "type": "object", "minProperties": 1, "maxProperties": 1, "additionalProperties": False,
    "patternProperties": {_SPEC_KEY: _SPEC_VALUE}}

_TENANT: Final = {"type": "object", "required": ["tenant"], "additionalProperties": False,
                  "properties": {"tenant": {"type": "string", "minLength": 1,
                                            "maxLength": 255}}}

FLAVOR_ACTION: Final = {
    "type": "object", "minProperties": 1, "maxProperties": 1, "additionalProperties": False,
    "properties": {"addTenantAccess": _TENANT, "removeTenantAccess": _TENANT}}


def create_keypair(*, with_type: bool, with_user_id: bool) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "name": {"type": "string", "minLength": 1, "maxLength": 255},
        "public_key": {"type": "string"},
    }
    if with_type:
        properties["type"] = {"type": "string", "enum": ["ssh", "x509"]}
    if with_user_id:
        properties["user_id"] = {"type": "string", "minLength": 1, "maxLength": 255}
    return {"type": "object", "required": ["keypair"], "additionalProperties": False,
            "properties": {"keypair": {"type": "object", "properties": properties,
                                       "required": ["name"], "additionalProperties": False}}}
