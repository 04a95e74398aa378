"""Version discovery (``GET /``, open to all as in Neutron), the resources of v2.0, and
the extensions list."""

from __future__ import annotations

from starlette.responses import Response

from ownstack.common.api.app import json_response
from ownstack.common.api.routing import public
from ownstack.common.errors import NotFound
from ownstack.network.api.views import root as views
from ownstack.network.extensions import EXTENSIONS
from ownstack.network.state import Req

# (singular, collection) of the core resources, for GET /v2.0: Neutron lists only
# those there (networks, subnets, subnetpools, ports), never an extension's.
RESOURCES: tuple[tuple[str, str], ...] = (
    ("network", "networks"),
    ("rbac_policy", "rbac_policies"),
    ("subnet", "subnets"),
    ("subnetpool", "subnetpools"),
    ("port", "ports"),
)


@public
async def versions(req: Req) -> Response:
    return json_response(views.versions(req.base_url()))


async def resources(req: Req) -> Response:
    return json_response(views.resources(req.base_url(), RESOURCES))


async def list_extensions(req: Req) -> Response:
    return json_response({"extensions": [views.extension(ext) for ext in EXTENSIONS]})


async def show_extension(req: Req) -> Response:
    for ext in EXTENSIONS:
        if ext.alias == req.params["alias"]:
            return json_response({"extension": views.extension(ext)})
    raise NotFound(f"Extension with alias {req.params['alias']} does not exist")
