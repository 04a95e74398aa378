"""``/flavors/{flavor_id}/os-flavor-access`` and the tenant access actions."""

from __future__ import annotations

from starlette.responses import Response

from ownstack.common.api.app import json_response
from ownstack.common.errors import Conflict, NotFound
from ownstack.compute.api.common import at_least, body, version_of
from ownstack.compute.api.schemas.flavor_access import ACTION
from ownstack.compute.api.views.flavors import access_list
from ownstack.compute.objects import flavors
from ownstack.compute.state import Req


async def list_flavor_access(req: Req) -> Response:
    req.svc.enforce(req.ctx, "os_compute_api:os-flavor-access")
    async with req.svc.read() as db:
        flavor = await flavors.get_flavor(db, req.ctx, req.params["flavor_id"])
        if flavor.is_public:
            raise NotFound("Access list not available for public flavors.")
        projects = await flavors.access_list(db, flavor)
    return json_response(access_list(flavor, projects))


async def flavor_action(req: Req) -> Response:
    data = await body(req, ACTION)
    if "addTenantAccess" in data:
        req.svc.enforce(req.ctx, "os_compute_api:os-flavor-access:add_tenant_access")
        project = data["addTenantAccess"]["tenant"]
    else:
        req.svc.enforce(req.ctx, "os_compute_api:os-flavor-access:remove_tenant_access")
        project = data["removeTenantAccess"]["tenant"]
    async with req.svc.write() as db:
        flavor = await flavors.get_flavor(db, req.ctx, req.params["flavor_id"])
        if "addTenantAccess" in data:
            if flavor.is_public and at_least(version_of(req), "2.7"):
                raise Conflict("Can not add access to a public flavor.")
            await flavors.add_access(db, flavor, project)
        else:
            await flavors.remove_access(db, flavor, project)
        projects = await flavors.access_list(db, flavor)
    return json_response(access_list(flavor, projects))
