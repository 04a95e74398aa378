"""A migration record as ``GET /os-migrations`` shows it (Nova's field set per version)."""

from __future__ import annotations

from typing import Any

from ownstack.common.api.microversion import Version, at_least
from ownstack.compute.api.views.times import nova_time
from ownstack.compute.objects.models import Migration


def migration(version: Version, row: Migration) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": row.id, "instance_uuid": row.instance_uuid, "status": row.status,
        "source_compute": row.source_compute, "source_node": row.source_node,
        "dest_compute": row.dest_compute, "dest_node": row.dest_node,
        "dest_host": row.dest_host, "old_instance_type_id": row.old_instance_type_id,
        "new_instance_type_id": row.new_instance_type_id,
        "created_at": nova_time(row.created_at), "updated_at": nova_time(row.updated_at),
    }
    if at_least(version, "2.23"):
        view["migration_type"] = row.migration_type
    if at_least(version, "2.59"):
        view["uuid"] = row.uuid
    if at_least(version, "2.80"):
        view["user_id"] = row.user_id
        view["project_id"] = row.project_id
    return view
