"""``/servers/{id}/os-instance-actions``: what was done to a server, by whom, step by step.

As Nova: newest first; from 2.21 a deleted server's actions can still be read; from 2.51
everyone who may see an action sees its events, but only admins (policy ``...:events``)
see tracebacks and, from 2.62, the event's host (everyone gets the hashed ``hostId``);
2.58 adds ``updated_at`` and paging (``limit``, ``marker`` = a request id,
``changes-since``), 2.66 ``changes-before``; 2.84 adds ``details`` for admins
(``...:events:details``).

An action not yet touched by any event has no ``updated_at`` in the table; it is shown as
its start time, which is when Nova stamps it too.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from ownstack.common.api.app import json_response
from ownstack.common.api.schema import Validator
from ownstack.common.errors import BadRequest
from ownstack.compute import action_schemas
from ownstack.compute.api.common import Version, at_least, collection_links, limit_of, version_of
from ownstack.compute.api.handlers.server_actions import load_server
from ownstack.compute.api.server_views import host_id
from ownstack.compute.errors import InstanceActionNotFound
from ownstack.compute.objects.models import Instance, InstanceAction, InstanceActionEvent
from ownstack.compute.objects.servers import parse_time
from ownstack.compute.state import Req

_RULE: Final = "os_compute_api:os-instance-actions:"
_QUERY_258 = Validator(action_schemas.action_list_query(with_changes_before=False))
_QUERY_266 = Validator(action_schemas.action_list_query(with_changes_before=True))
# An action's last change: its latest event, or its start.
_last_change = func.coalesce(InstanceAction.updated_at, InstanceAction.start_time)


async def list_actions(req: Req) -> Response:
    version = version_of(req)
    paged = at_least(version, "2.58")
    query = _list_query(req, version) if paged else {}
    limit = limit_of(req) if paged else None
    async with req.svc.read() as db:
        instance = await _server(req, db, "list")
        found = await _actions(db, instance.uuid, limit=limit, marker=query.get("marker"),
                               since=query.get("changes-since"),
                               before=query.get("changes-before"))
    result: dict[str, Any] = {"instanceActions": [_action(version, a) for a in found]}
    if paged:
        next_links = collection_links(req, len(found), limit,
                                      found[-1].request_id if found else None)
        if next_links:
            result["links"] = next_links
    return json_response(result)


async def show_action(req: Req) -> Response:
    version = version_of(req)
    request_id = req.params["request_id"]
    async with req.svc.read() as db:
        instance = await _server(req, db, "show")
        action = (await db.execute(
            select(InstanceAction).where(InstanceAction.instance_uuid == instance.uuid,
                                         InstanceAction.request_id == request_id)
            .order_by(InstanceAction.id.desc()).limit(1))).scalar_one_or_none()
        if action is None:
            raise InstanceActionNotFound(request_id, instance.uuid)
        target = {"project_id": instance.project_id}
        admin = req.svc.allowed(req.ctx, _RULE + "events", target)
        view = _action(version, action)
        if admin or at_least(version, "2.51"):
            details = at_least(version, "2.84") and req.svc.allowed(
                req.ctx, _RULE + "events:details", target)
            events = (await db.execute(
                select(InstanceActionEvent).where(InstanceActionEvent.action_id == action.id)
                .order_by(InstanceActionEvent.id.desc()))).scalars()
            project_id = action.project_id or instance.project_id
            view["events"] = [_event(version, e, project_id, admin=admin, details=details)
                              for e in events]
    return json_response({"instanceAction": view})


async def _server(req: Req, db: AsyncSession, rule: str) -> Instance:
    """Deleted servers too from 2.21: their history outlives them."""
    return await load_server(req, db, _RULE + rule,
                             include_deleted=at_least(version_of(req), "2.21"))


def _list_query(req: Req, version: Version) -> dict[str, Any]:
    raw = dict(req.query)
    (_QUERY_266 if at_least(version, "2.66") else _QUERY_258).validate(raw)
    query: dict[str, Any] = {"marker": raw.get("marker")}
    for name in ("changes-since", "changes-before"):
        if name in raw:
            query[name] = parse_time(name, raw[name])
    since, before = query.get("changes-since"), query.get("changes-before")
    if since is not None and before is not None and before < since:
        raise BadRequest("The value of changes-since must be less than or equal to "
                         "changes-before.")
    return query


async def _actions(db: AsyncSession, uuid: str, *, limit: int | None, marker: str | None,
                   since: datetime | None, before: datetime | None) -> list[InstanceAction]:
    """Newest first, as Nova sorts them (start time, then id); a marker is the request id
    of the last action of the previous page."""
    stmt = select(InstanceAction).where(InstanceAction.instance_uuid == uuid)
    if since is not None:
        stmt = stmt.where(_last_change >= since)
    if before is not None:
        stmt = stmt.where(_last_change <= before)
    if marker is not None:
        last = (await db.execute(select(InstanceAction).where(
            InstanceAction.instance_uuid == uuid, InstanceAction.request_id == marker)
            .order_by(InstanceAction.id.desc()).limit(1))).scalar_one_or_none()
        if last is None:
            raise BadRequest(f"Marker {marker} could not be found.")
        stmt = stmt.where(or_(
            InstanceAction.start_time < last.start_time,
            (InstanceAction.start_time == last.start_time) & (InstanceAction.id < last.id)))
    stmt = stmt.order_by(InstanceAction.start_time.desc(), InstanceAction.id.desc())
    if limit is not None:
        stmt = stmt.limit(limit)
    return list((await db.execute(stmt)).scalars())


def _action(version: Version, action: InstanceAction) -> dict[str, Any]:
    view: dict[str, Any] = {
        "action": action.action, "instance_uuid": action.instance_uuid,
        "request_id": action.request_id, "user_id": action.user_id,
        "project_id": action.project_id, "start_time": _time(action.start_time),
        "message": action.message}
    if at_least(version, "2.58"):
        view["updated_at"] = _time(action.updated_at or action.start_time)
    return view


def _event(version: Version, event: InstanceActionEvent, project_id: str, *, admin: bool,
           details: bool) -> dict[str, Any]:
    view: dict[str, Any] = {"event": event.event, "start_time": _time(event.start_time),
                            "finish_time": _time(event.finish_time), "result": event.result}
    if admin:
        view["traceback"] = event.traceback
    if at_least(version, "2.62"):
        if admin:
            view["host"] = event.host
        view["hostId"] = host_id(project_id, event.host)
    if details:
        view["details"] = event.details
    return view


def _time(value: datetime | None) -> str | None:
    """Nova's format for these times: no zone, microseconds (``2026-11-24T03:00:00.000000``)."""
    return value.strftime("%Y-%m-%dT%H:%M:%S.%f") if value is not None else None
