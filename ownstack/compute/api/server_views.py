"""The server view, field for field per microversion, after Nova's ``views/servers.py``.

Tempest validates server bodies against strict schemas, one per microversion, so a field
appears exactly at the version that added it and never before:

=======  =========================================================================
2.1      the base detail view; extended attributes (host, instance_name,
         hypervisor_hostname) for admins
2.3      more extended attributes for admins (reservation_id, launch_index, hostname,
         kernel_id, ramdisk_id, root_device_name, user_data)
2.9      ``locked``
2.16     ``host_status`` (policy ``servers:show:host_status``, admins by default)
2.19     ``description``
2.26     ``tags``
2.47     the flavor embedded (vcpus, ram, ...) instead of an id and a link
2.63     ``trusted_image_certificates`` (always null: ownstack verifies no certificates)
2.71     ``server_groups`` (show, update and rebuild only, as in Nova; not in lists)
2.73     ``locked_reason``
2.90     ``OS-EXT-SRV-ATTR:hostname`` for every reader, not only admins
2.96     ``pinned_availability_zone``
=======  =========================================================================

Deviations from Nova, all because there is no network service yet: ``addresses`` is
always ``{}`` and ``security_groups`` is never shown in a server's view (Nova shows it only
for servers with ports); the create response still names the ``default`` group, as Nova's
does. ``OS-EXT-SRV-ATTR:instance_name`` is ``instance-<uuid>``: ownstack has no integer
instance ids for Nova's ``instance-%08x``.

Every per-server lookup a detail list needs (metadata, tags, compute services) is loaded
for the whole page in one query each (:func:`load_extras`), so ``/servers/detail`` costs a
fixed number of queries whatever the page size.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ownstack.common.api.microversion import Version, at_least
from ownstack.compute import states
from ownstack.compute.api.common import links, version_of
from ownstack.compute.objects.instances import metadata_of
from ownstack.compute.objects.models import (
    ComputeService,
    Instance,
    InstanceTag,
    ServerGroup,
    ServerGroupMember,
)
from ownstack.compute.rpc import COMPUTE_BINARY
from ownstack.compute.service import Req

EXTENDED_ATTRIBUTES = "os_compute_api:os-extended-server-attributes"
HOST_STATUS = "os_compute_api:servers:show:host_status"
EXTRA_SPECS = "os_compute_api:os-flavor-extra-specs:index"

# Nova's _progress_statuses and _fault_statuses, less the states ownstack has not got.
_PROGRESS_STATUSES = frozenset({"ACTIVE", "BUILD", "REBUILD"})
_FAULT_STATUSES = frozenset({"ERROR", "DELETED"})

# host_status values (nova.objects.fields.HostStatus).
HOST_UP = "UP"
HOST_DOWN = "DOWN"
HOST_MAINTENANCE = "MAINTENANCE"
HOST_UNKNOWN = "UNKNOWN"
HOST_NONE = ""


@dataclass
class Extras:
    """What the views of a page of servers need beyond the instance rows."""

    metadata: dict[str, dict[str, str]] = field(default_factory=dict)
    tags: dict[str, list[str]] = field(default_factory=dict)
    services: dict[str, ComputeService] = field(default_factory=dict)   # compute, by host
    groups: dict[str, list[str]] = field(default_factory=dict)          # server group uuids


@dataclass(frozen=True)
class Shown:
    """Per request: the version, what policy lets the caller see, and the base URL,
    worked out once per request rather than once per server of a page."""

    version: Version
    extended: bool
    host_status: bool
    extra_specs: bool
    server_groups: bool
    is_admin: bool
    service_down_time: float
    base_url: str = ""
    changes: frozenset[str] = frozenset()     # the view's versions that apply

    def has(self, change: str) -> bool:
        return change in self.changes


# Every version at which the view changes.
_VIEW_CHANGES: Final = ("2.3", "2.9", "2.19", "2.26", "2.47", "2.63", "2.73", "2.90", "2.96")


def shown(req: Req, instance: Instance | None = None, *, server_groups: bool = False
          ) -> Shown:
    """The caller's view settings. Policy targets the server's project when one is given
    (show), the caller's own otherwise (lists: the same answer for every row)."""
    target = ({"project_id": instance.project_id, "user_id": instance.user_id}
              if instance is not None else None)
    version = version_of(req)
    allowed = req.svc.allowed
    return Shown(
        version=version,
        extended=allowed(req.ctx, EXTENDED_ATTRIBUTES, target),
        host_status=at_least(version, "2.16") and allowed(req.ctx, HOST_STATUS, target),
        extra_specs=at_least(version, "2.47") and allowed(req.ctx, EXTRA_SPECS, target),
        server_groups=server_groups and at_least(version, "2.71"),
        is_admin=req.ctx.is_admin,
        service_down_time=req.svc.config.compute.service_down_time,
        base_url=req.base_url(),
        changes=frozenset(v for v in _VIEW_CHANGES if at_least(version, v)))


async def load_extras(db: AsyncSession, instances: Sequence[Instance], shown_: Shown
                      ) -> Extras:
    """Metadata, tags, the hosts' compute services and (when shown) server groups of
    ``instances``: one query each, whatever their number."""
    uuids = [instance.uuid for instance in instances]
    extras = Extras(metadata=await metadata_of(db, uuids))
    if at_least(shown_.version, "2.26"):
        extras.tags = {uuid: [] for uuid in uuids}
        if uuids:
            rows = await db.execute(select(InstanceTag.instance_uuid, InstanceTag.tag)
                                    .where(InstanceTag.instance_uuid.in_(uuids))
                                    .order_by(InstanceTag.tag))
            for uuid, tag in rows:
                extras.tags[uuid].append(tag)
    hosts = sorted({instance.host for instance in instances if instance.host})
    if hosts:
        services = await db.execute(select(ComputeService).where(
            ComputeService.host.in_(hosts), ComputeService.binary == COMPUTE_BINARY))
        extras.services = {service.host: service for service in services.scalars()}
    if shown_.server_groups:
        extras.groups = {uuid: [] for uuid in uuids}
        if uuids:
            rows = await db.execute(
                select(ServerGroupMember.instance_uuid, ServerGroup.uuid)
                .join(ServerGroup, ServerGroup.id == ServerGroupMember.group_id)
                .where(ServerGroupMember.instance_uuid.in_(uuids)))
            for uuid, group_uuid in rows:
                extras.groups[uuid].append(group_uuid)
    return extras


async def show_body(req: Req, db: AsyncSession, instance: Instance) -> dict[str, Any]:
    """The body of ``GET /servers/{id}`` for ``instance``: ``{"server": {...}}``.

    Also the response of update (2.75+: the same full view) and of rebuild."""
    settings = shown(req, instance, server_groups=True)
    extras = await load_extras(db, [instance], settings)
    return {"server": detail(req, settings, instance, extras)}


def summary(req: Req, instance: Instance) -> dict[str, Any]:
    """An item of ``GET /servers``."""
    return {"id": instance.uuid, "name": instance.display_name,
            "links": links(req, "servers", instance.uuid)}


def created(req: Req, instance: Instance, admin_pass: str | None) -> dict[str, Any]:
    """The 202 body of one created server."""
    view: dict[str, Any] = {"id": instance.uuid, "links": links(req, "servers", instance.uuid),
                            "OS-DCF:diskConfig": "MANUAL",
                            "security_groups": [{"name": "default"}]}
    if admin_pass is not None:
        view["adminPass"] = admin_pass
    return view


def detail(req: Req, shown_: Shown, instance: Instance, extras: Extras) -> dict[str, Any]:
    """One server, in full, as ``GET /servers/{id}`` and ``/servers/detail`` show it."""
    has = shown_.changes.__contains__
    base, uuid = shown_.base_url, instance.uuid
    status = "DELETED" if instance.deleted else states.status(instance.vm_state,
                                                               instance.task_state)
    service = extras.services.get(instance.host or "")
    view: dict[str, Any] = {
        "id": uuid,
        "name": instance.display_name,
        "status": status,
        "tenant_id": instance.project_id,
        "user_id": instance.user_id,
        "metadata": extras.metadata.get(uuid, {}),
        "hostId": host_id(instance.project_id, instance.host),
        "image": _image(base, instance.image_ref),
        "flavor": _flavor(base, has("2.47"), instance.flavor, shown_.extra_specs),
        "created": isotime(instance.created_at),
        "updated": isotime(instance.updated_at or instance.created_at),
        "addresses": {},
        "accessIPv4": instance.access_ip_v4 or "",
        "accessIPv6": instance.access_ip_v6 or "",
        "links": [{"rel": "self", "href": f"{base}/v2.1/servers/{uuid}"},
                  {"rel": "bookmark", "href": f"{base}/servers/{uuid}"}],
        "OS-DCF:diskConfig": "MANUAL",
    }
    if status in _FAULT_STATUSES and instance.fault:
        view["fault"] = _fault(instance.fault, shown_.is_admin)
    if status in _PROGRESS_STATUSES:
        view["progress"] = 0
    view["OS-EXT-AZ:availability_zone"] = (
        service.availability_zone if service is not None
        else instance.availability_zone or "")
    view["config_drive"] = "True" if instance.config_drive else ""
    view["key_name"] = instance.key_name
    view["OS-SRV-USG:launched_at"] = _nova_time(instance.launched_at)
    view["OS-SRV-USG:terminated_at"] = _nova_time(instance.terminated_at)
    if shown_.extended:
        view["OS-EXT-SRV-ATTR:host"] = instance.host
        view["OS-EXT-SRV-ATTR:instance_name"] = f"instance-{uuid}"
        view["OS-EXT-SRV-ATTR:hypervisor_hostname"] = instance.node
        if has("2.3"):
            view["OS-EXT-SRV-ATTR:reservation_id"] = instance.reservation_id
            view["OS-EXT-SRV-ATTR:launch_index"] = instance.launch_index
            view["OS-EXT-SRV-ATTR:hostname"] = instance.hostname
            view["OS-EXT-SRV-ATTR:kernel_id"] = ""
            view["OS-EXT-SRV-ATTR:ramdisk_id"] = ""
            view["OS-EXT-SRV-ATTR:root_device_name"] = "/dev/vda"
            view["OS-EXT-SRV-ATTR:user_data"] = instance.user_data
    if has("2.90"):
        view["OS-EXT-SRV-ATTR:hostname"] = instance.hostname
    view["OS-EXT-STS:task_state"] = instance.task_state
    view["OS-EXT-STS:vm_state"] = instance.vm_state
    view["OS-EXT-STS:power_state"] = instance.power_state
    view["os-extended-volumes:volumes_attached"] = []
    if shown_.host_status:
        view["host_status"] = host_status(instance.host, service, shown_.service_down_time)
    if has("2.9"):
        view["locked"] = bool(instance.locked)
    if has("2.19"):
        view["description"] = instance.display_description
    if has("2.26"):
        view["tags"] = extras.tags.get(uuid, [])
    if has("2.63"):
        view["trusted_image_certificates"] = None
    if shown_.server_groups:
        view["server_groups"] = extras.groups.get(uuid, [])
    if has("2.73"):
        view["locked_reason"] = instance.locked_reason
    if has("2.96"):
        view["pinned_availability_zone"] = instance.requested_availability_zone
    return view


def host_id(project_id: str, host: str | None) -> str:
    """Nova's ``hostId``: the same host gives a different id in each project, so projects
    can tell whether their servers share a host without learning host names."""
    if not host:
        return ""
    return hashlib.sha224((project_id + host).encode()).hexdigest()


def service_is_up(service: ComputeService, down_time: float) -> bool:
    """Nova's database servicegroup driver: up when its heartbeat is recent enough."""
    if service.forced_down or service.last_seen_up is None:
        return False
    return datetime.now(UTC) - service.last_seen_up <= timedelta(seconds=down_time)


def host_status(host: str | None, service: ComputeService | None, down_time: float) -> str:
    """Nova's ``get_instance_host_status``."""
    if not host or service is None:
        return HOST_NONE
    if service.forced_down:
        return HOST_DOWN
    if service.disabled:
        return HOST_MAINTENANCE
    return HOST_UP if service_is_up(service, down_time) else HOST_UNKNOWN


def _image(base: str, image_ref: str) -> dict[str, Any] | str:
    if not image_ref:
        return ""
    return {"id": image_ref,
            "links": [{"rel": "bookmark", "href": f"{base}/images/{image_ref}"}]}


def _flavor(base: str, embedded: bool, flavor: dict[str, Any], extra_specs: bool
            ) -> dict[str, Any]:
    """From 2.47 the flavor as it was at create; before, its id and a link."""
    if embedded:
        view: dict[str, Any] = {
            "vcpus": flavor.get("vcpus"), "ram": flavor.get("ram"),
            "disk": flavor.get("disk"), "ephemeral": flavor.get("ephemeral"),
            "swap": flavor.get("swap"), "original_name": flavor.get("name")}
        if extra_specs:
            view["extra_specs"] = dict(flavor.get("extra_specs") or {})
        return view
    flavor_id = str(flavor.get("id"))
    return {"id": flavor_id,
            "links": [{"rel": "bookmark", "href": f"{base}/flavors/{flavor_id}"}]}


def _fault(fault: dict[str, Any], is_admin: bool) -> dict[str, Any]:
    """Nova hides a 500 fault's details (a traceback, often) from non-admins."""
    view = {"code": fault.get("code"), "created": fault.get("created"),
            "message": fault.get("message")}
    details = fault.get("details")
    if details and (is_admin or fault.get("code") != 500):
        view["details"] = details
    return view


def isotime(value: datetime) -> str:
    """Nova's ``utils.isotime``: whole seconds, ``Z``."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _nova_time(value: datetime | None) -> str | None:
    """Launch and termination times, as Nova serialises a naive datetime."""
    if value is None:
        return None
    return value.astimezone(UTC).replace(tzinfo=None).strftime("%Y-%m-%dT%H:%M:%S.%f")
