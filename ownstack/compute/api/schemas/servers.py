"""Server create and update bodies and the list query, per microversion, after Nova's
``schemas/servers.py``. Like Nova's, the bodies reject unknown properties of ``server``.

Not accepted (400 as unknown properties), because ownstack cannot honour them yet:
``trusted_image_certificates`` (2.63), ``host``/``hypervisor_hostname`` (2.74) and the
legacy ``block_device_mapping`` (v1). ``block_device_mapping_v2`` is checked beyond its
schema by :mod:`ownstack.compute.block_device`. ``personality`` passes the schema below 2.57 only so
the handler can say why it is refused. ``user_data`` is checked as base64 by the handler
(:func:`ownstack.compute.api.common.check_user_data`).
"""

from __future__ import annotations

import copy
from typing import Any, Final

from ownstack.common.api.microversion import Version, at_least
from ownstack.common.api.schema import FLEXIBLE_BOOLEAN, ByVersion
from ownstack.compute.api.schemas.parameter_types import (
    ACCESS_IPV4,
    ACCESS_IPV6,
    BASE_VERSION,
    DESCRIPTION,
    DISK_CONFIG,
    FQDN,
    HOSTNAME,
    METADATA,
    NAME,
    POSITIVE_INTEGER,
    TAG,
    TAGS,
    UUID,
)

_NETWORK: Final = {
    "type": "object", "additionalProperties": False,
    "properties": {"fixed_ip": {"type": "string", "oneOf": [{"format": "ipv4"},
                                                              {"format": "ipv6"}]},
                   "port": {"oneOf": [UUID, {"type": "null"}]},
                   "uuid": {"type": "string"}}}
_BDM_V2: Final = {
    "type": "object", "additionalProperties": False,
    "properties": {
        "virtual_name": {"type": "string", "maxLength": 255},
        "volume_id": UUID, "snapshot_id": UUID, "image_id": UUID,
        "volume_size": {"type": ["integer", "string"], "pattern": "^[0-9]+$", "minimum": 1},
        "device_name": {"type": "string", "minLength": 1, "maxLength": 255,
                        "pattern": "^[a-zA-Z0-9._/-]*$"},
        "delete_on_termination": FLEXIBLE_BOOLEAN, "no_device": {},
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
                 "properties": {"group": UUID}}
# The decoded user data is at most 64 KiB (checked by the handler); this bounds its text.
_USER_DATA: Final = {"type": "string", "maxLength": 65535 * 4 // 3 + 4}

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
                "OS-DCF:diskConfig": DISK_CONFIG,
                "accessIPv4": ACCESS_IPV4,
                "accessIPv6": ACCESS_IPV6,
                "personality": {"type": "array"},
                "availability_zone": NAME,
                "block_device_mapping_v2": {"type": "array", "items": _BDM_V2},
                "config_drive": FLEXIBLE_BOOLEAN,
                "key_name": NAME,
                "min_count": POSITIVE_INTEGER,
                "max_count": POSITIVE_INTEGER,
                "return_reservation_id": FLEXIBLE_BOOLEAN,
                "security_groups": {"type": "array", "items": {
                    "type": "object", "additionalProperties": False,
                    "properties": {"name": NAME}}},
                "user_data": _USER_DATA,
            },
        },
        "os:scheduler_hints": _HINTS,
        "OS-SCH-HNT:scheduler_hints": _HINTS,
    },
}


def hostname(version: Version) -> dict[str, Any]:
    """``hostname`` (2.90+): a label, or from 2.94 a fully qualified name."""
    return FQDN if at_least(version, "2.94") else HOSTNAME


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
        item["properties"]["uuid"] = UUID
        props["networks"] = {"oneOf": [{"type": "array", "items": item},
                                       {"type": "string", "enum": ["none", "auto"]}]}
    if at_least(version, "2.42"):
        props["block_device_mapping_v2"]["items"]["properties"]["tag"] = TAG
    if at_least(version, "2.52"):
        props["tags"] = TAGS
    if at_least(version, "2.57"):
        del props["personality"]
    if at_least(version, "2.67"):
        props["block_device_mapping_v2"]["items"]["properties"]["volume_type"] = {
            "type": ["string", "null"], "minLength": 0, "maxLength": 255}
    if at_least(version, "2.90"):
        props["hostname"] = hostname(version)
    return schema


def _update(version: Version) -> dict[str, Any]:
    props: dict[str, Any] = {"name": NAME, "OS-DCF:diskConfig": DISK_CONFIG,
                             "accessIPv4": ACCESS_IPV4, "accessIPv6": ACCESS_IPV6}
    if at_least(version, "2.19"):
        props["description"] = DESCRIPTION
    if at_least(version, "2.90"):
        props["hostname"] = hostname(version)
    return {"type": "object", "required": ["server"], "additionalProperties": False,
            "properties": {"server": {"type": "object", "additionalProperties": False,
                                      "properties": props}}}


CREATE: Final = ByVersion(_create, "2.19", "2.32", "2.37", "2.42", "2.52", "2.57", "2.67",
                          "2.90",
                          "2.94", base=BASE_VERSION)
UPDATE: Final = ByVersion(_update, "2.19", "2.90", "2.94", base=BASE_VERSION)

# --- the list query -----------------------------------------------------------------------

# What every caller may page and sort by.
LIST_PAGING: Final = ("limit", "marker", "sort_key", "sort_dir")
# The filters a non-admin may use (policy ``servers:allow_all_filters`` lifts this), by the
# version that allowed them.
USER_FILTERS: Final = (("2.1", ("reservation_id", "name", "status", "image", "flavor", "ip",
                                "changes-since", "all_tenants")),
                       ("2.5", ("ip6",)),
                       ("2.26", ("tags", "tags-any", "not-tags", "not-tags-any")),
                       ("2.66", ("changes-before",)),
                       ("2.73", ("locked",)),
                       ("2.83", ("availability_zone", "config_drive", "key_name",
                                 "created_at", "launched_at", "terminated_at",
                                 "power_state", "task_state", "vm_state", "progress",
                                 "user_id")),
                       ("2.90", ("hostname",)))
# Every filter Nova's schema names (v2.1), for the 2.75 check of unknown parameters.
LIST_QUERY: Final = frozenset({
    "user_id", "project_id", "tenant_id", "launch_index", "image_ref", "image", "kernel_id",
    "ramdisk_id", "hostname", "key_name", "power_state", "vm_state", "task_state", "host",
    "node", "flavor", "reservation_id", "launched_at", "terminated_at", "availability_zone",
    "name", "display_name", "description", "display_description", "locked_by", "uuid",
    "root_device_name", "config_drive", "access_ip_v4", "access_ip_v6", "auto_disk_config",
    "progress", "sort_key", "sort_dir", "all_tenants", "soft_deleted", "deleted", "status",
    "changes-since", "ip", "ip6", "created_at", "limit", "marker", "tags", "tags-any",
    "not-tags", "not-tags-any", "changes-before", "locked"})
