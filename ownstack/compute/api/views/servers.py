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

The answers of ``PUT /servers/{id}`` and of rebuild are the show view less what Nova's
``show_all_attributes`` leaves out below 2.75: the availability zone, ``config_drive``,
``key_name`` (rebuild shows it from 2.54), the ``OS-SRV-USG`` times, the extended
attributes and ``host_status`` whatever the policy, the ``OS-EXT-STS`` states, the
attached volumes, ``security_groups``, and each address's type and MAC. From 2.75 they
are the full view, less rebuild's ``OS-EXT-SRV-ATTR:user_data`` (it shows ``user_data``
itself from 2.57).

``addresses`` come from the server's network info cache (``netinfo.addresses``), with
``OS-EXT-IPS:type`` and ``OS-EXT-IPS-MAC:mac_addr`` as Nova's v2.1 has them;
``security_groups`` is shown, as in Nova, only for a server with ports that have groups
(the groups asked for, or ``default``). ``OS-EXT-SRV-ATTR:instance_name`` is
``instance-<uuid>``: ownstack has no integer instance ids for Nova's ``instance-%08x``.

Every per-server lookup a detail list needs (metadata, tags, compute services) is loaded
for the whole page in one query each (``objects.servers.page_details``), so
``/servers/detail`` costs a fixed number of queries whatever the page size. A listing's
rows are ``objects.servers.ListedInstance`` tuples, not ORM entities; the views read them
by attribute alike (``ServerRow``).
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from ownstack.common.api.microversion import Version, at_least
from ownstack.compute import netinfo, states
from ownstack.compute.api.common import links, version_of
from ownstack.compute.api.views.times import isotime, nova_time
from ownstack.compute.objects import hosts
from ownstack.compute.objects.models import ComputeService, Instance
from ownstack.compute.objects.servers import HostService, PageDetails, ServerRow
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
    """What the views of a page of servers need beyond the servers' rows: what
    ``objects.servers.page_details`` read, and what the views work out from it."""

    details: PageDetails
    host_status: dict[str, str] = field(default_factory=dict)           # by host
    # Parts of the views that many servers of a page share, made once per page: by image
    # id, and by the identity of a flavor document (a listing's rows share those).
    images: dict[str, dict[str, Any] | str] = field(default_factory=dict)
    flavors: dict[int, dict[str, Any]] = field(default_factory=dict)


def extras(shown_: Shown, details: PageDetails) -> Extras:
    """The views' extras of a page whose :class:`PageDetails` were read (with tags from
    2.26, and server groups when ``shown_`` shows them)."""
    now = datetime.now(UTC)
    return Extras(details, host_status={
        host: _host_status(service, shown_.service_down_time, now)
        for host, service in details.services.items()})


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
    # Nova's show_all_attributes, false only for update and rebuild below 2.75.
    all_attributes: bool = True
    key_name: bool = True
    user_data_attribute: bool = True          # OS-EXT-SRV-ATTR:user_data (not rebuild's)

    def has(self, change: str) -> bool:
        return change in self.changes


# Every version at which the view changes.
_VIEW_CHANGES: Final = ("2.3", "2.9", "2.19", "2.26", "2.47", "2.63", "2.73", "2.90", "2.96")


UPDATE: Final = "update"
REBUILD: Final = "rebuild"


def shown(req: Req, instance: ServerRow | None = None, *, server_groups: bool = False,
          answering: str | None = None) -> Shown:
    """The caller's view settings. Policy targets the server's project when one is given
    (show), the caller's own otherwise (lists: the same answer for every row).
    ``answering`` is :data:`UPDATE` or :data:`REBUILD` for the view those answer with."""
    target = ({"project_id": instance.project_id, "user_id": instance.user_id}
              if instance is not None else None)
    version = version_of(req)
    allowed = req.svc.allowed
    every = answering is None or at_least(version, "2.75")
    return Shown(
        version=version,
        extended=every and allowed(req.ctx, EXTENDED_ATTRIBUTES, target),
        host_status=every and at_least(version, "2.16")
        and allowed(req.ctx, HOST_STATUS, target),
        extra_specs=at_least(version, "2.47") and allowed(req.ctx, EXTRA_SPECS, target),
        server_groups=server_groups and at_least(version, "2.71"),
        is_admin=req.ctx.is_admin,
        service_down_time=req.svc.config.compute.service_down_time,
        base_url=req.base_url(),
        changes=frozenset(v for v in _VIEW_CHANGES if at_least(version, v)),
        all_attributes=every,
        key_name=every or (answering == REBUILD and at_least(version, "2.54")),
        user_data_attribute=answering != REBUILD)


def summary(req: Req, instance: ServerRow) -> dict[str, Any]:
    """An item of ``GET /servers``."""
    return {"id": instance.uuid, "name": instance.display_name,
            "links": links(req, "servers", instance.uuid)}


def created(req: Req, instance: Instance, admin_pass: str | None) -> dict[str, Any]:
    """The 202 body of one created server."""
    view: dict[str, Any] = {"id": instance.uuid, "links": links(req, "servers", instance.uuid),
                            "OS-DCF:diskConfig": "MANUAL",
                            "security_groups": netinfo.security_group_names(
                                instance.security_groups)}
    if admin_pass is not None:
        view["adminPass"] = admin_pass
    return view


def detail(req: Req, shown_: Shown, instance: ServerRow, extras: Extras) -> dict[str, Any]:
    """One server, in full, as ``GET /servers/{id}`` and ``/servers/detail`` show it."""
    changes = shown_.changes
    base, uuid = shown_.base_url, instance.uuid
    status = "DELETED" if instance.deleted else states.status(instance.vm_state,
                                                               instance.task_state)
    host = instance.host
    details = extras.details
    service = details.services.get(host) if host else None
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
        "metadata": details.metadata.get(uuid, {}),
        "hostId": host_id(instance.project_id, host),
        "image": image,
        "flavor": flavor,
        "created": isotime(created),
        "updated": isotime(instance.updated_at or created),
        "addresses": netinfo.addresses(instance.network_info,
                                       extended=shown_.all_attributes),
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
    every = shown_.all_attributes
    if every:
        view["OS-EXT-AZ:availability_zone"] = (
            service.zone if service is not None
            else instance.availability_zone or "")
        view["config_drive"] = "True" if instance.config_drive else ""
    if shown_.key_name:
        view["key_name"] = instance.key_name
    if every:
        view["OS-SRV-USG:launched_at"] = nova_time(instance.launched_at)
        view["OS-SRV-USG:terminated_at"] = nova_time(instance.terminated_at)
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
            if shown_.user_data_attribute:
                view["OS-EXT-SRV-ATTR:user_data"] = instance.user_data
    if "2.90" in changes:
        view["OS-EXT-SRV-ATTR:hostname"] = instance.hostname
    if every:
        view["OS-EXT-STS:task_state"] = instance.task_state
        view["OS-EXT-STS:vm_state"] = instance.vm_state
        view["OS-EXT-STS:power_state"] = instance.power_state
        view["os-extended-volumes:volumes_attached"] = [
            {"id": volume_id, "delete_on_termination": delete} if "2.3" in changes
            else {"id": volume_id} for volume_id, delete in details.volumes.get(uuid, ())]
        # Nova shows the groups of a server with ports, and no key when they have none.
        if instance.network_info and (groups := netinfo.security_group_names(
                instance.security_groups)):
            view["security_groups"] = groups
    if shown_.host_status:
        view["host_status"] = (extras.host_status.get(host, HOST_NONE) if host
                               else HOST_NONE)
    if "2.9" in changes:
        view["locked"] = bool(instance.locked)
    if "2.19" in changes:
        view["description"] = instance.display_description
    if "2.26" in changes:
        view["tags"] = details.tags.get(uuid, [])
    if "2.63" in changes:
        view["trusted_image_certificates"] = None
    if shown_.server_groups:
        view["server_groups"] = details.groups.get(uuid, [])
    if "2.73" in changes:
        view["locked_reason"] = instance.locked_reason
    if "2.96" in changes and every:
        view["pinned_availability_zone"] = instance.requested_availability_zone
    return view


@functools.lru_cache(maxsize=4096)
def host_id(project_id: str, host: str | None) -> str:
    """Nova's ``hostId``: the same host gives a different id in each project, so projects
    can tell whether their servers share a host without learning host names."""
    if not host:
        return ""
    return hashlib.sha224((project_id + host).encode()).hexdigest()


def _host_status(service: ComputeService | HostService, down_time: float, now: datetime
                 ) -> str:
    if service.forced_down:
        return HOST_DOWN
    if service.disabled:
        return HOST_MAINTENANCE
    return HOST_UP if hosts.agent_is_up(service, down_time, now) else HOST_UNKNOWN


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
