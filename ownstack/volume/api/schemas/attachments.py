"""Attachment create, update and actions, after Cinder's ``schemas/attachments.py``."""

from __future__ import annotations

from typing import Any, Final

from ownstack.common.api.microversion import Version, at_least
from ownstack.common.api.schema import ByVersion, Validator
from ownstack.volume.api.schemas.parameter_types import (
    BASE_VERSION,
    CONNECTOR,
    EMPTY,
    NULLABLE_UUID,
    UUID,
    one,
    wrapped,
)


def _create(version: Version) -> dict[str, Any]:
    properties: dict[str, Any] = {"volume_uuid": UUID, "instance_uuid": NULLABLE_UUID,
                                  "connector": {**CONNECTOR, "type": ["object", "null"]}}
    if at_least(version, "3.54"):
        properties["mode"] = {"type": ["string", "null"], "enum": ["rw", "ro", "null", None]}
    return wrapped("attachment", properties, ["volume_uuid"])


CREATE: Final = ByVersion(_create, "3.54", base=BASE_VERSION)
UPDATE: Final = Validator(wrapped("attachment", {"connector": CONNECTOR}, ["connector"]))
COMPLETE: Final = Validator(one("os-complete", EMPTY))
