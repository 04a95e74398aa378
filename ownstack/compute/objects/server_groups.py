"""Server groups: named (anti-)affinity policies that servers join at create.

The scheduler reads a group's policy and members; this module creates, lists and deletes
groups. A group of another project is invisible to a non-admin (a 404, never a 403),
because Nova filters groups by project in the database, before any policy check.

The ``server_groups`` quota is counted in the creating transaction after taking the
project's row in ``compute_project_locks``, the lock server creates take too, so two
concurrent creates in one project cannot both squeeze under the limit on any backend.
"""

from __future__ import annotations

import uuid as uuid_module
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from ownstack.common.config import QuotaConfig
from ownstack.common.context import RequestContext
from ownstack.compute.errors import (
    ServerGroupNotFound,
    ServerGroupQuotaExceeded,
)
from ownstack.compute.objects.models import (
    Instance,
    Quota,
    ServerGroup,
    ServerGroupMember,
)
from ownstack.compute.objects.quotas import defaults as default_limits
from ownstack.compute.objects.quotas import lock_project

RESOURCE = "server_groups"


@dataclass
class GroupRecord:
    group: ServerGroup
    members: list[str] = field(default_factory=list)   # uuids of non-deleted members


async def group_limit(db: AsyncSession, defaults: QuotaConfig, project_id: str) -> int:
    """The project's ``server_groups`` limit: its override, else the default (the default
    quota class's); -1 is none."""
    override = (await db.execute(sa.select(Quota.hard_limit).where(
        Quota.project_id == project_id, Quota.user_id == "",
        Quota.resource == RESOURCE))).scalar_one_or_none()
    if override is not None:
        return int(override)
    return (await default_limits(db, defaults))[RESOURCE]


async def create_group(db: AsyncSession, ctx: RequestContext, defaults: QuotaConfig, *,
                       name: str, policy: str, rules: dict[str, Any]) -> GroupRecord:
    project_id = ctx.project_id or ""
    await lock_project(db, project_id)
    limit = await group_limit(db, defaults, project_id)
    if limit >= 0:
        used = (await db.execute(sa.select(sa.func.count()).select_from(ServerGroup).where(
            ServerGroup.project_id == project_id))).scalar_one()
        if used + 1 > limit:
            raise ServerGroupQuotaExceeded()
    group = ServerGroup(uuid=str(uuid_module.uuid4()), name=name, policy=policy, rules=rules,
                        project_id=project_id, user_id=ctx.user_id or "")
    db.add(group)
    await db.flush()
    return GroupRecord(group)


def _visible(ctx: RequestContext) -> Any:
    return sa.true() if ctx.is_admin else ServerGroup.project_id == (ctx.project_id or "")


async def get_group(db: AsyncSession, ctx: RequestContext, group_id: str) -> GroupRecord:
    group = (await db.execute(sa.select(ServerGroup).where(
        ServerGroup.uuid == group_id, _visible(ctx)))).scalar_one_or_none()
    if group is None:
        raise ServerGroupNotFound(group_id)
    return GroupRecord(group, (await members_of(db, [group.id]))[group.id])


async def list_groups(db: AsyncSession, ctx: RequestContext, *, all_projects: bool,
                      limit: int, offset: int) -> list[GroupRecord]:
    stmt = sa.select(ServerGroup).order_by(ServerGroup.id).offset(offset).limit(limit)
    if not all_projects:
        stmt = stmt.where(ServerGroup.project_id == (ctx.project_id or ""))
    groups = list((await db.execute(stmt)).scalars())
    members = await members_of(db, [g.id for g in groups])
    return [GroupRecord(g, members[g.id]) for g in groups]


async def members_of(db: AsyncSession, group_ids: Sequence[int]) -> dict[int, list[str]]:
    """Each group's members that are not deleted, oldest first."""
    result: dict[int, list[str]] = {group_id: [] for group_id in group_ids}
    if group_ids:
        rows = await db.execute(
            sa.select(ServerGroupMember.group_id, ServerGroupMember.instance_uuid)
            .join(Instance, Instance.uuid == ServerGroupMember.instance_uuid)
            .where(ServerGroupMember.group_id.in_(list(group_ids)),
                   Instance.deleted.is_(False))
            .order_by(Instance.created_at, Instance.uuid))
        for group_id, instance_uuid in rows:
            result[group_id].append(instance_uuid)
    return result


async def delete_group(db: AsyncSession, group: ServerGroup) -> None:
    # Explicit deletes: SQLite enforces no foreign keys unless told to.
    await db.execute(sa.delete(ServerGroupMember).where(
        ServerGroupMember.group_id == group.id))
    await db.delete(group)
