"""Instance actions and their events (``os-instance-actions``).

The API starts an action in the transaction that accepts the request, under the request's
id; the conductor and the agent add timed events to it, found by that request id, so a
user can follow ``openstack server event show vm1 <request id>`` through every phase.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, cast

from sqlalchemy import Table, bindparam, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ownstack.common.context import RequestContext
from ownstack.common.db.base import utcnow
from ownstack.common.db.core import Runner, run
from ownstack.common.errors import BadRequest
from ownstack.compute.objects.models import InstanceAction, InstanceActionEvent

# Nova's action names (nova.compute.instance_actions).
CREATE = "create"
DELETE = "delete"
STOP = "stop"
START = "start"
REBOOT = "reboot"
REBUILD = "rebuild"
LOCK = "lock"
UNLOCK = "unlock"
CREATE_IMAGE = "createImage"
CREATE_BACKUP = "createBackup"
EXTEND_VOLUME = "extend_volume"
UPDATE = "update"
PAUSE = "pause"
UNPAUSE = "unpause"
SUSPEND = "suspend"
RESUME = "resume"
RESIZE = "resize"
CONFIRM_RESIZE = "confirmResize"
REVERT_RESIZE = "revertResize"
MIGRATE = "migrate"
SHELVE = "shelve"
SHELVE_OFFLOAD = "shelveOffload"
UNSHELVE = "unshelve"
RESCUE = "rescue"
UNRESCUE = "unrescue"
RESET_STATE = "resetState"

SUCCESS = "Success"
ERROR = "Error"


async def start_action(db: AsyncSession, ctx: RequestContext, instance_uuid: str,
                       action: str) -> InstanceAction:
    now = utcnow()
    # Nova sets updated_at at the start too: 2.58's changes-since filters on it.
    row = InstanceAction(instance_uuid=instance_uuid, action=action,
                         request_id=ctx.request_id, user_id=ctx.user_id,
                         project_id=ctx.project_id, start_time=now, updated_at=now)
    db.add(row)
    return row


@dataclass(frozen=True)
class Event:
    """One timed step to add to the action of ``request_id`` on ``instance_uuid``."""

    instance_uuid: str
    request_id: str
    event: str
    start: float                    # time.time() seconds
    finish: float | None
    result: str | None
    host: str | None = None
    details: str | None = None


async def start_actions(db: AsyncSession, ctx: RequestContext, instance_uuids: Sequence[str],
                        action: str) -> None:
    """:func:`start_action` for several instances, in one Core insert (nothing is added to
    ``db``'s unit of work)."""
    now = utcnow()
    await run(db, _INSERT_ACTION, [
        {"instance_uuid": uuid, "action": action, "request_id": ctx.request_id,
         "user_id": ctx.user_id, "project_id": ctx.project_id, "start_time": now,
         "finish_time": None, "message": None, "updated_at": now}
        for uuid in instance_uuids])


async def record_event(db: AsyncSession, instance_uuid: str, request_id: str, event: str, *,
                       start: float, finish: float | None, result: str | None,
                       host: str | None = None, details: str | None = None) -> bool:
    """Add an event to the action of ``request_id``; ``False`` when there is no such action
    (the instance was purged, or the request id is unknown)."""
    (recorded,) = await record_events(db, [Event(instance_uuid, request_id, event, start,
                                                 finish, result, host, details)])
    return recorded


# Built once: a statement built per call costs more CPU than SQLite spends running it.
_LATEST_ACTION: Final = (
    select(InstanceAction.instance_uuid, InstanceAction.request_id,
           func.max(InstanceAction.id))
    .where(InstanceAction.instance_uuid == bindparam("b_uuid"),
           InstanceAction.request_id == bindparam("b_request_id"))
    .group_by(InstanceAction.instance_uuid, InstanceAction.request_id))
_LATEST_ACTIONS: Final = (
    select(InstanceAction.instance_uuid, InstanceAction.request_id,
           func.max(InstanceAction.id))
    .where(InstanceAction.instance_uuid.in_(bindparam("uuids", expanding=True)),
           InstanceAction.request_id.in_(bindparam("request_ids", expanding=True)))
    .group_by(InstanceAction.instance_uuid, InstanceAction.request_id))
# Core tables, not the ORM entities: plain executemany, no unit of work.
_ACTIONS: Final = cast(Table, InstanceAction.__table__)
_INSERT_ACTION: Final = insert(_ACTIONS)
_INSERT_EVENT: Final = insert(cast(Table, InstanceActionEvent.__table__))
_TOUCH_ACTION: Final = (update(_ACTIONS).where(_ACTIONS.c.id == bindparam("action_id"))
                        .values(updated_at=bindparam("touched")))
_FAIL_ACTION: Final = (update(_ACTIONS).where(_ACTIONS.c.id == bindparam("action_id"))
                       .values(updated_at=bindparam("touched"), message="Error"))


async def record_events(db: Runner, events: Sequence[Event]) -> list[bool]:
    """Add each event to the action of its request id, in one statement per kind whatever
    their number; for each, whether its action exists. The action's ``updated_at`` becomes
    the time of its last event, and an ``Error`` event marks it failed."""
    if not events:
        return []
    keys = {(e.instance_uuid, e.request_id) for e in events}
    if len(keys) == 1:          # the common case: one instance's events, no list to expand
        ((uuid, request_id),) = keys
        if db.get_bind().dialect.name in _TOUCH_RETURNING:
            return await _record_for_one(db, uuid, request_id, events)
        found = await run(db, _LATEST_ACTION, {"b_uuid": uuid, "b_request_id": request_id})
    else:
        found = await run(db, _LATEST_ACTIONS, {
            "uuids": sorted({uuid for uuid, _ in keys}),
            "request_ids": sorted({request_id for _, request_id in keys})})
    action_ids = {(uuid, request_id): action_id for uuid, request_id, action_id in found
                  if action_id is not None}
    rows: list[dict[str, Any]] = []
    touched: dict[int, tuple[datetime, bool]] = {}
    recorded: list[bool] = []
    for e in events:
        action_id = action_ids.get((e.instance_uuid, e.request_id))
        recorded.append(action_id is not None)
        if action_id is None:
            continue
        rows.append({"action_id": action_id, "event": e.event, "start_time": _utc(e.start),
                     "finish_time": _utc(e.finish) if e.finish is not None else None,
                     "result": e.result, "traceback": None, "host": e.host,
                     "details": e.details})
        failed = touched.get(action_id, (None, False))[1] or e.result == ERROR
        touched[action_id] = (_utc(e.finish if e.finish is not None else e.start), failed)
    if rows:
        await run(db, _INSERT_EVENT, rows)
        for statement, failed in ((_TOUCH_ACTION, False), (_FAIL_ACTION, True)):
            params = [{"action_id": action_id, "touched": when}
                      for action_id, (when, fail) in touched.items() if fail is failed]
            if params:
                await run(db, statement, params)
    return recorded


# One action's events in two statements where the database can update the latest action
# found by a subquery of its own table and return its id (SQLite, PostgreSQL; MySQL and
# MariaDB refuse either, and read the action first): the touch finds the action and says
# whether there is one, then the events are inserted under its id.
_TOUCH_RETURNING: Final = frozenset({"sqlite", "postgresql"})
_LATEST: Final = _ACTIONS.alias("latest")
_LATEST_ID: Final = (select(func.max(_LATEST.c.id))
                     .where(_LATEST.c.instance_uuid == bindparam("b_uuid"),
                            _LATEST.c.request_id == bindparam("b_request_id"))
                     .scalar_subquery())
_TOUCH_LATEST: Final = (update(_ACTIONS).where(_ACTIONS.c.id == _LATEST_ID)
                        .values(updated_at=bindparam("touched")).returning(_ACTIONS.c.id))
_FAIL_LATEST: Final = (update(_ACTIONS).where(_ACTIONS.c.id == _LATEST_ID)
                       .values(updated_at=bindparam("touched"), message="Error")
                       .returning(_ACTIONS.c.id))


async def _record_for_one(db: Runner, uuid: str, request_id: str,
                          events: Sequence[Event]) -> list[bool]:
    """:func:`record_events` for the events of one action: the same rows, the same touch
    (the time of the last event, ``Error`` if one failed), one statement fewer."""
    last = events[-1]
    failed = any(e.result == ERROR for e in events)
    action_id = (await run(db, _FAIL_LATEST if failed else _TOUCH_LATEST, {
        "b_uuid": uuid, "b_request_id": request_id,
        "touched": _utc(last.finish if last.finish is not None else last.start)})).scalar()
    if action_id is None:
        return [False] * len(events)
    await run(db, _INSERT_EVENT, [
        {"action_id": action_id, "event": e.event, "start_time": _utc(e.start),
         "finish_time": _utc(e.finish) if e.finish is not None else None,
         "result": e.result, "traceback": None, "host": e.host, "details": e.details}
        for e in events])
    return [True] * len(events)


def _utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


# --- reading (os-instance-actions) --------------------------------------------------------

# An action's last change: its latest event, or its start.
_last_change: Final = func.coalesce(InstanceAction.updated_at, InstanceAction.start_time)


async def get_action(db: AsyncSession, instance_uuid: str, request_id: str
                     ) -> InstanceAction | None:
    """The latest action of ``request_id`` on the instance."""
    return (await db.execute(
        select(InstanceAction).where(InstanceAction.instance_uuid == instance_uuid,
                                     InstanceAction.request_id == request_id)
        .order_by(InstanceAction.id.desc()).limit(1))).scalar_one_or_none()


async def list_actions(db: AsyncSession, instance_uuid: str, *, limit: int | None,
                       marker: str | None, since: datetime | None, before: datetime | None
                       ) -> list[InstanceAction]:
    """Newest first, as Nova sorts them (start time, then id); a marker is the request id
    of the last action of the previous page (an unknown one is a 400). ``since`` and
    ``before`` bound the action's last change."""
    stmt = select(InstanceAction).where(InstanceAction.instance_uuid == instance_uuid)
    if since is not None:
        stmt = stmt.where(_last_change >= since)
    if before is not None:
        stmt = stmt.where(_last_change <= before)
    if marker is not None:
        last = await get_action(db, instance_uuid, marker)
        if last is None:
            raise BadRequest(f"Marker {marker} could not be found.")
        stmt = stmt.where(or_(
            InstanceAction.start_time < last.start_time,
            (InstanceAction.start_time == last.start_time) & (InstanceAction.id < last.id)))
    stmt = stmt.order_by(InstanceAction.start_time.desc(), InstanceAction.id.desc())
    if limit is not None:
        stmt = stmt.limit(limit)
    return list((await db.execute(stmt)).scalars())


async def events_of(db: AsyncSession, action: InstanceAction) -> list[InstanceActionEvent]:
    """The action's events, newest first."""
    return list((await db.execute(
        select(InstanceActionEvent).where(InstanceActionEvent.action_id == action.id)
        .order_by(InstanceActionEvent.id.desc()))).scalars())
