"""The RBAC policy body."""

from __future__ import annotations

from typing import Any

from ownstack.network.objects.models import RbacPolicy


def rbac_policy(row: RbacPolicy) -> dict[str, Any]:
    return {"id": row.id, "project_id": row.project_id, "tenant_id": row.project_id,
            "object_type": row.object_type, "object_id": row.object_id,
            "action": row.action, "target_tenant": row.target_project,
            "target_project": row.target_project}
