"""Projects: their hierarchy rules, filters and tags.

A project acting as a domain (``is_domain: true``) is a domain: ownstack keeps domains in
their own table, and shows each as a project too (decision 72): created, listed with
``is_domain=true``, shown, changed and deleted through ``/v3/projects``.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, delete, exists, false, not_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ColumnElement

from ownstack.common.errors import BadRequest, Forbidden, NotImplementedYet, ValidationFailed
from ownstack.identity.errors import DuplicateEntity, EntityNotFound
from ownstack.identity.objects import cleanup, domains, revocation, rows
from ownstack.identity.objects.assignments import effective_roles, project_lineage
from ownstack.identity.objects.domains import (
    DEFAULT_DOMAIN_ID,
    find_in_domain,
    get_domain,
    is_enabled,
)
from ownstack.identity.objects.models import Domain, Project, ProjectTag

MAX_TAGS = 80                  # Keystone's limit per project
MAX_TAG_LENGTH = 255
MAX_PROJECT_TREE_DEPTH = 5     # Keystone's default [DEFAULT] max_project_tree_depth

_RESERVED = {"id", "links", "name", "description", "enabled", "domain_id", "parent_id",
             "is_domain", "tags", "options"}


@dataclass(frozen=True)
class ProjectFilter:
    """Keystone's project list filters. ``tags`` needs every tag, ``tags_any`` one of
    them; the ``not_`` forms negate each."""

    name: str | None = None
    domain_id: str | None = None
    enabled: bool | None = None
    parent_id: str | None = None
    is_domain: bool = False
    tags: tuple[str, ...] = ()
    tags_any: tuple[str, ...] = ()
    not_tags: tuple[str, ...] = ()
    not_tags_any: tuple[str, ...] = ()

    def conditions(self) -> list[ColumnElement[bool]]:
        conditions = rows.matching((Project.name, self.name), (Project.domain_id, self.domain_id),
                              (Project.enabled, self.enabled))
        if self.parent_id is not None:
            # A top-level project's parent is its domain, as Keystone reports it.
            conditions.append(or_(Project.parent_id == self.parent_id,
                                  and_(Project.parent_id.is_(None),
                                       Project.domain_id == self.parent_id)))
        if self.is_domain:
            conditions.append(false())
        for names, every, negate in ((self.tags, True, False), (self.tags_any, False, False),
                                     (self.not_tags, True, True),
                                     (self.not_tags_any, False, True)):
            if names:
                tagged = [Project.id.in_(select(ProjectTag.project_id)
                                         .where(ProjectTag.name == name)) for name in names]
                condition = and_(*tagged) if every else or_(*tagged)
                conditions.append(not_(condition) if negate else condition)
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


def _duplicate(name: object) -> DuplicateEntity:
    return DuplicateEntity("project", "it is not permitted to have two projects with the "
                           f"same name in the same domain: name is {name}")


def _refuse_unsupported(data: Mapping[str, Any]) -> None:
    if (data.get("options") or {}).get("immutable"):
        raise NotImplementedYet("Immutable projects (options.immutable) are not supported "
                                "by ownstack.")


# --- reading -------------------------------------------------------------------------------

async def get_project(db: AsyncSession, project_id: str) -> Project:
    return await rows.get_or_404(db, Project, project_id, "project")


async def find_project(db: AsyncSession, ref: Mapping[str, Any]) -> Project | None:
    """The project an authentication request names: by id, or by name and domain."""
    return await find_in_domain(db, Project, ref, "project")


async def list_projects(db: AsyncSession, wanted: ProjectFilter,
                        among: Collection[str] | None = None) -> Sequence[Project]:
    """The projects matching ``wanted``, by name; only those of ``among`` when given."""
    stmt = select(Project).where(*wanted.conditions()).order_by(Project.name)
    if among is not None:
        stmt = stmt.where(Project.id.in_(among))
    return (await db.scalars(stmt)).all()


async def tags_of(db: AsyncSession, projects: Sequence[Project]) -> dict[str, list[str]]:
    """Each project's tags, sorted, loaded in one query."""
    tags: dict[str, list[str]] = {p.id: [] for p in projects}
    if projects:
        found = await db.execute(select(ProjectTag.project_id, ProjectTag.name)
                                 .where(ProjectTag.project_id.in_(list(tags)))
                                 .order_by(ProjectTag.name))
        for project_id, name in found.all():
            tags[project_id].append(name)
    return tags


async def tags(db: AsyncSession, project_id: str) -> list[str]:
    """The tags of an existing project (404 otherwise)."""
    project = await get_project(db, project_id)
    return (await tags_of(db, [project]))[project.id]


async def usable_by(db: AsyncSession, user_id: str, project_id: str) -> bool:
    """Whether a token of the user may be scoped to the project: it and its domain are
    enabled, and the user holds a role on it."""
    project = await db.get(Project, project_id)
    if project is None or not project.enabled or not await is_enabled(db, project.domain_id):
        return False
    return bool(await effective_roles(db, user_id, project_id=project_id))


# --- creating and changing -----------------------------------------------------------------

async def _placement(db: AsyncSession, domain_id: str | None, parent_id: str | None,
                     default_domain_id: str) -> tuple[str, str | None]:
    """The new project's domain id and parent id, after Keystone's hierarchy checks."""
    if parent_id is None:
        domain_id = domain_id or default_domain_id
        await get_domain(db, domain_id)
        return domain_id, None
    parent = await db.get(Project, parent_id)
    if parent is None:
        # Keystone accepts a domain as the parent: the project is then top-level in it.
        await get_domain(db, parent_id, "project")
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


async def create_project(db: AsyncSession, data: Mapping[str, Any], *,
                         default_domain_id: str) -> tuple[Project, list[str]]:
    """A new project and its tags; without a domain or parent it goes in
    ``default_domain_id``."""
    _refuse_unsupported(data)
    new_tags = checked_tags(data.get("tags", []))
    name = data["name"].strip()
    domain_id, parent_id = await _placement(db, data.get("domain_id"), data.get("parent_id"),
                                            default_domain_id)
    project = Project(name=name, domain_id=domain_id, parent_id=parent_id,
                      description=data.get("description"), enabled=data.get("enabled", True),
                      extra=rows.extra_attrs(data, _RESERVED))
    db.add(project)
    await rows.flush_unique(db, _duplicate(name))
    await _set_tags(db, project.id, new_tags)
    return project, new_tags


async def ensure_project(db: AsyncSession, name: str, description: str) -> Project:
    """The project of this name in the default domain, made if missing."""
    project = await db.scalar(select(Project).where(
        Project.domain_id == DEFAULT_DOMAIN_ID, Project.name == name))
    if project is None:
        project = await rows.added(db, Project(name=name, domain_id=DEFAULT_DOMAIN_ID,
                                               description=description, extra={}))
    return project


async def _check_enabled_change(db: AsyncSession, project: Project, enabled: bool) -> None:
    """Keystone keeps hierarchies consistent: no enabled project under a disabled one."""
    if enabled:
        _, ancestors = await project_lineage(db, project.id)
        if ancestors and await db.scalar(select(exists().where(
                Project.id.in_(ancestors), Project.enabled.is_(False)))):
            raise Forbidden(f"Cannot enable project {project.id} since it has disabled parents.")
        return
    tree = (await db.execute(select(Project.id, Project.parent_id, Project.enabled)
                             .where(Project.domain_id == project.domain_id))).all()
    children: dict[str | None, list[tuple[str, bool]]] = {}
    for child_id, parent_id, child_enabled in tree:
        children.setdefault(parent_id, []).append((child_id, child_enabled))
    todo = [project.id]
    while todo:
        for child_id, child_enabled in children.get(todo.pop(), ()):
            if child_enabled:
                raise Forbidden(f"Cannot disable project {project.id} since its subtree "
                                "contains enabled projects.")
            todo.append(child_id)


def _refuse_moves(project: Project, data: Mapping[str, Any]) -> None:
    if data.get("id", project.id) != project.id:
        raise BadRequest("Cannot change the ID of a project.")
    if data.get("domain_id", project.domain_id) != project.domain_id:
        raise BadRequest("Cannot change the domain ID of a project.")
    if data.get("is_domain", False):
        raise BadRequest("Update of `is_domain` is not allowed.")
    current_parent = project.parent_id or project.domain_id
    if data.get("parent_id", current_parent) != current_parent:
        raise Forbidden("Update of `parent_id` is not allowed.")


async def update_project(db: AsyncSession, project_id: str, data: Mapping[str, Any]
                         ) -> tuple[Project, list[str]]:
    """Change the project; disabling it revokes the tokens scoped to it."""
    _refuse_unsupported(data)
    new_tags = checked_tags(data["tags"]) if "tags" in data else None
    project = await get_project(db, project_id)
    _refuse_moves(project, data)
    if "enabled" in data and data["enabled"] != project.enabled:
        await _check_enabled_change(db, project, data["enabled"])
        if not data["enabled"]:
            await revocation.revoke(db, project_id=project_id)
    if "name" in data:
        project.name = data["name"].strip()
    rows.assign(project, data, ("description", "enabled"))
    rows.merge_extra(project, data, _RESERVED)
    if new_tags is not None:
        await _set_tags(db, project_id, new_tags)
    await rows.flush_unique(db, _duplicate(data.get("name")))
    return project, await tags(db, project_id)


async def delete_project(db: AsyncSession, project_id: str) -> None:
    """Delete a leaf project with what hangs off it (see :mod:`cleanup`)."""
    await get_project(db, project_id)
    if await db.scalar(select(exists().where(Project.parent_id == project_id))):
        raise Forbidden(f"Cannot delete the project {project_id} since it is not a leaf "
                        "in the hierarchy; delete its sub-projects first.")
    await cleanup.delete_projects(db, [project_id])


# --- projects acting as domains ------------------------------------------------------------

def _check_domain_project(data: Mapping[str, Any]) -> None:
    _refuse_unsupported(data)
    if data.get("domain_id") or data.get("parent_id"):
        raise BadRequest("A project acting as a domain has no domain_id and no parent_id.")
    if data.get("tags"):
        raise NotImplementedYet("Tags on a project acting as a domain are not supported by "
                                "ownstack.")


async def create_domain_project(db: AsyncSession, data: Mapping[str, Any]) -> Domain:
    """A project with ``is_domain: true``: a new domain."""
    _check_domain_project(data)
    fields = {k: v for k, v in data.items()
              if k not in ("domain_id", "parent_id", "is_domain", "tags", "options")}
    return await domains.create_domain(db, {**fields, "name": data["name"].strip()})


async def find_domain_project(db: AsyncSession, project_id: str) -> Domain | None:
    """The domain ``project_id`` names when no project has that id."""
    if await db.get(Project, project_id) is not None:
        return None
    return await db.get(Domain, project_id)


async def list_domain_projects(db: AsyncSession, wanted: ProjectFilter) -> Sequence[Domain]:
    """The domains a project list with ``is_domain=true`` finds: none has a domain, a
    parent or tags."""
    if wanted.domain_id or wanted.parent_id or wanted.tags or wanted.tags_any:
        return []
    return await domains.list_domains(db, name=wanted.name, enabled=wanted.enabled)


async def update_domain_project(db: AsyncSession, domain_id: str, data: Mapping[str, Any]
                                ) -> Domain:
    if data.get("is_domain") is False:
        raise BadRequest("Update of `is_domain` is not allowed.")
    _check_domain_project(data)
    fields = {k: v for k, v in data.items()
              if k not in ("domain_id", "parent_id", "is_domain", "tags", "options")}
    if "name" in fields:
        fields["name"] = fields["name"].strip()
    return await domains.update_domain(db, domain_id, fields)


# --- tags ----------------------------------------------------------------------------------

async def _set_tags(db: AsyncSession, project_id: str, new_tags: Sequence[str]) -> None:
    await db.execute(delete(ProjectTag).where(ProjectTag.project_id == project_id))
    db.add_all(ProjectTag(project_id=project_id, name=t) for t in new_tags)


async def replace_tags(db: AsyncSession, project_id: str, new_tags: Sequence[str]
                       ) -> list[str]:
    """Make ``new_tags`` the project's tags; the tags as stored (checked, sorted)."""
    checked = checked_tags(new_tags)
    await get_project(db, project_id)
    await _set_tags(db, project_id, checked)
    return checked


async def _tag_row(db: AsyncSession, project_id: str, tag: str) -> ProjectTag:
    await get_project(db, project_id)
    row = await db.get(ProjectTag, (project_id, tag))
    if row is None:
        raise EntityNotFound("project tag", tag)
    return row


async def check_tag(db: AsyncSession, project_id: str, tag: str) -> None:
    """404 unless the project exists and has the tag."""
    await _tag_row(db, project_id, tag)


async def add_tag(db: AsyncSession, project_id: str, tag: str) -> None:
    """Add a tag; adding one the project has already is a success."""
    checked_tag(tag)
    present = await tags(db, project_id)
    if tag not in present:
        if len(present) >= MAX_TAGS:
            raise ValidationFailed(f"A project may have at most {MAX_TAGS} tags.")
        db.add(ProjectTag(project_id=project_id, name=tag))


async def delete_tag(db: AsyncSession, project_id: str, tag: str) -> None:
    await db.delete(await _tag_row(db, project_id, tag))
