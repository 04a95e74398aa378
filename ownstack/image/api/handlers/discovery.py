"""``GET /v2/info/import``: the interoperable import methods this cloud offers, as Glance's
discovery API lists them. ownstack has none yet (images are uploaded with
``PUT /v2/images/{id}/file``), so the list is empty: a client that asks learns that, and
does not try ``/v2/images/{id}/import``."""

from __future__ import annotations

from starlette.responses import Response

from ownstack.common.api.app import json_response
from ownstack.image.state import Req


async def import_info(req: Req) -> Response:
    return json_response({"import-methods": {"description": "Import methods available.",
                                             "type": "array", "value": []}})
