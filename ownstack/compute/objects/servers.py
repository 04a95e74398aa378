"""Servers as the API sees them: create N instances, list with Nova's filters, update,
delete. Domain logic only; the HTTP layer is ``api/handlers/servers.py``.

Create inserts the instance rows (``building``/``scheduling``) with their metadata, tags,
server-group membership and ``create`` action in one write transaction that also takes
the quota decision (:mod:`ownstack.compute.objects.quotas`); the conductor then schedules
them. Delete is local (one transaction, no agent) when the server never reached a host or
its host's compute service is down; otherwise it sets ``task_state=deleting`` and the
host's agent destroys the guest and reports back.

``networks`` is kept as asked (``requested_networks``) and as the API resolved it with
the caller's token (``network_requests``, see :mod:`ownstack.compute.ports`); the
conductor makes the ports. The ``ip``/``ip6`` list filters are regular expressions
matched (``re.match``, as Nova) against the fixed IPs of the network info cache, IPv4 and
IPv6 respectively; they pick the uuids the listing then keeps (:func:`uuids_with_address`).
"""

from __future__ import annotations

import re
import uuid as uuid_module
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final, NamedTuple, TypeAlias, cast

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from ownstack.common.api import pagination
from ownstack.common.config import Config
from ownstack.common.context import RequestContext
from ownstack.common.db.base import CachedJSON, UTCTimeText, utcnow
from ownstack.common.db.cas import rows_matched
from ownstack.common.db.core import Runner, run
from ownstack.common.errors import BadRequest
from ownstack.common.times import as_utc
from ownstack.common.uuids import is_uuid
from ownstack.compute import states
from ownstack.compute.block_device import Mapping as BlockDeviceMappingRequest
from ownstack.compute.block_device import device_names
from ownstack.compute.errors import (
    ConcurrentUpdate,
    InvalidServerRequest,
    KeypairNotFound,
)
from ownstack.compute.objects import actions, block_devices, keypairs, quotas
from ownstack.compute.objects.instances import permitted
from ownstack.compute.objects.models import (
    BlockDeviceMapping,
    ComputeService,
    Flavor,
    FlavorExtraSpec,
    FlavorProject,
    Instance,
    InstanceMetadata,
    InstanceTag,
    ServerGroup,
    ServerGroupMember,
)
from ownstack.compute.objects.random_names import reservation_id
from ownstack.compute.rpc import COMPUTE_BINARY

if TYPE_CHECKING:
    from ownstack.compute.state import ComputeState

GIB: Final = 1024 ** 3


@dataclass
class ImageFacts:
    """What create keeps of the boot image (None: no image, e.g. a volume boot)."""

    id: str
    status: str
    disk_format: str | None
    min_disk: int
    min_ram: int
    size: int | None
    virtual_size: int | None
    properties: dict[str, Any]

    def meta(self) -> dict[str, Any]:
        return {"disk_format": self.disk_format, "min_disk": self.min_disk,
                "min_ram": self.min_ram, "size": self.size,
                "virtual_size": self.virtual_size, "properties": dict(self.properties)}


@dataclass
class CreateRequest:
    """A validated ``POST /servers``, ready to insert."""

    name: str
    flavor_ref: str
    image: ImageFacts | None
    min_count: int = 1
    max_count: int = 1
    description: str | None = None
    hostname: str | None = None
    key_name: str | None = None
    availability_zone: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    user_data: str | None = None
    config_drive: bool = False
    admin_pass: str = ""
    access_ip_v4: str | None = None
    access_ip_v6: str | None = None
    requested_networks: Any = "auto"
    group: str | None = None
    # What the API resolved: one item per port (see Instance.network_requests), and the
    # security groups [{"id", "name"}].
    network_requests: list[dict[str, Any]] = field(default_factory=list)
    security_groups: list[dict[str, str]] = field(default_factory=list)
    # block_device_mapping_v2's volumes (each server gets its own rows), and whether the
    # root is one of them: then ``image`` is the root's image metadata only, the server's
    # image_ref is "" (as Nova shows a volume-backed server) and the flavor's disk is not
    # the root's size.
    block_devices: list[BlockDeviceMappingRequest] = field(default_factory=list)
    volume_backed: bool = False


def sanitize_hostname(name: str, default: str | None = None) -> str:
    """Nova's ``utils.sanitize_hostname``: a hostname from a display name."""
    hostname = name.encode("latin-1", "ignore").decode("latin-1")[:63]
    hostname = re.sub(r"[ _.]", "-", hostname)
    hostname = re.sub(r"[^\w.-]+", "", hostname)
    hostname = hostname.lower().strip(".-")
    if not hostname and default is not None:
        return default[:63]
    return hostname


def check_image_fits(image: ImageFacts, flavor: Flavor | Any) -> None:
    """Nova's ``_validate_flavor_image_nostatus``: the flavor must hold the image."""
    if flavor.root_gb > 0:
        disk = flavor.root_gb * GIB
        for size in (image.size, image.virtual_size):
            if size and size > disk:
                raise InvalidServerRequest(
                    f"Flavor's disk is too small for requested image. Flavor disk is "
                    f"{disk} bytes, image is {size} bytes.")
        if image.min_disk > flavor.root_gb:
            raise InvalidServerRequest(
                f"Flavor's disk is too small for requested image. Flavor disk is {disk} "
                f"bytes, image is {image.min_disk * GIB} bytes.")
    if image.min_ram > flavor.memory_mb:
        raise InvalidServerRequest("Flavor's memory is too small for requested image.")


def flavor_snapshot(flavor: Flavor | Any, extra_specs: dict[str, str]) -> dict[str, Any]:
    return {"id": flavor.flavorid, "name": flavor.name, "vcpus": flavor.vcpus,
            "ram": flavor.memory_mb, "disk": flavor.root_gb,
            "ephemeral": flavor.ephemeral_gb, "swap": flavor.swap,
            "rxtx_factor": flavor.rxtx_factor, "is_public": flavor.is_public,
            "description": flavor.description, "extra_specs": dict(extra_specs)}


async def _flavor(db: AsyncSession, ctx: RequestContext, flavor_ref: str
                  ) -> tuple[Any, dict[str, str]]:
    """The flavor to boot (a row of :class:`Flavor`'s columns) and its extra specs, in
    one statement."""
    rows = (await run(db, _FLAVOR_FOR_ADMIN if ctx.is_admin else _FLAVOR_FOR_PROJECT,
                      {"b_flavorid": flavor_ref, "b_project": ctx.project_id or ""})).all()
    if not rows:
        raise InvalidServerRequest(f"Flavor {flavor_ref} could not be found.")
    flavor = rows[0]
    if flavor.disabled:
        raise InvalidServerRequest("Flavor is disabled.")
    specs = {row.spec_key: row.spec_value for row in rows if row.spec_key is not None}
    return flavor, dict(sorted(specs.items()))


_FLAVORS: Final = cast(sa.Table, Flavor.__table__)
_SPECS: Final = cast(sa.Table, FlavorExtraSpec.__table__)
_FLAVOR_FOR_ADMIN: Final = (
    sa.select(_FLAVORS, _SPECS.c.key.label("spec_key"), _SPECS.c.value.label("spec_value"))
    .outerjoin(_SPECS, _SPECS.c.flavor_id == _FLAVORS.c.id)
    .where(_FLAVORS.c.flavorid == sa.bindparam("b_flavorid")))
# flavors.get_flavor's visibility rule: public, or shared with the caller's project.
_FLAVOR_FOR_PROJECT: Final = _FLAVOR_FOR_ADMIN.where(sa.or_(
    _FLAVORS.c.is_public.is_(True),
    sa.exists().where(FlavorProject.flavor_id == _FLAVORS.c.id,
                      FlavorProject.project_id == sa.bindparam("b_project"))))


def forced_host_of(availability_zone: str | None) -> bool:
    """Whether a requested zone names a host or node too (``zone:host``, ``zone:host:node``,
    ``zone::node``); more than two colons is Nova's 400."""
    if not availability_zone or ":" not in availability_zone:
        return False
    if availability_zone.count(":") > 2:
        raise InvalidServerRequest("Invalid input received: Unable to parse "
                                   "availability_zone")
    return any(availability_zone.split(":")[1:])


async def compute_zones(db: AsyncSession) -> set[str]:
    rows = await db.execute(sa.select(ComputeService.zone).where(
        ComputeService.binary == COMPUTE_BINARY).distinct())
    return set(rows.scalars())


async def _group(db: AsyncSession, ctx: RequestContext, group_uuid: str) -> ServerGroup:
    group = (await db.execute(sa.select(ServerGroup).where(
        ServerGroup.uuid == group_uuid))).scalar_one_or_none()
    if group is None or not (ctx.is_admin or group.project_id == ctx.project_id):
        raise InvalidServerRequest(f"Group {group_uuid} could not be found.")
    return group


async def create_instances(db: AsyncSession, ctx: RequestContext, config: Config,
                           request: CreateRequest) -> list[Instance]:
    """Insert the servers of one create request; how many depends on quota. The returned
    instances are not attached to ``db`` (the rows are written with Core inserts)."""
    project_id, user_id = ctx.project_id or "", ctx.user_id or ""
    await quotas.lock_project(db, project_id)          # first: see quotas.admit
    flavor, specs = await _flavor(db, ctx, request.flavor_ref)
    if request.image is not None and not request.volume_backed:
        check_image_fits(request.image, flavor)
    key_data = None
    if request.key_name is not None:
        try:
            key_data = (await keypairs.get_keypair(db, user_id, request.key_name)).public_key
        except KeypairNotFound:
            raise InvalidServerRequest("Invalid key_name provided.") from None
    # The zone column keeps a forced host ("zone:host"), which the scheduler reads; the
    # pinned zone is the zone part alone. A zone with a forced host is not checked, as
    # in Nova (the scheduler refuses a host outside it).
    zone = request.availability_zone or config.compute.default_schedule_zone or None
    pinned = zone.split(":")[0] or None if zone else None
    forced = forced_host_of(request.availability_zone)
    if request.availability_zone is not None and not forced and pinned is not None \
            and pinned not in await compute_zones(db):
        raise InvalidServerRequest("The requested availability zone is not available")
    group = await _group(db, ctx, request.group) if request.group else None
    quota_config = config.compute.quota
    count = await quotas.admit(db, quota_config, project_id, user_id,
                               quotas.Request(vcpus=flavor.vcpus, ram=flavor.memory_mb),
                               request.min_count, request.max_count,
                               metadata_items=len(request.metadata))
    if group is not None:
        await quotas.check_group_members(db, quota_config, project_id, group.id, count)
    snapshot = flavor_snapshot(flavor, specs)
    reservation = reservation_id()
    image_meta = request.image.meta() if request.image is not None else {}
    now = utcnow()
    rows: list[dict[str, Any]] = []
    for index in range(count):
        name = request.name if count == 1 else f"{request.name}-{index + 1}"
        uuid = str(uuid_module.uuid4())
        rows.append(dict(
            uuid=uuid, project_id=project_id, user_id=user_id, display_name=name,
            display_description=request.description,
            hostname=request.hostname or sanitize_hostname(name, f"Server-{uuid}"),
            host=None, node=None, vm_state=states.BUILDING, task_state=states.SCHEDULING,
            task_args={}, power_state=states.PowerState.NOSTATE, flavor=dict(snapshot),
            vcpus=flavor.vcpus, memory_mb=flavor.memory_mb,
            image_ref=request.image.id
            if request.image is not None and not request.volume_backed else "",
            image_meta=dict(image_meta), key_name=request.key_name, key_data=key_data,
            user_data=request.user_data, admin_pass=request.admin_pass,
            config_drive=request.config_drive, availability_zone=zone,
            requested_availability_zone=pinned, launch_index=index,
            reservation_id=reservation, access_ip_v4=request.access_ip_v4,
            access_ip_v6=request.access_ip_v6,
            requested_networks=request.requested_networks,
            network_requests=[dict(item) for item in request.network_requests],
            # None: none asked for, so the project's default (as Neutron gives a port);
            # an empty list is a server whose groups were all removed.
            security_groups=[dict(group) for group in request.security_groups] or None,
            network_info=[], network_status=None, locked=False, locked_by=None,
            locked_reason=None, attempts=[], fault=None, created_at=now, updated_at=now,
            launched_at=None, terminated_at=None, deleted_at=None, deleted=False,
            generation=0))
    # Core inserts, one statement per table: an ORM unit of work for these rows costs more
    # than everything else the request does.
    await run(db, _INSERT_INSTANCE, rows)
    uuids = [row["uuid"] for row in rows]
    metadata = [{"instance_uuid": uuid, "key": key, "value": value}
                for uuid in uuids for key, value in request.metadata.items()]
    if metadata:
        await run(db, _INSERT_METADATA, metadata)
    tags = [{"instance_uuid": uuid, "tag": tag}
            for uuid in uuids for tag in dict.fromkeys(request.tags)]
    if tags:
        await run(db, _INSERT_TAG, tags)
    if group is not None:
        await run(db, _INSERT_MEMBER, [{"group_id": group.id, "instance_uuid": uuid}
                                       for uuid in uuids])
    names = device_names(request.block_devices, config_drive=request.config_drive)
    for uuid in uuids:
        for mapping, name in zip(request.block_devices, names, strict=True):
            block_devices.add(db, uuid, **{**mapping.row(), "device_name": name})
    await actions.start_actions(db, ctx, uuids, actions.CREATE)
    return [Instance(**row) for row in rows]


_INSERT_INSTANCE: Final = sa.insert(cast(sa.Table, Instance.__table__))
_INSERT_METADATA: Final = sa.insert(cast(sa.Table, InstanceMetadata.__table__))
_INSERT_TAG: Final = sa.insert(cast(sa.Table, InstanceTag.__table__))
_INSERT_MEMBER: Final = sa.insert(cast(sa.Table, ServerGroupMember.__table__))


# --- listing ---------------------------------------------------------------------------

# Nova's valid sort keys that name a column ownstack keeps (the model's names).
SORT_KEYS: Final = {
    "access_ip_v4": "access_ip_v4", "access_ip_v6": "access_ip_v6",
    "availability_zone": "availability_zone", "config_drive": "config_drive",
    "created_at": "created_at", "display_description": "display_description",
    "display_name": "display_name", "host": "host", "hostname": "hostname",
    "image_ref": "image_ref", "key_name": "key_name", "launch_index": "launch_index",
    "launched_at": "launched_at", "locked_by": "locked_by", "node": "node",
    "power_state": "power_state", "project_id": "project_id",
    "task_state": "task_state", "terminated_at": "terminated_at",
    "updated_at": "updated_at", "user_id": "user_id", "uuid": "uuid",
    "vm_state": "vm_state", "locked": "locked", "reservation_id": "reservation_id",
}
# Nova's valid sort keys ownstack has no column for: ignored, as Nova ignores its own.
IGNORED_SORT_KEYS: Final = frozenset({
    "auto_disk_config", "instance_type_id", "kernel_id", "progress", "ramdisk_id",
    "root_device_name", "architecture", "cell_name", "cleaned", "default_ephemeral_device",
    "default_swap_device", "deleted", "deleted_at", "disable_terminate", "ephemeral_gb",
    "ephemeral_key_uuid", "id", "key_data", "launched_on", "memory_mb", "os_type",
    "root_gb", "shutdown_terminate", "user_data", "vcpus", "vm_mode"})


@dataclass
class ServerFilters:
    """Nova's server list filters, parsed. ``None``: not filtered on."""

    project_id: str | None = None           # None: every project (all_tenants)
    user_id: str | None = None
    deleted: bool | None = False             # None: deleted and live alike
    vm_states: frozenset[str] | None = None
    task_states: frozenset[str | None] | None = None
    name: str | None = None                  # regular expressions, searched
    hostname: str | None = None
    availability_zone: str | None = None
    key_name: str | None = None
    image: str | None = None
    flavor: str | None = None
    host: str | None = None
    node: str | None = None
    reservation_id: str | None = None
    uuid: str | None = None
    locked: bool | None = None
    changes_since: datetime | None = None
    changes_before: datetime | None = None
    tags: list[str] = field(default_factory=list)
    tags_any: list[str] = field(default_factory=list)
    not_tags: list[str] = field(default_factory=list)
    not_tags_any: list[str] = field(default_factory=list)
    match_nothing: bool = False
    uuids: list[str] | None = None           # ip/ip6: the servers whose addresses match


def _tagged(tag: str) -> Any:
    return sa.exists().where(InstanceTag.instance_uuid == Instance.uuid, InstanceTag.tag == tag)


class ListedInstance(NamedTuple):
    """What the server views read of an instance: a listing reads these as plain tuples
    (no ORM entities, none of the JSON columns the views never show, attribute reads
    several times cheaper than a SQLAlchemy row's). Times are as ``UTCTimeText`` reads
    them (SQLite's text, else datetimes), and ``flavor`` and ``fault`` are shared between
    rows with the same document (``CachedJSON``): read them, never modify them."""

    uuid: str
    project_id: str
    user_id: str
    display_name: str
    display_description: str | None
    hostname: str
    host: str | None
    node: str | None
    vm_state: str
    task_state: str | None
    power_state: int
    flavor: dict[str, Any]
    image_ref: str
    key_name: str | None
    user_data: str | None
    config_drive: bool
    availability_zone: str | None
    requested_availability_zone: str | None
    launch_index: int
    reservation_id: str
    access_ip_v4: str | None
    access_ip_v6: str | None
    locked: bool
    locked_by: str | None
    locked_reason: str | None
    fault: dict[str, Any] | None
    network_info: list[dict[str, Any]] | None
    security_groups: list[dict[str, str]] | None
    created_at: datetime | str
    updated_at: datetime | str | None
    launched_at: datetime | str | None
    terminated_at: datetime | str | None
    deleted: bool


_READ_AS: Final[dict[str, Any]] = {
    "created_at": UTCTimeText(), "updated_at": UTCTimeText(), "launched_at": UTCTimeText(),
    "terminated_at": UTCTimeText(), "flavor": CachedJSON(), "fault": CachedJSON(),
    "network_info": CachedJSON(), "security_groups": CachedJSON()}
LISTED: Final = tuple(
    sa.type_coerce(getattr(Instance, name), _READ_AS[name]).label(name)
    if name in _READ_AS else getattr(Instance, name) for name in ListedInstance._fields)
# Built once: a select of thirty-odd columns costs more to build than to run, and every
# listing (a changes-since poller's, many times a second) starts from these.
_SELECT_LISTED: Final = sa.select(*LISTED)
_UUID_COLUMNS: Final = (Instance.uuid,)
_SELECT_UUIDS: Final = sa.select(*_UUID_COLUMNS)


def _filtered(filters: ServerFilters, columns: Sequence[Any] | None = None) -> Any:
    """``filters`` as WHERE clauses on a select of ``columns`` (default :data:`LISTED`)."""
    stmt = _SELECT_LISTED if columns is None else \
        _SELECT_UUIDS if columns is _UUID_COLUMNS else sa.select(*columns)
    if filters.match_nothing or filters.uuids == []:
        return stmt.where(sa.false())
    if filters.uuids is not None:
        stmt = stmt.where(Instance.uuid.in_(filters.uuids))
    exact = {Instance.project_id: filters.project_id, Instance.user_id: filters.user_id,
             Instance.image_ref: filters.image, Instance.host: filters.host,
             Instance.node: filters.node, Instance.uuid: filters.uuid,
             Instance.locked: filters.locked}
    for column, value in exact.items():
        if value is not None:
            stmt = stmt.where(column == value)
    if filters.deleted is not None:
        stmt = stmt.where(Instance.deleted.is_(filters.deleted))
    if filters.flavor is not None:
        stmt = stmt.where(Instance.flavor["id"].as_string() == filters.flavor)
    regex = {Instance.display_name: filters.name, Instance.hostname: filters.hostname,
             Instance.availability_zone: filters.availability_zone,
             Instance.key_name: filters.key_name,
             Instance.reservation_id: filters.reservation_id}
    for column, pattern in regex.items():
        if pattern is not None:
            stmt = stmt.where(column.regexp_match(pattern))
    if filters.vm_states is not None:
        stmt = stmt.where(Instance.vm_state.in_(filters.vm_states))
    if filters.task_states is not None:
        named = [state for state in filters.task_states if state is not None]
        clauses = [Instance.task_state.in_(named)]
        if None in filters.task_states:
            clauses.append(Instance.task_state.is_(None))
        stmt = stmt.where(sa.or_(*clauses))
    if filters.changes_since is not None:
        stmt = stmt.where(Instance.updated_at >= filters.changes_since)
    if filters.changes_before is not None:
        stmt = stmt.where(Instance.updated_at <= filters.changes_before)
    for tag in filters.tags:
        stmt = stmt.where(_tagged(tag))
    if filters.tags_any:
        stmt = stmt.where(sa.or_(*(_tagged(tag) for tag in filters.tags_any)))
    if filters.not_tags:
        stmt = stmt.where(sa.not_(sa.and_(*(_tagged(tag) for tag in filters.not_tags))))
    if filters.not_tags_any:
        stmt = stmt.where(sa.not_(sa.or_(*(_tagged(tag) for tag in filters.not_tags_any))))
    return stmt


@dataclass
class Page:
    """One page of servers as plain rows of :data:`LISTED`, and a statement selecting the
    uuids of exactly that page (to read the page's metadata and tags with, in place of a
    list of a thousand uuids)."""

    rows: list[ListedInstance]
    uuids: Any


async def list_instances(db: AsyncSession, filters: ServerFilters, *, limit: int | None,
                         marker: str | None, sort: Sequence[tuple[str, str]]) -> Page:
    """One page of servers. An unknown marker (or one the caller cannot see) is a 400."""
    keys = [(SORT_KEYS[key], direction) for key, direction in sort]
    if all(key != "uuid" for key, _ in keys):
        keys.append(("uuid", keys[0][1] if keys else "desc"))
    marker_row = None
    if marker is not None:
        marker_row = (await db.execute(_filtered(ServerFilters(
            project_id=filters.project_id, deleted=None),
            [getattr(Instance, key) for key, _ in keys]).where(
            Instance.uuid == marker))).first()
        if marker_row is None:
            raise BadRequest(f"marker [{marker}] not found")
    # Core, not the session: plain rows, without the ORM's loading machinery.
    result = await run(db, _paged(_filtered(filters), keys, marker_row, limit))
    rows = list(map(ListedInstance._make, result))
    return Page(rows, _paged(_filtered(filters, _UUID_COLUMNS), keys, marker_row, limit))


# A server as the views read it: an entity (one server) or a listing's plain row.
ServerRow: TypeAlias = Instance | ListedInstance



class HostService(NamedTuple):
    """What the server views read of a host's compute service (plain rows: a page may
    span every host)."""

    host: str
    zone: str                         # the host's effective zone (ComputeService.zone)
    disabled: bool
    forced_down: bool
    last_seen_up: datetime | None


_HOST_SERVICES: Final = sa.select(
    *(getattr(ComputeService, name) for name in HostService._fields)
).where(ComputeService.binary == COMPUTE_BINARY)
# Hosts of a page beyond which every compute service is read rather than a list of names.
_MANY_HOSTS: Final = 20
# Servers of a page beyond which its metadata and tags are read by joining the page's own
# query rather than through a list of its uuids (which SQLAlchemy expands, bind by bind).
_MANY_SERVERS: Final = 50


@dataclass
class PageDetails:
    """What the views of a page of servers read beyond the servers' own rows."""

    metadata: dict[str, dict[str, str]]                         # by server uuid
    tags: dict[str, list[str]] = field(default_factory=dict)    # by uuid, when asked
    services: dict[str, HostService] = field(default_factory=dict)   # by host
    groups: dict[str, list[str]] = field(default_factory=dict)  # group uuids, when asked
    # (volume id, delete_on_termination) of each server's volume mappings, oldest first.
    volumes: dict[str, list[tuple[str, bool]]] = field(default_factory=dict)


async def page_details(db: Runner, servers: Sequence[ServerRow], *, tags: bool,
                       groups: bool, page: Page | None = None,
                       services: dict[str, HostService] | None = None) -> PageDetails:
    """Metadata, volumes, tags (when ``tags``), server groups (when ``groups``) and the
    hosts' compute services of ``servers``: two queries whatever their number (one
    ``UNION ALL`` for all but the services, see :func:`_details_union`). When
    ``servers`` are the rows of ``page``, its statement (:attr:`Page.uuids`) replaces the
    list of their uuids in the queries. ``services``, when given, are the hosts'
    services as already read (:func:`find_listed`): they are not read again."""
    uuids = [server.uuid for server in servers]
    details = PageDetails(metadata={uuid: {} for uuid in uuids})
    if not uuids:
        return details
    params: dict[str, Any]
    if page is not None and len(uuids) > _MANY_SERVERS:
        paged = page.uuids.subquery()

        def in_page(stmt: Any, column: Any) -> Any:
            return stmt.join(paged, paged.c.uuid == column)
        union, params = _details_union(in_page, tags=tags, groups=groups), {}
    elif len(uuids) == 1:       # a show (each status poll): no IN list to expand
        union, params = _DETAILS_OF_ONE[tags, groups], {"uuid": uuids[0]}
    else:
        union, params = _DETAILS_OF_UUIDS[tags, groups], {"uuids": uuids}
    details.volumes = {uuid: [] for uuid in uuids}
    if tags:
        details.tags = {uuid: [] for uuid in uuids}
    if groups:
        details.groups = {uuid: [] for uuid in uuids}
    # Core, not the session: the ORM's execution of a statement of entity columns costs
    # more than the statement (each status poll runs this one).
    for kind, uuid, text, value, flag, _ in await run(db, union, params):
        if kind == _METADATA:
            details.metadata[uuid][text] = value
        elif kind == _VOLUME:
            details.volumes[uuid].append((text, bool(flag)))
        elif kind == _TAG:
            details.tags[uuid].append(text)
        else:
            details.groups[uuid].append(text)
    hosts = {server.host for server in servers if server.host}
    if services is not None:
        details.services = services
    elif hosts:
        stmt = _HOST_SERVICES
        params = {}
        if len(hosts) <= _MANY_HOSTS:
            stmt, params = _SERVICES_OF_HOSTS, {"hosts": sorted(hosts)}
        rows = await run(db, stmt, params)
        details.services = {row.host: HostService._make(row) for row in rows}
    return details


# The kinds of row of :func:`_details_union`.
_METADATA, _VOLUME, _TAG, _GROUP = "m", "v", "t", "g"


def _details_union(in_page: Any, *, tags: bool, groups: bool,
                   of_servers: Any = lambda column: column.in_(_UUIDS)) -> Any:
    """Metadata, volume mappings, tags (when ``tags``) and server groups (when ``groups``)
    of the servers ``in_page`` picks, as one ``UNION ALL`` statement: a server's show (and
    so each status poll) pays for one statement and one trip to the database rather than
    three or four. Rows are ``(kind, uuid, text, value, flag, number)``: a metadata key
    and its value; a volume id, its ``delete_on_termination`` (1 or 0) and the mapping's
    id; a tag; a group's uuid. They come ordered by kind, then ``number`` (mappings
    oldest first), then ``text`` (tags in order, as Nova lists them). Server groups are
    always read by the servers' uuids (``of_servers``: the ``uuids`` bind, expanded, or
    the one ``uuid``)."""
    def kind(name: str) -> Any:
        return sa.literal_column(f"'{name}'").label("kind")

    none: Any = sa.literal_column("NULL")
    zero: Any = sa.literal_column("0")
    members = [
        in_page(sa.select(kind(_METADATA), InstanceMetadata.instance_uuid.label("uuid"),
                          InstanceMetadata.key.label("text"),
                          InstanceMetadata.value.label("value"), zero.label("flag"),
                          zero.label("number")),
                InstanceMetadata.instance_uuid),
        in_page(sa.select(kind(_VOLUME), BlockDeviceMapping.instance_uuid,
                          BlockDeviceMapping.volume_id, none,
                          sa.case((BlockDeviceMapping.delete_on_termination, 1), else_=0),
                          BlockDeviceMapping.id)
                .where(BlockDeviceMapping.deleted.is_(False),
                       BlockDeviceMapping.volume_id.is_not(None)),
                BlockDeviceMapping.instance_uuid)]
    if tags:
        members.append(in_page(sa.select(kind(_TAG), InstanceTag.instance_uuid,
                                         InstanceTag.tag, none, zero, zero),
                               InstanceTag.instance_uuid))
    if groups:
        members.append(sa.select(kind(_GROUP), ServerGroupMember.instance_uuid,
                                 ServerGroup.uuid, none, zero, zero)
                       .join(ServerGroup, ServerGroup.id == ServerGroupMember.group_id)
                       .where(of_servers(ServerGroupMember.instance_uuid)))
    return sa.union_all(*members).order_by(sa.literal_column("kind"),
                                           sa.literal_column("number"),
                                           sa.literal_column("text"))


# Built once: building a statement and its cache key costs more CPU than running it, and
# a GET /servers/{id} (each status poll) reads these.
_UUIDS: Final[Any] = sa.bindparam("uuids", expanding=True)
_DETAILS_OF_UUIDS: Final = {
    (tags, groups): _details_union(lambda stmt, column: stmt.where(column.in_(_UUIDS)),
                                   tags=tags, groups=groups)
    for tags in (False, True) for groups in (False, True)}
# The same for one server (a show): ``= :uuid`` where the IN list of one uuid costs
# SQLAlchemy a rewrite of the statement's text at each execution (decision 86).
_ONE_UUID: Final[Any] = sa.bindparam("uuid")
_DETAILS_OF_ONE: Final = {
    (tags, groups): _details_union(lambda stmt, column: stmt.where(column == _ONE_UUID),
                                   tags=tags, groups=groups,
                                   of_servers=lambda column: column == _ONE_UUID)
    for tags in (False, True) for groups in (False, True)}
_SERVICES_OF_HOSTS: Final = _HOST_SERVICES.where(
    ComputeService.host.in_(sa.bindparam("hosts", expanding=True)))

# Built once: every GET /servers/{id} (each status poll of a boot) reads it. The server
# and its host's compute service (at most one: host and binary are unique), in one
# statement rather than two.
_SHOW_LISTED: Final = (
    sa.select(*LISTED, *(getattr(ComputeService, name).label(f"service_{name}")
                         for name in HostService._fields))
    .outerjoin(ComputeService, (ComputeService.host == Instance.host)
               & (ComputeService.binary == COMPUTE_BINARY))
    .where(Instance.uuid == sa.bindparam("uuid"), Instance.deleted.is_(False)))
_LISTED_WIDTH: Final = len(ListedInstance._fields)


@dataclass(frozen=True)
class ShownServer:
    """A live server as ``GET /servers/{id}`` reads it: a listing's plain row, and the
    compute service of its host (``{host: service}``, empty when it has none), to be
    passed to :func:`page_details` in place of reading it again."""

    row: ListedInstance
    services: dict[str, HostService]


async def find_listed(svc: ComputeState, db: Runner, ctx: RequestContext,
                      server_id: str, rule: str) -> ShownServer:
    """:func:`~ownstack.compute.objects.instances.find_server` (a live server) as a
    listing's plain row with its host's service, in one Core statement: the entity and
    the service read apart cost about twice the CPU."""
    found = None
    if is_uuid(server_id):
        found = (await run(db, _SHOW_LISTED, {"uuid": server_id})).first()
    row = permitted(svc, ctx, server_id, None if found is None
                    else ListedInstance._make(found[:_LISTED_WIDTH]), rule)
    service = None if found is None or found.service_host is None \
        else HostService._make(found[_LISTED_WIDTH:])
    return ShownServer(row, {} if service is None else {service.host: service})

def _paged(stmt: Any, keys: Sequence[tuple[str, str]], marker_row: Any,
           limit: int | None) -> Any:
    """Keyset paging as :func:`ownstack.common.api.pagination.paginate` does it, which
    cannot be used as is: it appends an ``id`` key, and the instance key is ``uuid``."""
    table = cast(sa.Table, Instance.__table__)
    columns = [(table.c[key], direction) for key, direction in keys]
    stmt = stmt.order_by(*(clause for column, direction in columns
                           for clause in pagination._order_by(column, direction)))
    if marker_row is not None:
        stmt = stmt.where(pagination._after_marker(
            columns, [getattr(marker_row, key) for key, _ in keys]))
    return stmt.limit(limit) if limit is not None else stmt


# --- update and delete -----------------------------------------------------------------

async def update_instance_fields(db: AsyncSession, instance: Instance, values: dict[str, Any]
                                 ) -> None:
    """Rename and friends: a compare-and-swap on the generation the caller read."""
    if not values:
        return
    result = await db.execute(
        sa.update(Instance)
        .where(Instance.uuid == instance.uuid, Instance.generation == instance.generation,
               Instance.deleted.is_(False))
        .values(generation=Instance.generation + 1, updated_at=utcnow(), **values)
        .execution_options(synchronize_session=False))
    if rows_matched(result) != 1:
        raise ConcurrentUpdate()
    await db.refresh(instance)


async def delete_locally(db: AsyncSession, ctx: RequestContext, instance: Instance) -> None:
    """Mark a server deleted without its host: it never reached one, or the host is down.

    A compare-and-swap on the generation read: if the conductor placed the server
    meanwhile, the delete loses (409) and a retry goes through the host instead. The
    conductor's own CAS (``task_state=scheduling``) then never resurrects a server deleted
    here.
    """
    now = utcnow()
    result = await db.execute(
        sa.update(Instance)
        .where(Instance.uuid == instance.uuid, Instance.generation == instance.generation,
               Instance.deleted.is_(False))
        .values(deleted=True, vm_state=states.DELETED, task_state=None,
                deleted_at=now, terminated_at=now, updated_at=now,
                generation=Instance.generation + 1)
        .execution_options(synchronize_session=False))
    if rows_matched(result) != 1:
        raise ConcurrentUpdate()
    await db.execute(sa.delete(ServerGroupMember).where(
        ServerGroupMember.instance_uuid == instance.uuid))
    action = await actions.start_action(db, ctx, instance.uuid, actions.DELETE)
    action.finish_time = now


# Built once (a statement built per call costs more CPU than running it): every delete
# asks whether the server's host is up.
_HOST_SERVICE: Final = sa.select(ComputeService).where(
    ComputeService.host == sa.bindparam("host"), ComputeService.binary == COMPUTE_BINARY)


async def host_service(db: AsyncSession, host: str) -> ComputeService | None:
    return (await db.execute(_HOST_SERVICE, {"host": host})).scalar_one_or_none()


def parse_time(name: str, value: str) -> datetime:
    """An ISO 8601 time from a query; naive times are UTC. Anything else is a 400."""
    try:
        parsed = datetime.fromisoformat(value.replace(" ", "+"))
    except ValueError:
        raise BadRequest(f"Invalid filter value {value} for {name}: not an ISO 8601 "
                         "time.") from None
    return as_utc(parsed)


async def uuids_with_address(db: AsyncSession, project_id: str | None, ip: str | None,
                             ip6: str | None) -> list[str]:
    """The servers (of ``project_id``, or of all projects) with a fixed IPv4 address that
    ``ip`` matches or an IPv6 one ``ip6`` matches, as Nova's ``_ip_filter``."""
    patterns = {4: re.compile(ip) if ip is not None else None,
                6: re.compile(ip6) if ip6 is not None else None}
    stmt = sa.select(Instance.uuid, Instance.network_info).where(
        Instance.network_info.is_not(None))
    if project_id is not None:
        stmt = stmt.where(Instance.project_id == project_id)
    found = []
    for uuid, info in await db.execute(stmt):
        for vif in info or ():
            if any((pattern := patterns.get(int(fixed.get("version") or 0))) is not None
                   and pattern.match(str(fixed.get("address") or ""))
                   for fixed in vif.get("fixed_ips") or ()):
                found.append(uuid)
                break
    return found
