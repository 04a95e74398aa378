"""What the metadata service reads and writes of an instance: its row and metadata items,
and the password a guest posts (once)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ownstack.compute.objects.models import Instance, InstanceMetadata


@dataclass(frozen=True, slots=True)
class GuestRow:
    """The instance's columns the documents are built from, and its metadata items."""

    instance: Any
    metadata: dict[str, str]


async def load(db: AsyncSession, uuid: str) -> GuestRow | None:
    """The live instance ``uuid``; ``None`` when it is deleted or unknown."""
    instance = (await db.execute(select(Instance).where(
        Instance.uuid == uuid, Instance.deleted.is_(False)))).scalar_one_or_none()
    if instance is None:
        return None
    items = (await db.execute(select(InstanceMetadata.key, InstanceMetadata.value)
                              .where(InstanceMetadata.instance_uuid == uuid)
                              .order_by(InstanceMetadata.id))).all()
    return GuestRow(instance, {key: value for key, value in items})


async def set_password_once(db: AsyncSession, uuid: str, password: str) -> bool:
    """Store ``password`` for ``uuid`` unless one is set already; False when one was (or
    the instance is gone). One conditional UPDATE, so two racing posts store one."""
    result = await db.execute(
        update(Instance)
        .where(Instance.uuid == uuid, Instance.deleted.is_(False),
               or_(Instance.password.is_(None), Instance.password == ""))
        .values(password=password)
        .execution_options(synchronize_session=False))
    return bool(getattr(result, "rowcount", 0))


async def clear_password(db: AsyncSession, uuid: str) -> bool:
    """Forget the password the guest posted (the owner's ``DELETE os-server-password``),
    so the guest may post another; False when the instance is gone."""
    result = await db.execute(
        update(Instance)
        .where(Instance.uuid == uuid, Instance.deleted.is_(False))
        .values(password=None)
        .execution_options(synchronize_session=False))
    return bool(getattr(result, "rowcount", 0))
