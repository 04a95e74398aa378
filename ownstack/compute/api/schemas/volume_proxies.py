"""The bodies of Nova's volume proxy (up to 2.35), after its ``schemas/volumes.py`` and
``schemas/snapshots.py``: unknown fields are a 400, a volume needs its size."""

from __future__ import annotations

from typing import Final

from ownstack.common.api.schema import FLEXIBLE_BOOLEAN, Validator
from ownstack.compute.api.schemas.parameter_types import POSITIVE_INT32, wrapped

_TEXT: Final = {"type": "string"}

CREATE_VOLUME: Final = Validator(wrapped("volume", {
    "volume_type": _TEXT,
    # Nova's own words: "this could probably be stricter but it's a deprecated API";
    # the volume service checks the keys and values.
    "metadata": {"type": "object"},
    "snapshot_id": _TEXT,
    # A string of digits passes the pattern whatever its value ("0"): the handler
    # checks the number (JSON Schema's minimum applies to numbers only).
    "size": POSITIVE_INT32,
    "availability_zone": _TEXT,
    "display_name": _TEXT,
    "display_description": _TEXT,
}, ["size"]))
CREATE_SNAPSHOT: Final = Validator(wrapped("snapshot", {
    "volume_id": _TEXT,
    "force": FLEXIBLE_BOOLEAN,
    "display_name": _TEXT,
    "display_description": _TEXT,
}, ["volume_id"]))
