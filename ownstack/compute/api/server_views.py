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
fixed number of queries whatever the page size. A listing's rows are plain rows of
``objects.servers.LISTED``, not ORM entities; the views read them by attribute alike.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ownstack.common.api.microversion import Version, at_least
from ownstack.common.db.base import utc_text
from ownstack.compute import states
from ownstack.compute.api.common import links, version_of
from ownstack.compute.objects.models import (
    ComputeService,
    Instance,
    InstanceMetadata,
    InstanceTag,
    ServerGroup,
    ServerGroupMember,
)
from ownstack.compute.rpc import COMPUTE_BINARY
from ownstack.compute.state import Req

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
    services: dict[str, Any] = field(default_factory=dict)   # compute (row of _SERVICES), by host
    groups: dict[str, list[str]] = field(default_factory=dict)          # server group uuids
    host_status: dict[str, str] = field(default_factory=dict)           # by host
    # Parts of the views that many servers of a page share, made once per page: by image
    # id, and by the identity of a flavor document (a listing's rows share those).
    images: dict[str, Any] = field(default_factory=dict)
    flavors: dict[int, dict[str, Any]] = field(default_factory=dict)


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


# Hosts of a page beyond which every compute service is read rather than a list of names.
_MANY_HOSTS: Final = 20
# Servers of a page beyond which its metadata and tags are read by joining the page's own
# query rather than through a list of its uuids (which SQLAlchemy expands, bind by bind).
_MANY_SERVERS: Final = 50


# What the views read of a compute service (plain rows: a page may span every host).
_SERVICES: Final = select(
    ComputeService.host, ComputeService.availability_zone, ComputeService.disabled,
    ComputeService.forced_down, ComputeService.last_seen_up,
).where(ComputeService.binary == COMPUTE_BINARY)


async def load_extras(db: AsyncSession, instances: Sequence[Instance | Any], shown_: Shown,
                      page: Any = None) -> Extras:
    """Metadata, tags, the hosts' compute services and (when shown) server groups of
    ``instances``: one query each, whatever their number. ``page``, a statement selecting
    the uuids of exactly ``instances``, replaces the list of uuids in the queries."""
    uuids = [instance.uuid for instance in instances]
    extras = Extras(metadata={uuid: {} for uuid in uuids})
    if not uuids:
        return extras
    in_page: Any
    if page is not None and len(uuids) > _MANY_SERVERS:
        paged = page.subquery()

        def in_page(stmt: Any, column: Any) -> Any:
            return stmt.join(paged, paged.c.uuid == column)
    else:
        def in_page(stmt: Any, column: Any) -> Any:
            return stmt.where(column.in_(uuids))
    for uuid, key, value in await db.execute(in_page(
            select(InstanceMetadata.instance_uuid, InstanceMetadata.key,
                   InstanceMetadata.value), InstanceMetadata.instance_uuid)):
        extras.metadata[uuid][key] = value
    if at_least(shown_.version, "2.26"):
        extras.tags = {uuid: [] for uuid in uuids}
        for uuid, tag in await db.execute(in_page(
                select(InstanceTag.instance_uuid, InstanceTag.tag),
                InstanceTag.instance_uuid).order_by(InstanceTag.tag)):
            extras.tags[uuid].append(tag)
    hosts = {instance.host for instance in instances if instance.host}
    if hosts:
        services = _SERVICES
        if len(hosts) <= _MANY_HOSTS:
            services = services.where(ComputeService.host.in_(sorted(hosts)))
        extras.services = {service.host: service
                           for service in await (await db.connection()).execute(services)}
        now = datetime.now(UTC)
        extras.host_status = {host: _host_status(service, shown_.service_down_time, now)
                              for host, service in extras.services.items()}
    if shown_.server_groups:
        extras.groups = {uuid: [] for uuid in uuids}
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


def summary(req: Req, instance: Instance | Any) -> dict[str, Any]:
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


def detail(req: Req, shown_: Shown, instance: Instance | Any, extras: Extras
           ) -> dict[str, Any]:
    """One server, in full, as ``GET /servers/{id}`` and ``/servers/detail`` show it."""
    changes = shown_.changes
    base, uuid = shown_.base_url, instance.uuid
    status = "DELETED" if instance.deleted else states.status(instance.vm_state,
                                                               instance.task_state)
    host = instance.host
    service = extras.services.get(host) if host else None
    created = instance.created_at
    image = extras.images.get(instance.image_ref)
    if image is None:
        image = extras.images[instance.image_ref] = _image(base, instance.image_ref)
    flavor = extras.flavors.get(id(instance.flavor))
    if flavor is None:
        flavor = extras.flavors[id(instance.flavor)] = _flavor(
            base, "2.47" in changes, instance.flavor, shown_.extra_specs)
    view: dict[str, Any] = {
        "id": uuid,
        "name": instance.display_name,
        "status": status,
        "tenant_id": instance.project_id,
        "user_id": instance.user_id,
        "metadata": extras.metadata.get(uuid, {}),
        "hostId": host_id(instance.project_id, host),
        "image": image,
        "flavor": flavor,
        "created": isotime(created),
        "updated": isotime(instance.updated_at or created),
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
        view["OS-EXT-SRV-ATTR:host"] = host
        view["OS-EXT-SRV-ATTR:instance_name"] = f"instance-{uuid}"
        view["OS-EXT-SRV-ATTR:hypervisor_hostname"] = instance.node
        if "2.3" in changes:
            view["OS-EXT-SRV-ATTR:reservation_id"] = instance.reservation_id
            view["OS-EXT-SRV-ATTR:launch_index"] = instance.launch_index
            view["OS-EXT-SRV-ATTR:hostname"] = instance.hostname
            view["OS-EXT-SRV-ATTR:kernel_id"] = ""
            view["OS-EXT-SRV-ATTR:ramdisk_id"] = ""
            view["OS-EXT-SRV-ATTR:root_device_name"] = "/dev/vda"
            view["OS-EXT-SRV-ATTR:user_data"] = instance.user_data
    if "2.90" in changes:
        view["OS-EXT-SRV-ATTR:hostname"] = instance.hostname
    view["OS-EXT-STS:task_state"] = instance.task_state
    view["OS-EXT-STS:vm_state"] = instance.vm_state
    view["OS-EXT-STS:power_state"] = instance.power_state
    view["os-extended-volumes:volumes_attached"] = []
    if shown_.host_status:
        view["host_status"] = (extras.host_status.get(host, HOST_NONE) if host
                               else HOST_NONE)
    if "2.9" in changes:
        view["locked"] = bool(instance.locked)
    if "2.19" in changes:
        view["description"] = instance.display_description
    if "2.26" in changes:
        view["tags"] = extras.tags.get(uuid, [])
    if "2.63" in changes:
        view["trusted_image_certificates"] = None
    if shown_.server_groups:
        view["server_groups"] = extras.groups.get(uuid, [])
    if "2.73" in changes:
        view["locked_reason"] = instance.locked_reason
    if "2.96" in changes:
        view["pinned_availability_zone"] = instance.requested_availability_zone
    return view


@functools.lru_cache(maxsize=4096)
def host_id(project_id: str, host: str | None) -> str:
    """Nova's ``hostId``: the same host gives a different id in each project, so projects
    can tell whether their servers share a host without learning host names."""
    if not host:
        return ""
    return hashlib.sha224((project_id + host).encode()).hexdigest()


def service_is_up(service: ComputeService | Any, down_time: float,
                  now: datetime | None = None) -> bool:
    """Nova's database servicegroup driver: up when its heartbeat is recent enough."""
    if service.forced_down or service.last_seen_up is None:
        return False
    return (now or datetime.now(UTC)) - service.last_seen_up <= timedelta(seconds=down_time)


def host_status(host: str | None, service: ComputeService | Any | None, down_time: float
                ) -> str:
    """Nova's ``get_instance_host_status``."""
    if not host or service is None:
        return HOST_NONE
    return _host_status(service, down_time, datetime.now(UTC))


def _host_status(service: ComputeService | Any, down_time: float, now: datetime) -> str:
    if service.forced_down:
        return HOST_DOWN
    if service.disabled:
        return HOST_MAINTENANCE
    return HOST_UP if service_is_up(service, down_time, now) else HOST_UNKNOWN


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


def isotime(value: datetime | str) -> str:
    """Nova's ``utils.isotime``: whole seconds, ``Z`` (from a datetime, or from the UTC
    text a listing reads; see ``UTCTimeText``)."""
    return utc_text(value, fraction=False) + "Z"


def _nova_time(value: datetime | str | None) -> str | None:
    """Launch and termination times, as Nova serialises a naive datetime."""
    return None if value is None else utc_text(value, fraction=True)
