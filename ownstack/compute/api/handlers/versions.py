"""Version discovery: ``GET /``, ``GET /v2.1`` and ``GET /v2``, reachable without a token.

``/v2`` answers the version document of Nova's legacy v2.0 endpoint, which the root lists
first, as Nova does, so that a client following the root's links finds a document; the
legacy API's own routes are not served (``/v2.1`` is the API)."""

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


def _v20(req: Req) -> dict[str, Any]:
    return {"id": "v2.0", "status": "SUPPORTED", "version": "", "min_version": "",
            "updated": _V20_UPDATED, "links": [{"rel": "self", "href": f"{req.base_url()}/v2/"}]}


@public
async def list_versions(req: Req) -> Response:
    return json_response({"versions": [_v20(req), _v21(req)]})


def _document(version: dict[str, Any], number: str) -> Response:
    version["links"].append({"rel": "describedby", "type": "text/html",
                             "href": "http://docs.openstack.org/"})
    version["media-types"] = [{"base": "application/json",
                               "type": f"application/vnd.openstack.compute+json;version={number}"}]
    return json_response({"version": version})


@public
async def show_version(req: Req) -> Response:
    return _document(_v21(req), "2.1")


@public
async def show_legacy_version(req: Req) -> Response:
    return _document(_v20(req), "2")
