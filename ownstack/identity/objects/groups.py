"""Groups and their members."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ownstack.common.errors import BadRequest, ConcurrentUpdate, NotFound
from ownstack.identity.errors import DuplicateEntity
from ownstack.identity.objects import cleanup, revocation, rows
from ownstack.identity.objects.domains import get_domain
from ownstack.identity.objects.models import Group, GroupMembership, User
from ownstack.identity.objects.users import get_user

_RESERVED = {"id", "links", "name", "description", "domain_id"}


def _duplicate(name: object) -> DuplicateEntity:
    return DuplicateEntity("group", f"Duplicate entry found with name {name}")


async def get_group(db: AsyncSession, group_id: str) -> Group:
    return await rows.get_or_404(db, Group, group_id, "group")


async def list_groups(db: AsyncSession, *, name: str | None = None,
                      domain_id: str | None = None) -> Sequence[Group]:
    return (await db.scalars(select(Group).order_by(Group.name).where(
        *rows.matching((Group.name, name), (Group.domain_id, domain_id))))).all()


async def groups_of_user(db: AsyncSession, user_id: str, *, name: str | None = None
                         ) -> Sequence[Group]:
    """The groups an existing user (404 otherwise) is a member of."""
    await get_user(db, user_id)
    return (await db.scalars(select(Group).join(
        GroupMembership, GroupMembership.group_id == Group.id).where(
        GroupMembership.user_id == user_id, *rows.matching((Group.name, name)))
        .order_by(Group.name))).all()


async def create_group(db: AsyncSession, data: Mapping[str, Any], *,
                       default_domain_id: str) -> Group:
    """A new group, in ``default_domain_id`` unless the body names a domain."""
    group = Group(name=data["name"], description=data.get("description") or "",
                  domain_id=data.get("domain_id") or default_domain_id,
                  extra=rows.extra_attrs(data, _RESERVED))
    await get_domain(db, group.domain_id)
    db.add(group)
    await rows.flush_unique(db, _duplicate(data["name"]))
    return group


async def update_group(db: AsyncSession, group_id: str, data: Mapping[str, Any]) -> Group:
    group = await get_group(db, group_id)
    if "domain_id" in data and data["domain_id"] != group.domain_id:
        raise BadRequest("Cannot change Domain ID.")
    rows.assign(group, data, ("name", "description"))
    rows.merge_extra(group, data, _RESERVED)
    await rows.flush_unique(db, _duplicate(data.get("name")))
    return group


async def delete_group(db: AsyncSession, group_id: str) -> None:
    """Delete the group; memberships and grants go with it, members' tokens are revoked."""
    await get_group(db, group_id)
    await cleanup.delete_groups(db, [group_id])


# --- membership ------------------------------------------------------------------------

async def members(db: AsyncSession, group_id: str) -> Sequence[User]:
    """The users in an existing group (404 otherwise), by name."""
    await get_group(db, group_id)
    return (await db.scalars(select(User).join(
        GroupMembership, GroupMembership.user_id == User.id)
        .where(GroupMembership.group_id == group_id).order_by(User.name))).all()


async def _membership(db: AsyncSession, group_id: str, user_id: str
                      ) -> GroupMembership | None:
    await get_group(db, group_id)
    await get_user(db, user_id)
    return await db.get(GroupMembership, (user_id, group_id))


def _not_member(group_id: str, user_id: str) -> NotFound:
    return NotFound(f"User '{user_id}' not found in group '{group_id}'.",
                    code="identity.membership_not_found")


async def add_member(db: AsyncSession, group_id: str, user_id: str) -> None:
    """Add the user to the group; adding a member again is a success."""
    if await _membership(db, group_id, user_id) is not None:
        return
    try:
        async with db.begin_nested():
            db.add(GroupMembership(user_id=user_id, group_id=group_id))
    except IntegrityError:
        # Added concurrently (a success), or the user or group deleted meanwhile.
        if not await db.scalar(select(exists().where(GroupMembership.user_id == user_id,
                                                     GroupMembership.group_id == group_id))):
            raise ConcurrentUpdate() from None


async def check_member(db: AsyncSession, group_id: str, user_id: str) -> None:
    """404 unless the group and the user exist and the user is a member."""
    if await _membership(db, group_id, user_id) is None:
        raise _not_member(group_id, user_id)


async def remove_member(db: AsyncSession, group_id: str, user_id: str) -> None:
    """Remove the user from the group and revoke the user's tokens: the roles the group
    gave may be gone."""
    membership = await _membership(db, group_id, user_id)
    if membership is None:
        raise _not_member(group_id, user_id)
    await db.delete(membership)
    await revocation.revoke(db, user_id=user_id)
