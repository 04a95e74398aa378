"""The bodies of ``POST /volumes/{id}/action`` and ``/snapshots/{id}/action``, one schema
per action, after Cinder's ``schemas/volume_actions.py`` and ``admin_actions.py``."""

from __future__ import annotations

from typing import Any, Final

from ownstack.common.api.schema import Validator
from ownstack.volume.api.schemas.parameter_types import (
    BOOLEAN,
    CONNECTOR,
    EMPTY,
    METADATA,
    NULLABLE_UUID,
    SIZE,
    UUID,
    one,
    wrapped,
)

_STRING = {"type": "string", "minLength": 1, "maxLength": 255}
_NULLABLE_STRING = {"type": ["string", "null"], "maxLength": 255}


def _action(key: str, properties: dict[str, Any], required: list[str] | None = None
            ) -> Validator:
    return Validator(wrapped(key, properties, required))


def _empty(key: str) -> Validator:
    return Validator(one(key, EMPTY))


VOLUME_ACTIONS: Final[dict[str, Validator]] = {
    "os-extend": _action("os-extend", {"new_size": SIZE}, ["new_size"]),
    "os-set_bootable": _action("os-set_bootable", {"bootable": BOOLEAN}, ["bootable"]),
    "os-update_readonly_flag": _action("os-update_readonly_flag", {"readonly": BOOLEAN},
                                       ["readonly"]),
    "os-retype": _action("os-retype", {
        "new_type": _STRING,
        "migration_policy": {"type": "string", "enum": ["on-demand", "never"]}},
        ["new_type"]),
    "os-volume_upload_image": _action("os-volume_upload_image", {
        "image_name": {"type": "string", "minLength": 1, "maxLength": 255},
        "force": BOOLEAN, "disk_format": _STRING, "container_format": _STRING,
        "visibility": {"type": "string",
                       "enum": ["public", "private", "community", "shared"]},
        "protected": BOOLEAN}, ["image_name"]),
    "os-reset_status": Validator(one("os-reset_status", {
        "type": "object", "additionalProperties": False, "minProperties": 1,
        "properties": {"status": _STRING, "attach_status": _STRING,
                       "migration_status": _STRING}})),
    "os-force_delete": _empty("os-force_delete"),
    # Cinder's: the connector is taken and unused (there is nothing to disconnect here).
    "os-force_detach": _action("os-force_detach", {
        "attachment_id": {"type": ["string", "null"]},
        "connector": {"type": ["string", "object", "null"]}}),
    "os-set_image_metadata": _action("os-set_image_metadata", {"metadata": METADATA},
                                     ["metadata"]),
    "os-unset_image_metadata": _action("os-unset_image_metadata", {"key": _STRING},
                                       ["key"]),
    "os-show_image_metadata": _empty("os-show_image_metadata"),
    "os-reserve": _empty("os-reserve"),
    "os-unreserve": _empty("os-unreserve"),
    "os-begin_detaching": _empty("os-begin_detaching"),
    "os-roll_detaching": _empty("os-roll_detaching"),
    "os-attach": _action("os-attach", {
        "instance_uuid": NULLABLE_UUID, "mountpoint": _STRING,
        "host_name": _NULLABLE_STRING, "mode": {"type": "string", "enum": ["rw", "ro"]}},
        ["mountpoint"]),
    "os-detach": Validator(one("os-detach", {
        "type": ["object", "null"], "additionalProperties": False,
        "properties": {"attachment_id": NULLABLE_UUID}})),
    "os-initialize_connection": _action("os-initialize_connection",
                                        {"connector": CONNECTOR}, ["connector"]),
    "os-terminate_connection": _action("os-terminate_connection",
                                       {"connector": CONNECTOR}, ["connector"]),
    "revert": _action("revert", {"snapshot_id": UUID}, ["snapshot_id"]),
    "os-extend_volume_completion": _action("os-extend_volume_completion",
                                           {"error": {"type": "boolean"}}),
}

SNAPSHOT_ACTIONS: Final[dict[str, Validator]] = {
    "os-reset_status": _action("os-reset_status", {"status": _STRING}, ["status"]),
    "os-update_snapshot_status": _action("os-update_snapshot_status", {
        "status": {"type": "string"}, "progress": {"type": ["string", "null"]}}, ["status"]),
    "os-force_delete": _empty("os-force_delete"),
}
