"""Snapshot bodies, as Cinder's ``views/snapshots.py`` with the extended attributes."""

from __future__ import annotations

from typing import Any

from ownstack.common.api.microversion import Version, at_least
from ownstack.volume.api.common import timestamp
from ownstack.volume.objects.models import Snapshot
from ownstack.volume.state import Req


def snapshot(req: Req, version: Version, row: Snapshot, metadata: dict[str, str], *,
             detail: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": row.id, "created_at": timestamp(row.created_at),
        "updated_at": timestamp(row.updated_at), "name": row.name,
        "description": row.description, "volume_id": row.volume_id, "status": row.status,
        "size": row.size, "metadata": metadata}
    if at_least(version, "3.14"):
        body["group_snapshot_id"] = row.group_snapshot_id
    if at_least(version, "3.41"):
        body["user_id"] = row.user_id
    if at_least(version, "3.65"):
        body["consumes_quota"] = True
    if detail and req.svc.allowed(req.ctx, "volume_extension:extended_snapshot_attributes",
                                  {"project_id": row.project_id}):
        body["os-extended-snapshot-attributes:project_id"] = row.project_id
        body["os-extended-snapshot-attributes:progress"] = row.progress
    return body
