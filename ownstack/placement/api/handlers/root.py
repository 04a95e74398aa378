"""Version discovery: ``GET /``, reachable without a token as in Placement."""

from __future__ import annotations

from starlette.responses import Response

from ownstack.common.api.app import json_response
from ownstack.common.api.routing import public
from ownstack.placement.api.common import cache_headers, version_of
from ownstack.placement.microversions import MICROVERSIONS
from ownstack.placement.state import Req


@public
async def home(req: Req) -> Response:
    low, high = str(MICROVERSIONS.min_version), str(MICROVERSIONS.max_version)
    # A relative self link, as Placement: it never tracks the address it is reached by.
    return json_response({"versions": [{
        "id": f"v{low}", "max_version": high, "min_version": low, "status": "CURRENT",
        "links": [{"rel": "self", "href": ""}],
    }]}, headers=cache_headers(version_of(req)))
