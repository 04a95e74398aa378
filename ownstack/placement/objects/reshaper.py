"""Reshaping: moving inventory and the allocations against it between providers at once.

A driver that splits a compute node into child providers (VGPUs under a GPU provider, say)
must move inventory and every allocation of it in one step, or there is a moment where the
allocations point at inventory that is gone. :func:`reshape` does it in the caller's
transaction, as Placement does: first every provider gets the union of its old and new
inventory, then the allocations are replaced (capacity checked against that interim
inventory), and last every provider's inventory becomes exactly the new one.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ownstack.placement.objects.allocations import ConsumerWrite, replace_allocations
from ownstack.placement.objects.inventories import (
    InventoryRecord,
    get_inventories,
    set_inventories,
)
from ownstack.placement.objects.models import ResourceProvider
from ownstack.placement.objects.names import Names
from ownstack.placement.objects.providers import Provider


async def reshape(db: AsyncSession, names: Names,
                  inventories: list[tuple[Provider, int, list[InventoryRecord]]],
                  writes: list[ConsumerWrite]) -> None:
    for provider, generation, records in inventories:
        interim = {r.resource_class: r for r in await get_inventories(db, names, provider)}
        interim.update({r.resource_class: r for r in records})
        await set_inventories(db, names, provider, generation, list(interim.values()))
    await replace_allocations(db, names, writes)
    for provider, _, records in inventories:
        current = (await db.execute(select(ResourceProvider.generation).where(
            ResourceProvider.id == provider.id))).scalar_one()
        await set_inventories(db, names, provider, current, records)
