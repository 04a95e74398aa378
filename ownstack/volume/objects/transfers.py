"""Volume transfers: a project offers an ``available`` volume, another project that
knows the transfer's id and auth key takes it (Cinder's ``cinder/transfer/api.py``).

A create moves the volume to ``awaiting-transfer`` and answers the auth key once; only a
salted hash of it is stored. A delete puts the volume back to ``available`` (if it is
still ``awaiting-transfer``: an admin may have reset it). An accept, in one write
transaction, checks the key, admits the volume (and, unless the transfer says
``no_snapshots``, its snapshots) into the receiver's quota under the receiver's project
lock, gives them to the receiving project and user, and removes the transfer. The
volume's and each snapshot's change is a compare-and-swap on its generation and the
transfer's removal is checked by row count, so of two racing accepts (or an accept and
a delete) exactly one commits; the other is a 409 or, once the winner committed, a 404.

The giver's usage needs no change: usage is counted from the rows
(:mod:`ownstack.volume.objects.quotas`), and the rows now name the receiver.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from typing import Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ColumnElement

from ownstack.common.config import VolumeConfig
from ownstack.common.context import RequestContext
from ownstack.common.db.base import utcnow
from ownstack.common.db.cas import rows_matched
from ownstack.volume.errors import (
    ConcurrentUpdate,
    InvalidAuthKey,
    InvalidSnapshot,
    InvalidVolume,
    TransferNotFound,
)
from ownstack.volume.objects import quotas, snapshots, volumes
from ownstack.volume.objects.listing import Filter, Kind, ListQuery, equals, page
from ownstack.volume.objects.models import Snapshot, Transfer, Volume

AWAITING: Final = "awaiting-transfer"
# Cinder's volume_transfer_salt_length and volume_transfer_key_length (hex characters).
SALT_LENGTH: Final = 8
KEY_LENGTH: Final = 16

TRANSFERS: Final = Kind(name="transfer", model=Transfer, filters={
    "name": Filter(equals(Transfer.name)),
    "volume_id": Filter(equals(Transfer.volume_id)),
    "id": Filter(equals(Transfer.id)),
}, sort_keys={"id": "id", "created_at": "created_at", "name": "name",
              "display_name": "name", "volume_id": "volume_id"},
    default_sort=(("created_at", "asc"),))


@dataclass(frozen=True)
class Created:
    transfer: Transfer
    auth_key: str


def _hash(salt: str, auth_key: str) -> str:
    return hmac.new(salt.encode(), auth_key.encode(), hashlib.sha256).hexdigest()


def visible(ctx: RequestContext, *, all_tenants: bool = False,
            project_id: str | None = None) -> ColumnElement[bool] | None:
    """The caller's project's transfers; an admin's ``all_tenants`` lists everyone's (or
    the ``project_id`` one's). An admin sees any transfer by id."""
    if ctx.is_admin and all_tenants:
        return Transfer.source_project_id == project_id if project_id else None
    return Transfer.source_project_id == ctx.project_id


async def get(db: AsyncSession, ctx: RequestContext, transfer_id: str, *,
              anyones: bool = False) -> Transfer:
    """The transfer, if the caller's project offered it (an admin's or, with
    ``anyones``, the would-be receiver's: any)."""
    stmt = sa.select(Transfer).where(Transfer.id == transfer_id)
    if not (ctx.is_admin or anyones):
        stmt = stmt.where(Transfer.source_project_id == ctx.project_id)
    found = await db.scalar(stmt)
    if found is None:
        raise TransferNotFound(transfer_id)
    return found


async def list_page(db: AsyncSession, ctx: RequestContext, query: ListQuery
                    ) -> tuple[list[Transfer], int | None]:
    return await page(db, sa.select(Transfer), TRANSFERS, query,
                      visible(ctx, all_tenants=query.all_tenants, project_id=query.project_id))


async def _snapshots_of(db: AsyncSession, volume_id: str) -> list[Snapshot]:
    return list((await db.execute(sa.select(Snapshot).where(
        Snapshot.volume_id == volume_id).order_by(Snapshot.created_at, Snapshot.id)))
        .scalars())


def _all_available(found: list[Snapshot]) -> None:
    for snapshot in found:
        if snapshot.status != "available":
            raise InvalidSnapshot(f"snapshot: {snapshot.id} status must be available")


async def create(db: AsyncSession, volume: Volume, *, name: str | None,
                 no_snapshots: bool) -> Created:
    """Offer ``volume`` (available; with its snapshots, all available, unless
    ``no_snapshots``): the new transfer and its auth key, shown this once."""
    if volume.status != "available":
        raise InvalidVolume("status must be available")
    if not no_snapshots:
        _all_available(await _snapshots_of(db, volume.id))
    await volumes.save(db, volume, status=AWAITING)
    salt = secrets.token_hex(SALT_LENGTH // 2)
    auth_key = secrets.token_hex(KEY_LENGTH // 2)
    transfer = Transfer(id=str(uuid.uuid4()), volume_id=volume.id,
                        source_project_id=volume.project_id, name=name, salt=salt,
                        crypt_hash=_hash(salt, auth_key), no_snapshots=no_snapshots,
                        created_at=utcnow())
    db.add(transfer)
    await db.flush()
    return Created(transfer, auth_key)


async def _remove(db: AsyncSession, transfer: Transfer) -> None:
    result = await db.execute(sa.delete(Transfer).where(Transfer.id == transfer.id)
                              .execution_options(synchronize_session=False))
    if rows_matched(result) != 1:
        raise ConcurrentUpdate()


async def delete(db: AsyncSession, transfer: Transfer) -> None:
    """Withdraw the offer: the volume is ``available`` again if it still awaits the
    transfer (Cinder leaves any other status, as an admin's reset left it)."""
    volume = await db.get(Volume, transfer.volume_id)
    if volume is not None and volume.status == AWAITING:
        await volumes.save(db, volume, status="available")
    await _remove(db, transfer)


async def accept(db: AsyncSession, settings: VolumeConfig, ctx: RequestContext,
                 transfer: Transfer, auth_key: str) -> Volume:
    """Give the transfer's volume (and its snapshots, unless ``no_snapshots``) to the
    caller's project and user: 400 for a wrong key or a volume or snapshot that is not
    in a state to move, 413 when the receiver's quota cannot take them."""
    if not hmac.compare_digest(_hash(transfer.salt, auth_key), transfer.crypt_hash):
        raise InvalidAuthKey(transfer.id)
    volume = await db.get(Volume, transfer.volume_id)
    if volume is None:
        raise TransferNotFound(transfer.id)
    if volume.status != AWAITING:
        raise InvalidVolume(f"Transfer {transfer.id}: Volume id {volume.id} expected in "
                            f"{AWAITING} state.")
    moving = [] if transfer.no_snapshots else await _snapshots_of(db, volume.id)
    _all_available(moving)
    receiver, user_id = str(ctx.project_id), str(ctx.user_id)
    if receiver == volume.project_id:
        await quotas.lock_project(db, receiver)        # nothing moves between projects
    else:
        await quotas.admit(db, settings.quota, receiver, volumes=1, snapshots=len(moving),
                           gigabytes=volume.size + sum(s.size for s in moving),
                           volume_size=volume.size, type_id=volume.type_id)
    await volumes.save(db, volume, status="available", project_id=receiver, user_id=user_id)
    for snapshot in moving:
        await snapshots.save(db, snapshot, project_id=receiver, user_id=user_id)
    await _remove(db, transfer)
    return volume
