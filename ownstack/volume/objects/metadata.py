"""Key/value metadata of volumes and snapshots: one set of operations over either table
(the rows are keyed by their owner's id and the key; the owner's column is named)."""

from __future__ import annotations

from collections.abc import Mapping

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from ownstack.volume.errors import MetadataNotFound
from ownstack.volume.objects.models import SnapshotMetadata, VolumeMetadata

MetadataRow = type[VolumeMetadata] | type[SnapshotMetadata]


async def replace(db: AsyncSession, model: MetadataRow, owner: str, owner_id: str,
                  metadata: Mapping[str, str]) -> None:
    """The owner's metadata becomes exactly ``metadata``."""
    await db.execute(sa.delete(model).where(getattr(model, owner) == owner_id))
    for key, value in metadata.items():
        db.add(model(**{owner: owner_id, "key": key, "value": value}))
    await db.flush()


async def merge(db: AsyncSession, model: MetadataRow, owner: str, owner_id: str,
                metadata: Mapping[str, str]) -> None:
    """``metadata``'s keys set (added or changed); the others kept."""
    for key, value in metadata.items():
        row: VolumeMetadata | SnapshotMetadata | None = await db.get(model, (owner_id, key))
        if row is None:
            db.add(model(**{owner: owner_id, "key": key, "value": value}))
        else:
            row.value = value
    await db.flush()


async def delete(db: AsyncSession, model: MetadataRow, kind: str, owner_id: str,
                 key: str) -> None:
    """One key gone; a key the owner does not have is Cinder's 404."""
    row = await db.get(model, (owner_id, key))
    if row is None:
        raise MetadataNotFound(kind, owner_id, key)
    await db.delete(row)
    await db.flush()
