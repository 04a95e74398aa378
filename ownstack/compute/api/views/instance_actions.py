"""Instance action and event bodies (``os-instance-actions``), per microversion."""

from __future__ import annotations

from typing import Any

from ownstack.common.api.microversion import Version, at_least
from ownstack.compute.api.views.servers import host_id
from ownstack.compute.api.views.times import nova_time
from ownstack.compute.objects.models import InstanceAction, InstanceActionEvent


def action(version: Version, action: InstanceAction) -> dict[str, Any]:
    """2.58 adds ``updated_at``: an action no event touched yet shows its start time,
    which is when Nova stamps it too."""
    view: dict[str, Any] = {
        "action": action.action, "instance_uuid": action.instance_uuid,
        "request_id": action.request_id, "user_id": action.user_id,
        "project_id": action.project_id, "start_time": nova_time(action.start_time),
        "message": action.message}
    if at_least(version, "2.58"):
        view["updated_at"] = nova_time(action.updated_at or action.start_time)
    return view


def event(version: Version, event: InstanceActionEvent, project_id: str, *, admin: bool,
          details: bool) -> dict[str, Any]:
    """Only admins see tracebacks and, from 2.62, the host (everyone gets the hashed
    ``hostId`` of ``project_id``); ``details`` (2.84) are for admins too."""
    view: dict[str, Any] = {"event": event.event, "start_time": nova_time(event.start_time),
                            "finish_time": nova_time(event.finish_time),
                            "result": event.result}
    if admin:
        view["traceback"] = event.traceback
    if at_least(version, "2.62"):
        if admin:
            view["host"] = event.host
        view["hostId"] = host_id(project_id, event.host)
    if details:
        view["details"] = event.details
    return view
