"""``report_node``: an agent's heartbeat and the truth about its node.

One report upserts the compute service (the heartbeat ``os-services`` shows) and the compute
node (``os-hypervisors``) in one write, then makes the node's Placement provider say what
the node has: inventory with the configured ratios and reserved amounts, and its traits
(plus ``COMPUTE_STATUS_DISABLED`` while the service is disabled, as Nova does, so
Placement stops offering it). What was last written to Placement is remembered per node,
so a steady heartbeat costs one database write and no Placement request.
"""

from __future__ import annotations

import math
import uuid as uuid_module
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, cast

from sqlalchemy import Row, Table, bindparam, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ownstack.common.config import ComputeConfig
from ownstack.common.db.base import utcnow
from ownstack.compute import rpc
from ownstack.compute.conductor.env import ConductorEnv
from ownstack.compute.objects.models import ComputeNode, ComputeService

DISABLED_TRAIT: Final = "COMPUTE_STATUS_DISABLED"
# Node uuids derive from the node name, so a node that re-registers after its rows were
# removed keeps its Placement provider.
NODE_NAMESPACE: Final = uuid_module.UUID("5f0c1a52-4a4b-4a0e-9a3c-0e5b2f1d7c11")


class InvalidReport(ValueError):
    """A report lacks a field the contract requires (an agent bug, shown to that agent)."""


@dataclass(frozen=True)
class NodeReport:
    host: str
    node: str
    availability_zone: str
    host_ip: str | None
    vcpus: int
    memory_mb: int
    disk_gb: int
    hypervisor_type: str
    hypervisor_version: int
    traits: frozenset[str]

    @classmethod
    def parse(cls, payload: Mapping[str, Any]) -> NodeReport:
        try:
            resources = payload["resources"]
            return cls(host=str(payload["host"]), node=str(payload["node"]),
                       availability_zone=str(payload.get("availability_zone") or "nova"),
                       host_ip=payload.get("host_ip"), vcpus=int(resources["vcpus"]),
                       memory_mb=int(resources["memory_mb"]),
                       disk_gb=int(resources["disk_gb"]),
                       hypervisor_type=str(resources["hypervisor_type"]),
                       hypervisor_version=int(resources.get("hypervisor_version") or 0),
                       traits=frozenset(resources.get("traits") or ()))
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidReport(f"report_node payload is incomplete: {exc!r}") from None


def inventory(report: NodeReport, config: ComputeConfig) -> dict[str, dict[str, Any]]:
    """The node's Placement inventory. Reserved amounts never exceed the total (Placement
    refuses that), and a class the node has none of is left out."""
    wanted = {
        "VCPU": (report.vcpus, config.reserved_host_cpus, config.cpu_allocation_ratio),
        "MEMORY_MB": (report.memory_mb, config.reserved_host_memory_mb,
                      config.ram_allocation_ratio),
        "DISK_GB": (report.disk_gb, math.ceil(config.reserved_host_disk_mb / 1024),
                    config.disk_allocation_ratio),
    }
    return {rc: {"total": total, "reserved": min(reserved, total),
                 "allocation_ratio": ratio, "min_unit": 1, "max_unit": total,
                 "step_size": 1}
            for rc, (total, reserved, ratio) in wanted.items() if total > 0}


_SERVICES = cast(Table, ComputeService.__table__)
_NODES = cast(Table, ComputeNode.__table__)
# The service of a report's host and the node it names, as last written.
_KNOWN: Final = (
    select(_SERVICES.c.id.label("service_id"), _SERVICES.c.disabled,
           _NODES.c.uuid.label("node_uuid"), _NODES.c.service_id.label("node_service_id"),
           _NODES.c.host, _NODES.c.hypervisor_type, _NODES.c.hypervisor_version,
           _NODES.c.vcpus, _NODES.c.memory_mb, _NODES.c.local_gb, _NODES.c.host_ip)
    .select_from(_SERVICES)
    .join(_NODES, _NODES.c.hypervisor_hostname == bindparam("b_node"))
    .where(_SERVICES.c.host == bindparam("b_host"),
           _SERVICES.c.binary == rpc.COMPUTE_BINARY))
_HEARTBEAT: Final = (
    update(_SERVICES).where(_SERVICES.c.id == bindparam("b_id"))
    .values(topic=bindparam("b_topic"), availability_zone=bindparam("b_zone"),
            last_seen_up=bindparam("b_now", type_=_SERVICES.c.last_seen_up.type),
            updated_at=bindparam("b_now", type_=_SERVICES.c.updated_at.type),
            report_count=func.coalesce(_SERVICES.c.report_count, 0) + 1))


def _unchanged(known: Row[*tuple[Any, ...]], report: NodeReport) -> bool:
    """Whether the node row already says what ``report`` says, under this service."""
    return bool(known.node_service_id == known.service_id and known.host == report.host
            and known.hypervisor_type == report.hypervisor_type
            and known.hypervisor_version == report.hypervisor_version
            and known.vcpus == report.vcpus and known.memory_mb == report.memory_mb
            and known.local_gb == report.disk_gb and known.host_ip == report.host_ip)


class NodeReporter:
    def __init__(self, env: ConductorEnv) -> None:
        self.env = env
        # node -> what Placement was last told (provider uuid, inventory, traits).
        self._written: dict[str, tuple[str, dict[str, dict[str, Any]], frozenset[str]]] = {}

    async def report(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        report = NodeReport.parse(payload)
        try:
            node_uuid, disabled, created = await self._upsert(report)
        except IntegrityError:
            # Another conductor registered the same host or node at the same moment.
            node_uuid, disabled, created = await self._upsert(report)
        if created:
            self._written.pop(report.node, None)
        await self._sync_placement(report, node_uuid, disabled)
        return {"node_uuid": node_uuid, "service_disabled": disabled}

    async def _upsert(self, report: NodeReport) -> tuple[str, bool, bool]:
        async with self.env.db.write() as db:
            known = (await db.execute(_KNOWN, {"b_host": report.host,
                                               "b_node": report.node})).first()
            if known is not None and _unchanged(known, report):
                # A steady heartbeat: one read and one write, no ORM unit of work.
                now = utcnow()
                await db.execute(_HEARTBEAT, {
                    "b_id": known.service_id, "b_topic": rpc.compute_topic(report.host),
                    "b_zone": report.availability_zone, "b_now": now})
                return known.node_uuid, known.disabled, False
            service = await self._upsert_service(db, report)
            node, created = await self._upsert_node(db, report, service)
            return node.uuid, service.disabled, created

    async def _upsert_service(self, db: AsyncSession, report: NodeReport) -> ComputeService:
        now = utcnow()
        service = (await db.execute(select(ComputeService).where(
            ComputeService.host == report.host,
            ComputeService.binary == rpc.COMPUTE_BINARY))).scalar_one_or_none()
        if service is None:
            service = ComputeService(uuid=str(uuid_module.uuid4()), host=report.host,
                                     binary=rpc.COMPUTE_BINARY, report_count=0,
                                     disabled=False, forced_down=False)
            db.add(service)
        service.topic = rpc.compute_topic(report.host)
        service.availability_zone = report.availability_zone
        service.last_seen_up = now
        service.report_count = (service.report_count or 0) + 1
        service.updated_at = now
        await db.flush()
        return service

    async def _upsert_node(self, db: AsyncSession, report: NodeReport,
                           service: ComputeService) -> tuple[ComputeNode, bool]:
        node = (await db.execute(select(ComputeNode).where(
            ComputeNode.hypervisor_hostname == report.node))).scalar_one_or_none()
        created = node is None
        if node is None:
            node = ComputeNode(uuid=str(uuid_module.uuid5(NODE_NAMESPACE, report.node)),
                               hypervisor_hostname=report.node)
            db.add(node)
        fields = {"service_id": service.id, "host": report.host,
                  "hypervisor_type": report.hypervisor_type,
                  "hypervisor_version": report.hypervisor_version, "vcpus": report.vcpus,
                  "memory_mb": report.memory_mb, "local_gb": report.disk_gb,
                  "host_ip": report.host_ip}
        changed = [name for name, value in fields.items() if getattr(node, name) != value]
        for name in changed:
            setattr(node, name, fields[name])
        if changed and not created:
            node.updated_at = utcnow()
        await db.flush()
        return node, created

    async def _sync_placement(self, report: NodeReport, node_uuid: str,
                              disabled: bool) -> None:
        wanted_inventory = inventory(report, self.env.config.compute)
        wanted_traits = report.traits | ({DISABLED_TRAIT} if disabled else frozenset())
        wanted = (node_uuid, wanted_inventory, wanted_traits)
        if self._written.get(report.node) == wanted:
            return
        placement = self.env.placement
        await placement.ensure_provider(node_uuid, report.node)
        await placement.set_inventories(node_uuid, wanted_inventory)
        await placement.ensure_custom_traits(wanted_traits)
        await placement.set_traits(node_uuid, wanted_traits)
        self._written[report.node] = wanted
