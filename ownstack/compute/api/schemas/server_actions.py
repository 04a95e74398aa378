"""Server action bodies (``POST /servers/{id}/action``), after Nova's ``schemas/servers.py``,
``lock_server.py`` and ``console_output.py``.

Formats Nova checks in code (base64 user data) are checked by the handler, not here.
"""

from __future__ import annotations

from typing import Any, Final

from ownstack.common.api.microversion import Version, at_least
from ownstack.common.api.schema import FLEXIBLE_BOOLEAN, ByVersion, Validator
from ownstack.compute.api.schemas.parameter_types import (
    ACCESS_IPV4,
    ACCESS_IPV6,
    BASE_VERSION,
    DESCRIPTION,
    DISK_CONFIG,
    METADATA,
    NAME,
    one,
)
from ownstack.compute.api.schemas.servers import hostname

REBOOT: Final = Validator(one("reboot", {
    "type": "object", "required": ["type"], "additionalProperties": False,
    "properties": {"type": {"type": "string",
                            "enum": ["HARD", "Hard", "hard", "SOFT", "Soft", "soft"]}}}))

CREATE_IMAGE: Final = Validator(one("createImage", {
    "type": "object", "required": ["name"], "additionalProperties": False,
    "properties": {"name": NAME, "metadata": METADATA}}))

# Nova's create_backup.py: rotation is a non-negative integer (a numeric string too).
CREATE_BACKUP: Final = Validator(one("createBackup", {
    "type": "object", "required": ["name", "backup_type", "rotation"],
    "additionalProperties": False,
    "properties": {"name": NAME, "backup_type": {"type": "string"},
                   "rotation": {"type": ["integer", "string"],
                                "pattern": "^[0-9]+$", "minimum": 0},
                   "metadata": METADATA}}))

# Nova's rescue.py: null or an object with an optional password and rescue image.
RESCUE: Final = Validator(one("rescue", {
    "type": ["object", "null"], "additionalProperties": False,
    "properties": {"adminPass": {"type": "string"},
                   "rescue_image_ref": {"type": "string", "format": "uuid"}}}))


# Nova's reset_server_state schema: the two states an admin may force.
RESET_STATE: Final = Validator(one("os-resetState", {
    "type": "object", "additionalProperties": False, "required": ["state"],
    "properties": {"state": {"type": "string", "enum": ["active", "error"]}}}))
# restore and forceDelete: Nova has no schema (the value is not read).
# injectNetworkInfo: any value (clients send null).
INJECT_NETWORK_INFO: Final = Validator({
    "type": "object", "required": ["injectNetworkInfo"], "additionalProperties": False,
    "properties": {"injectNetworkInfo": {}}})


def _lock(version: Version) -> dict[str, Any]:
    """Before 2.73 Nova takes any value under "lock" (clients send null); from 2.73 an
    optional ``locked_reason``."""
    if not at_least(version, "2.73"):
        return one("lock", {})
    return one("lock", {
        "type": ["object", "null"], "additionalProperties": False,
        "properties": {"locked_reason": {"type": "string", "minLength": 1,
                                         "maxLength": 255}}})


LOCK: Final = ByVersion(_lock, "2.73", base=BASE_VERSION)

CONSOLE_OUTPUT: Final = Validator(one("os-getConsoleOutput", {
    "type": "object", "additionalProperties": False,
    "properties": {"length": {"type": ["integer", "string", "null"],
                              "pattern": "^-?[0-9]+$", "minimum": -1}}}))


def _rebuild(version: Version) -> dict[str, Any]:
    """2.19 adds description, 2.54 key_name (null unsets it), 2.57 user_data and drops
    personality, 2.90 hostname, 2.94 lets hostname be a fully qualified name."""
    properties: dict[str, Any] = {
        "name": NAME,
        "imageRef": {"type": "string", "format": "uuid"},
        "adminPass": {"type": "string"},
        "metadata": METADATA,
        "preserve_ephemeral": FLEXIBLE_BOOLEAN,
        "OS-DCF:diskConfig": DISK_CONFIG,
        "accessIPv4": ACCESS_IPV4,
        "accessIPv6": ACCESS_IPV6,
        "personality": {"type": "array"},
    }
    if at_least(version, "2.19"):
        properties["description"] = DESCRIPTION
    if at_least(version, "2.54"):
        properties["key_name"] = {"type": ["string", "null"], "minLength": 1,
                                  "maxLength": 255}
    if at_least(version, "2.57"):
        del properties["personality"]
        properties["user_data"] = {"type": ["string", "null"], "maxLength": 65535}
    if at_least(version, "2.90"):
        properties["hostname"] = hostname(version)
    return one("rebuild", {"type": "object", "required": ["imageRef"],
                           "additionalProperties": False, "properties": properties})


REBUILD: Final = ByVersion(_rebuild, "2.19", "2.54", "2.57", "2.90", "2.94", base=BASE_VERSION)


# Nova's flavorRef: an id as a string or an integer.
_FLAVOR_REF: Final = {"type": ["string", "integer"], "minLength": 1}

RESIZE: Final = Validator(one("resize", {
    "type": "object", "required": ["flavorRef"], "additionalProperties": False,
    "properties": {"flavorRef": _FLAVOR_REF, "OS-DCF:diskConfig": DISK_CONFIG}}))
# confirmResize and revertResize take null (any value, as Nova, which reads none of it).
CONFIRM_RESIZE: Final = Validator(one("confirmResize", {}))
REVERT_RESIZE: Final = Validator(one("revertResize", {}))


def _migrate(version: Version) -> dict[str, Any]:
    """Before 2.56 Nova reads nothing under "migrate" (clients send null); from 2.56 an
    optional target ``host``."""
    if not at_least(version, "2.56"):
        return one("migrate", {})
    return one("migrate", {
        "type": ["object", "null"], "additionalProperties": False,
        "properties": {"host": {"type": ["string", "null"], "minLength": 1,
                                "maxLength": 255}}})


MIGRATE: Final = ByVersion(_migrate, "2.56", base=BASE_VERSION)

SHELVE: Final = Validator(one("shelve", {}))
SHELVE_OFFLOAD: Final = Validator(one("shelveOffload", {}))


def _unshelve(version: Version) -> dict[str, Any]:
    """Null before 2.77; from 2.77 ``{"availability_zone"}``; from 2.91 the zone may be
    null (unpinned) and ``host`` names where to go (admins)."""
    if not at_least(version, "2.77"):
        return one("unshelve", {})
    zone: dict[str, Any] = {"type": "string", "minLength": 1, "maxLength": 255}
    properties: dict[str, Any] = {"availability_zone": zone}
    if at_least(version, "2.91"):
        properties = {"availability_zone": {**zone, "type": ["string", "null"]},
                      "host": {"type": "string", "minLength": 1, "maxLength": 255}}
    return one("unshelve", {"type": ["object", "null"], "additionalProperties": False,
                            "properties": properties})


UNSHELVE: Final = ByVersion(_unshelve, "2.77", "2.91", base=BASE_VERSION)
