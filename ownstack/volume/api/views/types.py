"""Volume type, QoS specs and default type bodies."""

from __future__ import annotations

from typing import Any, Final

from ownstack.volume.api.common import timestamp
from ownstack.volume.objects.models import DefaultType, QosSpecs, TypeEncryption, VolumeType
from ownstack.volume.state import Req

# Extra specs every user may see (Cinder's user-visible keys); the rest are the admin's.
USER_VISIBLE_SPECS: Final = frozenset({"multiattach", "RESKEY:availability_zones",
                                       "replication_enabled"})


def volume_type(req: Req, row: VolumeType, specs: dict[str, str], *,
                answer_to: str = "show") -> dict[str, Any]:
    """A volume type as show and list give it; ``answer_to`` ``"create"`` leaves out
    ``qos_specs_id``, and ``"update"`` the access extension's ``is_public`` too, as
    Cinder answers those (and Tempest's schemas check)."""
    admin = req.svc.allowed(req.ctx, "volume_extension:access_types_extra_specs")
    body: dict[str, Any] = {
        "id": row.id, "name": row.name, "description": row.description,
        "is_public": row.is_public,
        "extra_specs": specs if admin else {k: v for k, v in specs.items()
                                            if k in USER_VISIBLE_SPECS}}
    if answer_to != "update":
        body["os-volume-type-access:is_public"] = row.is_public
    if answer_to == "show" and req.svc.allowed(
            req.ctx, "volume_extension:access_types_qos_specs_id"):
        body["qos_specs_id"] = row.qos_specs_id
    return body


def qos_specs(row: QosSpecs) -> dict[str, Any]:
    """A QoS specs entity, as Cinder lists it."""
    return {"id": row.id, "name": row.name, "consumer": row.consumer, "specs": row.specs}


def qos_specs_answer(req: Req, row: QosSpecs) -> dict[str, Any]:
    """What show and create answer: the entity, and its links beside it (Cinder's
    ``summary`` view)."""
    base = req.base_url()
    project = req.params.get("project_id")
    prefix = f"/v3/{project}" if project else "/v3"
    return {"qos_specs": qos_specs(row),
            "links": [{"rel": "self", "href": f"{base}{prefix}/qos-specs/{row.id}"},
                      {"rel": "bookmark", "href": f"{base}/qos-specs/{row.id}"}]}


def default_type(row: DefaultType) -> dict[str, Any]:
    return {"project_id": row.project_id, "volume_type_id": row.type_id}


def encryption(row: TypeEncryption) -> dict[str, Any]:
    """A type's encryption as Cinder shows it: its database row's fields (a deleted row is
    gone here, so ``deleted`` is false and ``deleted_at`` null)."""
    return {"volume_type_id": row.type_id, "encryption_id": row.id,
            "provider": row.provider, "cipher": row.cipher, "key_size": row.key_size,
            "control_location": row.control_location, "deleted": False,
            "created_at": timestamp(row.created_at), "updated_at": timestamp(row.updated_at),
            "deleted_at": None}
