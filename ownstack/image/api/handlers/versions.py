"""Version discovery: ``GET /`` (300), ``GET /versions`` and ``GET /v2``.

openstacksdk reads this document and follows the ``self`` link of the CURRENT version.
"""

from __future__ import annotations

from starlette.responses import Response

from ownstack.common.api.app import json_response
from ownstack.common.api.routing import public
from ownstack.image.api import views
from ownstack.image.state import Req

# The v2 minor versions Glance has published; the newest is CURRENT.
_VERSIONS = ["2.0", "2.1", "2.2", "2.3", "2.4", "2.5", "2.6", "2.7", "2.8", "2.9", "2.10",
             "2.11", "2.12", "2.13", "2.14", "2.15", "2.16"]


@public
async def list_versions(req: Req) -> Response:
    status = 300 if req.request.url.path in ("", "/") else 200
    return json_response(views.versions(f"{req.base_url()}/v2/", _VERSIONS), status=status)
