"""Snapshot create and update, after Cinder's ``schemas/snapshots.py``."""

from __future__ import annotations

from typing import Final

from ownstack.common.api.schema import Validator
from ownstack.volume.api.schemas.parameter_types import (
    BOOLEAN,
    DESCRIPTION,
    METADATA,
    NAME,
    UUID,
    one,
    wrapped,
)

CREATE: Final = Validator(wrapped("snapshot", {
    "volume_id": UUID, "force": BOOLEAN, "name": NAME, "description": DESCRIPTION,
    "display_name": NAME, "display_description": DESCRIPTION, "metadata": METADATA},
    ["volume_id"]))
UPDATE: Final = Validator(wrapped("snapshot", {
    "name": NAME, "description": DESCRIPTION, "display_name": NAME,
    "display_description": DESCRIPTION}, min_properties=1))
METADATA_BODY: Final = Validator(one("metadata", METADATA))
METADATA_ITEM: Final = Validator(one("meta", {**METADATA, "minProperties": 1,
                                              "maxProperties": 1}))
