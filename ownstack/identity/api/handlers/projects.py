"""Projects: ``/v3/projects`` and ``/v3/projects/{id}/tags``.

Deviations from Keystone, on purpose:

* ``GET /v3/projects`` by a caller whom ``identity:list_projects`` does not allow (a plain
  member, as in ``openstack project list``) is not a 403: it returns the projects on which
  the caller holds a role (directly, through a group or by inheritance), filtered by the
  same query. Admins and system readers still see every project. Where such a caller asks
  for a project by name and holds a role on none of that name, the answer is Keystone's
  403 after all: clients that look a project up by name or id (``openstack network rbac
  create --target-project ID``) take that 403 as "use the id as it is", and an empty list
  as "no such project". For the same reason
  ``GET /v3/projects/{id}`` is allowed to a caller holding a role on that project, so that
  a name found in that list can be shown.
* A project acting as a domain (``is_domain: true``) is a domain, shown as a project
  (decision 72); it has no tags (a 501), and no project can be its child or be scoped
  to it as to a project (a token takes its domain scope).
* ``PUT /v3/projects/{id}/tags/{tag}`` of a tag the project already has is a 201 (PUT is
  idempotent), where Keystone answers 400.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from ownstack.common.api.app import empty_response, json_response
from ownstack.common.errors import PolicyNotAuthorized
from ownstack.identity.api import views
from ownstack.identity.api.handlers.common import query_bool, token_domain_id
from ownstack.identity.api.handlers.crud import enforce_on
from ownstack.identity.api.schemas import projects as schema
from ownstack.identity.objects import Session, domains, projects
from ownstack.identity.objects.assignments import effective_roles, projects_with_roles
from ownstack.identity.objects.projects import ProjectFilter
from ownstack.identity.state import Req


def project_filter(req: Req) -> ProjectFilter:
    """Keystone's project list filters, read from the query string."""
    q = req.query

    def names(key: str) -> tuple[str, ...]:
        return tuple(t for t in q.get(key, "").split(",") if t)

    return ProjectFilter(name=q.get("name"), domain_id=q.get("domain_id"),
                         enabled=query_bool(req, "enabled"), parent_id=q.get("parent_id"),
                         is_domain=query_bool(req, "is_domain") is True, tags=names("tags"),
                         tags_any=names("tags-any"), not_tags=names("not-tags"),
                         not_tags_any=names("not-tags-any"))


async def listed_projects(req: Req, db: Session, wanted: ProjectFilter,
                          among: list[str] | None) -> dict[str, Any]:
    """The projects ``wanted`` among those given (None: all), as Keystone lists them."""
    if wanted.is_domain:
        found_domains = [d for d in await projects.list_domain_projects(db, wanted)
                         if among is None or d.id in among]
        return views.collection(req, "projects", [views.domain_project(req, d)
                                                  for d in found_domains])
    found = await projects.list_projects(db, wanted, among)
    return views.projects(req, found, await projects.tags_of(db, found))


async def list_projects(req: Req) -> Response:
    wanted = project_filter(req)
    async with req.svc.read() as db:
        among = None
        if not req.svc.allowed(req.ctx, "identity:list_projects"):
            if req.ctx.user_id is None:
                raise PolicyNotAuthorized("identity:list_projects")
            among = [p.id for p in await projects_with_roles(db, req.ctx.user_id)]
        body = await listed_projects(req, db, wanted, among)
        if among is not None and wanted.name is not None and not body["projects"]:
            raise PolicyNotAuthorized("identity:list_projects")
    return json_response(body)


async def show_project(req: Req) -> Response:
    project_id = req.params["project_id"]
    async with req.svc.read() as db:
        domain = await projects.find_domain_project(db, project_id)
        if domain is not None:
            req.svc.enforce(req.ctx, "identity:get_project", {"target.project.id": project_id})
            return json_response({"project": views.domain_project(req, domain)})
        project = await projects.get_project(db, project_id)
        if not req.svc.allowed(req.ctx, "identity:get_project",
                               {"target.project.id": project_id}) and not (
                req.ctx.user_id and await effective_roles(db, req.ctx.user_id,
                                                          project_id=project_id)):
            raise PolicyNotAuthorized("identity:get_project")
        tags = await projects.tags(db, project_id)
    return json_response({"project": views.project(req, project, tags)})


async def create_project(req: Req) -> Response:
    req.svc.enforce(req.ctx, "identity:create_project")
    data = (await req.json(schema.CREATE))["project"]
    async with req.svc.write() as db:
        if data.get("is_domain"):
            domain = await projects.create_domain_project(db, data)
            return json_response({"project": views.domain_project(req, domain)}, status=201)
        project, tags = await projects.create_project(db, data,
                                                      default_domain_id=token_domain_id(req))
    return json_response({"project": views.project(req, project, tags)}, status=201)


async def update_project(req: Req) -> Response:
    project_id = enforce_on(req, "identity:update_project", "project")
    data = (await req.json(schema.UPDATE))["project"]
    async with req.svc.write() as db:
        if await projects.find_domain_project(db, project_id) is not None:
            domain = await projects.update_domain_project(db, project_id, data)
            return json_response({"project": views.domain_project(req, domain)})
        project, tags = await projects.update_project(db, project_id, data)
    return json_response({"project": views.project(req, project, tags)})


async def delete_project(req: Req) -> Response:
    project_id = enforce_on(req, "identity:delete_project", "project")
    async with req.svc.write() as db:
        if await projects.find_domain_project(db, project_id) is not None:
            await domains.delete_domain(db, project_id)
            return empty_response()
        await projects.delete_project(db, project_id)
    return empty_response()


# --- tags ----------------------------------------------------------------------------------

def _tag_target(req: Req) -> dict[str, Any]:
    return {"target.project.id": req.params["project_id"]}


async def list_tags(req: Req) -> Response:
    req.svc.enforce(req.ctx, "identity:list_project_tags", _tag_target(req))
    async with req.svc.read() as db:
        tags = await projects.tags(db, req.params["project_id"])
    return json_response({"tags": tags})


async def replace_tags(req: Req) -> Response:
    req.svc.enforce(req.ctx, "identity:update_project_tags", _tag_target(req))
    wanted = (await req.json(schema.TAGS))["tags"]
    async with req.svc.write() as db:
        tags = await projects.replace_tags(db, req.params["project_id"], wanted)
    return json_response({"tags": tags})


async def delete_tags(req: Req) -> Response:
    req.svc.enforce(req.ctx, "identity:delete_project_tags", _tag_target(req))
    async with req.svc.write() as db:
        await projects.replace_tags(db, req.params["project_id"], [])
    return empty_response()


async def check_tag(req: Req) -> Response:
    req.svc.enforce(req.ctx, "identity:get_project_tag", _tag_target(req))
    async with req.svc.read() as db:
        await projects.check_tag(db, req.params["project_id"], req.params["tag"])
    return empty_response()


async def add_tag(req: Req) -> Response:
    req.svc.enforce(req.ctx, "identity:create_project_tag", _tag_target(req))
    project_id, tag = req.params["project_id"], req.params["tag"]
    async with req.svc.write() as db:
        await projects.add_tag(db, project_id, tag)
    location = views.link(req, f"/v3/projects/{project_id}/tags/{tag}")["self"]
    return empty_response(201, headers={"Location": location})


async def delete_tag(req: Req) -> Response:
    req.svc.enforce(req.ctx, "identity:delete_project_tag", _tag_target(req))
    async with req.svc.write() as db:
        await projects.delete_tag(db, req.params["project_id"], req.params["tag"])
    return empty_response()
