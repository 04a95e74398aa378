"""A volume type's encryption (Cinder's volume type encryption extension): the provider,
cipher, key size and control location a volume of the type would be encrypted with.

It is the admin's, and fixed while any volume has the type (Cinder's rule: a volume made
under one encryption must be opened with the same). Encrypting a volume needs a key from a
key manager, and ownstack has none, so a volume of an encrypted type is refused at create
and at retype (:func:`refuse_volumes_of`, decision 73): no volume ever claims an
encryption it does not have.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ownstack.common.db.base import utcnow
from ownstack.volume.errors import (
    EncryptedTypeInUse,
    NoKeyManager,
    VolumeTypeEncryptionExists,
    VolumeTypeEncryptionNotFound,
)
from ownstack.volume.objects.models import TypeEncryption, Volume, VolumeType

FIELDS = ("provider", "cipher", "key_size", "control_location")


async def of_type(db: AsyncSession, type_id: str) -> TypeEncryption | None:
    return await db.scalar(sa.select(TypeEncryption).where(TypeEncryption.type_id == type_id))


async def _in_use(db: AsyncSession, type_id: str) -> bool:
    """Whether any volume, of any project, has the type."""
    return await db.scalar(sa.select(Volume.id).where(Volume.type_id == type_id)
                           .limit(1)) is not None


async def create(db: AsyncSession, volume_type: VolumeType, values: Mapping[str, Any]
                 ) -> TypeEncryption:
    if await _in_use(db, volume_type.id):
        raise EncryptedTypeInUse("create")
    if await of_type(db, volume_type.id) is not None:
        raise VolumeTypeEncryptionExists(volume_type.id)
    row = TypeEncryption(id=str(uuid.uuid4()), type_id=volume_type.id,
                         provider=values["provider"], cipher=values.get("cipher"),
                         key_size=values.get("key_size"),
                         control_location=values["control_location"], created_at=utcnow())
    db.add(row)
    try:
        async with db.begin_nested():
            await db.flush()
    except IntegrityError:      # another request's create won the race
        raise VolumeTypeEncryptionExists(volume_type.id) from None
    return row


async def update(db: AsyncSession, volume_type: VolumeType, values: Mapping[str, Any]
                 ) -> TypeEncryption:
    if await _in_use(db, volume_type.id):
        raise EncryptedTypeInUse("update")
    row = await of_type(db, volume_type.id)
    if row is None:
        raise VolumeTypeEncryptionNotFound(volume_type.id)
    for field in FIELDS:
        if field in values:
            setattr(row, field, values[field])
    row.updated_at = utcnow()
    await db.flush()
    return row


async def delete(db: AsyncSession, volume_type: VolumeType) -> None:
    if await _in_use(db, volume_type.id):
        raise EncryptedTypeInUse("delete")
    row = await of_type(db, volume_type.id)
    if row is None:
        raise VolumeTypeEncryptionNotFound(volume_type.id)
    await db.delete(row)
    await db.flush()


async def refuse_volumes_of(db: AsyncSession, volume_type: VolumeType) -> None:
    """A volume of an encrypted type would need an encryption key, which only a key
    manager makes: :class:`NoKeyManager` (400) for such a type, as Cinder answers when its
    key manager fails, rather than a volume that is not encrypted. Called in the
    transaction that writes the volume, so it cannot race :func:`create`'s in-use check
    on a serializing database."""
    if await of_type(db, volume_type.id) is not None:
        raise NoKeyManager(volume_type.name)
