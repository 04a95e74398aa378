"""``/messages`` (3.3+): the user messages a project's failed asynchronous actions left
(:mod:`ownstack.volume.objects.messages`). Listed, shown and deleted as Cinder's: the
list takes no query below 3.5, then paging and sorting, and its filters (``event_id``,
``resource_uuid``, ``resource_type``, ``request_id``, ``message_level``); a reader reads a
project's messages, a member deletes them, an admin sees every project's.
"""

from __future__ import annotations

from starlette.responses import Response

from ownstack.common.api.app import empty_response, json_response
from ownstack.common.errors import NotFound
from ownstack.volume.api import common
from ownstack.volume.api.common import Version, version_of
from ownstack.volume.api.views import messages as views
from ownstack.volume.objects import listing, messages
from ownstack.volume.objects.models import Message
from ownstack.volume.state import Req


def _since_33(req: Req) -> None:
    """The messages API exists from 3.3: below, the URL is unknown (Cinder's 404)."""
    if version_of(req) < Version(3, 3):
        raise NotFound("The resource could not be found.")


async def _load(req: Req, rule: str) -> Message:
    _since_33(req)
    async with req.svc.read() as db:
        row = await messages.get(db, req.ctx, req.params["message_id"])
    req.svc.enforce(req.ctx, rule, {"project_id": row.project_id})
    return row


async def list_messages(req: Req) -> Response:
    _since_33(req)
    req.svc.enforce(req.ctx, "message:get_all", {"project_id": req.ctx.project_id})
    version = version_of(req)
    items = req.query.multi_items() if version >= Version(3, 5) else []
    query = listing.parse_query(items, messages.MESSAGES, version, is_admin=req.ctx.is_admin)
    async with req.svc.read() as db:
        rows, count = await messages.list_page(db, req.ctx, query)
    return common.list_body("messages", [views.detail(req, row) for row in rows], req, rows,
                            query, count)


async def show_message(req: Req) -> Response:
    row = await _load(req, "message:get")
    return json_response({"message": views.detail(req, row)})


async def delete_message(req: Req) -> Response:
    row = await _load(req, "message:delete")
    async with req.svc.write() as db:
        await messages.delete(db, row)
    return empty_response(204)
