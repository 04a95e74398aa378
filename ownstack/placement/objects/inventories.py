"""Inventories: what a provider offers, per resource class.

Capacity is ``int((total - reserved) * allocation_ratio)``. Every change compare-and-swaps
the provider generation first, so that it takes the provider row before touching anything
else; an allocation write racing with it then loses its own swap and is never counted
against an inventory it did not see.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ownstack.common.db.base import utcnow
from ownstack.common.errors import BadRequest, NotFound
from ownstack.placement.errors import ConcurrentUpdate, InventoryInUse, ResourceClassNotFound
from ownstack.placement.objects.models import Allocation, Inventory
from ownstack.placement.objects.names import Names
from ownstack.placement.objects.providers import Provider, bump_generation

# Placement's limit for every inventory amount: the largest 32-bit signed SQL integer.
MAX_INT: Final = 2147483647
FIELDS = ("total", "reserved", "min_unit", "max_unit", "step_size", "allocation_ratio")
DEFAULTS: dict[str, Any] = {"reserved": 0, "min_unit": 1, "max_unit": MAX_INT, "step_size": 1,
                            "allocation_ratio": 1.0}


@dataclass
class InventoryRecord:
    resource_class: str
    total: int
    reserved: int
    min_unit: int
    max_unit: int
    step_size: int
    allocation_ratio: float
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def capacity(self) -> int:
        return int((self.total - self.reserved) * self.allocation_ratio)

    @property
    def modified(self) -> datetime | None:
        return self.updated_at or self.created_at

    def fields(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in FIELDS}

    @classmethod
    def from_body(cls, resource_class: str, data: dict[str, Any]) -> InventoryRecord:
        values = {**DEFAULTS, **{k: v for k, v in data.items() if k in FIELDS}}
        return cls(resource_class=resource_class, **values)


def check_capacity(provider: Provider, records: list[InventoryRecord], *,
                   zero_allowed: bool) -> None:
    """400 for an inventory with no capacity: from 1.26 reserved may equal total."""
    for record in records:
        if record.capacity < 0 or (record.capacity == 0 and not zero_allowed):
            relation = "greater than" if zero_allowed else "greater than or equal to"
            raise BadRequest(
                f"Unable to update inventory for resource provider {provider.uuid}: Invalid "
                f"inventory for '{record.resource_class}' on resource provider "
                f"'{provider.uuid}'. The reserved value is {relation} total.")


async def get_inventories(db: AsyncSession, names: Names, provider: Provider
                          ) -> list[InventoryRecord]:
    rows = (await db.execute(
        select(Inventory.resource_class_id, *(getattr(Inventory, f) for f in FIELDS),
               Inventory.created_at, Inventory.updated_at)
        .where(Inventory.resource_provider_id == provider.id)
        .order_by(Inventory.resource_class_id))).all()
    classes = await names.class_names(db)
    if any(row[0] not in classes for row in rows):
        await names.classes.reload(db)
        classes = names.classes.by_id
    return [InventoryRecord(classes[row[0]], *row[1:]) for row in rows]


async def set_inventories(db: AsyncSession, names: Names, provider: Provider, generation: int,
                          records: list[InventoryRecord]) -> None:
    """Replace the provider's whole inventory; 409 if an in-use class would go."""
    await bump_generation(db, provider, generation)
    try:
        ids = await names.class_ids(db, (r.resource_class for r in records))
    except ResourceClassNotFound as exc:
        raise BadRequest("Unknown resource class in inventory for resource provider "
                         f"{provider.uuid}: {exc.message}") from None
    existing = set((await db.execute(select(Inventory.resource_class_id).where(
        Inventory.resource_provider_id == provider.id))).scalars())
    wanted = {ids[r.resource_class]: r for r in records}
    await _delete_unused(db, names, provider, existing - wanted.keys())
    now = utcnow()
    for class_id, record in wanted.items():
        if class_id in existing:
            await db.execute(update(Inventory).where(
                Inventory.resource_provider_id == provider.id,
                Inventory.resource_class_id == class_id).values(**record.fields(),
                                                                updated_at=now))
    added = [{"resource_provider_id": provider.id, "resource_class_id": class_id,
              **record.fields(), "created_at": now}
             for class_id, record in wanted.items() if class_id not in existing]
    if added:
        await db.execute(insert(Inventory), added)


async def add_inventory(db: AsyncSession, names: Names, provider: Provider,
                        record: InventoryRecord) -> None:
    await bump_generation(db, provider)
    try:
        class_id = (await names.class_ids(db, [record.resource_class]))[record.resource_class]
    except ResourceClassNotFound as exc:
        raise BadRequest(f"Unable to create inventory for resource provider {provider.uuid}: "
                         f"{exc.message}") from None
    if await _exists(db, provider, class_id):
        raise ConcurrentUpdate(f"Update conflict: Inventory for {record.resource_class} on "
                               f"resource provider {provider.uuid} already exists.")
    await db.execute(insert(Inventory).values(
        resource_provider_id=provider.id, resource_class_id=class_id, **record.fields(),
        created_at=utcnow()))


async def update_inventory(db: AsyncSession, names: Names, provider: Provider, generation: int,
                           record: InventoryRecord) -> None:
    await bump_generation(db, provider, generation)
    ids = await names.classes.ids(db, [record.resource_class])
    class_id = ids.get(record.resource_class)
    if class_id is None or not await _exists(db, provider, class_id):
        raise BadRequest("No inventory record with resource class for resource provider "
                         f"{provider.uuid}: {record.resource_class}")
    await db.execute(update(Inventory).where(
        Inventory.resource_provider_id == provider.id, Inventory.resource_class_id == class_id
    ).values(**record.fields(), updated_at=utcnow()))


async def delete_inventory(db: AsyncSession, names: Names, provider: Provider,
                           resource_class: str) -> None:
    class_id = (await names.classes.ids(db, [resource_class])).get(resource_class)
    if class_id is None or not await _exists(db, provider, class_id):
        raise NotFound(f"No inventory of class {resource_class} found for delete")
    await bump_generation(db, provider)
    await _delete_unused(db, names, provider, {class_id})


async def _exists(db: AsyncSession, provider: Provider, class_id: int) -> bool:
    return (await db.execute(select(Inventory.id).where(
        Inventory.resource_provider_id == provider.id,
        Inventory.resource_class_id == class_id))).first() is not None


async def _delete_unused(db: AsyncSession, names: Names, provider: Provider,
                         class_ids: set[int]) -> None:
    if not class_ids:
        return
    in_use = sorted(set((await db.execute(select(Allocation.resource_class_id).where(
        Allocation.resource_provider_id == provider.id,
        Allocation.resource_class_id.in_(class_ids)))).scalars()))
    if in_use:
        used = ", ".join([await names.classes.name(db, id_) for id_ in in_use])
        raise InventoryInUse(f"Inventory for '{used}' on resource provider '{provider.uuid}' "
                             "in use.")
    await db.execute(delete(Inventory).where(Inventory.resource_provider_id == provider.id,
                                             Inventory.resource_class_id.in_(class_ids)))
