"""Version discovery (``GET /`` and ``GET /v3``, no token needed), and the small
read-only documents: extensions, availability zones, limits, resource filters."""

from __future__ import annotations

from typing import Any, Final

from starlette.responses import Response

from ownstack.common.api.app import json_response
from ownstack.common.api.routing import public
from ownstack.common.errors import BadRequest
from ownstack.volume.api.common import Version, version_of
from ownstack.volume.microversions import MICROVERSIONS
from ownstack.volume.objects import quotas, services
from ownstack.volume.state import Req

UPDATED: Final = "2023-08-31T00:00:00Z"       # Cinder's own date for its v3 API
_CINDER_DOCS: Final = {"rel": "describedby", "type": "text/html",
                       "href": "https://docs.openstack.org/"}


def _versions(req: Req) -> dict[str, Any]:
    return {"versions": [{
        "id": "v3.0", "status": "CURRENT", "version": str(MICROVERSIONS.max_version),
        "min_version": str(MICROVERSIONS.min_version), "updated": UPDATED,
        "links": [_CINDER_DOCS, {"rel": "self", "href": f"{req.base_url()}/v3/"}],
        "media-types": [{"base": "application/json",
                         "type": "application/vnd.openstack.volume+json;version=3"}]}]}


@public
async def list_versions(req: Req) -> Response:
    """``GET /``: every version, 300 Multiple Choices as Cinder answers."""
    return json_response(_versions(req), status=300)


@public
async def show_version(req: Req) -> Response:
    """``GET /v3``: the same list (Cinder's v3 index), 200."""
    return json_response(_versions(req))


# The Cinder extensions whose behaviour ownstack serves.
EXTENSIONS: Final = (
    ("OS-SCH-HNT", "SchedulerHints", "Pass arbitrary key/value pairs to the scheduler."),
    ("encryption", "VolumeTypeEncryption", "Encryption support for volume types."),
    ("os-admin-actions", "AdminActions", "Enable admin actions."),
    ("os-availability-zone", "AvailabilityZones", "Describe Availability Zones."),
    ("os-extended-snapshot-attributes", "ExtendedSnapshotAttributes",
     "Extended SnapshotAttributes support."),
    ("os-quota-sets", "Quotas", "Quota management support."),
    ("os-services", "Services", "Services support."),
    ("os-snapshot-actions", "SnapshotActions", "Enable snapshot manager actions."),
    ("os-types-extra-specs", "TypesExtraSpecs", "Type extra specs support."),
    ("os-types-manage", "TypesManage", "Types manage support."),
    ("os-used-limits", "UsedLimits", "Provide data on limited resources that are being "
                                     "used."),
    ("os-vol-host-attr", "VolumeHostAttribute", "Expose host as an attribute of a volume."),
    ("os-vol-image-meta", "VolumeImageMetadata", "Show image metadata associated with the "
                                                 "volume."),
    ("os-vol-mig-status-attr", "VolumeMigStatusAttribute", "Expose migration_status as an "
                                                           "attribute of a volume."),
    ("os-vol-tenant-attr", "VolumeTenantAttribute", "Expose the internal project_id as an "
                                                    "attribute of a volume."),
    ("os-volume-actions", "VolumeActions", "Enable volume actions."),
    ("os-volume-transfer", "VolumeTransfer", "Volume transfer management support."),
    ("os-volume-type-access", "VolumeTypeAccess", "Volume type access support."),
    ("qos-specs", "Qos_specs_manage", "QoS specs support."),
)


async def list_extensions(req: Req) -> Response:
    return json_response({"extensions": [
        {"alias": alias, "name": name, "description": description, "links": [],
         "namespace": "https://docs.openstack.org/", "updated": UPDATED}
        for alias, name, description in EXTENSIONS]})


async def list_availability_zones(req: Req) -> Response:
    req.svc.enforce(req.ctx, "volume_extension:availability_zone_list")
    async with req.svc.read() as db:
        zones = await services.zones(db, req.svc.settings.service_down_time)
    zones.setdefault(req.svc.settings.availability_zone, False)
    return json_response({"availabilityZoneInfo": [
        {"zoneName": zone, "zoneState": {"available": up}}
        for zone, up in sorted(zones.items())]})


async def show_limits(req: Req) -> Response:
    """The project's absolute limits and what it uses (Cinder's used limits); from 3.39
    an admin may ask about another project (``?project_id=``)."""
    req.svc.enforce(req.ctx, "limits_extension:used_limits")
    project_id = str(req.ctx.project_id)
    asked = req.query.get("project_id")
    if asked is not None and version_of(req) >= Version(3, 39):
        if not req.ctx.is_admin:
            raise BadRequest("Only an admin may ask for another project's limits.")
        project_id = asked
    settings = req.svc.settings.quota
    async with req.svc.read() as db:
        limit = await quotas.limits(db, settings, project_id)
        used = await quotas.usage(db, project_id)
    return json_response({"limits": {"rate": [], "absolute": {
        "maxTotalVolumes": limit["volumes"], "maxTotalSnapshots": limit["snapshots"],
        "maxTotalVolumeGigabytes": limit["gigabytes"],
        "totalVolumesUsed": used["volumes"], "totalSnapshotsUsed": used["snapshots"],
        "totalGigabytesUsed": used["gigabytes"],
        # Cinder's backup limits: kept and shown, and nothing uses them (no backups yet).
        "maxTotalBackups": limit["backups"], "maxTotalBackupGigabytes": limit["backup_gigabytes"],
        "totalBackupsUsed": 0, "totalBackupGigabytesUsed": 0}}})


# The filters each list takes (3.33): what ownstack's lists accept.
RESOURCE_FILTERS: Final = {
    "volume": ["name", "status", "metadata", "bootable", "migration_status",
               "availability_zone", "group_id", "size", "created_at", "updated_at",
               "consumes_quota"],
    "snapshot": ["name", "status", "volume_id", "metadata", "availability_zone",
                 "consumes_quota"],
    "attachment": ["volume_id", "status", "instance_id", "attach_status"],
    "volume_type": ["is_public", "extra_specs"],
    "message": ["resource_uuid", "resource_type", "event_id", "request_id",
                "message_level"],
    "group": ["name", "status", "group_type", "availability_zone"],
    "group_snapshot": ["name", "status", "group_id"],
}


async def list_resource_filters(req: Req) -> Response:
    if version_of(req) < Version(3, 33):
        raise BadRequest("GET /resource_filters needs microversion 3.33 or later.")
    req.svc.enforce(req.ctx, "volume:get_resource_filters")
    wanted = req.query.get("resource")
    items = [{"resource": name, "filters": filters}
             for name, filters in RESOURCE_FILTERS.items() if wanted in (None, name)]
    return json_response({"resource_filters": items})
