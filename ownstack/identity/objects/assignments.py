"""Who holds which role where: effective roles, with groups, inheritance and implications."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

from sqlalchemy import ColumnElement, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from ownstack.identity.objects.models import (
    Assignment,
    Domain,
    Group,
    GroupMembership,
    ImpliedRole,
    Project,
    Role,
    User,
)
from ownstack.identity.objects.revocation import revoke

USER_PROJECT = "UserProject"
GROUP_PROJECT = "GroupProject"
USER_DOMAIN = "UserDomain"
GROUP_DOMAIN = "GroupDomain"
USER_SYSTEM = "UserSystem"
GROUP_SYSTEM = "GroupSystem"
SYSTEM_TARGET = "system"


async def group_ids_of(db: AsyncSession, user_id: str) -> list[str]:
    return list((await db.scalars(
        select(GroupMembership.group_id).where(GroupMembership.user_id == user_id))).all())


async def project_lineage(db: AsyncSession, project_id: str) -> tuple[str, list[str]]:
    """The project's domain id and its ancestors' ids, nearest first."""
    project = await db.get(Project, project_id)
    if project is None:
        return "", []
    domain_id = project.domain_id
    ancestors: list[str] = []
    parent = project.parent_id
    while parent and parent not in ancestors:
        ancestors.append(parent)
        row = await db.get(Project, parent)
        parent = row.parent_id if row else None
    return domain_id, ancestors


async def direct_role_ids(db: AsyncSession, user_id: str, *, project_id: str | None = None,
                          domain_id: str | None = None, system: bool = False) -> set[str]:
    """Roles granted to the user or their groups on the target, including inherited ones,
    before implied roles are expanded."""
    actors = [user_id, *await group_ids_of(db, user_id)]
    conditions = []
    if project_id is not None:
        project_domain, ancestors = await project_lineage(db, project_id)
        conditions.append((Assignment.type.in_((USER_PROJECT, GROUP_PROJECT)))
                          & (Assignment.target_id == project_id)
                          & (Assignment.inherited.is_(False)))
        # Inherited grants on the domain or on any ancestor flow down to the project.
        inherited_targets = [t for t in (project_domain, *ancestors) if t]
        if inherited_targets:
            conditions.append(Assignment.target_id.in_(inherited_targets)
                              & Assignment.inherited.is_(True))
    elif domain_id is not None:
        conditions.append((Assignment.type.in_((USER_DOMAIN, GROUP_DOMAIN)))
                          & (Assignment.target_id == domain_id)
                          & (Assignment.inherited.is_(False)))
    elif system:
        conditions.append(Assignment.type.in_((USER_SYSTEM, GROUP_SYSTEM))
                          & (Assignment.target_id == SYSTEM_TARGET))
    else:
        return set()
    stmt = select(Assignment.role_id).where(Assignment.actor_id.in_(actors), or_(*conditions))
    return set((await db.scalars(stmt)).all())


async def expand_implied(db: AsyncSession, role_ids: Iterable[str]) -> set[str]:
    """The closure of ``role_ids`` under the implied-role rules."""
    rules: dict[str, list[str]] = {}
    for prior, implied in (await db.execute(
            select(ImpliedRole.prior_role_id, ImpliedRole.implied_role_id))).all():
        rules.setdefault(prior, []).append(implied)
    seen: set[str] = set()
    todo = list(role_ids)
    while todo:
        role_id = todo.pop()
        if role_id in seen:
            continue
        seen.add(role_id)
        todo.extend(rules.get(role_id, ()))
    return seen


async def effective_roles(db: AsyncSession, user_id: str, *, project_id: str | None = None,
                          domain_id: str | None = None, system: bool = False
                          ) -> list[Role]:
    """The roles a token for this user and scope carries, sorted by name.

    Domain-specific roles are dropped after expansion, as Keystone does: they only exist
    to imply global roles.
    """
    direct = await direct_role_ids(db, user_id, project_id=project_id, domain_id=domain_id,
                                   system=system)
    if not direct:
        return []
    ids = await expand_implied(db, direct)
    roles = (await db.scalars(select(Role).where(Role.id.in_(ids), Role.domain_id == ""))).all()
    return sorted(roles, key=lambda r: r.name)


async def projects_with_roles(db: AsyncSession, user_id: str) -> list[Project]:
    """Every enabled-or-not project on which the user has some effective role."""
    actors = [user_id, *await group_ids_of(db, user_id)]
    rows = (await db.execute(select(Assignment.type, Assignment.target_id, Assignment.inherited)
                             .where(Assignment.actor_id.in_(actors)))).all()
    direct = {t for kind, t, inh in rows if kind in (USER_PROJECT, GROUP_PROJECT) and not inh}
    inherited_roots = {t for kind, t, inh in rows if inh}
    projects = list((await db.scalars(select(Project))).all()) if inherited_roots else [
        *(await db.scalars(select(Project).where(Project.id.in_(direct)))).all()]
    if not inherited_roots:
        return sorted(projects, key=lambda p: p.name)
    by_id = {p.id: p for p in projects}

    def reached(project: Project) -> bool:
        if project.id in direct or project.domain_id in inherited_roots:
            return True
        parent, seen = project.parent_id, set()
        while parent and parent not in seen:
            if parent in inherited_roots:
                return True
            seen.add(parent)
            parent = by_id[parent].parent_id if parent in by_id else None
        return False

    return sorted((p for p in projects if reached(p)), key=lambda p: p.name)


async def domains_with_roles(db: AsyncSession, user_id: str) -> Sequence[Domain]:
    """The enabled domains on which the user, or a group of theirs, holds a role, by name."""
    actors = [user_id, *await group_ids_of(db, user_id)]
    domain_ids = select(Assignment.target_id).where(
        Assignment.actor_id.in_(actors), Assignment.type.in_((USER_DOMAIN, GROUP_DOMAIN)),
        Assignment.inherited.is_(False))
    return (await db.scalars(select(Domain).where(Domain.id.in_(domain_ids),
                                                  Domain.enabled.is_(True))
                             .order_by(Domain.name))).all()


# --- managing grants and listing them (the role, group and assignment APIs) -----------

USER_TYPES = (USER_PROJECT, USER_DOMAIN, USER_SYSTEM)
GROUP_TYPES = (GROUP_PROJECT, GROUP_DOMAIN, GROUP_SYSTEM)
PROJECT_TYPES = (USER_PROJECT, GROUP_PROJECT)
DOMAIN_TYPES = (USER_DOMAIN, GROUP_DOMAIN)
SYSTEM_TYPES = (USER_SYSTEM, GROUP_SYSTEM)


def assignment_type(*, group: bool, project: bool = False, domain: bool = False) -> str:
    """Keystone's assignment type for an actor kind and a target kind."""
    if project:
        return GROUP_PROJECT if group else USER_PROJECT
    if domain:
        return GROUP_DOMAIN if group else USER_DOMAIN
    return GROUP_SYSTEM if group else USER_SYSTEM


async def member_ids(db: AsyncSession, group_id: str) -> list[str]:
    return list((await db.scalars(
        select(GroupMembership.user_id).where(GroupMembership.group_id == group_id))).all())


async def implication_rules(db: AsyncSession) -> dict[str, list[str]]:
    """Prior role id -> the role ids it directly implies."""
    rules: dict[str, list[str]] = {}
    for prior, implied in (await db.execute(
            select(ImpliedRole.prior_role_id, ImpliedRole.implied_role_id))).all():
        rules.setdefault(prior, []).append(implied)
    return rules


def implies(rules: dict[str, list[str]], start: str, goal: str) -> bool:
    """Whether ``start`` implies ``goal``, directly or through other rules."""
    seen: set[str] = set()
    todo = [start]
    while todo:
        role_id = todo.pop()
        if role_id == goal:
            return True
        if role_id not in seen:
            seen.add(role_id)
            todo.extend(rules.get(role_id, ()))
    return False


async def revoke_tokens_for(db: AsyncSession, kind: str, actor_id: str, target_id: str,
                            inherited: bool = False) -> None:
    """Revocation events for every token that removing this assignment may invalidate:
    the actor's (or each member's) tokens on the target, as Keystone revokes them."""
    users = [actor_id] if kind in USER_TYPES else await member_ids(db, actor_id)
    for user_id in users:
        if kind in PROJECT_TYPES and not inherited:
            await revoke(db, user_id=user_id, project_id=target_id)
        elif kind in DOMAIN_TYPES:
            # Matches tokens scoped to the domain and to projects in it.
            await revoke(db, user_id=user_id, domain_id=target_id)
        else:
            # System scope (or a whole subtree) has no narrower field to match on.
            await revoke(db, user_id=user_id)


async def delete_assignments(db: AsyncSession, *conditions: ColumnElement[bool]) -> int:
    """Delete the assignments matching ``conditions`` and revoke the tokens they carried."""
    rows = (await db.execute(select(Assignment.type, Assignment.actor_id, Assignment.target_id,
                                    Assignment.inherited).where(*conditions))).all()
    for kind, actor_id, target_id, inherited in set(rows):
        await revoke_tokens_for(db, kind, actor_id, target_id, inherited)
    await db.execute(delete(Assignment).where(*conditions))
    return len(rows)


@dataclass(frozen=True)
class AssignmentRef:
    """One row of ``GET /v3/role_assignments``, before it is rendered.

    ``via_*`` record where an effective assignment came from, as Keystone's ``indirect``:
    a group membership, an inherited grant on a domain or a parent project, or a prior
    role that implies this one.
    """

    role_id: str
    user_id: str | None = None
    group_id: str | None = None
    project_id: str | None = None
    domain_id: str | None = None
    system: bool = False
    inherited: bool = False
    via_group: str | None = None
    via_domain: str | None = None
    via_project: str | None = None
    prior_role: str | None = None


@dataclass(frozen=True)
class AssignmentFilter:
    role_id: str | None = None
    user_id: str | None = None
    group_id: str | None = None
    project_id: str | None = None
    domain_id: str | None = None
    system: bool = False
    include_subtree: bool = False
    inherited: bool | None = None
    effective: bool = False


def _ref(row: Assignment) -> AssignmentRef:
    group = row.type in GROUP_TYPES
    return AssignmentRef(
        role_id=row.role_id, inherited=row.inherited,
        user_id=None if group else row.actor_id, group_id=row.actor_id if group else None,
        project_id=row.target_id if row.type in PROJECT_TYPES else None,
        domain_id=row.target_id if row.type in DOMAIN_TYPES else None,
        system=row.type in SYSTEM_TYPES)


class _Tree:
    """Every project's parent and domain, for expanding inherited grants."""

    def __init__(self, rows: Iterable[tuple[str, str | None, str]]) -> None:
        self.parent: dict[str, str | None] = {}
        self.domain: dict[str, str] = {}
        self.children: dict[str, list[str]] = {}
        for project_id, parent_id, domain_id in rows:
            self.parent[project_id] = parent_id
            self.domain[project_id] = domain_id
            if parent_id:
                self.children.setdefault(parent_id, []).append(project_id)

    @classmethod
    async def load(cls, db: AsyncSession) -> _Tree:
        rows = (await db.execute(select(Project.id, Project.parent_id, Project.domain_id)))
        return cls((p, parent, d) for p, parent, d in rows.all())

    def subtree(self, project_id: str) -> list[str]:
        """Descendants of the project, not the project itself."""
        found: dict[str, None] = {}           # ordered, and quick to test
        todo = list(self.children.get(project_id, ()))
        while todo:
            child = todo.pop()
            if child not in found:
                found[child] = None
                todo.extend(self.children.get(child, ()))
        return list(found)

    def ancestors(self, project_id: str) -> list[str]:
        found: list[str] = []
        parent = self.parent.get(project_id)
        while parent and parent not in found:
            found.append(parent)
            parent = self.parent.get(parent)
        return found

    def in_domain(self, domain_id: str) -> list[str]:
        return [p for p, d in self.domain.items() if d == domain_id]


_ORDER = (Assignment.type.desc(), Assignment.target_id, Assignment.actor_id, Assignment.role_id)


async def find_role_assignments(db: AsyncSession, f: AssignmentFilter
                                ) -> list[AssignmentRef]:
    """Keystone's ``list_role_assignments``: direct grants matching the filter, or in
    effective mode what they amount to per user and project, implied roles included."""
    # The project tree is needed only to expand inheritance or a subtree.
    tree = await _Tree.load(db) if f.effective or f.include_subtree else None
    projects: list[str] | None = None
    if f.project_id is not None:
        below = tree.subtree(f.project_id) if tree is not None and f.include_subtree else []
        projects = [f.project_id, *below]
    if tree is None or not f.effective:
        return await _direct(db, f, projects)
    return await _effective(db, f, tree, projects)


async def _direct(db: AsyncSession, f: AssignmentFilter, projects: list[str] | None
                  ) -> list[AssignmentRef]:
    stmt = select(Assignment).order_by(*_ORDER)
    if f.role_id is not None:
        stmt = stmt.where(Assignment.role_id == f.role_id)
    if f.user_id is not None:
        stmt = stmt.where(Assignment.type.in_(USER_TYPES), Assignment.actor_id == f.user_id)
    if f.group_id is not None:
        stmt = stmt.where(Assignment.type.in_(GROUP_TYPES), Assignment.actor_id == f.group_id)
    if f.inherited is not None:
        stmt = stmt.where(Assignment.inherited.is_(f.inherited))
    if projects is not None:
        stmt = stmt.where(Assignment.type.in_(PROJECT_TYPES), Assignment.target_id.in_(projects))
    elif f.domain_id is not None:
        stmt = stmt.where(Assignment.type.in_(DOMAIN_TYPES), Assignment.target_id == f.domain_id)
    elif f.system:
        stmt = stmt.where(Assignment.type.in_(SYSTEM_TYPES))
    return [_ref(row) for row in (await db.scalars(stmt)).all()]


async def _effective(db: AsyncSession, f: AssignmentFilter, tree: _Tree,
                     projects: list[str] | None) -> list[AssignmentRef]:
    if f.group_id is not None or (f.domain_id is not None and f.inherited):
        return []       # no group or inherited domain assignment survives expansion
    inherited = False if f.domain_id is not None else f.inherited
    stmt = select(Assignment).order_by(*_ORDER)
    if f.user_id is not None:
        actors = [f.user_id, *await group_ids_of(db, f.user_id)]
        stmt = stmt.where(Assignment.actor_id.in_(actors))
    if inherited is not None:
        stmt = stmt.where(Assignment.inherited.is_(inherited))
    if projects is not None:
        sources = [*tree.ancestors(projects[0]), *projects]
        stmt = stmt.where(or_(
            Assignment.type.in_(PROJECT_TYPES) & Assignment.target_id.in_(projects),
            Assignment.type.in_(PROJECT_TYPES) & Assignment.target_id.in_(sources)
            & Assignment.inherited.is_(True),
            Assignment.type.in_(DOMAIN_TYPES) & Assignment.inherited.is_(True)
            & (Assignment.target_id == tree.domain.get(projects[0], ""))))
    elif f.domain_id is not None:
        stmt = stmt.where(Assignment.type.in_(DOMAIN_TYPES), Assignment.target_id == f.domain_id)
    elif f.system:
        stmt = stmt.where(Assignment.type.in_(SYSTEM_TYPES))
    refs: list[AssignmentRef] = []
    members: dict[str, list[str]] = {}
    for row in (await db.scalars(stmt)).all():
        ref = _ref(row)
        if ref.group_id is not None:
            if ref.group_id not in members:
                members[ref.group_id] = (
                    [f.user_id] if f.user_id is not None else await member_ids(db, ref.group_id))
            users = [replace(ref, user_id=u, group_id=None, via_group=ref.group_id)
                     for u in members[ref.group_id]]
        else:
            users = [ref]
        for user_ref in users:
            refs.extend(_inherit(user_ref, tree, projects) if ref.inherited else [user_ref])
    refs = _add_implied(refs, await implication_rules(db))
    global_roles = set((await db.scalars(select(Role.id).where(Role.domain_id == ""))).all())
    return [r for r in refs if r.role_id in global_roles
            and (f.role_id is None or r.role_id == f.role_id)]


def _inherit(ref: AssignmentRef, tree: _Tree, projects: list[str] | None
             ) -> list[AssignmentRef]:
    """An inherited grant, applied to each project below its target."""
    if ref.project_id is not None:
        below = tree.subtree(ref.project_id)
    else:
        below = tree.in_domain(ref.domain_id or "")
    if projects is not None:
        reached = set(below)
        below = [p for p in projects if p in reached]
    return [replace(ref, project_id=p, domain_id=None, inherited=False,
                    via_project=ref.project_id, via_domain=ref.domain_id) for p in below]


def _add_implied(refs: list[AssignmentRef], rules: dict[str, list[str]]
                 ) -> list[AssignmentRef]:
    """Each ref, followed by a copy for every role it implies (Keystone's indirect role)."""
    results = list(refs)
    checked: set[AssignmentRef] = set()
    todo = list(refs)
    while todo:
        ref = todo.pop()
        checked.add(ref)
        for implied in rules.get(ref.role_id, ()):
            copy = replace(ref, role_id=implied, prior_role=ref.role_id)
            if copy not in checked:
                results.append(copy)
                todo.append(copy)
    return results


@dataclass
class AssignmentNames:
    """The names of what assignments refer to, for ``include_names``."""

    domains: dict[str, str] = field(default_factory=dict)           # id -> name
    # user, group, project or role id -> (name, domain id; "" for a global role)
    owned: dict[str, tuple[str, str]] = field(default_factory=dict)


async def names_of(db: AsyncSession, refs: Sequence[AssignmentRef]) -> AssignmentNames:
    """The names of every entity ``refs`` refer to, loaded in one query per kind."""
    names = AssignmentNames()
    ids = {i for r in refs for i in (r.user_id, r.group_id, r.project_id, r.role_id) if i}
    for model in (User, Group, Project, Role):
        rows = await db.execute(select(model.id, model.name, model.domain_id)
                                .where(model.id.in_(ids)))
        names.owned.update((i, (n, d)) for i, n, d in rows)
    domain_ids = {r.domain_id for r in refs if r.domain_id} | {
        d for _, d in names.owned.values()}
    domains = await db.execute(select(Domain.id, Domain.name).where(Domain.id.in_(domain_ids)))
    names.domains.update((i, n) for i, n in domains)
    return names
