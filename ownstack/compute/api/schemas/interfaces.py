"""``POST /servers/{id}/os-interface``, after Nova's ``schemas/attach_interfaces.py``:
a network, a port, or neither (the one network the project may use); one fixed IP at
most; a ``tag`` from 2.49."""

from __future__ import annotations

from typing import Any, Final

from ownstack.common.api.microversion import Version, at_least
from ownstack.common.api.schema import ByVersion
from ownstack.compute.api.schemas.parameter_types import BASE_VERSION, UUID

_IP: Final = {"type": "string", "oneOf": [{"format": "ipv4"}, {"format": "ipv6"}]}


def _create(version: Version) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "net_id": UUID, "port_id": UUID,
        "fixed_ips": {"type": "array", "minItems": 1, "maxItems": 1,
                      "items": {"type": "object", "required": ["ip_address"],
                                "additionalProperties": False,
                                "properties": {"ip_address": _IP}}}}
    if at_least(version, "2.49"):
        properties["tag"] = {"type": "string", "minLength": 1, "maxLength": 60,
                             "pattern": "^[^,/]*$"}
    return {"type": "object", "additionalProperties": False,
            "properties": {"interfaceAttachment": {
                "type": "object", "additionalProperties": False,
                "properties": properties}}}


CREATE: Final = ByVersion(_create, "2.49", base=BASE_VERSION)
