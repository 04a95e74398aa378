"""``os-aggregates`` bodies, after Nova's ``schemas/aggregates.py``.

A name is 1 to 255 characters without leading or trailing whitespace on create (an update
takes them and strips them, as Nova's ``normalize_name``); a zone name the same, and no
``:`` (Nova's ``az_name``: ``zone:host`` is how a server names a host). A host is Nova's
``fqdn``.
"""

from __future__ import annotations

from typing import Any, Final

from ownstack.common.api.schema import Validator
from ownstack.compute.api.schemas.parameter_types import NAME, wrapped

_NAME_WITH_SPACES: Final = {"type": "string", "minLength": 1, "maxLength": 255,
                            "pattern": r"^\s*\S.*$"}
_ZONE: Final = {"oneOf": [{"type": "string", "minLength": 1, "maxLength": 255,
                           "pattern": r"^[^:\s](?:[^:]*[^:\s])?$"}, {"type": "null"}]}
_HOST: Final = {"type": "string", "minLength": 1, "maxLength": 255,
                "pattern": "^[a-zA-Z0-9-._]*$"}
_METADATA_WITH_NULL: Final = {
    "type": "object", "additionalProperties": False,
    "patternProperties": {"^[a-zA-Z0-9-_:. ]{1,255}$": {"type": ["string", "null"],
                                                         "maxLength": 255}}}

CREATE: Final = Validator(wrapped("aggregate", {"name": NAME, "availability_zone": _ZONE},
                                  ["name"]))

_update: dict[str, Any] = wrapped("aggregate", {"name": _NAME_WITH_SPACES,
                                                "availability_zone": _ZONE}, [])
_update["properties"]["aggregate"]["anyOf"] = [{"required": ["name"]},
                                               {"required": ["availability_zone"]}]
UPDATE: Final = Validator(_update)

ADD_HOST: Final = Validator(wrapped("add_host", {"host": _HOST}, ["host"]))
REMOVE_HOST: Final = Validator(wrapped("remove_host", {"host": _HOST}, ["host"]))
SET_METADATA: Final = Validator(wrapped("set_metadata", {"metadata": _METADATA_WITH_NULL},
                                        ["metadata"]))
ACTIONS: Final = {"add_host": ADD_HOST, "remove_host": REMOVE_HOST,
                  "set_metadata": SET_METADATA}
