"""Flavor create and update bodies (``os-flavor-manage``) and the list query, after Nova's
``schemas/flavor_manage.py``."""

from __future__ import annotations

from typing import Any, Final

from ownstack.common.api.microversion import Version, at_least
from ownstack.common.api.schema import FLEXIBLE_BOOLEAN, ByVersion, Validator
from ownstack.compute.api.schemas.parameter_types import (
    BASE_VERSION,
    MAX_INT,
    NAME,
    NON_NEGATIVE_INT32,
    POSITIVE_INT32,
    one,
    wrapped,
)

# A flavor's description is longer than a server's, and may hold any character.
_DESCRIPTION: Final = {"type": ["string", "null"], "minLength": 0, "maxLength": 65535}
# A number is taken too and stored as its string, as Nova does (Tempest sends integers).
_FLAVOR_ID: Final = {"type": ["string", "number", "null"], "minLength": 1, "maxLength": 255,
                     "pattern": r"^(?! )[a-zA-Z0-9. _-]+(?<! )$"}


def _create(version: Version) -> dict[str, Any]:
    """2.55 adds ``description``."""
    properties: dict[str, Any] = {
        "name": NAME, "id": _FLAVOR_ID, "ram": POSITIVE_INT32, "vcpus": POSITIVE_INT32,
        "disk": NON_NEGATIVE_INT32, "OS-FLV-EXT-DATA:ephemeral": NON_NEGATIVE_INT32,
        # "" means no swap, as Nova's pattern lets through.
        "swap": {"type": ["integer", "string"], "pattern": "^[0-9]*$", "minimum": 0,
                 "maximum": MAX_INT},
        "rxtx_factor": {"type": ["number", "string"], "pattern": r"^[0-9]+(\.[0-9]+)?$",
                        "exclusiveMinimum": 0, "maximum": 3.40282e38},
        "os-flavor-access:is_public": FLEXIBLE_BOOLEAN,
    }
    if at_least(version, "2.55"):
        properties["description"] = _DESCRIPTION
    return wrapped("flavor", properties, ["name", "ram", "vcpus", "disk"])


CREATE: Final = ByVersion(_create, "2.55", base=BASE_VERSION)
UPDATE: Final = Validator(one("flavor", {"type": "object", "required": ["description"],
                                         "additionalProperties": False,
                                         "properties": {"description": _DESCRIPTION}}))
# The query of GET /flavors and /flavors/detail (2.75 refuses any other parameter).
LIST_QUERY: Final = frozenset({"sort_key", "sort_dir", "limit", "marker", "minRam",
                               "minDisk", "is_public"})
