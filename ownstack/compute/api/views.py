"""Response bodies of flavors and keypairs, field for field per microversion."""

from __future__ import annotations

from typing import Any

from ownstack.common.api.microversion import Version, at_least
from ownstack.compute.api.common import links
from ownstack.compute.objects.models import Flavor, KeyPair
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


def keypair_brief(version: Version, keypair: KeyPair) -> dict[str, Any]:
    view: dict[str, Any] = {"name": keypair.name, "public_key": keypair.public_key,
                            "fingerprint": keypair.fingerprint}
    if at_least(version, "2.2"):
        view["type"] = keypair.type
    return view


def keypair_created(version: Version, keypair: KeyPair) -> dict[str, Any]:
    return {**keypair_brief(version, keypair), "user_id": keypair.user_id}


def keypair_detail(version: Version, keypair: KeyPair) -> dict[str, Any]:
    # Nova's soft-delete columns, always empty for a key that can be shown.
    return {**keypair_created(version, keypair), "id": keypair.id,
            "created_at": _nova_time(keypair.created_at), "updated_at": None,
            "deleted": False, "deleted_at": None}


def _nova_time(value: Any) -> str:
    return str(value.strftime("%Y-%m-%dT%H:%M:%S.%f"))
