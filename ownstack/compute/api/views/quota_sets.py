"""Quota set bodies: the resources a version names, in Nova's order."""

from __future__ import annotations

from typing import Any

from ownstack.common.api.microversion import Version
from ownstack.compute.api.schemas.quota_sets import class_resources, resources
from ownstack.compute.objects import quotas


def quota_set(version: Version, limits: dict[str, int]) -> dict[str, int]:
    """The limits of the resources ``version`` names; the network ones of old versions
    are Nova's fixed defaults (or the default quota class's)."""
    every = {**quotas.NETWORK_DEFAULTS, **limits}
    return {name: every[name] for name in resources(version)}


def quota_class_set(version: Version, limits: dict[str, int]) -> dict[str, int]:
    """A quota class's limits, as Nova shows them: before 2.50 with the network
    resources and without the server group ones, from 2.57 without injected files."""
    return {name: limits[name] for name in class_resources(version)}


def quota_set_detail(version: Version, limits: dict[str, int], used: dict[str, int]
                     ) -> dict[str, Any]:
    """Each resource's limit, what is in use and what is reserved (always 0)."""
    return {name: {"in_use": used.get(name, 0), "limit": limit, "reserved": 0}
            for name, limit in quota_set(version, limits).items()}
