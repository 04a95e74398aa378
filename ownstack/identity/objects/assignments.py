"""Who holds which role where: effective roles, with groups, inheritance and implications."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from ownstack.identity.objects.models import (
    Assignment,
    GroupMembership,
    ImpliedRole,
    Project,
    Role,
)

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
