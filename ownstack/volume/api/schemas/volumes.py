"""Volume create and update, after Cinder's ``schemas/volumes.py``: strict (unknown
fields are a 400) from 3.53, lenient before, as Cinder is."""

from __future__ import annotations

from typing import Any, Final, cast

from ownstack.common.api.microversion import Version, at_least
from ownstack.common.api.schema import FLEXIBLE_BOOLEAN, ByVersion
from ownstack.volume.api.schemas.parameter_types import (
    BASE_VERSION,
    DESCRIPTION,
    METADATA,
    NAME,
    NULLABLE_METADATA,
    NULLABLE_SIZE,
    NULLABLE_UUID,
    wrapped,
)

_SPELLINGS: Final[list[Any]] = list(cast(list[Any], FLEXIBLE_BOOLEAN["enum"]))
NULLABLE_BOOLEAN: Final = {"type": ["boolean", "string", "null"], "enum": [*_SPELLINGS, None]}


def _create(version: Version) -> dict[str, Any]:
    strict = at_least(version, "3.53")
    volume = wrapped("volume", {
        "name": NAME, "description": DESCRIPTION, "display_name": NAME,
        "display_description": DESCRIPTION, "size": NULLABLE_SIZE,
        "availability_zone": {"type": ["string", "null"], "maxLength": 255},
        "source_volid": NULLABLE_UUID, "snapshot_id": NULLABLE_UUID,
        "backup_id": NULLABLE_UUID, "group_id": NULLABLE_UUID,
        "consistencygroup_id": NULLABLE_UUID,
        "volume_type": {"type": ["string", "null"], "maxLength": 255},
        "metadata": NULLABLE_METADATA, "imageRef": {"type": ["string", "null"]},
        "image_id": {"type": ["string", "null"]},
        "multiattach": NULLABLE_BOOLEAN,
    }, strict=strict)["properties"]["volume"]
    return {"type": "object", "required": ["volume"], "additionalProperties": not strict,
            "properties": {"volume": volume, "OS-SCH-HNT:scheduler_hints": {
                "type": ["object", "null"]}}}


def _update(version: Version) -> dict[str, Any]:
    strict = at_least(version, "3.53")
    return wrapped("volume", {"name": NAME, "description": DESCRIPTION, "display_name": NAME,
                              "display_description": DESCRIPTION, "metadata": METADATA},
                   strict=strict, min_properties=1 if strict else 0)


CREATE: Final = ByVersion(_create, "3.53", base=BASE_VERSION)
UPDATE: Final = ByVersion(_update, "3.53", base=BASE_VERSION)
