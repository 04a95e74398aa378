"""What one instance asks of the scheduler, derived from its row (flavor, image, zone,
server group, hosts already tried), and the Placement query that expresses it."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from ownstack.compute.conductor.claims import ToPlace
from ownstack.compute.objects.models import Instance

# The order resources are shown in, for queries and messages alike.
_BASE_CLASSES: Final = ("VCPU", "MEMORY_MB", "DISK_GB")
CANDIDATE_LIMIT: Final = 1000


@dataclass(frozen=True)
class GroupInfo:
    """The server group an instance belongs to, and where its other live members run."""

    uuid: str
    policy: str                              # affinity, anti-affinity, soft-*
    rules: Mapping[str, Any]
    hosts: Counter[str] = field(default_factory=Counter)   # host -> members placed on it


@dataclass(frozen=True)
class RequestSpec:
    instance_uuid: str
    project_id: str
    user_id: str
    resources: Mapping[str, int]
    required_traits: frozenset[str]
    forbidden_traits: frozenset[str]
    availability_zone: str | None            # None: any zone
    forced_host: str | None                  # "zone:host" zones name a host (admin only)
    image_props: Mapping[str, Any]
    extra_specs: Mapping[str, str]
    ignore_hosts: frozenset[str]             # hosts a previous attempt failed on
    group: GroupInfo | None = None

    def placement_query(self) -> dict[str, str]:
        """The ``GET /allocation_candidates`` query of this spec."""
        query = {"resources": format_resources(self.resources),
                 "limit": str(CANDIDATE_LIMIT)}
        traits = self.trait_terms()
        if traits:
            query["required"] = ",".join(traits)
        return query

    def trait_terms(self) -> list[str]:
        return sorted(self.required_traits) + [f"!{t}" for t in sorted(self.forbidden_traits)]

    def describe(self) -> str:
        """The request in a user's words, for a NoValidHost fault."""
        text = format_resources(self.resources).replace(",", ", ")
        traits = self.trait_terms()
        return f"{text} with traits {', '.join(traits)}" if traits else text


def format_resources(resources: Mapping[str, int]) -> str:
    order = [rc for rc in _BASE_CLASSES if rc in resources] + sorted(
        rc for rc in resources if rc not in _BASE_CLASSES)
    return ",".join(f"{rc}:{resources[rc]}" for rc in order)


def image_properties(image_meta: Mapping[str, Any]) -> dict[str, Any]:
    """The image's properties, whether the row keeps them flat or under ``properties``."""
    props = {k: v for k, v in image_meta.items() if k != "properties"}
    nested = image_meta.get("properties")
    if isinstance(nested, Mapping):
        props.update(nested)
    return props


def requested_resources(flavor: Mapping[str, Any], *, volume_backed: bool = False
                        ) -> dict[str, int]:
    """Nova's resource request of a flavor: VCPU, MEMORY_MB, and DISK_GB as root +
    ephemeral + swap (MiB, rounded up to GiB), the root left out for a server booted from
    volume (its root is the volume's, not the host's disk: Nova's ``is_bfv``);
    ``resources:<CLASS>=<n>`` extra specs override an amount or add a class, and ``=0``
    drops one. Zero amounts are not asked."""
    swap_gb = math.ceil(int(flavor.get("swap") or 0) / 1024)
    root_gb = 0 if volume_backed else int(flavor.get("disk") or 0)
    resources = {"VCPU": int(flavor.get("vcpus") or 0),
                 "MEMORY_MB": int(flavor.get("ram") or 0),
                 "DISK_GB": root_gb + int(flavor.get("ephemeral") or 0) + swap_gb}
    for key, value in _extra_specs(flavor).items():
        if key.startswith("resources:"):
            try:
                resources[key.split(":", 1)[1]] = int(value)
            except ValueError:
                continue    # the flavor API validates extra specs; ignore what slipped by
    return {rc: amount for rc, amount in resources.items() if amount > 0}


def trait_constraints(*sources: Mapping[str, Any]) -> tuple[frozenset[str], frozenset[str]]:
    """Required and forbidden traits from ``trait:NAME=required|forbidden`` entries."""
    required: set[str] = set()
    forbidden: set[str] = set()
    for source in sources:
        for key, value in source.items():
            if not key.startswith("trait:"):
                continue
            name = key.split(":", 1)[1]
            if str(value) == "required":
                required.add(name)
            elif str(value) == "forbidden":
                forbidden.add(name)
    return frozenset(required), frozenset(forbidden)


def build_request_spec(instance: Instance | ToPlace, group: GroupInfo | None) -> RequestSpec:
    """The spec of an :class:`Instance`, or of a row with its ``uuid``, ``project_id``,
    ``user_id``, ``flavor``, ``image_meta``, ``availability_zone`` and ``attempts`` (and
    ``image_ref``: ``""`` for a server booted from volume)."""
    flavor = dict(instance.flavor or {})
    extra_specs = _extra_specs(flavor)
    props = image_properties(dict(instance.image_meta or {}))
    required, forbidden = trait_constraints(extra_specs, props)
    zone, forced_host = _zone_and_host(instance.availability_zone)
    return RequestSpec(
        instance_uuid=instance.uuid, project_id=instance.project_id,
        user_id=instance.user_id,
        resources=requested_resources(flavor, volume_backed=is_volume_backed(instance)),
        required_traits=required, forbidden_traits=forbidden, availability_zone=zone,
        forced_host=forced_host, image_props=props, extra_specs=extra_specs,
        ignore_hosts=frozenset(instance.attempts or []), group=group)


def is_volume_backed(instance: Instance | ToPlace) -> bool:
    """Nova's ``is_volume_backed_instance``: the root is a volume; such a server keeps no
    image reference (``""``), while every other boots an image."""
    return getattr(instance, "image_ref", None) == ""


def _extra_specs(flavor: Mapping[str, Any]) -> dict[str, str]:
    specs = flavor.get("extra_specs") or {}
    return {str(k): str(v) for k, v in specs.items()} if isinstance(specs, Mapping) else {}


def _zone_and_host(value: str | None) -> tuple[str | None, str | None]:
    """Nova's ``zone:host`` (and ``zone:host:node``) forms; an empty zone part means any."""
    if not value:
        return None, None
    parts = value.split(":")
    zone = parts[0] or None
    host = parts[1] if len(parts) > 1 and parts[1] else None
    return zone, host
