"""What the handlers of a server and of its sub-resources share: the server of the URL,
the host to ask about it, whether the caller acts as an admin, and its full view."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ownstack.compute import states
from ownstack.compute.api.views import servers as views
from ownstack.compute.errors import InstanceInvalidState, InstanceNotReady
from ownstack.compute.objects import Runner, Session, servers
from ownstack.compute.objects.instances import find_server
from ownstack.compute.objects.models import Instance
from ownstack.compute.objects.servers import ServerRow
from ownstack.compute.state import Req


async def load_server(req: Req, db: Session, rule: str, *,
                      include_deleted: bool = False) -> Instance:
    """The server of the URL as its readers find it (404 for another project's), then
    policy ``rule`` on it (403 for a reader who may not act)."""
    return await find_server(req.svc, db, req.ctx, req.params["server_id"], rule,
                             include_deleted=include_deleted)


def require_host(instance: Instance, operation: str) -> str:
    """The host to ask a question of the server (console, diagnostics): one that is not
    being told to delete it. Nova's 409s ``InstanceNotReady`` and ``InstanceInvalidState``."""
    if not instance.host or instance.vm_state == states.BUILDING:
        raise InstanceNotReady(instance.uuid)
    if instance.task_state == states.DELETING:
        raise InstanceInvalidState(operation, instance.uuid, "task_state",
                                   instance.task_state)
    return instance.host


def caller_is_admin(req: Req) -> bool:
    """Nova's ``context.is_admin``: what lets a caller act on a locked server."""
    return req.svc.allowed(req.ctx, "context_is_admin")


async def load_extras(db: Runner, rows: Sequence[ServerRow], shown: views.Shown,
                      page: servers.Page | None = None,
                      services: dict[str, servers.HostService] | None = None
                      ) -> views.Extras:
    """What the views of ``rows`` (the rows of ``page``, when a listing's) read beyond
    the rows, in one query per kind (the hosts' ``services`` only when not given)."""
    details = await servers.page_details(db, rows, tags=shown.has("2.26"),
                                         groups=shown.server_groups, page=page,
                                         services=services)
    return views.extras(shown, details)


async def show_body(req: Req, db: Runner, instance: ServerRow, *,
                    answering: str | None = None,
                    services: dict[str, servers.HostService] | None = None
                    ) -> dict[str, Any]:
    """The body of ``GET /servers/{id}`` for ``instance``: ``{"server": {...}}``.

    Also the response of update and rebuild (``answering`` :data:`views.UPDATE` or
    :data:`views.REBUILD`): the same full view from 2.75, fewer fields before."""
    shown = views.shown(req, instance, server_groups=True, answering=answering)
    extras = await load_extras(db, [instance], shown, services=services)
    return {"server": views.detail(req, shown, instance, extras)}
