"""``GET /limits``: the caller's project's absolute limits and usage (Nova's shape).

``rate`` is always empty, as in Nova since rate limiting left it. Admins may ask about
another project with ``?tenant_id=`` (policy ``limits:other_project``).
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from ownstack.common.api.app import json_response
from ownstack.compute.api.common import at_least, version_of
from ownstack.compute.objects import quotas
from ownstack.compute.state import Req


async def show_limits(req: Req) -> Response:
    project_id = req.ctx.project_id or ""
    if "tenant_id" in req.query:
        project_id = req.query["tenant_id"]
        req.svc.enforce(req.ctx, "os_compute_api:limits:other_project",
                        {"project_id": project_id})
    async with req.svc.read() as db:
        limits = await quotas.limits(db, req.svc.config.compute.quota, project_id)
        used = await quotas.usage(db, project_id, key_pairs_of=req.ctx.user_id)
    return json_response({"limits": {"rate": [],
                                     "absolute": _absolute(req, limits, used)}})


def _absolute(req: Req, limits: dict[str, int], used: dict[str, int]) -> dict[str, Any]:
    version = version_of(req)
    absolute: dict[str, Any] = {
        "maxTotalInstances": limits["instances"], "maxTotalCores": limits["cores"],
        "maxTotalRAMSize": limits["ram"], "maxServerMeta": limits["metadata_items"],
        "maxTotalKeypairs": limits["key_pairs"], "maxServerGroups": limits["server_groups"],
        "maxServerGroupMembers": limits["server_group_members"],
        "totalInstancesUsed": used["instances"], "totalCoresUsed": used["cores"],
        "totalRAMUsed": used["ram"], "totalServerGroupsUsed": used["server_groups"],
    }
    if not at_least(version, "2.57"):
        absolute["maxPersonality"] = limits["injected_files"]
        absolute["maxPersonalitySize"] = limits["injected_file_content_bytes"]
    if not at_least(version, "2.39"):
        absolute["maxImageMeta"] = limits["metadata_items"]
    if not at_least(version, "2.36"):
        network = quotas.NETWORK_DEFAULTS
        absolute.update({"maxSecurityGroups": network["security_groups"],
                         "maxSecurityGroupRules": network["security_group_rules"],
                         "maxTotalFloatingIps": network["floating_ips"],
                         "totalFloatingIpsUsed": 0, "totalSecurityGroupsUsed": 0})
    return absolute
