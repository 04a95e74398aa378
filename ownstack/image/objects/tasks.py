"""The rows of ``/v2/tasks``: ``pending -> processing -> success | failure``.

Each step is a conditional update on the status, so a task moves once. A finished task
expires ``image.task_time_to_live`` hours later and is then removed (Glance removes
expired tasks when tasks are listed; ownstack also does when a task runs or is shown,
and an expired task is never shown).

A task is visible to its owner's project and to admins (Glance's ``_is_task_visible``);
any other project's task is a 404.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from ownstack.common.api.pagination import paginate
from ownstack.common.context import RequestContext
from ownstack.common.db.base import utcnow
from ownstack.common.db.cas import rows_matched
from ownstack.common.errors import BadRequest
from ownstack.image.errors import TaskNotFound
from ownstack.image.objects.images import is_admin
from ownstack.image.objects.models import ImageTask

STATUSES = ("pending", "processing", "success", "failure")
TYPES = ("import",)
FINISHED = ("success", "failure")


def _visible(ctx: RequestContext) -> ColumnElement[bool]:
    if is_admin(ctx):
        return ImageTask.id.is_not(None)
    return ImageTask.owner == ctx.project_id


def _alive() -> ColumnElement[bool]:
    return or_(ImageTask.expires_at.is_(None), ImageTask.expires_at > utcnow())


async def create_task(db: AsyncSession, ctx: RequestContext, *, task_type: str,
                      task_input: dict[str, Any]) -> ImageTask:
    now = utcnow()
    task = ImageTask(id=str(uuid.uuid4()), type=task_type, status="pending",
                     owner=ctx.project_id or "", input=task_input, result=None, message="",
                     user_id=ctx.user_id, request_id=ctx.request_id, created_at=now,
                     updated_at=now)
    db.add(task)
    await db.flush()
    return task


async def get_visible(db: AsyncSession, ctx: RequestContext, task_id: str) -> ImageTask:
    task = await db.scalar(select(ImageTask).where(ImageTask.id == task_id, _visible(ctx),
                                                   _alive()))
    if task is None:
        raise TaskNotFound(task_id)
    return task


async def get(db: AsyncSession, task_id: str) -> ImageTask | None:
    return await db.get(ImageTask, task_id)


@dataclass(frozen=True)
class TaskPage:
    tasks: list[ImageTask]
    more: bool


async def list_tasks(db: AsyncSession, ctx: RequestContext, *, status: str | None,
                     task_type: str | None, limit: int, marker_id: str | None,
                     sort: list[tuple[str, str]]) -> TaskPage:
    stmt = select(ImageTask).where(_visible(ctx), _alive())
    if status is not None:
        stmt = stmt.where(ImageTask.status == status)
    if task_type is not None:
        stmt = stmt.where(ImageTask.type == task_type)
    marker = None
    if marker_id is not None:
        marker = await db.scalar(select(ImageTask).where(ImageTask.id == marker_id,
                                                         _visible(ctx), _alive()))
        if marker is None:
            raise BadRequest(f"Task with the given id {marker_id} not found")
    rows = list(await db.scalars(paginate(stmt, ImageTask, limit=limit + 1,
                                          marker_row=marker, sort=sort)))
    return TaskPage(rows[:limit], len(rows) > limit)


async def start(db: AsyncSession, task_id: str) -> bool:
    """``pending -> processing``; False when the task is not pending any more."""
    result = await db.execute(update(ImageTask).where(
        ImageTask.id == task_id, ImageTask.status == "pending").values(
        status="processing", updated_at=utcnow()))
    return rows_matched(result) == 1


async def record_image(db: AsyncSession, task_id: str, image_id: str) -> None:
    await db.execute(update(ImageTask).where(ImageTask.id == task_id).values(
        image_id=image_id, updated_at=utcnow()))


async def finish(db: AsyncSession, task_id: str, *, status: str, ttl_hours: int,
                 result: dict[str, Any] | None = None, message: str = "") -> bool:
    """``pending | processing -> success | failure``, expiring ``ttl_hours`` from now."""
    now = utcnow()
    done = await db.execute(update(ImageTask).where(
        ImageTask.id == task_id, ImageTask.status.in_(("pending", "processing"))).values(
        status=status, result=result, message=message[:2000],
        expires_at=now + timedelta(hours=ttl_hours), updated_at=now))
    return rows_matched(done) == 1


async def reap_expired(db: AsyncSession) -> int:
    """Remove every task whose time to live has passed; how many went."""
    result = await db.execute(delete(ImageTask).where(ImageTask.expires_at <= utcnow()))
    return rows_matched(result)


async def fail_unfinished(db: AsyncSession, *, ttl_hours: int) -> list[str]:
    """Fail the tasks left ``pending`` or ``processing`` by a service that stopped (at
    start, when none can be running); their ids."""
    ids = list(await db.scalars(select(ImageTask.id).where(
        ImageTask.status.in_(("pending", "processing")))))
    for task_id in ids:
        await finish(db, task_id, status="failure", ttl_hours=ttl_hours,
                     message="The image service stopped before the task finished.")
    return ids
