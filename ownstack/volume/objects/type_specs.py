"""Key/value specs of the two kinds of type: a volume type's extra specs and a group type's
group specs. Both tables are keyed by their type's id and the key; one write serves both."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from ownstack.common.db.base import utcnow
from ownstack.volume.objects.models import ExtraSpec, GroupType, GroupTypeSpec, VolumeType

# Constrained, not bound: mypy checks the body once for each table's own row class.
SpecRow = TypeVar("SpecRow", ExtraSpec, GroupTypeSpec)


async def merge(db: AsyncSession, model: type[SpecRow], owner_column: InstrumentedAttribute[str],
                owner: VolumeType | GroupType, values: Mapping[str, str]) -> None:
    """``values``' keys set on ``owner`` (added or changed), its other specs kept, and its
    ``updated_at`` moved. ``owner_column`` is ``model``'s column that holds the type's id."""
    existing = {spec.key: spec for spec in (await db.execute(
        sa.select(model).where(owner_column == owner.id))).scalars()}
    for key, value in values.items():
        if key in existing:
            existing[key].value = value
        else:
            db.add(model(**{owner_column.key: owner.id, "key": key, "value": value}))
    owner.updated_at = utcnow()
    await db.flush()
