"""Usage: what is allocated, per provider or per project (and user, and consumer type)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ownstack.placement.objects.allocations import UNKNOWN_CONSUMER_TYPE
from ownstack.placement.objects.models import Allocation, Consumer, ConsumerType, Inventory
from ownstack.placement.objects.names import Names


async def provider_usages(db: AsyncSession, names: Names, provider_id: int) -> dict[str, int]:
    """Usage of every class the provider has inventory of (0 when unallocated)."""
    used = (select(func.coalesce(func.sum(Allocation.used), 0))
            .where(Allocation.resource_provider_id == Inventory.resource_provider_id,
                   Allocation.resource_class_id == Inventory.resource_class_id)
            .scalar_subquery())
    rows = (await db.execute(select(Inventory.resource_class_id, used)
                             .where(Inventory.resource_provider_id == provider_id))).all()
    classes = await names.class_names(db)
    if any(row[0] not in classes for row in rows):
        await names.classes.reload(db)
        classes = names.classes.by_id
    return {classes[rc_id]: int(amount) for rc_id, amount in rows}


async def project_usages(db: AsyncSession, names: Names, project_id: str, user_id: str | None,
                         *, by_type: bool, consumer_type: str | None) -> dict[str, Any]:
    """Sum of allocations by class; from 1.38 grouped by consumer type with consumer counts.

    ``consumer_type`` "all" sums every type under "all"; "unknown" only consumers without one.
    """
    filters = [Consumer.project_id == project_id]
    if user_id:
        filters.append(Consumer.user_id == user_id)
    type_name = func.coalesce(ConsumerType.name, UNKNOWN_CONSUMER_TYPE)
    if consumer_type == "unknown":
        filters.append(Consumer.consumer_type_id.is_(None))
    elif consumer_type not in (None, "all"):
        filters.append(ConsumerType.name == consumer_type)
    group = type_name if by_type and consumer_type != "all" else None
    base = (select().select_from(Allocation)
            .join(Consumer, Consumer.uuid == Allocation.consumer_id)
            .outerjoin(ConsumerType, Consumer.consumer_type_id == ConsumerType.id)
            .where(*filters))
    sums = base.add_columns(Allocation.resource_class_id, func.sum(Allocation.used))
    counts = base.add_columns(func.count(distinct(Allocation.consumer_id)))
    if group is not None:
        sums = sums.add_columns(group).group_by(Allocation.resource_class_id, group)
        counts = counts.add_columns(group).group_by(group)
    else:
        sums = sums.group_by(Allocation.resource_class_id)
    classes = await names.class_names(db)
    rows = (await db.execute(sums)).all()
    if any(row[0] not in classes for row in rows):
        await names.classes.reload(db)
        classes = names.classes.by_id
    if not by_type:
        return {classes[row[0]]: int(row[1]) for row in rows}
    label = consumer_type if consumer_type in ("all", "unknown") else None
    out: dict[str, dict[str, int]] = {}
    for row in rows:
        out.setdefault(label or row[2], {})[classes[row[0]]] = int(row[1])
    for row in (await db.execute(counts)).all():
        key = label or row[1]
        if key in out:
            out[key]["consumer_count"] = int(row[0])
    return out
