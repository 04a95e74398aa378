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

from typing import Any, Final

from starlette.responses import Response

from ownstack.common.api.app import json_response
from ownstack.common.errors import BadRequest
from ownstack.compute.api.common import Version, at_least, collection_links, limit_of, version_of
from ownstack.compute.api.schemas.instance_actions import LIST_QUERY
from ownstack.compute.api.server_common import load_server
from ownstack.compute.api.views import instance_actions as views
from ownstack.compute.errors import InstanceActionNotFound
from ownstack.compute.objects import Session, actions
from ownstack.compute.objects.models import Instance
from ownstack.compute.objects.servers import parse_time
from ownstack.compute.state import Req

_RULE: Final = "os_compute_api:os-instance-actions:"


async def list_actions(req: Req) -> Response:
    version = version_of(req)
    paged = at_least(version, "2.58")
    query = _list_query(req, version) if paged else {}
    limit = limit_of(req) if paged else None
    async with req.svc.read() as db:
        instance = await _server(req, db, "list")
        found = await actions.list_actions(
            db, instance.uuid, limit=limit, marker=query.get("marker"),
            since=query.get("changes-since"), before=query.get("changes-before"))
    result: dict[str, Any] = {"instanceActions": [views.action(version, a) for a in found]}
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
        action = await actions.get_action(db, instance.uuid, request_id)
        if action is None:
            raise InstanceActionNotFound(request_id, instance.uuid)
        target = {"project_id": instance.project_id}
        admin = req.svc.allowed(req.ctx, _RULE + "events", target)
        view = views.action(version, action)
        if admin or at_least(version, "2.51"):
            details = at_least(version, "2.84") and req.svc.allowed(
                req.ctx, _RULE + "events:details", target)
            project_id = action.project_id or instance.project_id
            view["events"] = [views.event(version, e, project_id, admin=admin, details=details)
                              for e in await actions.events_of(db, action)]
    return json_response({"instanceAction": view})


async def _server(req: Req, db: Session, rule: str) -> Instance:
    """Deleted servers too from 2.21: their history outlives them."""
    return await load_server(req, db, _RULE + rule,
                             include_deleted=at_least(version_of(req), "2.21"))


def _list_query(req: Req, version: Version) -> dict[str, Any]:
    raw = dict(req.query)
    LIST_QUERY(version).validate(raw)
    query: dict[str, Any] = {"marker": raw.get("marker")}
    for name in ("changes-since", "changes-before"):
        if name in raw:
            query[name] = parse_time(name, raw[name])
    since, before = query.get("changes-since"), query.get("changes-before")
    if since is not None and before is not None and before < since:
        raise BadRequest("The value of changes-since must be less than or equal to "
                         "changes-before.")
    return query
