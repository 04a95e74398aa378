"""Version discovery: ``GET /`` (300 Multiple Choices) and ``GET /v3``."""

from __future__ import annotations

from starlette.responses import Response

from ownstack.common.api.app import json_response
from ownstack.common.api.routing import public
from ownstack.identity.api import views
from ownstack.identity.state import Req


@public
async def list_versions(req: Req) -> Response:
    return json_response({"versions": {"values": [views.version_v3(req)]}}, status=300)


@public
async def show_v3(req: Req) -> Response:
    return json_response({"version": views.version_v3(req)})
