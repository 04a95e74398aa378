"""JSON schemas of server create and update bodies, per microversion, after Nova's
``schemas/servers.py``. Like Nova's, they reject unknown properties of ``server``.

Not accepted (400 as unknown properties), because ownstack cannot honour them yet:
``trusted_image_certificates`` (2.63), ``host``/``hypervisor_hostname`` (2.74) and the
legacy ``block_device_mapping`` (v1). ``personality`` passes the schema below 2.57 only so
the handler can say why it is refused.
"""

from __future__ import annotations

import copy
from functools import cache
from typing import Any, Final

from ownstack.common.api.microversion import Version, at_least
from ownstack.common.api.schema import Validator

# Nova's parameter_types, shared with the action schemas (action_schemas.py).
# name: no leading or trailing whitespace.
NAME: Final = {"type": "string", "minLength": 1, "maxLength": 255,
               "pattern": r"^\S(?:.*\S)?$"}
BOOLEAN: Final = {"type": ["boolean", "string"], "enum": [
    True, "True", "TRUE", "true", "1", "ON", "On", "on", "YES", "Yes", "yes",
    False, "False", "FALSE", "false", "0", "OFF", "Off", "off", "NO", "No", "no"]}
_POSITIVE: Final = {"type": ["integer", "string"], "pattern": "^[0-9]*$", "minimum": 1,
                    "minLength": 1}
_UUID: Final = {"type": "string", "format": "uuid"}
METADATA: Final = {
    "type": "object", "additionalProperties": False,
    "patternProperties": {"^[a-zA-Z0-9-_:. ]{1,255}$": {"type": "string",
                                                         "maxLength": 255}}}
DESCRIPTION: Final = {"type": ["string", "null"], "minLength": 0, "maxLength": 255,
                       "pattern": r"^[^\x00-\x1f\x7f]*$"}
TAG: Final = {"type": "string", "minLength": 1, "maxLength": 60, "pattern": "^[^,/]*$"}
MAX_TAGS: Final = 50
# 2.90: a hostname label; 2.94: a fully qualified name.
HOSTNAME: Final = {"type": "string", "minLength": 2, "maxLength": 63,
                    "pattern": "^[a-zA-Z0-9-._]*$"}
FQDN: Final = {"type": "string", "minLength": 2, "maxLength": 255,
                "pattern": "^[a-zA-Z0-9-._]*$"}
_ACCESS_IPV4: Final = {"type": "string", "format": "ipv4"}
_ACCESS_IPV6: Final = {"type": "string", "format": "ipv6"}
_DISK_CONFIG: Final = {"type": "string", "enum": ["AUTO", "MANUAL"]}
_NETWORK: Final = {
    "type": "object", "additionalProperties": False,
    "properties": {"fixed_ip": {"type": "string", "oneOf": [{"format": "ipv4"},
                                                              {"format": "ipv6"}]},
                   "port": {"oneOf": [_UUID, {"type": "null"}]},
                   "uuid": {"type": "string"}}}
_BDM_V2: Final = {
    "type": "object", "additionalProperties": False,
    "properties": {
        "virtual_name": {"type": "string", "maxLength": 255},
        "volume_id": _UUID, "snapshot_id": _UUID, "image_id": _UUID,
        "volume_size": {"type": ["integer", "string"], "pattern": "^[0-9]+$", "minimum": 1},
        "device_name": {"type": "string", "minLength": 1, "maxLength": 255,
                        "pattern": "^[a-zA-Z0-9._/-]*$"},
        "delete_on_termination": BOOLEAN, "no_device": {},
        "connection_info": {"type": "string", "maxLength": 16777215},
        "source_type": {"type": "string", "enum": ["volume", "image", "snapshot", "blank"]},
        "uuid": {"type": "string", "minLength": 1, "maxLength": 255,
                 "pattern": "^[a-zA-Z0-9._-]*$"},
        "destination_type": {"type": "string", "enum": ["local", "volume"]},
        "guest_format": {"type": "string", "maxLength": 255},
        "device_type": {"type": "string", "maxLength": 255},
        "disk_bus": {"type": "string", "maxLength": 255},
        "boot_index": {"type": ["integer", "string", "null"], "pattern": "^-?[0-9]+$"},
    }}
_HINTS: Final = {"type": "object", "additionalProperties": True,
                 "properties": {"group": _UUID}}

_BASE_CREATE: Final = {
    "type": "object", "required": ["server"], "additionalProperties": False,
    "properties": {
        "server": {
            "type": "object", "required": ["name", "flavorRef"], "additionalProperties": False,
            "properties": {
                "name": NAME,
                # "" only for boot from a block device mapping (checked in code).
                "imageRef": {"type": "string", "maxLength": 255},
                "flavorRef": {"type": ["string", "integer"], "minLength": 1},
                "adminPass": {"type": "string"},
                "metadata": METADATA,
                "networks": {"type": "array", "items": _NETWORK},
                "OS-DCF:diskConfig": _DISK_CONFIG,
                "accessIPv4": _ACCESS_IPV4,
                "accessIPv6": _ACCESS_IPV6,
                "personality": {"type": "array"},
                "availability_zone": NAME,
                "block_device_mapping_v2": {"type": "array", "items": _BDM_V2},
                "config_drive": BOOLEAN,
                "key_name": NAME,
                "min_count": _POSITIVE,
                "max_count": _POSITIVE,
                "return_reservation_id": BOOLEAN,
                "security_groups": {"type": "array", "items": {
                    "type": "object", "additionalProperties": False,
                    "properties": {"name": NAME}}},
                "user_data": {"type": "string", "maxLength": 65535 * 4 // 3 + 4},
            },
        },
        "os:scheduler_hints": _HINTS,
        "OS-SCH-HNT:scheduler_hints": _HINTS,
    },
}


def _create(version: Version) -> dict[str, Any]:
    schema: dict[str, Any] = copy.deepcopy(_BASE_CREATE)
    server = schema["properties"]["server"]
    props = server["properties"]
    if at_least(version, "2.19"):
        props["description"] = DESCRIPTION
    if at_least(version, "2.32"):
        props["networks"]["items"]["properties"]["tag"] = TAG
    if at_least(version, "2.37"):
        server["required"] = [*server["required"], "networks"]
        item = copy.deepcopy(props["networks"]["items"])
        item["properties"]["uuid"] = _UUID
        props["networks"] = {"oneOf": [{"type": "array", "items": item},
                                       {"type": "string", "enum": ["none", "auto"]}]}
    if at_least(version, "2.42"):
        props["block_device_mapping_v2"]["items"]["properties"]["tag"] = TAG
    if at_least(version, "2.52"):
        props["tags"] = {"type": "array", "items": TAG, "maxItems": MAX_TAGS}
    if at_least(version, "2.57"):
        del props["personality"]
    if at_least(version, "2.90"):
        props["hostname"] = FQDN if at_least(version, "2.94") else HOSTNAME
    return schema


def _update(version: Version) -> dict[str, Any]:
    props: dict[str, Any] = {"name": NAME, "OS-DCF:diskConfig": _DISK_CONFIG,
                             "accessIPv4": _ACCESS_IPV4, "accessIPv6": _ACCESS_IPV6}
    if at_least(version, "2.19"):
        props["description"] = DESCRIPTION
    if at_least(version, "2.90"):
        props["hostname"] = FQDN if at_least(version, "2.94") else HOSTNAME
    return {"type": "object", "required": ["server"], "additionalProperties": False,
            "properties": {"server": {"type": "object", "additionalProperties": False,
                                      "properties": props}}}


# The versions at which a schema changes; each request uses the latest one at or below it.
_CREATE_STEPS: Final = ("2.1", "2.19", "2.32", "2.37", "2.42", "2.52", "2.57", "2.90", "2.94")
_UPDATE_STEPS: Final = ("2.1", "2.19", "2.90", "2.94")


@cache
def _compiled(kind: str, step: str) -> Validator:
    version = Version.parse(step)
    return Validator(_create(version) if kind == "create" else _update(version))


def _step(steps: tuple[str, ...], version: Version) -> str:
    return [step for step in steps if at_least(version, step)][-1]


def create_server(version: Version) -> Validator:
    return _compiled("create", _step(_CREATE_STEPS, version))


def update_server(version: Version) -> Validator:
    return _compiled("update", _step(_UPDATE_STEPS, version))
