"""Generic volume group types (3.11) and their group specs.

Anyone lists and shows the public group types; the admin sees the private ones too and
makes, changes and deletes them (Cinder's group type access lists are not served: a
private group type is the admin's alone). ``GET /group_types/default`` is the group type
named ``default_group_type``, Cinder's ``[DEFAULT] default_group_type``.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Final

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ownstack.common.context import RequestContext
from ownstack.common.db.base import utcnow
from ownstack.volume.errors import (
    DefaultGroupTypeNotFound,
    GroupTypeExists,
    GroupTypeInUse,
    GroupTypeNotFound,
    GroupTypeSpecNotFound,
)
from ownstack.volume.objects import type_specs
from ownstack.volume.objects.models import Group, GroupType, GroupTypeSpec

DEFAULT_GROUP_TYPE: Final = "default_group_type"


async def get(db: AsyncSession, ctx: RequestContext, type_id: str) -> GroupType:
    """The group type ``type_id`` names (its id, or else its name), as the caller sees it;
    404 otherwise."""
    stmt = sa.select(GroupType).where(sa.or_(GroupType.id == type_id,
                                             GroupType.name == type_id))
    if not ctx.is_admin:
        stmt = stmt.where(GroupType.is_public.is_(True))
    rows = list((await db.execute(stmt)).scalars())
    by_id = [row for row in rows if row.id == type_id]
    if not rows:
        raise GroupTypeNotFound(type_id)
    return (by_id or rows)[0]


async def default(db: AsyncSession) -> GroupType:
    found = await db.scalar(sa.select(GroupType).where(GroupType.name == DEFAULT_GROUP_TYPE))
    if found is None:
        raise DefaultGroupTypeNotFound(DEFAULT_GROUP_TYPE)
    return found


async def list_all(db: AsyncSession, ctx: RequestContext, *, is_public: bool | None
                   ) -> list[GroupType]:
    """Public types; the admin's ``is_public`` filter (None: both) sees private ones."""
    stmt = sa.select(GroupType).order_by(GroupType.name, GroupType.id)
    if not ctx.is_admin:
        stmt = stmt.where(GroupType.is_public.is_(True))
    elif is_public is not None:
        stmt = stmt.where(GroupType.is_public.is_(is_public))
    return list((await db.execute(stmt)).scalars())


async def specs_of(db: AsyncSession, type_ids: list[str]) -> dict[str, dict[str, str]]:
    found: dict[str, dict[str, str]] = {type_id: {} for type_id in type_ids}
    if type_ids:
        rows = await db.execute(sa.select(GroupTypeSpec.group_type_id, GroupTypeSpec.key,
                                          GroupTypeSpec.value)
                                .where(GroupTypeSpec.group_type_id.in_(type_ids))
                                .order_by(GroupTypeSpec.key))
        for type_id, key, value in rows:
            found[type_id][key] = value
    return found


async def specs(db: AsyncSession, type_id: str) -> dict[str, str]:
    return (await specs_of(db, [type_id]))[type_id]


async def create(db: AsyncSession, *, name: str, description: str | None, is_public: bool,
                 group_specs: Mapping[str, str]) -> GroupType:
    if await db.scalar(sa.select(GroupType.id).where(GroupType.name == name)):
        raise GroupTypeExists(name)
    row = GroupType(id=str(uuid.uuid4()), name=name, description=description,
                    is_public=is_public, created_at=utcnow(), updated_at=utcnow())
    db.add(row)
    try:
        async with db.begin_nested():
            await db.flush()
    except IntegrityError:
        raise GroupTypeExists(name) from None
    for key, value in group_specs.items():
        db.add(GroupTypeSpec(group_type_id=row.id, key=key, value=value))
    await db.flush()
    return row


async def update(db: AsyncSession, row: GroupType, *, name: str | None,
                 description: str | None, description_set: bool, is_public: bool | None
                 ) -> None:
    if name is not None and name != row.name:
        if await db.scalar(sa.select(GroupType.id).where(GroupType.name == name)):
            raise GroupTypeExists(name)
        row.name = name
    if description_set:
        row.description = description
    if is_public is not None:
        row.is_public = is_public
    row.updated_at = utcnow()
    await db.flush()


async def delete(db: AsyncSession, row: GroupType) -> None:
    if await db.scalar(sa.select(Group.id).where(Group.group_type_id == row.id).limit(1)):
        raise GroupTypeInUse(row.id)
    await db.delete(row)
    await db.flush()


async def set_specs(db: AsyncSession, row: GroupType, values: Mapping[str, str]) -> None:
    await type_specs.merge(db, GroupTypeSpec, GroupTypeSpec.group_type_id, row, values)


async def spec(db: AsyncSession, row: GroupType, key: str) -> str:
    found = await db.get(GroupTypeSpec, (row.id, key))
    if found is None:
        raise GroupTypeSpecNotFound(row.id, key)
    return found.value


async def delete_spec(db: AsyncSession, row: GroupType, key: str) -> None:
    found = await db.get(GroupTypeSpec, (row.id, key))
    if found is None:
        raise GroupTypeSpecNotFound(row.id, key)
    await db.delete(found)
    await db.flush()
