"""Group types, group specs, groups and group snapshots, after Cinder's
``schemas/group_types.py``, ``group_specs.py``, ``groups.py`` and ``group_snapshots.py``."""

from __future__ import annotations

from typing import Final

from ownstack.common.api.schema import Validator
from ownstack.volume.api.schemas.parameter_types import (
    BOOLEAN,
    DESCRIPTION,
    NAME,
    NULLABLE_UUID,
    REQUIRED_NAME,
    UUID,
    one,
    wrapped,
)

_SPEC_KEY = "^[a-zA-Z0-9-_:. /]{1,255}$"
GROUP_SPECS: Final = {"type": "object", "additionalProperties": False,
                      "patternProperties": {_SPEC_KEY: {"type": "string", "maxLength": 255}}}
# add_volumes and remove_volumes: comma-separated volume ids.
_VOLUME_LIST = {"type": ["string", "null"], "maxLength": 40000}

CREATE_TYPE: Final = Validator(wrapped("group_type", {
    "name": REQUIRED_NAME, "description": DESCRIPTION, "is_public": BOOLEAN,
    "group_specs": GROUP_SPECS}, ["name"]))
UPDATE_TYPE: Final = Validator(wrapped("group_type", {
    "name": {**REQUIRED_NAME, "type": ["string", "null"]}, "description": DESCRIPTION,
    "is_public": BOOLEAN}, min_properties=1))
SPECS_BODY: Final = Validator(one("group_specs", {**GROUP_SPECS, "minProperties": 1}))
SPEC_ITEM: Final = Validator({**GROUP_SPECS, "minProperties": 1, "maxProperties": 1})

CREATE: Final = Validator(wrapped("group", {
    "name": NAME, "description": DESCRIPTION,
    "group_type": {"type": "string", "minLength": 1, "maxLength": 255},
    "volume_types": {"type": "array", "minItems": 1, "uniqueItems": True,
                     "items": {"type": "string", "minLength": 1, "maxLength": 255}},
    "availability_zone": {"type": ["string", "null"], "maxLength": 255}},
    ["group_type", "volume_types"]))
CREATE_FROM_SOURCE: Final = Validator(wrapped("create-from-src", {
    "name": NAME, "description": DESCRIPTION,
    "group_snapshot_id": NULLABLE_UUID, "source_group_id": NULLABLE_UUID}))
UPDATE: Final = Validator(wrapped("group", {
    "name": NAME, "description": DESCRIPTION, "add_volumes": _VOLUME_LIST,
    "remove_volumes": _VOLUME_LIST}))
DELETE: Final = Validator(wrapped("delete", {"delete-volumes": BOOLEAN}))
RESET_STATUS: Final = Validator(wrapped("reset_status", {
    "status": {"type": "string", "minLength": 1, "maxLength": 255}}, ["status"]))

CREATE_SNAPSHOT: Final = Validator(wrapped("group_snapshot", {
    "name": NAME, "description": DESCRIPTION, "group_id": UUID}, ["group_id"]))
