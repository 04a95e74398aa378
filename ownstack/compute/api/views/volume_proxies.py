"""Nova's volume proxy bodies (``volumes.py``'s and ``snapshots.py``'s views): a Cinder
volume or snapshot as compute shows it, in Nova's camelCase.

A volume with no attachment shows ``attachments: [{}]``, Nova's one empty object. An
attached one shows an entry per server holding it (``id`` and ``volumeId`` are the
volume's, ``device`` only when the volume service knows the mount point): Nova's code
keeps its first server only, a leftover from before multiattach; its response schema and
Tempest's take a list, and one entry per server does not hide a multiattach volume's
other servers. The volume type is its name, the times the volume service's own text.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def volume(found: Mapping[str, Any]) -> dict[str, Any]:
    volume_id = found["id"]
    attachments: list[dict[str, Any]] = []
    servers: set[str] = set()
    for attachment in found.get("attachments") or ():
        server_id = attachment.get("server_id")
        if not server_id or server_id in servers:
            continue
        servers.add(server_id)
        entry = {"id": volume_id, "volumeId": volume_id, "serverId": server_id}
        if attachment.get("device"):
            entry["device"] = attachment["device"]
        attachments.append(entry)
    return {"id": volume_id, "status": found["status"], "size": found["size"],
            "availabilityZone": found.get("availability_zone"),
            "createdAt": found.get("created_at"),
            "attachments": attachments or [{}],
            "displayName": found.get("name"),
            "displayDescription": found.get("description"),
            "volumeType": found.get("volume_type"),
            "snapshotId": found.get("snapshot_id"),
            "metadata": dict(found.get("metadata") or {})}


def snapshot(found: Mapping[str, Any]) -> dict[str, Any]:
    """A snapshot; its ``size`` is the volume's size, which Cinder's snapshot carries."""
    return {"id": found["id"], "volumeId": found["volume_id"], "status": found["status"],
            "size": found["size"], "createdAt": found.get("created_at"),
            "displayName": found.get("name"),
            "displayDescription": found.get("description")}
