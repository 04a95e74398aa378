"""Resource providers: create, find, filter, update, delete; and the generation CAS.

Every write to a provider, or to anything hanging off it (inventory, traits, aggregates,
allocations), ends with :func:`bump_generation`: ``UPDATE ... SET generation=generation+1
WHERE id=? AND generation=?``, checked by rowcount inside the caller's transaction. A lost
race raises :class:`ConcurrentUpdate`, which rolls the whole transaction back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, cast

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from ownstack.common.db.base import utcnow
from ownstack.common.db.cas import rows_matched
from ownstack.common.errors import BadRequest
from ownstack.placement.errors import (
    CannotDeleteParent,
    ConcurrentUpdate,
    DuplicateName,
    ProviderInUse,
    ProviderNotFound,
)
from ownstack.placement.objects import models

RP = models.ResourceProvider
_INT64_MIN: Final = -(2**63)
_INT64_MAX: Final = 2**63 - 1


@dataclass
class Provider:
    id: int
    uuid: str
    name: str
    generation: int
    parent_provider_uuid: str | None
    root_provider_uuid: str
    created_at: datetime | None
    updated_at: datetime | None

    @property
    def modified(self) -> datetime | None:
        return self.updated_at or self.created_at


def provider_select() -> Any:
    """Providers with their parent's and root's uuids, ordered by creation."""
    parent, root = aliased(RP), aliased(RP)
    return (select(RP.id, RP.uuid, RP.name, RP.generation, parent.uuid, root.uuid,
                   RP.created_at, RP.updated_at)
            .outerjoin(parent, RP.parent_provider_id == parent.id)
            .outerjoin(root, RP.root_provider_id == root.id)
            .order_by(RP.id))


def _provider(row: Any) -> Provider:
    id_, uuid, name, generation, parent_uuid, root_uuid, created, updated = row
    return Provider(id_, uuid, name, generation, parent_uuid, root_uuid or uuid, created,
                    updated)


async def get_provider(db: AsyncSession, uuid: str) -> Provider:
    row = (await db.execute(provider_select().where(RP.uuid == uuid))).first()
    if row is None:
        raise ProviderNotFound(uuid)
    return _provider(row)


async def providers_by_uuid(db: AsyncSession, uuids: set[str]) -> dict[str, Provider]:
    rows = (await db.execute(provider_select().where(RP.uuid.in_(uuids)))).all()
    return {provider.uuid: provider for provider in map(_provider, rows)}


async def list_providers(db: AsyncSession, where: list[Any]) -> list[Provider]:
    stmt = provider_select()
    for condition in where:
        stmt = stmt.where(condition)
    return [_provider(row) for row in (await db.execute(stmt)).all()]


async def tree_root_id(db: AsyncSession, uuid: str) -> int | None:
    """The internal id of the root of ``uuid``'s tree, or None when there is no such provider."""
    root: int | None = (await db.execute(
        select(RP.root_provider_id).where(RP.uuid == uuid))).scalar_one_or_none()
    return root


async def create_provider(db: AsyncSession, uuid: str, name: str, parent_uuid: str | None
                          ) -> Provider:
    duplicates = (await db.execute(
        select(RP.uuid, RP.name).where((RP.uuid == uuid) | (RP.name == name)))).all()
    if duplicates:
        raise _duplicate(uuid, name, duplicates)
    parent_id = root_id = None
    if parent_uuid is not None:
        parent = (await db.execute(select(RP.id, RP.root_provider_id)
                                   .where(RP.uuid == parent_uuid))).first()
        if parent is None:
            raise BadRequest(f'Unable to create resource provider "{name}", {uuid}: '
                             "parent provider UUID does not exist.")
        parent_id, root_id = parent
    now = utcnow()
    try:
        async with db.begin_nested():
            inserted = cast(CursorResult[Any], await db.execute(insert(RP).values(
                uuid=uuid, name=name, generation=0, parent_provider_id=parent_id,
                root_provider_id=root_id, created_at=now, updated_at=now)))
            new_id = inserted.inserted_primary_key[0]  # type: ignore[index]
            if root_id is None:
                await db.execute(update(RP).where(RP.id == new_id).values(root_provider_id=new_id))
    except IntegrityError:
        raise _duplicate(uuid, name, [(uuid, name)]) from None
    return await get_provider(db, uuid)


def _duplicate(uuid: str, name: str, rows: Any) -> DuplicateName:
    found = []
    if any(row[0] == uuid for row in rows):
        found.append(f"uuid: {uuid}")
    if any(row[1] == name for row in rows):
        found.append(f"name: {name}")
    return DuplicateName(f"Conflicting resource provider {', '.join(found)} already exists.")


async def bump_generation(db: AsyncSession, provider: Provider, expected: int | None = None
                          ) -> None:
    """Compare-and-swap the provider's generation from ``expected`` (default: the one read)."""
    expected = provider.generation if expected is None else expected
    # No provider's generation leaves 64 bits, and a database may refuse to compare with a
    # number that does (a client's 2**63): such a generation has lost without asking.
    if not _INT64_MIN <= expected <= _INT64_MAX or rows_matched(await db.execute(
            update(RP).where(RP.id == provider.id, RP.generation == expected)
            .values(generation=expected + 1, updated_at=utcnow()))) != 1:
        raise ConcurrentUpdate(
            f"resource provider generation conflict: {provider.uuid} changed since it was "
            "read; re-read it and retry.")
    provider.generation = expected + 1


async def update_provider(db: AsyncSession, provider: Provider, changes: dict[str, Any],
                          *, allow_reparenting: bool) -> Provider:
    values: dict[str, Any] = {}
    if "name" in changes and changes["name"] != provider.name:
        taken = (await db.execute(select(RP.id).where(RP.name == changes["name"]))).first()
        if taken is not None:
            raise DuplicateName(
                f"Conflicting resource provider {changes['name']} already exists.")
        values["name"] = changes["name"]
    if "parent_provider_uuid" in changes:
        values.update(await _reparent(db, provider, changes["parent_provider_uuid"],
                                      allow_reparenting))
    if values:
        try:
            async with db.begin_nested():
                await db.execute(update(RP).where(RP.id == provider.id).values(**values))
        except IntegrityError:
            raise DuplicateName(
                f"Conflicting resource provider {changes.get('name')} already exists.") from None
        await bump_generation(db, provider)
    return await get_provider(db, provider.uuid)


async def _reparent(db: AsyncSession, provider: Provider, parent_uuid: str | None,
                    allow_reparenting: bool) -> dict[str, Any]:
    if parent_uuid == provider.parent_provider_uuid:
        return {}
    if provider.parent_provider_uuid is not None and not allow_reparenting:
        what = "re-parenting" if parent_uuid is not None else "un-parenting"
        raise BadRequest(f"Unable to save resource provider {provider.uuid}: Object action "
                         f"update failed because: {what} a provider is not currently allowed.")
    subtree = await _subtree_ids(db, provider.id)
    new_root: int | None
    parent_id: int | None
    if parent_uuid is None:
        new_root, parent_id = provider.id, None
    else:
        parent = (await db.execute(select(RP.id, RP.root_provider_id)
                                   .where(RP.uuid == parent_uuid))).first()
        if parent is None:
            raise BadRequest(f"Unable to save resource provider {provider.uuid}: Object action "
                             "update failed because: parent provider UUID does not exist.")
        if parent[0] in subtree:
            raise BadRequest(f"Unable to save resource provider {provider.uuid}: Object action "
                             "update failed because: creating loop in the provider tree is "
                             "not allowed.")
        parent_id, new_root = parent
    others = subtree - {provider.id}
    if others:
        await db.execute(update(RP).where(RP.id.in_(others)).values(root_provider_id=new_root))
    return {"parent_provider_id": parent_id, "root_provider_id": new_root}


async def _subtree_ids(db: AsyncSession, provider_id: int) -> set[int]:
    """``provider_id`` and every provider below it."""
    root = (await db.execute(select(RP.root_provider_id).where(RP.id == provider_id))).scalar()
    rows = (await db.execute(select(RP.id, RP.parent_provider_id)
                             .where(RP.root_provider_id == root))).all()
    children: dict[int | None, list[int]] = {}
    for id_, parent in rows:
        children.setdefault(parent, []).append(id_)
    found: set[int] = set()
    todo: list[int] = [provider_id]
    while todo:
        current = todo.pop()
        found.add(current)
        todo.extend(children.get(current, []))
    return found


async def delete_provider(db: AsyncSession, provider: Provider) -> None:
    if (await db.execute(select(RP.id).where(RP.parent_provider_id == provider.id)
                         .limit(1))).first() is not None:
        raise CannotDeleteParent(f"Unable to delete parent resource provider {provider.uuid}: "
                                 "It has child resource providers.")
    allocation = models.Allocation
    used = (await db.execute(select(func.count()).select_from(allocation)
                             .where(allocation.resource_provider_id == provider.id))).scalar()
    if used:
        raise ProviderInUse(f"Unable to delete resource provider {provider.uuid}: Resource "
                            "provider has allocations.")
    for table in (models.Inventory, models.ProviderTrait, models.ProviderAggregate):
        await db.execute(delete(table).where(table.resource_provider_id == provider.id))
    # Its own root reference goes first, so that the row can go on every backend.
    await db.execute(update(RP).where(RP.id == provider.id).values(root_provider_id=None))
    try:
        result = await db.execute(delete(RP).where(RP.id == provider.id,
                                                   RP.generation == provider.generation))
    except IntegrityError:
        # A child was created under it meanwhile.
        raise CannotDeleteParent(f"Unable to delete parent resource provider {provider.uuid}: "
                                 "It has child resource providers.") from None
    if rows_matched(result) != 1:
        raise ConcurrentUpdate(f"resource provider {provider.uuid} changed while it was being "
                               "deleted; retry.")
