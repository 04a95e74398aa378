"""User message bodies, as Cinder's ``v3/views/messages.py``."""

from __future__ import annotations

from typing import Any

from ownstack.volume.api.common import links, timestamp
from ownstack.volume.objects import messages
from ownstack.volume.objects.models import Message
from ownstack.volume.state import Req


def detail(req: Req, row: Message) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": row.id, "event_id": row.event_id, "user_message": messages.user_message(row),
        "message_level": row.message_level, "created_at": timestamp(row.created_at),
        "guaranteed_until": timestamp(row.expires_at), "request_id": row.request_id,
        "links": links(req, "messages", row.id)}
    if row.resource_type:
        body["resource_type"] = row.resource_type
    if row.resource_uuid:
        body["resource_uuid"] = row.resource_uuid
    return body
