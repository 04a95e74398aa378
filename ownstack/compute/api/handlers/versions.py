"""Version discovery: ``GET /`` and ``GET /v2.1``, reachable without a token."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from ownstack.common.api.app import json_response
from ownstack.common.api.routing import public
from ownstack.compute.microversions import MICROVERSIONS
from ownstack.compute.state import Req

# Nova's own dates for its two API versions.
_V20_UPDATED = "2011-01-21T11:33:21Z"
_V21_UPDATED = "2013-07-23T11:33:21Z"


def _v21(req: Req) -> dict[str, Any]:
    return {"id": "v2.1", "status": "CURRENT", "version": str(MICROVERSIONS.max_version),
            "min_version": str(MICROVERSIONS.min_version), "updated": _V21_UPDATED,
            "links": [{"rel": "self", "href": f"{req.base_url()}/v2.1/"}]}


@public
async def list_versions(req: Req) -> Response:
    # v2.0 is listed as Nova lists it, though ownstack serves only v2.1.
    v20 = {"id": "v2.0", "status": "SUPPORTED", "version": "", "min_version": "",
           "updated": _V20_UPDATED, "links": [{"rel": "self", "href": f"{req.base_url()}/v2/"}]}
    return json_response({"versions": [v20, _v21(req)]})


@public
async def show_version(req: Req) -> Response:
    version = _v21(req)
    version["links"].append({"rel": "describedby", "type": "text/html",
                             "href": "http://docs.openstack.org/"})
    version["media-types"] = [{"base": "application/json",
                               "type": "application/vnd.openstack.compute+json;version=2.1"}]
    return json_response({"version": version})
