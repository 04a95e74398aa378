"""Version discovery: ``GET /``, reachable without a token as in Placement."""

from __future__ import annotations

from starlette.responses import Response

from ownstack.common.api.app import json_response
from ownstack.common.api.routing import public
from ownstack.placement.api import common, views
from ownstack.placement.microversions import MICROVERSIONS
from ownstack.placement.state import Req


@public
async def home(req: Req) -> Response:
    return json_response(views.versions(str(MICROVERSIONS.min_version),
                                        str(MICROVERSIONS.max_version)),
                         headers=common.cache_headers(req))
