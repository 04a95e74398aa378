"""Group type, group and group snapshot bodies, as Cinder's ``views/group_types.py``,
``views/groups.py`` and ``views/group_snapshots.py``."""

from __future__ import annotations

from typing import Any

from ownstack.common.api.microversion import Version, at_least
from ownstack.volume.api.common import timestamp
from ownstack.volume.objects.models import Group, GroupSnapshot, GroupType, Volume


def group_type(row: GroupType, specs: dict[str, str] | None) -> dict[str, Any]:
    """``specs`` None for a caller who may not see them (Cinder's
    ``group:access_group_types_specs``)."""
    body: dict[str, Any] = {"id": row.id, "name": row.name,
                            "description": row.description, "is_public": row.is_public}
    if specs is not None:
        body["group_specs"] = specs
    return body


def group_summary(row: Group) -> dict[str, Any]:
    return {"id": row.id, "name": row.name}


def group(version: Version, row: Group, members: list[Volume] | None = None
          ) -> dict[str, Any]:
    """The detailed view; ``members`` (3.25's ``list_volume``) lists the group's volume
    ids."""
    body: dict[str, Any] = {
        "id": row.id, "status": row.status, "availability_zone": row.availability_zone,
        "created_at": timestamp(row.created_at), "name": row.name,
        "description": row.description, "group_type": row.group_type_id,
        "volume_types": list(row.volume_type_ids)}
    if at_least(version, "3.14"):
        body["group_snapshot_id"] = row.group_snapshot_id
        body["source_group_id"] = row.source_group_id
    if at_least(version, "3.38"):
        body["replication_status"] = "disabled"
    if at_least(version, "3.58"):
        body["project_id"] = row.project_id
    if members is not None and at_least(version, "3.25"):
        body["volumes"] = [volume.id for volume in members]
    return body


def group_snapshot_summary(row: GroupSnapshot) -> dict[str, Any]:
    return {"id": row.id, "name": row.name, "group_type_id": row.group_type_id}


def group_snapshot(version: Version, row: GroupSnapshot) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": row.id, "group_id": row.group_id, "group_type_id": row.group_type_id,
        "status": row.status, "created_at": timestamp(row.created_at), "name": row.name,
        "description": row.description}
    if at_least(version, "3.58"):
        body["project_id"] = row.project_id
    return body
