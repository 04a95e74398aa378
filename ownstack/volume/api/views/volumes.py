"""Volume bodies, as Cinder's v3 ``views/volumes.py`` and the extensions that add to them
(tenant, host, migration and image-metadata attributes), per microversion."""

from __future__ import annotations

from typing import Any

from ownstack.common.api.microversion import Version, at_least
from ownstack.volume.api.common import links, timestamp
from ownstack.volume.objects.models import Attachment, Volume
from ownstack.volume.objects.services import display_host
from ownstack.volume.objects.volumes import Details
from ownstack.volume.state import Req


def summary(req: Req, volume: Volume) -> dict[str, Any]:
    return {"id": volume.id, "name": volume.name, "links": links(req, "volumes", volume.id)}


def _attachment(req: Req, attachment: Attachment) -> dict[str, Any]:
    return {"id": attachment.volume_id, "attachment_id": attachment.id,
            "volume_id": attachment.volume_id, "server_id": attachment.instance_uuid,
            "host_name": attachment.attached_host if req.ctx.is_admin else None,
            "device": attachment.mountpoint, "attached_at": timestamp(attachment.attach_time)}


def detail(req: Req, version: Version, volume: Volume, extra: Details, *,
           extensions: bool = True) -> dict[str, Any]:
    """The volume as show and the detailed list give it; with ``extensions`` False, as
    create and update answer it: Cinder's extensions (the tenant, host, migration and
    image-metadata attributes) extend show and the detailed list only."""
    volume_type = extra.volume_type
    metadata = dict(extra.metadata)
    if volume.read_only is not None:        # Cinder's admin metadata key, once set
        metadata["readonly"] = str(volume.read_only)
    body: dict[str, Any] = {
        "id": volume.id, "status": volume.status, "size": volume.size,
        "availability_zone": volume.availability_zone,
        "created_at": timestamp(volume.created_at), "updated_at": timestamp(volume.updated_at),
        "name": volume.name, "description": volume.description,
        "volume_type": volume_type.name if volume_type else volume.type_id,
        "snapshot_id": volume.snapshot_id, "source_volid": volume.source_volid,
        "metadata": metadata, "links": links(req, "volumes", volume.id),
        "user_id": volume.user_id, "bootable": str(volume.bootable).lower(),
        "encrypted": False, "replication_status": "disabled", "consistencygroup_id": None,
        "multiattach": volume.multiattach,
        "attachments": [_attachment(req, a) for a in extra.attachments
                        if a.attach_status == "attached"],
    }
    if req.ctx.is_admin:
        body["migration_status"] = None
    if extensions:
        _extension_attributes(req, volume, body)
    if at_least(version, "3.13"):
        body["group_id"] = volume.group_id
    if req.ctx.is_admin and at_least(version, "3.21"):
        body["provider_id"] = None
    if at_least(version, "3.48"):
        body["shared_targets"] = False
        body["service_uuid"] = None
    if req.ctx.is_admin and at_least(version, "3.61"):
        body["cluster_name"] = None
    if at_least(version, "3.63"):
        body["volume_type_id"] = volume.type_id
    if at_least(version, "3.65"):
        body["consumes_quota"] = True
    return body


def _extension_attributes(req: Req, volume: Volume, body: dict[str, Any]) -> None:
    svc = req.svc
    if svc.allowed(req.ctx, "volume_extension:volume_tenant_attribute",
                   {"project_id": volume.project_id}):
        body["os-vol-tenant-attr:tenant_id"] = volume.project_id
    if svc.allowed(req.ctx, "volume_extension:volume_host_attribute",
                   {"project_id": volume.project_id}):
        body["os-vol-host-attr:host"] = (
            f"{display_host(volume.host, volume.backend or '')}#{volume.backend}"
            if volume.host else None)
    if svc.allowed(req.ctx, "volume_extension:volume_mig_status_attribute",
                   {"project_id": volume.project_id}):
        body["os-vol-mig-status-attr:migstat"] = None
        body["os-vol-mig-status-attr:name_id"] = None
    if volume.image_metadata and svc.allowed(
            req.ctx, "volume_extension:volume_image_metadata:show",
            {"project_id": volume.project_id}):
        body["volume_image_metadata"] = dict(volume.image_metadata)


def upload(req: Req, version: Version, volume: Volume, volume_type: dict[str, Any],
           image: dict[str, Any]) -> dict[str, Any]:
    """What ``os-volume_upload_image`` answers."""
    body = {"id": volume.id, "updated_at": timestamp(volume.updated_at),
            "status": volume.status, "display_description": volume.description,
            "size": volume.size, "volume_type": volume_type, "image_id": image["id"],
            "container_format": image["container_format"],
            "disk_format": image["disk_format"], "image_name": image["name"]}
    if at_least(version, "3.1"):
        body["visibility"] = image["visibility"]
        body["protected"] = image["protected"]
    return body
