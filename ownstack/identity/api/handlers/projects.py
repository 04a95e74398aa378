"""Projects: ``/v3/projects`` and ``/v3/projects/{id}/tags``.

Deviations from Keystone, on purpose:

* ``GET /v3/projects`` by a caller whom ``identity:list_projects`` does not allow (a plain
  member, as in ``openstack project list``) is not a 403: it returns the projects on which
  the caller holds a role (directly, through a group or by inheritance), filtered by the
  same query. Admins and system readers still see every project. For the same reason
  ``GET /v3/projects/{id}`` is allowed to a caller holding a role on that project, so that
  a name found in that list can be shown.
* Projects acting as domains are not supported: ``is_domain: true`` at create is a 501
  and ``?is_domain=true`` lists nothing. Domains live only under ``/v3/domains``.
* ``PUT /v3/projects/{id}/tags/{tag}`` of a tag the project already has is a 201 (PUT is
  idempotent), where Keystone answers 400.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, delete, exists, false, not_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ColumnElement
from starlette.responses import Response

from ownstack.common.api.app import empty_response, json_response
from ownstack.common.api.schema import BOOLEAN, DESCRIPTION, ID, NAME, NULLABLE_ID, Validator
from ownstack.common.errors import (
    BadRequest,
    Forbidden,
    NotImplementedYet,
    PolicyNotAuthorized,
    ValidationFailed,
)
from ownstack.identity.api.handlers.common import (
    collection_links,
    extra_attrs,
    get_or_404,
    query_bool,
    query_filters,
    self_link,
    token_domain_id,
)
from ownstack.identity.errors import DuplicateEntity, EntityNotFound
from ownstack.identity.objects import cleanup, revocation
from ownstack.identity.objects.assignments import (
    effective_roles,
    project_lineage,
    projects_with_roles,
)
from ownstack.identity.objects.models import Domain, Project, ProjectTag
from ownstack.identity.state import Req

MAX_TAGS = 80                  # Keystone's limit per project
MAX_TAG_LENGTH = 255
MAX_PROJECT_TREE_DEPTH = 5     # Keystone's default [DEFAULT] max_project_tree_depth

_OPTIONS = {"type": "object", "additionalProperties": False,
            "properties": {"immutable": {"type": ["boolean", "null"]}}}
_FIELDS = {"name": {**NAME, "pattern": r"\S"}, "description": DESCRIPTION, "enabled": BOOLEAN,
           "domain_id": ID, "parent_id": NULLABLE_ID, "is_domain": BOOLEAN,
           "tags": {"type": "array", "items": {"type": "string"}}, "options": _OPTIONS}

CREATE = Validator({
    "type": "object", "required": ["project"], "additionalProperties": False,
    "properties": {"project": {"type": "object", "required": ["name"], "properties": _FIELDS}},
})
UPDATE = Validator({
    "type": "object", "required": ["project"], "additionalProperties": False,
    "properties": {"project": {"type": "object", "minProperties": 1, "properties": _FIELDS}},
})
TAGS = Validator({
    "type": "object", "required": ["tags"], "additionalProperties": False,
    "properties": {"tags": {"type": "array", "items": {"type": "string"}}},
})

_RESERVED = {"id", "links", "name", "description", "enabled", "domain_id", "parent_id",
             "is_domain", "tags", "options"}


def view(req: Req, project: Project, tags: Sequence[str]) -> dict[str, Any]:
    return {**project.extra, "id": project.id, "name": project.name,
            "domain_id": project.domain_id, "description": project.description or "",
            "enabled": project.enabled, "parent_id": project.parent_id or project.domain_id,
            "is_domain": False, "tags": list(tags), "options": {},
            "links": self_link(req, f"/v3/projects/{project.id}")}


async def views(req: Req, db: AsyncSession, projects: Sequence[Project]) -> list[dict[str, Any]]:
    """Project views with their tags, loaded in one query."""
    tags: dict[str, list[str]] = {}
    if projects:
        rows = await db.execute(select(ProjectTag.project_id, ProjectTag.name)
                                .where(ProjectTag.project_id.in_([p.id for p in projects]))
                                .order_by(ProjectTag.name))
        for project_id, name in rows.all():
            tags.setdefault(project_id, []).append(name)
    return [view(req, p, tags.get(p.id, [])) for p in projects]


def project_filters(req: Req) -> list[ColumnElement[bool]]:
    """Keystone's project list filters, read from the query string."""
    conditions = query_filters(req, {"name": Project.name, "domain_id": Project.domain_id},
                               {"enabled": Project.enabled})
    if "parent_id" in req.query:
        # A top-level project's parent is its domain, as Keystone reports it.
        parent = req.query["parent_id"]
        conditions.append(or_(Project.parent_id == parent,
                              and_(Project.parent_id.is_(None), Project.domain_id == parent)))
    if query_bool(req, "is_domain"):
        conditions.append(false())

    def tagged(name: str) -> ColumnElement[bool]:
        return Project.id.in_(select(ProjectTag.project_id).where(ProjectTag.name == name))

    for key in ("tags", "tags-any", "not-tags", "not-tags-any"):
        names = [t for t in req.query.get(key, "").split(",") if t]
        if not names:
            continue
        every = and_(*(tagged(n) for n in names)) if key.endswith("tags") else \
            or_(*(tagged(n) for n in names))
        conditions.append(not_(every) if key.startswith("not-") else every)
    return conditions


def checked_tag(tag: str) -> str:
    if not tag or len(tag) > MAX_TAG_LENGTH:
        raise ValidationFailed(f"Invalid project tag {tag!r}: a tag is 1 to "
                               f"{MAX_TAG_LENGTH} characters long.")
    if "/" in tag or "," in tag:
        raise ValidationFailed(f"Invalid project tag {tag!r}: a tag may not contain "
                               "'/' or ','.")
    return tag


def checked_tags(tags: Sequence[str]) -> list[str]:
    if len(tags) > MAX_TAGS:
        raise ValidationFailed(f"A project may have at most {MAX_TAGS} tags; "
                               f"{len(tags)} were given.")
    if len(set(tags)) != len(tags):
        raise ValidationFailed("Project tags must be unique.")
    return sorted(checked_tag(t) for t in tags)


def _refuse_unsupported(data: dict[str, Any]) -> None:
    if (data.get("options") or {}).get("immutable"):
        raise NotImplementedYet("Immutable projects (options.immutable) are not supported "
                                "by ownstack.")


async def _set_tags(db: AsyncSession, project_id: str, tags: Sequence[str]) -> None:
    await db.execute(delete(ProjectTag).where(ProjectTag.project_id == project_id))
    db.add_all(ProjectTag(project_id=project_id, name=t) for t in tags)


async def _tags(db: AsyncSession, project_id: str) -> list[str]:
    return list((await db.scalars(select(ProjectTag.name).where(
        ProjectTag.project_id == project_id).order_by(ProjectTag.name))).all())


def _duplicate(name: Any) -> DuplicateEntity:
    return DuplicateEntity("project", "it is not permitted to have two projects with the "
                           f"same name in the same domain: name is {name}")


async def list_projects(req: Req) -> Response:
    stmt = select(Project).where(*project_filters(req)).order_by(Project.name)
    async with req.svc.read() as db:
        if not req.svc.allowed(req.ctx, "identity:list_projects"):
            if req.ctx.user_id is None:
                raise PolicyNotAuthorized("identity:list_projects")
            own = [p.id for p in await projects_with_roles(db, req.ctx.user_id)]
            stmt = stmt.where(Project.id.in_(own))
        body = await views(req, db, (await db.scalars(stmt)).all())
    return json_response({"projects": body, "links": collection_links(req)})


async def show_project(req: Req) -> Response:
    project_id = req.params["project_id"]
    async with req.svc.read() as db:
        project = await get_or_404(db, Project, project_id, "project")
        if not req.svc.allowed(req.ctx, "identity:get_project",
                               {"target.project.id": project_id}) and not (
                req.ctx.user_id and await effective_roles(db, req.ctx.user_id,
                                                          project_id=project_id)):
            raise PolicyNotAuthorized("identity:get_project")
        body = view(req, project, await _tags(db, project_id))
    return json_response({"project": body})


async def _placement(req: Req, db: AsyncSession, data: dict[str, Any]) -> tuple[str, str | None]:
    """The new project's domain id and parent id, after Keystone's hierarchy checks."""
    domain_id: str | None = data.get("domain_id")
    parent_id: str | None = data.get("parent_id")
    if parent_id is None:
        domain_id = domain_id or token_domain_id(req)
        await get_or_404(db, Domain, domain_id, "domain")
        return domain_id, None
    parent = await db.get(Project, parent_id)
    if parent is None:
        # Keystone accepts a domain as the parent: the project is then top-level in it.
        await get_or_404(db, Domain, parent_id, "project")
        if domain_id not in (None, parent_id):
            raise BadRequest(f"Cannot create project, the parent ({parent_id}) is acting as a "
                             f"domain, but this project's domain id ({domain_id}) does not "
                             "match the parent's id.")
        return parent_id, None
    if domain_id not in (None, parent.domain_id):
        raise BadRequest(f"Cannot create project, since it specifies its domain_id {domain_id}, "
                         f"but specifies a parent in a different domain ({parent.domain_id}).")
    _, ancestors = await project_lineage(db, parent.id)
    for branch_id in (parent.id, *ancestors):
        branch = await db.get(Project, branch_id)
        if branch is not None and not branch.enabled:
            raise BadRequest("Cannot create a project in a branch containing a disabled "
                             f"project: {branch_id}.")
    if len(ancestors) + 2 > MAX_PROJECT_TREE_DEPTH:
        raise Forbidden(f"Max hierarchy depth reached for {parent.id} branch.")
    return parent.domain_id, parent.id


async def create_project(req: Req) -> Response:
    req.svc.enforce(req.ctx, "identity:create_project")
    data = (await req.json(CREATE))["project"]
    if data.get("is_domain"):
        raise NotImplementedYet("Projects acting as domains (is_domain: true) are not "
                                "supported by ownstack; create a domain with POST /v3/domains.")
    _refuse_unsupported(data)
    tags = checked_tags(data.get("tags", []))
    name = data["name"].strip()
    try:
        async with req.svc.write() as db:
            domain_id, parent_id = await _placement(req, db, data)
            project = Project(name=name, domain_id=domain_id, parent_id=parent_id,
                              description=data.get("description"),
                              enabled=data.get("enabled", True),
                              extra=extra_attrs(data, _RESERVED))
            db.add(project)
            await db.flush()
            await _set_tags(db, project.id, tags)
    except IntegrityError:
        raise _duplicate(name) from None
    return json_response({"project": view(req, project, tags)}, status=201)


async def _check_enabled_change(db: AsyncSession, project: Project, enabled: bool) -> None:
    """Keystone keeps hierarchies consistent: no enabled project under a disabled one."""
    if enabled:
        _, ancestors = await project_lineage(db, project.id)
        if ancestors and await db.scalar(select(exists().where(
                Project.id.in_(ancestors), Project.enabled.is_(False)))):
            raise Forbidden(f"Cannot enable project {project.id} since it has disabled parents.")
        return
    rows = (await db.execute(select(Project.id, Project.parent_id, Project.enabled)
                             .where(Project.domain_id == project.domain_id))).all()
    children: dict[str | None, list[tuple[str, bool]]] = {}
    for child_id, parent_id, child_enabled in rows:
        children.setdefault(parent_id, []).append((child_id, child_enabled))
    todo = [project.id]
    while todo:
        for child_id, child_enabled in children.get(todo.pop(), ()):
            if child_enabled:
                raise Forbidden(f"Cannot disable project {project.id} since its subtree "
                                "contains enabled projects.")
            todo.append(child_id)


def _refuse_moves(project: Project, data: dict[str, Any]) -> None:
    if data.get("id", project.id) != project.id:
        raise BadRequest("Cannot change the ID of a project.")
    if data.get("domain_id", project.domain_id) != project.domain_id:
        raise BadRequest("Cannot change the domain ID of a project.")
    if data.get("is_domain", False):
        raise BadRequest("Update of `is_domain` is not allowed.")
    current_parent = project.parent_id or project.domain_id
    if data.get("parent_id", current_parent) != current_parent:
        raise Forbidden("Update of `parent_id` is not allowed.")


async def update_project(req: Req) -> Response:
    project_id = req.params["project_id"]
    req.svc.enforce(req.ctx, "identity:update_project", {"target.project.id": project_id})
    data = (await req.json(UPDATE))["project"]
    _refuse_unsupported(data)
    new_tags = checked_tags(data["tags"]) if "tags" in data else None
    try:
        async with req.svc.write() as db:
            project = await get_or_404(db, Project, project_id, "project")
            _refuse_moves(project, data)
            if "enabled" in data and data["enabled"] != project.enabled:
                await _check_enabled_change(db, project, data["enabled"])
                if not data["enabled"]:
                    await revocation.revoke(db, project_id=project_id)
            if "name" in data:
                project.name = data["name"].strip()
            for key in ("description", "enabled"):
                if key in data:
                    setattr(project, key, data[key])
            extra = extra_attrs(data, _RESERVED)
            if extra:
                project.extra = {**project.extra, **extra}
            if new_tags is not None:
                await _set_tags(db, project_id, new_tags)
            await db.flush()
            tags = await _tags(db, project_id)
    except IntegrityError:
        raise _duplicate(data.get("name")) from None
    return json_response({"project": view(req, project, tags)})


async def delete_project(req: Req) -> Response:
    project_id = req.params["project_id"]
    req.svc.enforce(req.ctx, "identity:delete_project", {"target.project.id": project_id})
    async with req.svc.write() as db:
        await get_or_404(db, Project, project_id, "project")
        if await db.scalar(select(exists().where(Project.parent_id == project_id))):
            raise Forbidden(f"Cannot delete the project {project_id} since it is not a leaf "
                            "in the hierarchy; delete its sub-projects first.")
        await cleanup.delete_projects(db, [project_id])
    return empty_response()


# --- tags ----------------------------------------------------------------------------------

def _tag_target(req: Req) -> dict[str, Any]:
    return {"target.project.id": req.params["project_id"]}


async def list_tags(req: Req) -> Response:
    req.svc.enforce(req.ctx, "identity:list_project_tags", _tag_target(req))
    async with req.svc.read() as db:
        project = await get_or_404(db, Project, req.params["project_id"], "project")
        tags = await _tags(db, project.id)
    return json_response({"tags": tags})


async def replace_tags(req: Req) -> Response:
    req.svc.enforce(req.ctx, "identity:update_project_tags", _tag_target(req))
    tags = checked_tags((await req.json(TAGS))["tags"])
    async with req.svc.write() as db:
        project = await get_or_404(db, Project, req.params["project_id"], "project")
        await _set_tags(db, project.id, tags)
    return json_response({"tags": tags})


async def delete_tags(req: Req) -> Response:
    req.svc.enforce(req.ctx, "identity:delete_project_tags", _tag_target(req))
    async with req.svc.write() as db:
        project = await get_or_404(db, Project, req.params["project_id"], "project")
        await _set_tags(db, project.id, [])
    return empty_response()


async def check_tag(req: Req) -> Response:
    req.svc.enforce(req.ctx, "identity:get_project_tag", _tag_target(req))
    async with req.svc.read() as db:
        project = await get_or_404(db, Project, req.params["project_id"], "project")
        if await db.get(ProjectTag, (project.id, req.params["tag"])) is None:
            raise EntityNotFound("project tag", req.params["tag"])
    return empty_response()


async def add_tag(req: Req) -> Response:
    req.svc.enforce(req.ctx, "identity:create_project_tag", _tag_target(req))
    tag = checked_tag(req.params["tag"])
    async with req.svc.write() as db:
        project = await get_or_404(db, Project, req.params["project_id"], "project")
        tags = await _tags(db, project.id)
        if tag not in tags:
            if len(tags) >= MAX_TAGS:
                raise ValidationFailed(f"A project may have at most {MAX_TAGS} tags.")
            db.add(ProjectTag(project_id=project.id, name=tag))
    location = self_link(req, f"/v3/projects/{project.id}/tags/{tag}")["self"]
    return empty_response(201, headers={"Location": location})


async def delete_tag(req: Req) -> Response:
    req.svc.enforce(req.ctx, "identity:delete_project_tag", _tag_target(req))
    async with req.svc.write() as db:
        project = await get_or_404(db, Project, req.params["project_id"], "project")
        row = await db.get(ProjectTag, (project.id, req.params["tag"]))
        if row is None:
            raise EntityNotFound("project tag", req.params["tag"])
        await db.delete(row)
    return empty_response()
