"""The parameter types compute's schemas share, after Nova's ``validation/parameter_types.py``.

Nova's string boolean (a JSON boolean or ``"yes"``, ``"Off"``, ...) is
:data:`ownstack.common.api.schema.FLEXIBLE_BOOLEAN`, shared with the other services.
"""

from __future__ import annotations

from typing import Any, Final

from ownstack.common.api.microversion import Version
from ownstack.compute.objects.server_metadata import MAX_TAG_COUNT

# Compute's first microversion: the first step of every schema that changes with them.
BASE_VERSION: Final = Version(2, 1)

MAX_INT: Final = 2147483647     # Nova's db.MAX_INT, the largest 32-bit integer

# A name with no leading or trailing whitespace.
NAME: Final = {"type": "string", "minLength": 1, "maxLength": 255,
               "pattern": r"^\S(?:.*\S)?$"}
# Any 1 to 255 characters (a keypair name, a host, a project id, a reason).
SHORT_TEXT: Final = {"type": "string", "minLength": 1, "maxLength": 255}
# Nova takes integers as JSON numbers or as strings of digits.
POSITIVE_INTEGER: Final = {"type": ["integer", "string"], "pattern": "^[0-9]*$",
                           "minimum": 1, "minLength": 1}
POSITIVE_INT32: Final = {**POSITIVE_INTEGER, "maximum": MAX_INT}
NON_NEGATIVE_INT32: Final = {"type": ["integer", "string"], "pattern": "^[0-9]*$",
                             "minimum": 0, "minLength": 1, "maximum": MAX_INT}
UUID: Final = {"type": "string", "format": "uuid"}
METADATA: Final = {
    "type": "object", "additionalProperties": False,
    "patternProperties": {"^[a-zA-Z0-9-_:. ]{1,255}$": {"type": "string",
                                                         "maxLength": 255}}}
# A server's description: no control characters.
DESCRIPTION: Final = {"type": ["string", "null"], "minLength": 0, "maxLength": 255,
                      "pattern": r"^[^\x00-\x1f\x7f]*$"}
TAG: Final = {"type": "string", "minLength": 1, "maxLength": 60, "pattern": "^[^,/]*$"}
TAGS: Final = {"type": "array", "items": TAG, "maxItems": MAX_TAG_COUNT}
# 2.90: a hostname label; 2.94: a fully qualified name.
HOSTNAME: Final = {"type": "string", "minLength": 2, "maxLength": 63,
                   "pattern": "^[a-zA-Z0-9-._]*$"}
FQDN: Final = {"type": "string", "minLength": 2, "maxLength": 255,
               "pattern": "^[a-zA-Z0-9-._]*$"}
ACCESS_IPV4: Final = {"type": "string", "format": "ipv4"}
ACCESS_IPV6: Final = {"type": "string", "format": "ipv6"}
DISK_CONFIG: Final = {"type": "string", "enum": ["AUTO", "MANUAL"]}


def one(key: str, value: Any) -> dict[str, Any]:
    """A body holding exactly ``{key: value}``."""
    return {"type": "object", "required": [key], "additionalProperties": False,
            "properties": {key: value}}


def wrapped(key: str, properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    """A body ``{key: {...}}`` whose object takes ``properties`` and no others."""
    return one(key, {"type": "object", "properties": properties, "required": required,
                     "additionalProperties": False})
