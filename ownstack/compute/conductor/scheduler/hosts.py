"""What the scheduler knows about a compute node: its database rows (service health, zone,
hypervisor) joined with what Placement said about it (capacity, usage, traits)."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from sqlalchemy import bindparam, select

from ownstack.common.db.core import Runner, run
from ownstack.compute import rpc
from ownstack.compute.objects.models import ComputeNode, ComputeService


@dataclass(slots=True)
class HostState:
    node_uuid: str                    # the node's Placement resource provider
    node: str                         # hypervisor_hostname
    host: str                         # the compute service's host
    availability_zone: str
    service_disabled: bool
    disabled_reason: str | None
    forced_down: bool
    last_seen_up: datetime | None
    hypervisor_type: str
    hypervisor_version: int
    vcpus: int
    memory_mb: int
    local_gb: int
    host_ip: str | None
    cpu_info: dict[str, Any]
    # From Placement's provider summary: class -> (capacity, used).
    resources: dict[str, tuple[int, int]] = field(default_factory=dict)
    traits: list[str] = field(default_factory=list)
    # The allocation request to claim on this host, from the candidate that named it.
    allocations: dict[str, dict[str, int]] = field(default_factory=dict)

    def free(self, resource_class: str) -> int:
        capacity, used = self.resources.get(resource_class, (0, 0))
        return capacity - used

    def capabilities(self) -> dict[str, Any]:
        """The attributes ``capabilities:<attr>`` extra specs are matched against."""
        return {
            "host": self.host, "hypervisor_hostname": self.node, "node": self.node,
            "hypervisor_type": self.hypervisor_type,
            "hypervisor_version": self.hypervisor_version, "vcpus": self.vcpus,
            "memory_mb": self.memory_mb, "local_gb": self.local_gb,
            "host_ip": self.host_ip, "availability_zone": self.availability_zone,
            "cpu_info": self.cpu_info,
            "free_ram_mb": self.free("MEMORY_MB") if self.resources else None,
            "free_disk_mb": self.free("DISK_GB") * 1024 if self.resources else None,
            "vcpus_used": self.resources.get("VCPU", (0, None))[1] if self.resources
            else None,
        }


async def load_hosts(db: Runner, node_uuids: Iterable[str]) -> dict[str, HostState]:
    """HostStates of the given nodes (by uuid) that have a compute service row."""
    wanted = set(node_uuids)
    if not wanted:
        return {}
    # Plain columns, not ORM entities, and no list of uuids when they are many: this runs
    # for every scheduling pass, over every candidate (most often every node there is).
    # Run on the Core connection: the session's ORM execution of them costs more than
    # the statements themselves.
    if len(wanted) > _FEW_NODES:
        rows = await run(db, _ALL_HOSTS)
    else:
        rows = await run(db, _SOME_HOSTS, {"uuids": sorted(wanted)})
    return {row.uuid: host_state(row, row) for row in rows if row.uuid in wanted}


_FEW_NODES: Final = 10
_NODE_COLUMNS = (ComputeNode.uuid, ComputeNode.hypervisor_hostname, ComputeNode.host,
                 ComputeNode.hypervisor_type, ComputeNode.hypervisor_version,
                 ComputeNode.vcpus, ComputeNode.memory_mb, ComputeNode.local_gb,
                 ComputeNode.host_ip, ComputeNode.cpu_info)
# The zone (a column property) labelled: Core names it by its expression, not its key.
_SERVICE_COLUMNS = (ComputeService.zone.label("zone"), ComputeService.disabled,
                    ComputeService.disabled_reason, ComputeService.forced_down,
                    ComputeService.last_seen_up)
_ALL_HOSTS: Final = (select(*_NODE_COLUMNS, *_SERVICE_COLUMNS)
                     .join(ComputeService, ComputeService.id == ComputeNode.service_id)
                     .where(ComputeService.binary == rpc.COMPUTE_BINARY))
_SOME_HOSTS: Final = _ALL_HOSTS.where(ComputeNode.uuid.in_(bindparam("uuids", expanding=True)))


def host_state(node: Any, service: Any) -> HostState:
    """A HostState from a node and its service: ORM rows, or one row of both's columns."""
    return HostState(
        node_uuid=node.uuid, node=node.hypervisor_hostname, host=node.host,
        availability_zone=service.zone, service_disabled=service.disabled,
        disabled_reason=service.disabled_reason, forced_down=service.forced_down,
        last_seen_up=service.last_seen_up, hypervisor_type=node.hypervisor_type,
        hypervisor_version=node.hypervisor_version, vcpus=node.vcpus,
        memory_mb=node.memory_mb, local_gb=node.local_gb, host_ip=node.host_ip,
        cpu_info=_cpu_info(node.cpu_info))


def apply_summary(host: HostState, summary: Mapping[str, Any]) -> None:
    """Fill in Placement's view of the node from an ``allocation_candidates`` summary."""
    host.resources = {rc: (int(v.get("capacity", 0)), int(v.get("used", 0)))
                      for rc, v in (summary.get("resources") or {}).items()}
    host.traits = list(summary.get("traits") or [])


def _cpu_info(text: str) -> dict[str, Any]:
    return _parsed_cpu_info(text or "{}")


@functools.lru_cache(maxsize=256)
def _parsed_cpu_info(text: str) -> dict[str, Any]:
    """Nodes of one kind report the same text: parse it once. HostStates share the
    result, which the filters only read."""
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
