"""Usage report bodies (``os-simple-tenant-usage``)."""

from __future__ import annotations

from typing import Any

from ownstack.compute.api.views.times import nova_time
from ownstack.compute.objects.usage import ProjectUsage, ServerUsage


def project_usage(usage: ProjectUsage, *, detailed: bool) -> dict[str, Any]:
    """A project's totals over the window; each server's usage too when ``detailed``."""
    servers = usage.servers
    result: dict[str, Any] = {
        "tenant_id": usage.tenant_id,
        "total_local_gb_usage": sum(s.local_gb * s.hours for s in servers),
        "total_vcpus_usage": sum(s.vcpus * s.hours for s in servers),
        "total_memory_mb_usage": sum(s.memory_mb * s.hours for s in servers),
        "total_hours": sum(s.hours for s in servers),
        "start": nova_time(usage.start), "stop": nova_time(usage.stop)}
    if detailed:
        result["server_usages"] = [server_usage(s) for s in servers]
    return result


def server_usage(usage: ServerUsage) -> dict[str, Any]:
    instance = usage.instance
    return {
        "instance_id": instance.uuid, "name": instance.display_name,
        "tenant_id": instance.project_id, "hours": usage.hours,
        "memory_mb": usage.memory_mb, "local_gb": usage.local_gb, "vcpus": usage.vcpus,
        "flavor": usage.flavor, "started_at": nova_time(usage.started_at),
        "ended_at": nova_time(usage.ended_at), "state": usage.state,
        "uptime": usage.uptime,
    }
