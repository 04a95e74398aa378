"""Flavor bodies, field for field per microversion, and a private flavor's access list."""

from __future__ import annotations

from typing import Any

from ownstack.common.api.microversion import Version, at_least
from ownstack.compute.api.common import links
from ownstack.compute.objects.models import Flavor
from ownstack.compute.state import Req


def flavor_summary(req: Req, version: Version, flavor: Flavor) -> dict[str, Any]:
    view: dict[str, Any] = {"id": flavor.flavorid, "name": flavor.name,
                            "links": links(req, "flavors", flavor.flavorid)}
    if at_least(version, "2.55"):
        view["description"] = flavor.description
    return view


def flavor(req: Req, version: Version, flavor: Flavor,
           extra_specs: dict[str, str] | None) -> dict[str, Any]:
    """``extra_specs`` is None when the caller may not see them (or before 2.61)."""
    swap: int | str = flavor.swap
    if not flavor.swap and not at_least(version, "2.75"):
        swap = ""
    view: dict[str, Any] = {
        "id": flavor.flavorid, "name": flavor.name, "ram": flavor.memory_mb,
        "disk": flavor.root_gb, "vcpus": flavor.vcpus,
        "links": links(req, "flavors", flavor.flavorid),
        "OS-FLV-EXT-DATA:ephemeral": flavor.ephemeral_gb,
        "OS-FLV-DISABLED:disabled": flavor.disabled,
        "swap": swap, "rxtx_factor": flavor.rxtx_factor,
        "os-flavor-access:is_public": flavor.is_public,
    }
    if at_least(version, "2.55"):
        view["description"] = flavor.description
    if at_least(version, "2.61") and extra_specs is not None:
        view["extra_specs"] = extra_specs
    return view


def access_list(flavor: Flavor, projects: list[str]) -> dict[str, Any]:
    """``os-flavor-access``: the projects a private flavor is shared with."""
    return {"flavor_access": [{"flavor_id": flavor.flavorid, "tenant_id": project}
                              for project in projects]}
