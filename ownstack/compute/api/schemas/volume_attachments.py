"""``/servers/{id}/os-volume_attachments`` bodies, after Nova's
``schemas/volume_attachments.py``: a volume and an optional device path; a ``tag`` from
2.49, ``delete_on_termination`` from 2.79. The update (PUT) body is the same volume (a
swap names another one); from 2.85 it may repeat the attachment's other fields."""

from __future__ import annotations

from typing import Any, Final

from ownstack.common.api.microversion import Version, at_least
from ownstack.common.api.schema import FLEXIBLE_BOOLEAN, ByVersion
from ownstack.compute.api.schemas.parameter_types import BASE_VERSION, TAG, UUID
from ownstack.compute.volumes import DEVICE_PATTERN

_DEVICE: Final = {"type": ["string", "null"], "pattern": DEVICE_PATTERN}
LIST_QUERY: Final = frozenset({"limit", "offset"})


def _wrapped(properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": False,
            "required": ["volumeAttachment"],
            "properties": {"volumeAttachment": {
                "type": "object", "additionalProperties": False, "required": ["volumeId"],
                "properties": properties}}}


def _create(version: Version) -> dict[str, Any]:
    properties: dict[str, Any] = {"volumeId": UUID, "device": _DEVICE}
    if at_least(version, "2.49"):
        properties["tag"] = TAG
    if at_least(version, "2.79"):
        properties["delete_on_termination"] = FLEXIBLE_BOOLEAN
    return _wrapped(properties)


def _update(version: Version) -> dict[str, Any]:
    if not at_least(version, "2.85"):
        return _wrapped({"volumeId": UUID})
    return _wrapped({"volumeId": UUID, "device": _DEVICE, "tag": TAG,
                     "delete_on_termination": FLEXIBLE_BOOLEAN, "serverId": UUID,
                     "id": UUID})


CREATE: Final = ByVersion(_create, "2.49", "2.79", base=BASE_VERSION)
UPDATE: Final = ByVersion(_update, "2.85", base=BASE_VERSION)
