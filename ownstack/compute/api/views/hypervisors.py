"""Hypervisor bodies (``os-hypervisors``), field for field per microversion."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Final

from ownstack.common.api.microversion import Version, at_least
from ownstack.compute.objects import hosts
from ownstack.compute.objects.models import Instance

# What a node's statistics hold, and what /os-hypervisors/statistics sums (before 2.88).
STAT_FIELDS: Final = ("vcpus", "memory_mb", "local_gb", "vcpus_used", "memory_mb_used",
                      "local_gb_used", "free_ram_mb", "free_disk_gb", "current_workload",
                      "running_vms", "disk_available_least")


def stats(record: hosts.NodeRecord, used: hosts.NodeUsage, placed: Sequence[Instance]
          ) -> dict[str, int]:
    """A node's capacity and what it has given out, as Nova's resource tracker counts."""
    node = record.node
    free_disk = node.local_gb - used.local_gb_used
    return {"vcpus": node.vcpus, "memory_mb": node.memory_mb, "local_gb": node.local_gb,
            "vcpus_used": used.vcpus_used, "memory_mb_used": used.memory_mb_used,
            "local_gb_used": used.local_gb_used,
            "free_ram_mb": node.memory_mb - used.memory_mb_used, "free_disk_gb": free_disk,
            "current_workload": sum(1 for i in placed if i.task_state is not None),
            "running_vms": len(placed), "disk_available_least": free_disk}


def hypervisor(version: Version, record: hosts.NodeRecord, placed: Sequence[Instance], *,
               up: bool, stats: dict[str, int] | None, detail: bool, with_servers: bool,
               uptime: str | None = None) -> dict[str, Any]:
    """``stats`` are shown in the detail view before 2.88; from 2.88 ``uptime`` instead
    (the host's ``uptime`` output on show, null in lists and when the host is down)."""
    node, service = record.node, record.service
    by_uuid = at_least(version, "2.53")
    view: dict[str, Any] = {
        "id": node.uuid if by_uuid else node.id, "hypervisor_hostname": node.hypervisor_hostname,
        "state": "up" if up else "down",
        "status": "disabled" if service.disabled else "enabled"}
    if detail:
        view.update({"hypervisor_type": node.hypervisor_type,
                     "hypervisor_version": node.hypervisor_version, "host_ip": node.host_ip,
                     "service": {"id": service.uuid if by_uuid else service.id,
                                 "host": node.host,
                                 "disabled_reason": service.disabled_reason}})
        if at_least(version, "2.88"):
            view["uptime"] = uptime
        else:
            view.update(stats or {})
            view["cpu_info"] = _cpu_info(node.cpu_info) if at_least(version, "2.28") \
                else node.cpu_info
    if with_servers and (placed or at_least(version, "2.75")):
        view["servers"] = [{"name": i.display_name, "uuid": i.uuid} for i in placed]
    return view


def _cpu_info(text: str) -> dict[str, Any]:
    """From 2.28 an object; a node that reported none, or garbage, shows ``{}``."""
    try:
        parsed = json.loads(text) if text else {}
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}
