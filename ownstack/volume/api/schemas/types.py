"""Volume types, their extra specs, access and QoS specs, after Cinder's
``schemas/volume_types.py``, ``types_extra_specs.py``, ``volume_type_access.py`` and
``qos_specs.py``; and per-project default types (``default_types.py``)."""

from __future__ import annotations

from typing import Final

from ownstack.common.api.schema import Validator
from ownstack.volume.api.schemas.parameter_types import (
    BOOLEAN,
    MAX_INT,
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

# A type's encryption (Cinder's ``volume_type_encryption.py``): key_size an integer or a
# string of digits (Cinder's ``key_size`` format; the handler bounds a string), no other
# keys (Cinder lets others through and echoes them, which Tempest's schema refuses).
_ENCRYPTION: Final = {
    "key_size": {"type": ["integer", "string", "null"], "pattern": "^[0-9]{1,10}$",
                 "minimum": 0, "maximum": MAX_INT},
    "provider": {"type": "string", "minLength": 0, "maxLength": 255},
    "control_location": {"enum": ["front-end", "back-end"]},
    "cipher": {"type": ["string", "null"], "minLength": 0, "maxLength": 255}}
ENCRYPTION_CREATE: Final = Validator(wrapped("encryption", _ENCRYPTION,
                                             ["provider", "control_location"]))
ENCRYPTION_UPDATE: Final = Validator(wrapped("encryption", _ENCRYPTION))
