"""JSON schemas of server action bodies, server metadata and server tags, after Nova's
``schemas/servers.py``, ``server_metadata.py``, ``server_tags.py``, ``lock_server.py`` and
``console_output.py``.

Every object schema rejects unknown properties, as Nova's do. Formats Nova checks in code
(base64 user data) are checked by the handler, not here.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any, Final

from ownstack.compute.server_schemas import (
    BOOLEAN,
    DESCRIPTION,
    FQDN,
    HOSTNAME,
    MAX_TAGS,
    METADATA,
    NAME,
    TAG,
)

MAX_TAG_COUNT: Final = MAX_TAGS    # nova.objects.instance.MAX_TAG_COUNT


def _one(key: str, value: dict[str, Any]) -> dict[str, Any]:
    """A body holding exactly ``{key: value}``."""
    return {"type": "object", "required": [key], "additionalProperties": False,
            "properties": {key: value}}


# --- server metadata ----------------------------------------------------------------------
SET_METADATA: Final = _one("metadata", METADATA)       # PUT (replace) and POST (merge)
SET_METADATA_ITEM: Final = _one("meta", {**copy.deepcopy(METADATA),
                                         "minProperties": 1, "maxProperties": 1})

# --- server tags --------------------------------------------------------------------------
REPLACE_TAGS: Final = _one("tags", {"type": "array", "items": TAG,
                                    "maxItems": MAX_TAG_COUNT})

# --- actions ------------------------------------------------------------------------------
REBOOT: Final = _one("reboot", {
    "type": "object", "required": ["type"], "additionalProperties": False,
    "properties": {"type": {"type": "string",
                            "enum": ["HARD", "Hard", "hard", "SOFT", "Soft", "soft"]}}})

CREATE_IMAGE: Final = _one("createImage", {
    "type": "object", "required": ["name"], "additionalProperties": False,
    "properties": {"name": NAME, "metadata": METADATA}})

# Before 2.73 Nova takes any value under "lock" (clients send null).
LOCK: Final = _one("lock", {})
LOCK_273: Final = _one("lock", {
    "type": ["object", "null"], "additionalProperties": False,
    "properties": {"locked_reason": {"type": "string", "minLength": 1, "maxLength": 255}}})

CONSOLE_OUTPUT: Final = _one("os-getConsoleOutput", {
    "type": "object", "additionalProperties": False,
    "properties": {"length": {"type": ["integer", "string", "null"],
                              "pattern": "^-?[0-9]+$", "minimum": -1}}})


def rebuild(at_least: Callable[[str], bool]) -> dict[str, Any]:
    """The rebuild body at a microversion; ``at_least(v)`` tells whether it includes ``v``.

    2.19 adds description, 2.54 key_name (null unsets it), 2.57 user_data and drops
    personality, 2.90 hostname, 2.94 lets hostname be a fully qualified name.
    """
    properties: dict[str, Any] = {
        "name": NAME,
        "imageRef": {"type": "string", "format": "uuid"},
        "adminPass": {"type": "string"},
        "metadata": METADATA,
        "preserve_ephemeral": BOOLEAN,
        "OS-DCF:diskConfig": {"type": "string", "enum": ["AUTO", "MANUAL"]},
        "accessIPv4": {"type": "string", "format": "ipv4"},
        "accessIPv6": {"type": "string", "format": "ipv6"},
        "personality": {"type": "array"},
    }
    if at_least("2.19"):
        properties["description"] = DESCRIPTION
    if at_least("2.54"):
        properties["key_name"] = {"type": ["string", "null"], "minLength": 1,
                                  "maxLength": 255}
    if at_least("2.57"):
        del properties["personality"]
        properties["user_data"] = {"type": ["string", "null"], "maxLength": 65535}
    if at_least("2.90"):
        properties["hostname"] = FQDN if at_least("2.94") else HOSTNAME
    return _one("rebuild", {"type": "object", "required": ["imageRef"],
                            "additionalProperties": False, "properties": properties})


# --- os-instance-actions query (2.58+) ----------------------------------------------------
def action_list_query(with_changes_before: bool) -> dict[str, Any]:
    """``limit``, ``marker``, ``changes-since`` (2.58) and ``changes-before`` (2.66);
    anything else is a 400, as in Nova."""
    time = {"type": "string"}   # parsed as ISO 8601 by the handler
    properties: dict[str, Any] = {
        "limit": {"type": "string", "pattern": "^[0-9]+$"},
        "marker": {"type": "string"},
        "changes-since": time,
    }
    if with_changes_before:
        properties["changes-before"] = time
    return {"type": "object", "additionalProperties": False, "properties": properties}
