"""Volume type, QoS specs and default type bodies."""

from __future__ import annotations

from typing import Any, Final

from ownstack.volume.api.common import timestamp
from ownstack.volume.objects.models import DefaultType, QosSpecs, VolumeType
from ownstack.volume.state import Req

# Extra specs every user may see (Cinder's user-visible keys); the rest are the admin's.
USER_VISIBLE_SPECS: Final = frozenset({"multiattach", "RESKEY:availability_zones",
                                       "replication_enabled"})


def volume_type(req: Req, row: VolumeType, specs: dict[str, str]) -> dict[str, Any]:
    admin = req.svc.allowed(req.ctx, "volume_extension:access_types_extra_specs")
    body: dict[str, Any] = {
        "id": row.id, "name": row.name, "description": row.description,
        "is_public": row.is_public, "os-volume-type-access:is_public": row.is_public,
        "extra_specs": specs if admin else {k: v for k, v in specs.items()
                                            if k in USER_VISIBLE_SPECS}}
    if req.svc.allowed(req.ctx, "volume_extension:access_types_qos_specs_id"):
        body["qos_specs_id"] = row.qos_specs_id
    return body


def qos_specs(req: Req, row: QosSpecs) -> dict[str, Any]:
    base = req.base_url()
    project = req.params.get("project_id")
    prefix = f"/v3/{project}" if project else "/v3"
    return {"id": row.id, "name": row.name, "consumer": row.consumer, "specs": row.specs,
            "created_at": timestamp(row.created_at),
            "links": [{"rel": "self", "href": f"{base}{prefix}/qos-specs/{row.id}"},
                      {"rel": "bookmark", "href": f"{base}/qos-specs/{row.id}"}]}


def default_type(row: DefaultType) -> dict[str, Any]:
    return {"project_id": row.project_id, "volume_type_id": row.type_id}
