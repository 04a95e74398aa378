"""User messages (Cinder's ``/messages``, 3.3): how a client learns why an action that was
answered 202 failed later, in Cinder's fixed vocabulary.

A message names the resource, the action that was under way and a detail, each from
Cinder's ``message_field`` tables (ids and texts as Cinder's, so clients and Tempest read
them alike); its ``event_id`` is ``VOLUME_<resource>_<action>_<detail>`` and its text
``<action>:<detail>``. The reason ownstack knows (the driver's error, the sentence of "no
valid backend") stays in the volume's ``task`` and the logs, as Cinder keeps exception
texts out of messages. Messages are written in the transaction that puts the resource in
error, so one exists exactly when the failure does, and are removed ``volume.message_ttl``
seconds later by the volume service's sweep.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ColumnElement

from ownstack.common.context import RequestContext
from ownstack.common.db.base import utcnow
from ownstack.volume.errors import MessageNotFound
from ownstack.volume.objects.listing import Filter, Kind, ListQuery, equals, page
from ownstack.volume.objects.models import Message

DEFAULT_TTL: Final = 2592000           # seconds, Cinder's message_ttl (volume.message_ttl)
VOLUME: Final = "VOLUME"
SNAPSHOT: Final = "VOLUME_SNAPSHOT"

# Cinder's message_field.Action and .Detail: id -> text (the ones ownstack can meet).
ACTIONS: Final = {
    "001": "schedule allocate volume",
    "003": "copy volume to image",
    "005": "copy image to volume",
    "007": "extend volume",
    "008": "create volume from backend storage",
    "009": "create snapshot",
    "010": "delete snapshot",
}
SCHEDULE_ALLOCATE_VOLUME: Final = "001"
COPY_VOLUME_TO_IMAGE: Final = "003"
COPY_IMAGE_TO_VOLUME: Final = "005"
EXTEND_VOLUME: Final = "007"
CREATE_VOLUME_FROM_BACKEND: Final = "008"
SNAPSHOT_CREATE: Final = "009"
SNAPSHOT_DELETE: Final = "010"

DETAILS: Final = {
    "001": "An unknown error occurred.",
    "003": "Could not find any available weighted backend.",
    "004": "Failed to upload volume to image at backend.",
    "010": "Volume Driver failed to extend volume.",
    "012": "Driver failed to create the volume.",
    "013": "Snapshot failed to create.",
    "016": "Snapshot failed to delete.",
}
UNKNOWN_ERROR: Final = "001"
NO_BACKEND_AVAILABLE: Final = "003"
FAILED_TO_UPLOAD_VOLUME: Final = "004"
DRIVER_FAILED_EXTEND: Final = "010"
DRIVER_FAILED_CREATE: Final = "012"
SNAPSHOT_CREATE_ERROR: Final = "013"
SNAPSHOT_DELETE_ERROR: Final = "016"

MESSAGES: Final = Kind(name="message", model=Message, filters={
    name: Filter(equals(getattr(Message, name)), since="3.5")
    for name in ("event_id", "resource_uuid", "resource_type", "request_id",
                 "message_level")
}, sort_keys={key: key for key in ("id", "created_at", "event_id", "resource_type",
                                    "resource_uuid", "request_id", "message_level")})


def user_message(row: Message) -> str:
    return (f"{ACTIONS.get(row.action_id, row.action_id)}:"
            f"{DETAILS.get(row.detail_id, DETAILS[UNKNOWN_ERROR])}")


def record(db: AsyncSession, *, project_id: str, request_id: str | None,
           resource_type: str, resource_uuid: str | None, action: str, detail: str,
           ttl: int, level: str = "ERROR") -> Message:
    """Add a message to the transaction of ``db`` (flushed with it)."""
    now = utcnow()
    row = Message(id=str(uuid.uuid4()), project_id=project_id,
                  request_id=request_id or f"req-{uuid.uuid4()}",
                  resource_type=resource_type, resource_uuid=resource_uuid,
                  event_id=f"VOLUME_{resource_type}_{action}_{detail}", action_id=action,
                  detail_id=detail, message_level=level, created_at=now,
                  expires_at=now + timedelta(seconds=ttl))
    db.add(row)
    return row


def visible(ctx: RequestContext, project_id: str | None = None
            ) -> ColumnElement[bool] | None:
    """The caller's project's messages; an admin's list holds every project's, as
    Cinder's (its message query is ``project_only``: admins are not filtered), or one
    project's with ``project_id``."""
    if ctx.is_admin:
        return None if project_id is None else Message.project_id == project_id
    return Message.project_id == ctx.project_id


async def list_page(db: AsyncSession, ctx: RequestContext, query: ListQuery
                    ) -> tuple[list[Message], int | None]:
    return await page(db, sa.select(Message), MESSAGES, query,
                      visible(ctx, query.project_id))


async def get(db: AsyncSession, ctx: RequestContext, message_id: str) -> Message:
    """A message of the caller's project (any, for an admin); 404 otherwise."""
    stmt = sa.select(Message).where(Message.id == message_id)
    if not ctx.is_admin:
        stmt = stmt.where(Message.project_id == ctx.project_id)
    found = await db.scalar(stmt)
    if found is None:
        raise MessageNotFound(message_id)
    return found


async def delete(db: AsyncSession, row: Message) -> None:
    await db.execute(sa.delete(Message).where(Message.id == row.id))


async def reap(db: AsyncSession, now: datetime | None = None) -> int:
    """Remove the messages past their ``expires_at``; how many."""
    result = await db.execute(sa.delete(Message).where(
        Message.expires_at < (now or utcnow())))
    return int(getattr(result, "rowcount", 0) or 0)
