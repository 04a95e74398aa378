"""Resource classes: the standard ones are fixed, custom ones (CUSTOM_*) come and go."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ownstack.common.db.base import utcnow
from ownstack.common.errors import BadRequest, Conflict, NotFound
from ownstack.placement.objects.models import Allocation, Inventory, ResourceClass
from ownstack.placement.objects.names import Names, delete_name


async def list_classes(db: AsyncSession) -> list[tuple[str, datetime | None]]:
    rows = await db.execute(select(ResourceClass.name, ResourceClass.updated_at,
                                   ResourceClass.created_at).order_by(ResourceClass.id))
    return [(name, updated or created) for name, updated, created in rows.all()]


async def get_class(db: AsyncSession, name: str) -> tuple[int, datetime | None]:
    row = (await db.execute(select(ResourceClass.id, ResourceClass.updated_at,
                                   ResourceClass.created_at)
                            .where(ResourceClass.name == name))).first()
    if row is None:
        raise NotFound(f"No such resource class {name}.")
    return row[0], row[1] or row[2]


async def create_class(db: AsyncSession, names: Names, name: str) -> bool:
    """Create ``name``; False when it already existed."""
    if (await db.execute(select(ResourceClass.id)
                         .where(ResourceClass.name == name))).first() is not None:
        return False
    try:
        async with db.begin_nested():
            await db.execute(insert(ResourceClass).values(name=name, created_at=utcnow()))
    except IntegrityError:
        return False
    names.classes.forget()
    return True


async def rename_class(db: AsyncSession, names: Names, name: str, new_name: str) -> None:
    """1.2 - 1.6: a custom class may be renamed."""
    class_id, _ = await get_class(db, name)
    if not name.startswith("CUSTOM_"):
        raise BadRequest(f"Cannot update standard resource class {name}")
    if (await db.execute(select(ResourceClass.id)
                         .where(ResourceClass.name == new_name))).first() is not None:
        raise Conflict(f"Resource class already exists: {new_name}")
    await db.execute(update(ResourceClass).where(ResourceClass.id == class_id)
                     .values(name=new_name, updated_at=utcnow()))
    names.classes.forget()


async def delete_class(db: AsyncSession, names: Names, name: str) -> None:
    class_id, _ = await get_class(db, name)
    if not name.startswith("CUSTOM_"):
        raise BadRequest(f"Error in delete resource class: Cannot delete standard resource "
                         f"class {name}.")
    in_use = (await db.execute(select(Inventory.id).where(
        Inventory.resource_class_id == class_id).limit(1))).first()
    if in_use is None:
        in_use = (await db.execute(select(Allocation.id).where(or_(
            Allocation.resource_class_id == class_id)).limit(1))).first()
    if in_use is not None:
        raise Conflict(f"Error in delete resource class: Cannot delete resource class {name}. "
                       "Class is in use in inventory.")
    await delete_name(db, ResourceClass, class_id)
    names.classes.forget()
