"""``POST /os-server-external-events``: Nova's body, with the event names per microversion."""

from __future__ import annotations

from typing import Any, Final

from ownstack.common.api.microversion import Version, at_least
from ownstack.common.api.schema import ByVersion
from ownstack.compute.api.schemas.parameter_types import BASE_VERSION, UUID

_NAMES: Final = (("2.1", ("network-changed", "network-vif-plugged", "network-vif-unplugged",
                          "network-vif-deleted")),
                 ("2.51", ("volume-extended",)),
                 ("2.76", ("power-update",)),
                 ("2.82", ("accelerator-request-bound",)),
                 ("2.93", ("volume-reimaged",)))
STATUSES: Final = ("failed", "completed", "in-progress")


def _create(version: Version) -> dict[str, Any]:
    names = [name for since, added in _NAMES if at_least(version, since) for name in added]
    event = {"type": "object", "additionalProperties": False,
             "required": ["name", "server_uuid"],
             "properties": {"server_uuid": UUID,
                            "name": {"type": "string", "enum": names},
                            "status": {"type": "string", "enum": list(STATUSES)},
                            "tag": {"type": "string", "maxLength": 255}}}
    return {"type": "object", "additionalProperties": False, "required": ["events"],
            "properties": {"events": {"type": "array", "minItems": 1, "items": event}}}


CREATE: Final = ByVersion(_create, "2.51", "2.76", "2.82", "2.93", base=BASE_VERSION)
