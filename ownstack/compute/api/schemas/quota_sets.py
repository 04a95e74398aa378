"""Quota set and quota class set updates, after Nova's ``schemas/quota_sets.py`` and
``schemas/quota_classes.py``."""

from __future__ import annotations

from typing import Any, Final

from ownstack.common.api.microversion import Version, at_least
from ownstack.common.api.schema import FLEXIBLE_BOOLEAN, ByVersion
from ownstack.compute.api.schemas.parameter_types import BASE_VERSION, MAX_INT
from ownstack.compute.objects import quotas

# -1 is unlimited.
_LIMIT: Final = {"type": ["integer", "string"], "pattern": "^-?[0-9]+$", "minimum": -1,
                 "maximum": MAX_INT}


def resources(version: Version) -> list[str]:
    """The resources a quota set names at ``version``, in Nova's order: 2.36 drops the
    network ones, 2.57 the injected files."""
    names = [r for r in quotas.RESOURCES
             if not at_least(version, "2.57") or r not in quotas.INJECTED]
    if not at_least(version, "2.36"):
        names += list(quotas.NETWORK_DEFAULTS)
    return names


def _update(version: Version) -> dict[str, Any]:
    properties: dict[str, Any] = {name: _LIMIT for name in resources(version)}
    properties["force"] = FLEXIBLE_BOOLEAN
    return {"type": "object", "required": ["quota_set"], "additionalProperties": False,
            "properties": {"quota_set": {"type": "object", "properties": properties,
                                         "additionalProperties": False}}}


UPDATE: Final = ByVersion(_update, "2.36", "2.57", base=BASE_VERSION)


# Nova's quota class schema names these too (before 2.50) and never shows them.
_SERVER_GROUPS: Final = ("server_groups", "server_group_members")


def class_resources(version: Version) -> list[str]:
    """The resources a quota class set shows at ``version``, in Nova's order: before 2.50
    the network ones and not the server group ones; from 2.57 no injected files."""
    names = [r for r in quotas.RESOURCES
             if not at_least(version, "2.57") or r not in quotas.INJECTED]
    if not at_least(version, "2.50"):
        names = [r for r in names if r not in _SERVER_GROUPS] + list(quotas.NETWORK_DEFAULTS)
    return names


def _update_class(version: Version) -> dict[str, Any]:
    names = class_resources(version)
    if not at_least(version, "2.50"):
        # Accepted, as by Nova; ``networks`` (a nova-network quota) has no effect here.
        names += [*_SERVER_GROUPS, "networks"]
    return {"type": "object", "required": ["quota_class_set"], "additionalProperties": False,
            "properties": {"quota_class_set": {
                "type": "object", "properties": {name: _LIMIT for name in names},
                "additionalProperties": False}}}


UPDATE_CLASS: Final = ByVersion(_update_class, "2.50", "2.57", base=BASE_VERSION)
