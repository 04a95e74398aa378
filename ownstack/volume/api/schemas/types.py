"""Volume types, their extra specs, access and QoS specs, after Cinder's
``schemas/volume_types.py``, ``types_extra_specs.py``, ``volume_type_access.py`` and
``qos_specs.py``; and per-project default types (``default_types.py``)."""

from __future__ import annotations

from typing import Final

from ownstack.common.api.schema import Validator
from ownstack.volume.api.schemas.parameter_types import (
    BOOLEAN,
    REQUIRED_NAME,
    one,
    wrapped,
)

_DESCRIPTION = {"type": ["string", "null"], "maxLength": 255}
_SPEC_KEY = "^[a-zA-Z0-9-_:. /]{1,255}$"
EXTRA_SPECS: Final = {"type": "object", "additionalProperties": False,
                      "patternProperties": {_SPEC_KEY: {"type": "string", "maxLength": 255}}}

CREATE: Final = Validator(wrapped("volume_type", {
    "name": REQUIRED_NAME, "description": _DESCRIPTION,
    "os-volume-type-access:is_public": BOOLEAN, "extra_specs": EXTRA_SPECS}, ["name"]))
UPDATE: Final = Validator(wrapped("volume_type", {
    "name": {**REQUIRED_NAME, "type": ["string", "null"]}, "description": _DESCRIPTION,
    "is_public": BOOLEAN}, min_properties=1))
EXTRA_SPECS_BODY: Final = Validator(one("extra_specs", EXTRA_SPECS))
EXTRA_SPEC_ITEM: Final = Validator({**EXTRA_SPECS, "minProperties": 1, "maxProperties": 1})
ACCESS_ACTIONS: Final = {
    name: Validator(wrapped(name, {"project": {"type": "string", "minLength": 1,
                                               "maxLength": 255}}, ["project"]))
    for name in ("addProjectAccess", "removeProjectAccess")}

QOS_CREATE: Final = Validator(one("qos_specs", {
    "type": "object", "required": ["name"], "properties": {
        "name": REQUIRED_NAME,
        "consumer": {"type": "string", "enum": ["front-end", "back-end", "both"]}},
    "additionalProperties": {"type": "string", "maxLength": 255}}))
QOS_UPDATE: Final = Validator(one("qos_specs", {
    "type": "object", "minProperties": 1, "properties": {
        "consumer": {"type": "string", "enum": ["front-end", "back-end", "both"]}},
    "additionalProperties": {"type": "string", "maxLength": 255}}))
QOS_DELETE_KEYS: Final = Validator(one("keys", {
    "type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1,
                                              "maxLength": 255}}))

DEFAULT_TYPE: Final = Validator(wrapped("default_type", {
    "volume_type": {"type": "string", "minLength": 1, "maxLength": 255}}, ["volume_type"]))
