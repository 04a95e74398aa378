"""Server group bodies, field for field per microversion."""

from __future__ import annotations

from typing import Any

from ownstack.common.api.microversion import Version, at_least
from ownstack.compute.objects.server_groups import GroupRecord


def server_group(version: Version, record: GroupRecord) -> dict[str, Any]:
    """Before 2.64 a one-item ``policies`` list and an always-empty ``metadata``; from
    2.64 ``policy`` and ``rules``; ``project_id`` and ``user_id`` from 2.13."""
    group = record.group
    view: dict[str, Any] = {"id": group.uuid, "name": group.name}
    if at_least(version, "2.64"):
        view["policy"] = group.policy
        view["rules"] = dict(group.rules or {})
    else:
        view["policies"] = [group.policy]
        view["metadata"] = {}
    view["members"] = list(record.members)
    if at_least(version, "2.13"):
        view["project_id"] = group.project_id
        view["user_id"] = group.user_id
    return view
