"""Version discovery: ``GET /`` (300), ``GET /versions`` and ``GET /v2``.

openstacksdk reads this document and follows the ``self`` link of the CURRENT version.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from ownstack.common.api.app import json_response
from ownstack.common.api.routing import public
from ownstack.image.state import Req

# The v2 minor versions Glance has published; the newest is CURRENT.
_VERSIONS = ["2.0", "2.1", "2.2", "2.3", "2.4", "2.5", "2.6", "2.7", "2.8", "2.9", "2.10",
             "2.11", "2.12", "2.13", "2.14", "2.15", "2.16"]


def _versions(req: Req) -> dict[str, Any]:
    href = f"{req.base_url()}/v2/"
    return {"versions": [
        {"id": f"v{v}", "status": "CURRENT" if v == _VERSIONS[-1] else "SUPPORTED",
         "links": [{"rel": "self", "href": href}]}
        for v in reversed(_VERSIONS)]}


@public
async def list_versions(req: Req) -> Response:
    status = 300 if req.request.url.path in ("", "/") else 200
    return json_response(_versions(req), status=status)
