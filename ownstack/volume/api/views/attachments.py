"""Attachment bodies, as Cinder's ``v3/views/attachments.py``."""

from __future__ import annotations

from typing import Any

from ownstack.volume.api.common import timestamp
from ownstack.volume.objects.models import Attachment


def summary(row: Attachment) -> dict[str, Any]:
    return {"id": row.id, "status": row.attach_status, "instance": row.instance_uuid,
            "volume_id": row.volume_id}


def detail(row: Attachment, volume_format: str | None = None) -> dict[str, Any]:
    connection = dict(row.connection_info) if row.connection_info else {}
    if connection and volume_format:
        connection["format"] = volume_format
    return {**summary(row), "attached_at": timestamp(row.attach_time) or "",
            "detached_at": timestamp(row.detach_time) or "", "attach_mode": row.attach_mode,
            "connection_info": connection}
