"""Transfer bodies, as Cinder's ``views/transfers.py``: the summary (list, accept), the
detail (show, detailed list) with ``no_snapshots`` from 3.55 and ``source_project_id``,
``destination_project_id`` and ``accepted`` from 3.57, and the create's, which alone
shows the auth key. A transfer is removed when it is accepted, so every one shown is
not accepted yet and has no destination."""

from __future__ import annotations

from typing import Any, Final

from ownstack.common.api.microversion import Version, at_least
from ownstack.volume.api.common import links, timestamp
from ownstack.volume.objects.models import Transfer
from ownstack.volume.state import Req

# Cinder's view names its links after this collection whichever URL was asked.
COLLECTION: Final = "os-volume-transfer"


def summary(req: Req, row: Transfer) -> dict[str, Any]:
    return {"id": row.id, "volume_id": row.volume_id, "name": row.name,
            "links": links(req, COLLECTION, row.id)}


def detail(req: Req, version: Version, row: Transfer) -> dict[str, Any]:
    body: dict[str, Any] = {"id": row.id, "created_at": timestamp(row.created_at),
                            "name": row.name, "volume_id": row.volume_id,
                            "links": links(req, COLLECTION, row.id)}
    if at_least(version, "3.55"):
        body["no_snapshots"] = row.no_snapshots
    if at_least(version, "3.57"):
        body.update({"destination_project_id": None,
                     "source_project_id": row.source_project_id, "accepted": False})
    return body


def created(req: Req, version: Version, row: Transfer, auth_key: str) -> dict[str, Any]:
    return {**detail(req, version, row), "auth_key": auth_key}
