"""Compute services, their nodes and the availability zones they make up.

The conductor writes these rows when agents report (``rpc.report_node``), and its own
``nova-conductor`` and ``nova-scheduler`` rows (``conductor.services``); the operator
APIs (``os-services``, ``os-hypervisors``, ``os-availability-zone``, ``os-hosts``) read
them and change the few things an operator may: a service's ``disabled`` flag and reason,
``forced_down``, and deleting a service that no longer hosts anything.

Liveness is derived, never stored: a service is *up* while its last heartbeat is younger
than ``compute.service_down_time`` and no operator forced it down, the rule of Nova's
``servicegroup`` DB driver. The scheduler's ComputeFilter applies the same rule, so what
``openstack compute service list`` shows is what scheduling sees.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final, Protocol

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from ownstack.common.db.base import utcnow
from ownstack.common.errors import BadRequest
from ownstack.common.times import as_utc
from ownstack.common.uuids import is_uuid
from ownstack.compute.errors import (
    ComputeHostNotFound,
    HostNotFound,
    HypervisorNotFound,
    ServiceHostsInstances,
    ServiceNotFound,
)
from ownstack.compute.objects.models import ComputeNode, ComputeService, Instance
from ownstack.compute.objects.usage import sizes_of
from ownstack.compute.rpc import COMPUTE_BINARY

if TYPE_CHECKING:
    from ownstack.common.clients.placement import PlacementClient

# Nova's [DEFAULT]internal_service_availability_zone: the zone of every non-compute service.
INTERNAL_ZONE: Final = "internal"


def heard_from(last_seen: datetime | None, down_time: float, now: datetime | None = None
               ) -> bool:
    """Whether a heartbeat at ``last_seen`` is recent enough for its service to be up."""
    if last_seen is None:
        return False
    return (now or utcnow()) - as_utc(last_seen) <= timedelta(seconds=down_time)


class Heartbeats(Protocol):
    """What a service row says of its agent's heartbeats."""

    @property
    def forced_down(self) -> bool: ...

    @property
    def last_seen_up(self) -> datetime | None: ...


def agent_is_up(service: Heartbeats, down_time: float, now: datetime | None = None) -> bool:
    """Nova's database servicegroup driver on the heartbeat alone: not forced down, and an
    agent report within ``down_time`` (a service that never reported is not up)."""
    return not service.forced_down and heard_from(service.last_seen_up, down_time, now)


def is_up(service: ComputeService, down_time: float, now: datetime | None = None) -> bool:
    """Nova's ``service_is_up``: not forced down and heard from within ``down_time``."""
    if service.forced_down:
        return False
    return heard_from(service.last_seen_up or service.updated_at or service.created_at,
                      down_time, now)


def zone_of(service: ComputeService) -> str:
    """A compute service's zone (its aggregates', else the one its agent reports); every
    other service lives in the internal zone."""
    return service.zone if service.binary == COMPUTE_BINARY else INTERNAL_ZONE


def heartbeat(service: ComputeService) -> datetime | None:
    """What Nova shows as a service's ``updated_at``: its latest heartbeat."""
    return service.last_seen_up or service.updated_at


# --- services ------------------------------------------------------------------------------

async def list_services(db: AsyncSession, *, host: str | None = None,
                        binary: str | None = None) -> list[ComputeService]:
    stmt = sa.select(ComputeService).order_by(ComputeService.id)
    if host is not None:
        stmt = stmt.where(ComputeService.host == host)
    if binary is not None:
        stmt = stmt.where(ComputeService.binary == binary)
    return list((await db.execute(stmt)).scalars())


def _named(model: type[ComputeService] | type[ComputeNode], ident: str, by_uuid: bool, *,
           not_integer: Exception) -> sa.ColumnElement[bool]:
    """The row ``ident`` names: a uuid from microversion 2.53 (a malformed one is a 400),
    an integer id before it (raising ``not_integer`` when it is not one)."""
    if by_uuid:
        if not is_uuid(ident):
            raise BadRequest(f"Invalid uuid {ident}")
        return model.uuid == ident
    if not ident.isdigit():
        raise not_integer
    return model.id == int(ident)


async def get_service(db: AsyncSession, service_id: str, *, by_uuid: bool) -> ComputeService:
    """The service named by uuid (2.53+) or by integer id (before). A malformed id is a 400,
    as in Nova; an unknown one a 404."""
    condition = _named(ComputeService, service_id, by_uuid, not_integer=BadRequest(
        f"Invalid ID {service_id}: a service id is an integer before microversion 2.53."))
    found = (await db.execute(sa.select(ComputeService).where(condition))).scalar_one_or_none()
    if found is None:
        raise ServiceNotFound(service_id)
    return found


async def get_service_by_host_binary(db: AsyncSession, host: str, binary: str
                                     ) -> ComputeService:
    found = (await db.execute(sa.select(ComputeService).where(
        ComputeService.host == host, ComputeService.binary == binary))).scalar_one_or_none()
    if found is None:
        raise ServiceNotFound(f"with binary {binary} on host {host}")
    return found


@dataclass(frozen=True)
class ServiceChange:
    """What an operator asks of a service; ``None`` leaves a field alone."""

    disabled: bool | None = None
    disabled_reason: str | None = None
    forced_down: bool | None = None


async def apply_service_change(db: AsyncSession, service: ComputeService,
                               change: ServiceChange) -> None:
    """Enabling clears the reason, as Nova does; disabling records the one given. The
    written row's zone is read again (a flush expires it), for the answer."""
    if change.disabled is not None:
        service.disabled = change.disabled
        service.disabled_reason = change.disabled_reason if change.disabled else None
    if change.forced_down is not None:
        service.forced_down = change.forced_down
    service.updated_at = utcnow()
    await db.flush()
    await db.refresh(service, ["zone"])


async def delete_service(db: AsyncSession, service: ComputeService) -> list[str]:
    """Delete a service and its nodes, refusing while its host still has servers.

    Returns the uuids of the deleted nodes, whose Placement providers the caller removes
    once the transaction committed (a failed delete must not orphan a live node's
    inventory)."""
    if service.binary == COMPUTE_BINARY:
        hosting = (await db.execute(sa.select(sa.exists().where(
            Instance.host == service.host, Instance.deleted.is_(False))))).scalar_one()
        if hosting:
            raise ServiceHostsInstances()
    nodes = list((await db.execute(sa.select(ComputeNode.uuid).where(
        ComputeNode.service_id == service.id))).scalars())
    # Explicit deletes: SQLite enforces no foreign keys unless told to.
    await db.execute(sa.delete(ComputeNode).where(ComputeNode.service_id == service.id))
    await db.delete(service)
    return nodes


async def delete_providers(placement: PlacementClient, node_uuids: Sequence[str]) -> None:
    for node_uuid in node_uuids:
        await placement.delete_provider(node_uuid)


# --- hosts (os-hosts) -----------------------------------------------------------------------

def listed_hosts(services: Sequence[ComputeService], zone: str | None
                 ) -> list[ComputeService]:
    """Nova's ``os-hosts`` list: the enabled services, of ``zone`` when one is named (an
    empty name is none)."""
    return [s for s in services if not s.disabled and (not zone or zone_of(s) == zone)]


async def compute_service_on(db: AsyncSession, host: str) -> ComputeService:
    """The compute service of ``host``. A host without one is unknown to Nova's host APIs
    (only compute hosts are mapped to a cell): :class:`HostNotFound`."""
    found = (await db.execute(sa.select(ComputeService).where(
        ComputeService.host == host, ComputeService.binary == COMPUTE_BINARY))
    ).scalar_one_or_none()
    if found is None:
        raise HostNotFound(host)
    return found


async def first_node_on(db: AsyncSession, host: str) -> ComputeNode:
    """The host's oldest node, the one Nova's ``get_first_node_by_host_for_old_compat``
    picks; :class:`ComputeHostNotFound` while it has none."""
    found = (await db.execute(sa.select(ComputeNode).where(ComputeNode.host == host)
                              .order_by(ComputeNode.id).limit(1))).scalar_one_or_none()
    if found is None:
        raise ComputeHostNotFound(host)
    return found


async def instances_on_host(db: AsyncSession, host: str) -> list[Instance]:
    """The non-deleted instances on ``host``, on any of its nodes, oldest first."""
    rows = await db.execute(sa.select(Instance).where(
        Instance.host == host, Instance.deleted.is_(False))
        .order_by(Instance.created_at, Instance.uuid))
    return list(rows.scalars())


@dataclass(frozen=True)
class HostResource:
    """One row of Nova's host resources: a ``project`` (or ``(total)``, ``(used_now)``,
    ``(used_max)``) and its amounts."""

    project: str
    cpu: int
    memory_mb: int
    disk_gb: int


def host_resources(node: ComputeNode, used: NodeUsage, instances: Sequence[Instance]
                   ) -> list[HostResource]:
    """Nova's rows, in its order: the node's totals, what it has given out now (Placement's
    count, as ``os-hypervisors`` shows it), the flavors of every server on the host
    (``(used_max)``), then each project's share of them, in the order of its first
    server."""
    per_project: dict[str, list[int]] = {}
    for instance in instances:
        sizes = sizes_of(instance)
        sums = per_project.setdefault(instance.project_id, [0, 0, 0])
        sums[0] += sizes.vcpus
        sums[1] += sizes.memory_mb
        sums[2] += sizes.local_gb
    rows = [HostResource("(total)", node.vcpus, node.memory_mb, node.local_gb),
            HostResource("(used_now)", used.vcpus_used, used.memory_mb_used,
                         used.local_gb_used),
            HostResource("(used_max)", *(sum(s[i] for s in per_project.values())
                                         for i in range(3)))]
    return rows + [HostResource(project, *sums) for project, sums in per_project.items()]


# --- nodes -----------------------------------------------------------------------------------

@dataclass
class NodeRecord:
    """A node with the service that runs it (a node outlives nothing: deleting the service
    deletes its nodes)."""

    node: ComputeNode
    service: ComputeService


async def list_nodes(db: AsyncSession, *, limit: int | None = None,
                     marker: str | None = None, by_uuid: bool = False,
                     pattern: str | None = None) -> list[NodeRecord]:
    """Nodes ordered by id. ``marker`` is a node uuid (2.53+) or integer id; an unknown
    marker is a 400. ``pattern`` matches part of the hypervisor hostname, as Nova's
    search does."""
    stmt = (sa.select(ComputeNode, ComputeService)
            .join(ComputeService, ComputeService.id == ComputeNode.service_id)
            .order_by(ComputeNode.id))
    if pattern is not None:
        escaped = pattern.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        stmt = stmt.where(ComputeNode.hypervisor_hostname.like(f"%{escaped}%", escape="\\"))
    if marker is not None:
        stmt = stmt.where(ComputeNode.id > await _marker_id(db, marker, by_uuid=by_uuid))
    if limit is not None:
        stmt = stmt.limit(limit)
    return [NodeRecord(node, service) for node, service in (await db.execute(stmt)).all()]


async def _marker_id(db: AsyncSession, marker: str, *, by_uuid: bool) -> int:
    condition: Any = (ComputeNode.uuid == marker if by_uuid
                      else ComputeNode.id == (int(marker) if marker.isdigit() else -1))
    found = (await db.execute(sa.select(ComputeNode.id).where(condition))).scalar_one_or_none()
    if found is None:
        raise BadRequest(f"marker [{marker}] not found")
    return int(found)


async def get_node(db: AsyncSession, hypervisor_id: str, *, by_uuid: bool) -> NodeRecord:
    """A node by uuid (2.53+: a malformed uuid is a 400) or by integer id (a non-integer is
    a 404, as in Nova)."""
    condition = _named(ComputeNode, hypervisor_id, by_uuid,
                       not_integer=HypervisorNotFound(hypervisor_id))
    row = (await db.execute(
        sa.select(ComputeNode, ComputeService)
        .join(ComputeService, ComputeService.id == ComputeNode.service_id)
        .where(condition))).first()
    if row is None:
        raise HypervisorNotFound(hypervisor_id)
    return NodeRecord(row[0], row[1])


async def instances_on_nodes(db: AsyncSession, nodes: Sequence[str]
                             ) -> dict[str, list[Instance]]:
    """The non-deleted instances placed on each node (by hypervisor hostname)."""
    result: dict[str, list[Instance]] = {node: [] for node in nodes}
    if nodes:
        rows = await db.execute(sa.select(Instance).where(
            Instance.node.in_(list(nodes)), Instance.deleted.is_(False))
            .order_by(Instance.created_at, Instance.uuid))
        for instance in rows.scalars():
            if instance.node is not None:
                result[instance.node].append(instance)
    return result


@dataclass(frozen=True)
class NodeUsage:
    """A node's used amounts as Nova's resource tracker reports them: what Placement has
    allocated on its provider, plus the host's reserved memory and disk."""

    vcpus_used: int = 0
    memory_mb_used: int = 0
    local_gb_used: int = 0


async def node_usage(placement: PlacementClient, node_uuid: str) -> NodeUsage:
    """Placement is the truth about what a node has given out. A node whose provider does
    not exist (yet, or any more) has given out nothing."""
    usages = await placement.provider_usages(node_uuid)
    if usages is None:
        return NodeUsage()
    inventories = await placement.inventories(node_uuid) or {}
    reserved_mb = int(inventories.get("MEMORY_MB", {}).get("reserved", 0))
    reserved_gb = int(inventories.get("DISK_GB", {}).get("reserved", 0))
    return NodeUsage(vcpus_used=int(usages.get("VCPU", 0)),
                     memory_mb_used=int(usages.get("MEMORY_MB", 0)) + reserved_mb,
                     local_gb_used=int(usages.get("DISK_GB", 0)) + reserved_gb)


# --- zones -----------------------------------------------------------------------------------

@dataclass
class Zone:
    name: str
    available: bool
    # host -> the services on it, for the detailed view (enabled services only, as Nova).
    hosts: dict[str, list[ComputeService]]


def zones(services: Sequence[ComputeService]) -> list[Zone]:
    """Nova's zone list: a zone with an enabled service is available; a zone whose services
    are all disabled is listed as unavailable. Sorted by name, available first."""
    enabled: dict[str, dict[str, list[ComputeService]]] = {}
    disabled: set[str] = set()
    for service in services:
        zone = zone_of(service)
        if service.disabled:
            disabled.add(zone)
        else:
            enabled.setdefault(zone, {}).setdefault(service.host, []).append(service)
    result = [Zone(name, True, hosts) for name, hosts in sorted(enabled.items())]
    result += [Zone(name, False, {}) for name in sorted(disabled - enabled.keys())]
    return result
