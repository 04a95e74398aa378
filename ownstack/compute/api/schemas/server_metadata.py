"""A server's metadata bodies, after Nova's ``schemas/server_metadata.py``."""

from __future__ import annotations

from typing import Final

from ownstack.common.api.schema import Validator
from ownstack.compute.api.schemas.parameter_types import METADATA, one

SET_METADATA: Final = Validator(one("metadata", METADATA))   # PUT (replace), POST (merge)
SET_METADATA_ITEM: Final = Validator(one("meta", {**METADATA, "minProperties": 1,
                                                  "maxProperties": 1}))
