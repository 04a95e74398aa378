"""Snapshot create and update, after Cinder's ``schemas/snapshots.py``."""

from __future__ import annotations

from typing import Any, Final, cast

from ownstack.common.api.schema import Validator
from ownstack.volume.api.schemas.parameter_types import (
    BOOLEAN,
    DESCRIPTION,
    NAME,
    NULLABLE_METADATA,
    NULLABLE_UUID,
    wrapped,
)

_SPELLINGS: Final[list[Any]] = list(cast(list[Any], BOOLEAN["enum"]))
# Cinder's ``uuid_allow_null``: a null volume_id is then a volume not found, a 404.
CREATE: Final = Validator(wrapped("snapshot", {
    "volume_id": NULLABLE_UUID, "force": {**BOOLEAN, "type": ["boolean", "string", "null"],
                                 "enum": [*_SPELLINGS, None]},
    "name": NAME, "description": DESCRIPTION, "display_name": NAME,
    "display_description": DESCRIPTION, "metadata": NULLABLE_METADATA}, ["volume_id"]))
UPDATE: Final = Validator(wrapped("snapshot", {
    "name": NAME, "description": DESCRIPTION, "display_name": NAME,
    "display_description": DESCRIPTION}, min_properties=1))
