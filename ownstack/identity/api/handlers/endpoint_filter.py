"""Keystone's OS-EP-FILTER (``/v3/OS-EP-FILTER``): endpoint groups, a plain noun (see
:mod:`.crud`), and the endpoints and endpoint groups associated with projects, which limit
those projects' catalogs. Everything is the cloud admin's (reads also a system reader's).
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.responses import Response

from ownstack.common.api.app import empty_response, json_response
from ownstack.identity.api import views
from ownstack.identity.api.handlers.crud import Noun
from ownstack.identity.api.schemas import endpoint_filter as schema
from ownstack.identity.objects import Session, endpoint_filter, projects
from ownstack.identity.objects.models import Endpoint, Project
from ownstack.identity.state import Req

GROUP = Noun("endpoint_group", views.endpoint_group, schema.CREATE, schema.UPDATE,
             find=endpoint_filter.list_endpoint_groups,
             get=endpoint_filter.get_endpoint_group,
             add=endpoint_filter.create_endpoint_group,
             change=endpoint_filter.update_endpoint_group,
             remove=endpoint_filter.delete_endpoint_group, filters=("name",))
list_endpoint_groups, show_endpoint_group = GROUP.list, GROUP.show
create_endpoint_group, update_endpoint_group = GROUP.create, GROUP.update
delete_endpoint_group = GROUP.delete


async def _projects(req: Req, db: Session, found: Sequence[Project]) -> Response:
    return json_response(views.projects(req, found, await projects.tags_of(db, found)))


def _endpoints(req: Req, found: Sequence[Endpoint]) -> Response:
    return json_response(views.collection(req, "endpoints",
                                          [views.endpoint(req, e) for e in found]))


# --- endpoint groups and projects ----------------------------------------------------------

async def list_group_projects(req: Req) -> Response:
    req.svc.enforce(req.ctx, "identity:list_projects_associated_with_endpoint_group")
    async with req.svc.read() as db:
        found = await endpoint_filter.projects_of_group(db, req.params["endpoint_group_id"])
        return await _projects(req, db, found)


async def list_group_endpoints(req: Req) -> Response:
    req.svc.enforce(req.ctx, "identity:list_endpoints_associated_with_endpoint_group")
    async with req.svc.read() as db:
        found = await endpoint_filter.endpoints_in_group(db, req.params["endpoint_group_id"])
    return _endpoints(req, found)


async def show_group_in_project(req: Req) -> Response:
    req.svc.enforce(req.ctx, "identity:get_endpoint_group_in_project")
    group_id, project_id = req.params["endpoint_group_id"], req.params["project_id"]
    async with req.svc.read() as db:
        await endpoint_filter.get_group_in_project(db, group_id, project_id)
    return json_response({"project_endpoint_group": views.project_endpoint_group(
        req, group_id, project_id)})


async def add_group_to_project(req: Req) -> Response:
    req.svc.enforce(req.ctx, "identity:add_endpoint_group_to_project")
    async with req.svc.write() as db:
        await endpoint_filter.add_group_to_project(db, req.params["endpoint_group_id"],
                                                   req.params["project_id"])
    return empty_response()


async def remove_group_from_project(req: Req) -> Response:
    req.svc.enforce(req.ctx, "identity:remove_endpoint_group_from_project")
    async with req.svc.write() as db:
        await endpoint_filter.remove_group_from_project(db, req.params["endpoint_group_id"],
                                                        req.params["project_id"])
    return empty_response()


async def list_project_groups(req: Req) -> Response:
    req.svc.enforce(req.ctx, "identity:list_endpoint_groups_for_project")
    async with req.svc.read() as db:
        found = await endpoint_filter.groups_of_project(db, req.params["project_id"])
    return json_response(views.collection(req, "endpoint_groups",
                                          [views.endpoint_group(req, g) for g in found]))


# --- endpoints and projects ----------------------------------------------------------------

async def list_project_endpoints(req: Req) -> Response:
    req.svc.enforce(req.ctx, "identity:list_endpoints_for_project")
    async with req.svc.read() as db:
        found = await endpoint_filter.endpoints_of_project(db, req.params["project_id"])
    return _endpoints(req, found)


async def check_project_endpoint(req: Req) -> Response:
    req.svc.enforce(req.ctx, "identity:check_endpoint_in_project")
    async with req.svc.read() as db:
        await endpoint_filter.check_endpoint_in_project(db, req.params["endpoint_id"],
                                                        req.params["project_id"])
    return empty_response()


async def add_project_endpoint(req: Req) -> Response:
    req.svc.enforce(req.ctx, "identity:add_endpoint_to_project")
    async with req.svc.write() as db:
        await endpoint_filter.add_endpoint_to_project(db, req.params["endpoint_id"],
                                                      req.params["project_id"])
    return empty_response()


async def remove_project_endpoint(req: Req) -> Response:
    req.svc.enforce(req.ctx, "identity:remove_endpoint_from_project")
    async with req.svc.write() as db:
        await endpoint_filter.remove_endpoint_from_project(db, req.params["endpoint_id"],
                                                           req.params["project_id"])
    return empty_response()


async def list_endpoint_projects(req: Req) -> Response:
    req.svc.enforce(req.ctx, "identity:list_projects_for_endpoint")
    async with req.svc.read() as db:
        found = await endpoint_filter.projects_of_endpoint(db, req.params["endpoint_id"])
        return await _projects(req, db, found)
