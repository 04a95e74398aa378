"""Grants: one role given to a user or group on a project, a domain or the system, as
the URLs ``/v3/{projects|domains}/{id}/{users|groups}/{id}/roles/{role_id}`` and
``/v3/system/{users|groups}/{id}/roles/{role_id}`` name them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ownstack.common.errors import BadRequest, ConcurrentUpdate, Forbidden, NotFound
from ownstack.identity.objects.assignments import (
    SYSTEM_TARGET,
    assignment_type,
    delete_assignments,
)
from ownstack.identity.objects.domains import get_domain
from ownstack.identity.objects.groups import get_group
from ownstack.identity.objects.models import Assignment, Role
from ownstack.identity.objects.projects import get_project
from ownstack.identity.objects.roles import get_role
from ownstack.identity.objects.users import get_user


@dataclass(frozen=True)
class Grant:
    """The actor and target a grant URL names, each checked to exist."""

    type: str
    actor_id: str
    target_id: str
    project_domain_id: str | None = None    # a domain-specific role must be of this domain

    def of(self, role_id: str) -> list[ColumnElement[bool]]:
        """The conditions that find this grant of ``role_id``."""
        return [Assignment.type == self.type, Assignment.actor_id == self.actor_id,
                Assignment.target_id == self.target_id, Assignment.role_id == role_id,
                Assignment.inherited.is_(False)]


async def find_grant(db: AsyncSession, *, user_id: str | None = None,
                     group_id: str | None = None, project_id: str | None = None,
                     domain_id: str | None = None) -> Grant:
    """The grant's actor (a user, else a group) and target (a project, else a domain,
    else the system); 404 for whichever does not exist."""
    project_domain = None
    if project_id is not None:
        project = await get_project(db, project_id)
        target_id, project_domain = project.id, project.domain_id
    elif domain_id is not None:
        target_id = (await get_domain(db, domain_id)).id
    else:
        target_id = SYSTEM_TARGET
    if group_id is not None:
        actor_id = (await get_group(db, group_id)).id
    else:
        actor_id = (await get_user(db, user_id or "")).id
    kind = assignment_type(group=group_id is not None, project=project_id is not None,
                           domain=domain_id is not None)
    return Grant(kind, actor_id, target_id, project_domain)


def _not_granted(grant: Grant, role_id: str) -> NotFound:
    target = "the system" if grant.target_id == SYSTEM_TARGET else grant.target_id
    return NotFound(f"Could not find role assignment with role: {role_id}, "
                    f"actor: {grant.actor_id}, target: {target}.",
                    code="identity.role_assignment_not_found")


async def _granted(db: AsyncSession, grant: Grant, role_id: str) -> bool:
    return bool(await db.scalar(select(exists().where(*grant.of(role_id)))))


async def create_grant(db: AsyncSession, grant: Grant, role_id: str) -> None:
    """Grant the role; granting it again is a success."""
    role = await get_role(db, role_id)
    if role.domain_id and grant.target_id == SYSTEM_TARGET:
        raise BadRequest(f"Role {role.id} is a domain-specific role. Unable to use "
                         "a domain-specific role in a system assignment.")
    if role.domain_id and grant.project_domain_id not in (None, role.domain_id):
        raise Forbidden(f"Project {grant.target_id} must be in the same domain as "
                        f"the role {role.id} being assigned.")
    try:
        async with db.begin_nested():
            await ensure_grant(db, grant, role.id)
    except IntegrityError:
        # Granted concurrently (a success), or the role deleted meanwhile.
        if not await _granted(db, grant, role.id):
            raise ConcurrentUpdate() from None


async def ensure_grant(db: AsyncSession, grant: Grant, role_id: str) -> None:
    """Grant the role unless it is granted already; no check of the role's domain."""
    if not await _granted(db, grant, role_id):
        db.add(Assignment(type=grant.type, actor_id=grant.actor_id,
                          target_id=grant.target_id, role_id=role_id, inherited=False))


async def check_grant(db: AsyncSession, grant: Grant, role_id: str) -> None:
    """404 unless the role exists and is granted."""
    role = await get_role(db, role_id)
    if not await _granted(db, grant, role.id):
        raise _not_granted(grant, role.id)


async def revoke_grant(db: AsyncSession, grant: Grant, role_id: str) -> None:
    """Take the role back, revoking the tokens that carried it."""
    await check_grant(db, grant, role_id)
    await delete_assignments(db, *grant.of(role_id))


async def granted_roles(db: AsyncSession, grant: Grant) -> Sequence[Role]:
    """The roles granted directly (not inherited) to the actor on the target, by name."""
    return (await db.scalars(select(Role).join(Assignment, Assignment.role_id == Role.id)
                             .where(Assignment.type == grant.type,
                                    Assignment.actor_id == grant.actor_id,
                                    Assignment.target_id == grant.target_id,
                                    Assignment.inherited.is_(False))
                             .order_by(Role.name))).all()
