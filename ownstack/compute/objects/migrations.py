"""Migration records: one per resize or cold migration, as Nova's ``migrations`` table.

The record is the durable progress of a resize, beside the instance's ``task_state``:

* ``pre-migrating``: the API accepted it (task ``resize_prep``); the conductor claims the
  new flavor in Placement: the instance's allocation moves to the migration's uuid as
  consumer and the instance's own uuid gets the new flavor's, in one ``POST /allocations``;
* ``migrating`` (task ``resize_migrating``): the agent powers the guest off and keeps the
  pre-resize disk; ``post-migrating`` (``resize_migrated``/``resize_finish``): it grows the
  disk and restarts the guest with the new flavor;
* ``finished``: the server is RESIZED (VERIFY_RESIZE), the instance shows the new flavor;
* ``confirming`` then ``confirmed``: the kept disk is dropped, then the migration's
  allocation; ``reverting`` then ``reverted``: the old disk and flavor come back, and the
  old allocation moves back to the instance;
* ``error``: the resize failed before the guest was touched (no host, say); the old
  allocation is back with the instance.

Every status change is a compare-and-swap on the expected old status.
"""

from __future__ import annotations

import uuid as uuid_module
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from ownstack.common.db.base import utcnow
from ownstack.common.db.cas import rows_matched
from ownstack.compute.migration_status import (
    CONFIRMED,
    CONFIRMING,
    DONE,
    ERROR,
    FINISHED,
    IN_PROGRESS,
    MIGRATING,
    POST_MIGRATING,
    PRE_MIGRATING,
    REVERTED,
    REVERTING,
)
from ownstack.compute.objects.models import Instance, Migration

__all__ = [
    "CONFIRMED",
    "CONFIRMING",
    "DONE",
    "ERROR",
    "FILTERS",
    "FINISHED",
    "IN_PROGRESS",
    "MIGRATING",
    "MIGRATION",
    "POST_MIGRATING",
    "PRE_MIGRATING",
    "RESIZE",
    "REVERTED",
    "REVERTING",
    "by_uuids",
    "create",
    "get",
    "in_progress_for",
    "list_migrations",
    "set_status",
    "with_status",
]

RESIZE: Final = "resize"
MIGRATION: Final = "migration"


async def create(db: AsyncSession, instance: Instance, *, migration_type: str,
                 new_flavor: Mapping[str, Any], old_type_id: int | None,
                 new_type_id: int | None) -> Migration:
    now = utcnow()
    row = Migration(uuid=str(uuid_module.uuid4()), instance_uuid=instance.uuid,
                    project_id=instance.project_id, user_id=instance.user_id,
                    source_compute=instance.host, source_node=instance.node,
                    status=PRE_MIGRATING, migration_type=migration_type,
                    old_instance_type_id=old_type_id, new_instance_type_id=new_type_id,
                    old_flavor=dict(instance.flavor), new_flavor=dict(new_flavor),
                    created_at=now, updated_at=now)
    db.add(row)
    await db.flush()
    return row


async def get(db: AsyncSession, uuid: str) -> Migration | None:
    return (await db.execute(sa.select(Migration).where(Migration.uuid == uuid))
            ).scalar_one_or_none()


# Built once (a statement built per call costs more CPU than running it): every delete
# asks.
_IN_PROGRESS_FOR: Final = (
    sa.select(Migration).where(Migration.instance_uuid == sa.bindparam("instance_uuid"),
                               Migration.status.in_(sorted(IN_PROGRESS)))
    .order_by(Migration.id.desc()).limit(1))


async def in_progress_for(db: AsyncSession, instance_uuid: str) -> Migration | None:
    """The instance's migration still in flight, if any (there is at most one)."""
    return (await db.execute(_IN_PROGRESS_FOR, {"instance_uuid": instance_uuid})
            ).scalar_one_or_none()


async def set_status(db: AsyncSession, uuid: str, status: str, *,
                     expected: Iterable[str] | None = None, **values: Any) -> bool:
    """Set the status (and ``values``) if the migration's status is one of ``expected``
    (any when ``None``); whether it matched."""
    stmt = sa.update(Migration).where(Migration.uuid == uuid)
    if expected is not None:
        stmt = stmt.where(Migration.status.in_(sorted(set(expected))))
    result = await db.execute(stmt.values(status=status, updated_at=utcnow(), **values)
                              .execution_options(synchronize_session=False))
    return rows_matched(result) == 1


async def with_status(db: AsyncSession, statuses: Iterable[str], *,
                      updated_before: datetime | None = None, limit: int = 200
                      ) -> list[Migration]:
    stmt = sa.select(Migration).where(Migration.status.in_(sorted(set(statuses))))
    if updated_before is not None:
        stmt = stmt.where(Migration.updated_at < updated_before)
    return list((await db.execute(stmt.order_by(Migration.id).limit(limit))).scalars())


async def by_uuids(db: AsyncSession, uuids: Iterable[str]) -> list[Migration]:
    wanted = sorted(set(uuids))
    if not wanted:
        return []
    return list((await db.execute(sa.select(Migration).where(Migration.uuid.in_(wanted))
                                  )).scalars())


# Query parameters of ``GET /os-migrations`` and the columns they filter.
FILTERS: Final = {"host": None, "status": Migration.status,
                  "instance_uuid": Migration.instance_uuid,
                  "source_compute": Migration.source_compute,
                  "migration_type": Migration.migration_type,
                  "user_id": Migration.user_id, "project_id": Migration.project_id}


async def list_migrations(db: AsyncSession, filters: Mapping[str, str], *,
                          limit: int | None = None, marker_id: int | None = None,
                          changes_since: datetime | None = None,
                          changes_before: datetime | None = None) -> list[Migration]:
    """Newest first, as Nova lists them (``created_at``, then ``id``, descending)."""
    stmt = sa.select(Migration)
    for name, value in filters.items():
        if name == "host":
            stmt = stmt.where(sa.or_(Migration.source_compute == value,
                                     Migration.dest_compute == value))
        elif (column := FILTERS.get(name)) is not None:
            stmt = stmt.where(column == value)
    if changes_since is not None:
        stmt = stmt.where(Migration.updated_at >= changes_since)
    if changes_before is not None:
        stmt = stmt.where(Migration.updated_at <= changes_before)
    if marker_id is not None:
        stmt = stmt.where(Migration.id < marker_id)
    stmt = stmt.order_by(Migration.created_at.desc(), Migration.id.desc())
    if limit is not None:
        stmt = stmt.limit(limit)
    return list((await db.execute(stmt)).scalars())
