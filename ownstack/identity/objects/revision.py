"""The identity revision: one counter that every identity write moves, so that caches of
validated tokens in every API process know when to refill."""

from __future__ import annotations

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ownstack.identity.objects.models import Revision


async def ensure_revision(db: AsyncSession) -> None:
    if await db.get(Revision, 1) is None:
        await db.execute(insert(Revision).values(id=1, value=0))


async def current_revision(db: AsyncSession) -> int:
    return (await db.scalar(select(Revision.value).where(Revision.id == 1))) or 0


async def bump_revision(db: AsyncSession) -> None:
    await db.execute(update(Revision).where(Revision.id == 1).values(value=Revision.value + 1))
