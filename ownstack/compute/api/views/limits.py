"""The body of ``GET /limits``: absolute limits and usage in Nova's names."""

from __future__ import annotations

from typing import Any

from ownstack.common.api.microversion import Version, at_least
from ownstack.compute.objects import quotas


def limits(version: Version, limits: dict[str, int], used: dict[str, int]) -> dict[str, Any]:
    """``rate`` is always empty, as in Nova since rate limiting left it. 2.36 drops the
    network limits, 2.39 ``maxImageMeta``, 2.57 the personality limits."""
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
        # Nova's fixed defaults, or the default quota class's.
        network = {**quotas.NETWORK_DEFAULTS, **limits}
        absolute.update({"maxSecurityGroups": network["security_groups"],
                         "maxSecurityGroupRules": network["security_group_rules"],
                         "maxTotalFloatingIps": network["floating_ips"],
                         "totalFloatingIpsUsed": 0, "totalSecurityGroupsUsed": 0})
    return {"limits": {"rate": [], "absolute": absolute}}
