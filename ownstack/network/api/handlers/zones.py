"""``/v2.0/availability_zones``: the zones networks and routers are in.

All-in-one, every agent of this cloud is in one zone, ``network.availability_zone``.
"""

from __future__ import annotations

from starlette.responses import Response

from ownstack.common.api.app import json_response
from ownstack.network.api import common
from ownstack.network.errors import BadNetworkRequest
from ownstack.network.state import Req

RESOURCES = ("network", "router")
_FILTERS = ("name", "resource", "state")


async def list_availability_zones(req: Req) -> Response:
    req.svc.enforce(req.ctx, "get_availability_zone")
    zone = req.svc.settings.availability_zone
    zones = [{"name": zone, "resource": resource, "state": "available"}
             for resource in RESOURCES]
    fields: list[str] = []
    for name, value in req.query.multi_items():
        if name == "fields":
            fields.extend(part for part in value.split(",") if part)
        elif name in _FILTERS:
            zones = [z for z in zones if z[name] in req.query.getlist(name)]
        else:
            raise BadNetworkRequest("availability_zones",
                                    f"[{name}] is invalid attribute for filtering")
    return json_response({"availability_zones": [common.project(z, fields) for z in zones]})
