"""Version discovery: ``GET /`` (300 Multiple Choices) and ``GET /v3``."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from ownstack.common.api.app import json_response
from ownstack.common.api.routing import public
from ownstack.identity.state import Req

_UPDATED = "2024-04-01T00:00:00Z"
_MEDIA_TYPES = [{"base": "application/json",
                 "type": "application/vnd.openstack.identity-v3+json"}]


def _v3(req: Req) -> dict[str, Any]:
    return {
        "id": "v3.14",
        "status": "stable",
        "updated": _UPDATED,
        "links": [{"rel": "self", "href": f"{req.base_url()}/v3/"}],
        "media-types": _MEDIA_TYPES,
    }


@public
async def list_versions(req: Req) -> Response:
    return json_response({"versions": {"values": [_v3(req)]}}, status=300)


@public
async def show_v3(req: Req) -> Response:
    return json_response({"version": _v3(req)})
