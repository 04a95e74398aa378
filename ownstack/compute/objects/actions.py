"""Instance actions and their events (``os-instance-actions``).

The API starts an action in the transaction that accepts the request, under the request's
id; the conductor and the agent add timed events to it, found by that request id, so a
user can follow ``openstack server event show vm1 <request id>`` through every phase.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ownstack.common.context import RequestContext
from ownstack.common.db.base import utcnow
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
UPDATE = "update"

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


async def record_event(db: AsyncSession, instance_uuid: str, request_id: str, event: str, *,
                       start: float, finish: float | None, result: str | None,
                       host: str | None = None, details: str | None = None) -> bool:
    """Add an event to the action of ``request_id``; ``False`` when there is no such action
    (the instance was purged, or the request id is unknown)."""
    # Events come in bursts for one action (a spawn's phases, the conductor's pair): find
    # the action once per transaction, and its updated_at is then written once at flush.
    found: dict[tuple[str, str], InstanceAction | None] = db.info.setdefault(
        "ownstack_actions", {})
    key = (instance_uuid, request_id)
    if key not in found:
        found[key] = (await db.execute(
            select(InstanceAction).where(InstanceAction.instance_uuid == instance_uuid,
                                         InstanceAction.request_id == request_id)
            .order_by(InstanceAction.id.desc()).limit(1))).scalar_one_or_none()
    action = found[key]
    if action is None:
        return False
    db.add(InstanceActionEvent(
        action_id=action.id, event=event, start_time=_utc(start),
        finish_time=_utc(finish) if finish is not None else None, result=result, host=host,
        details=details))
    action.updated_at = _utc(finish if finish is not None else start)
    if result == ERROR:
        action.message = "Error"
    return True


def _utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)
