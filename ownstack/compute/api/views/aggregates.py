"""Host aggregate bodies (``os-aggregates``), Nova's ``_marshall_aggregate``: ``uuid``
from 2.41; a create answers without ``hosts`` and ``metadata``."""

from __future__ import annotations

from typing import Any

from ownstack.common.api.microversion import Version, at_least
from ownstack.compute.api.views.times import nova_time
from ownstack.compute.objects.aggregates import AggregateRecord


def aggregate(version: Version, record: AggregateRecord, *, created: bool = False
              ) -> dict[str, Any]:
    found = record.aggregate
    view: dict[str, Any] = {
        "id": found.id, "name": found.name, "availability_zone": record.availability_zone,
        "created_at": nova_time(found.created_at), "updated_at": nova_time(found.updated_at),
        "deleted_at": None, "deleted": False}
    if not created:
        view["hosts"] = list(record.hosts)
        view["metadata"] = dict(record.metadata)
    if at_least(version, "2.41"):
        view["uuid"] = found.uuid
    return view
