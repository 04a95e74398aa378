"""Host filters: each says why it rejects a host, so a NoValidHost fault can tell the user.

Placement has already checked capacity and traits; these check what it cannot know. They
follow Nova's filters of the same names (``nova/scheduler/filters``), with these limits:

* ``AvailabilityZoneFilter``: the zone is the host's aggregates' ``availability_zone``,
  else the one the node's agent reports; ``zone:host`` requests name the host as well.
* ``ImagePropertiesFilter``: ``hw_architecture`` (or ``architecture``), ``img_hv_type`` (or
  ``hypervisor_type``), ``hw_vm_mode`` (or ``vm_mode``), and ``img_hv_requested_version``
  (``>=6.0`` style) against the node's arch (``cpu_info.arch``, else x86_64), hypervisor
  type (a QEMU node runs qemu and kvm guests) and version.
* ``ComputeCapabilitiesFilter``: only ``capabilities:<attr>[:<key>...]`` extra specs, with
  Nova's operators (see :func:`match_capability`).
* ``RetryFilter`` (gone from Nova, which tracks retries elsewhere) skips hosts a build
  already failed on.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Final, Protocol

from ownstack.compute.conductor.scheduler.hosts import HostState
from ownstack.compute.conductor.scheduler.request_spec import RequestSpec
from ownstack.compute.objects.hosts import heard_from


class HostFilter(Protocol):
    name: str

    def applies(self, spec: RequestSpec) -> bool:
        """Whether the filter can reject any host for ``spec`` (if not, it is skipped)."""

    def reject(self, host: HostState, spec: RequestSpec) -> str | None:
        """Why ``host`` cannot take the instance, or ``None`` when it can."""


class RetryFilter:
    name = "RetryFilter"

    def applies(self, spec: RequestSpec) -> bool:
        return bool(spec.ignore_hosts)

    def reject(self, host: HostState, spec: RequestSpec) -> str | None:
        return "already tried" if host.host in spec.ignore_hosts else None


class ComputeFilter:
    """The node's compute service is enabled, not forced down, and heartbeating."""

    name = "ComputeFilter"

    def __init__(self, now: datetime, service_down_time: float) -> None:
        self.now = now
        self.service_down_time = service_down_time

    def applies(self, spec: RequestSpec) -> bool:
        return True

    def reject(self, host: HostState, spec: RequestSpec) -> str | None:
        if host.service_disabled:
            return "service disabled"
        if host.forced_down:
            return "service forced down"
        if not heard_from(host.last_seen_up, self.service_down_time, self.now):
            return "service down"
        return None


class AvailabilityZoneFilter:
    name = "AvailabilityZoneFilter"

    def applies(self, spec: RequestSpec) -> bool:
        return spec.availability_zone is not None or spec.forced_host is not None

    def reject(self, host: HostState, spec: RequestSpec) -> str | None:
        if spec.availability_zone is not None and \
                host.availability_zone != spec.availability_zone:
            return f"zone {spec.availability_zone} wanted"
        if spec.forced_host is not None and host.host != spec.forced_host:
            return f"host {spec.forced_host} wanted"
        return None


# nova.objects.fields.Architecture.canonicalize, for the names people use.
_ARCH_ALIASES: Final = {"amd64": "x86_64", "x64": "x86_64", "i386": "i686", "i486": "i686",
                        "i586": "i686", "x86_32": "i686", "arm64": "aarch64"}
_HV_ALIASES: Final = {"xapi": "xen"}
_VM_MODE_ALIASES: Final = {"hv": "hvm", "pv": "xen", "baremetal": "hvm"}
DEFAULT_ARCH: Final = "x86_64"


_IMAGE_KEYS: Final = frozenset({"hw_architecture", "architecture", "img_hv_type",
                                 "hypervisor_type", "hw_vm_mode", "vm_mode",
                                 "img_hv_requested_version"})


class ImagePropertiesFilter:
    name = "ImagePropertiesFilter"

    def applies(self, spec: RequestSpec) -> bool:
        return not _IMAGE_KEYS.isdisjoint(spec.image_props)

    def reject(self, host: HostState, spec: RequestSpec) -> str | None:
        props = spec.image_props
        arch = _first(props, "hw_architecture", "architecture")
        if arch is not None:
            want = _canonical(arch, _ARCH_ALIASES)
            have = _canonical(str(host.cpu_info.get("arch") or DEFAULT_ARCH), _ARCH_ALIASES)
            if want != have:
                return f"image wants architecture {want}, host has {have}"
        hv_type = _first(props, "img_hv_type", "hypervisor_type")
        if hv_type is not None:
            want = _canonical(hv_type, _HV_ALIASES)
            if want not in supported_hv_types(host.hypervisor_type):
                return f"image wants hypervisor {want}, host has " \
                       f"{host.hypervisor_type.lower()}"
        vm_mode = _first(props, "hw_vm_mode", "vm_mode")
        if vm_mode is not None and _canonical(vm_mode, _VM_MODE_ALIASES) != "hvm":
            return f"image wants vm mode {vm_mode}, host runs hvm"
        wanted_version = props.get("img_hv_requested_version")
        if wanted_version and not version_matches(host.hypervisor_version,
                                                  str(wanted_version)):
            return f"image wants hypervisor version {wanted_version}, host has " \
                   f"{_version_text(host.hypervisor_version)}"
        return None


def supported_hv_types(hypervisor_type: str) -> set[str]:
    """The guest hypervisor types a node runs; libvirt's QEMU nodes run kvm guests too."""
    mine = _canonical(hypervisor_type, _HV_ALIASES)
    return {"qemu", "kvm"} if mine in ("qemu", "kvm") else {mine}


def _first(props: Mapping[str, Any], *keys: str) -> str | None:
    for key in keys:
        if props.get(key):
            return str(props[key])
    return None


def _canonical(value: str, aliases: Mapping[str, str]) -> str:
    lowered = value.strip().lower()
    return aliases.get(lowered, lowered)


def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3])


def _version_text(encoded: int) -> str:
    """Nova encodes 8.2.1 as 8002001."""
    return f"{encoded // 1000000}.{encoded // 1000 % 1000}.{encoded % 1000}"


_VERSION_OPS: Final[dict[str, Callable[[Any, Any], bool]]] = {
    ">=": operator.ge, "<=": operator.le, "==": operator.eq, "!=": operator.ne,
    ">": operator.gt, "<": operator.lt, "=": operator.eq}


def version_matches(encoded: int, predicate: str) -> bool:
    """``img_hv_requested_version`` (``">=6.0"``, ``"6.2"``) against Nova's encoding."""
    match = re.fullmatch(r"\s*(>=|<=|==|!=|>|<|=)?\s*([\d.]+)\s*", predicate)
    if match is None:
        return False
    compare = _VERSION_OPS[match.group(1) or "=="]
    wanted = _version_tuple(match.group(2))
    have = _version_tuple(_version_text(encoded))[:len(wanted)]
    return compare(have, wanted)


class ComputeCapabilitiesFilter:
    name = "ComputeCapabilitiesFilter"

    def applies(self, spec: RequestSpec) -> bool:
        return any(key.startswith("capabilities:") for key in spec.extra_specs)

    def reject(self, host: HostState, spec: RequestSpec) -> str | None:
        capabilities = host.capabilities()
        for key, wanted in sorted(spec.extra_specs.items()):
            scope = key.split(":")
            if len(scope) < 2 or scope[0] != "capabilities":
                continue
            value = _lookup(capabilities, scope[1:])
            if not match_capability(value, wanted):
                return f"{key} wants {wanted!r}, host has {value!r}"
        return None


def _lookup(tree: Mapping[str, Any], path: Sequence[str]) -> Any:
    value: Any = tree
    for part in path:
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def _float_op(compare: Callable[[float, float], bool]) -> Callable[[Any, str], bool]:
    def check(value: Any, wanted: str) -> bool:
        return compare(float(value), float(wanted))
    return check


# nova.scheduler.filters.extra_specs_ops: "=" is "at least" for numbers, as in Nova.
_CAPABILITY_OPS: Final[dict[str, Callable[[Any, str], bool]]] = {
    "=": _float_op(operator.ge), "==": _float_op(operator.eq),
    "!=": _float_op(operator.ne), ">=": _float_op(operator.ge),
    "<=": _float_op(operator.le),
    "s==": lambda v, w: str(v) == w, "s!=": lambda v, w: str(v) != w,
    "s<": lambda v, w: str(v) < w, "s<=": lambda v, w: str(v) <= w,
    "s>": lambda v, w: str(v) > w, "s>=": lambda v, w: str(v) >= w,
    "<in>": lambda v, w: w in str(v),
}


def match_capability(value: Any, requirement: str) -> bool:
    """Nova's extra-spec matching: ``"QEMU"`` (equal as strings), ``"= 4"`` (at least 4),
    ``"== 4"``, ``"!= 4"``, ``">= 4"``, ``"<= 4"``, ``"s== QEMU"`` and the other string
    comparisons ``s!= s< s<= s> s>=``, ``"<in> avx"`` (substring), ``"<all-in> a b"``
    (every word a substring) and ``"<or> a <or> b"`` (equal to one of them)."""
    words = requirement.split()
    op = words[0] if words else ""
    if op not in _CAPABILITY_OPS and op not in ("<or>", "<all-in>"):
        return value is not None and str(value) == requirement
    if value is None or len(words) < 2:
        return False
    if op == "<or>":
        return str(value) in words[1::2]
    if op == "<all-in>":
        return all(word in str(value) for word in words[1:])
    try:
        return _CAPABILITY_OPS[op](value, words[1])
    except (TypeError, ValueError):
        return False


class ServerGroupAntiAffinityFilter:
    """At most ``max_server_per_host`` (default 1) members of an anti-affinity group per
    host."""

    name = "ServerGroupAntiAffinityFilter"

    def applies(self, spec: RequestSpec) -> bool:
        return spec.group is not None and spec.group.policy == "anti-affinity"

    def reject(self, host: HostState, spec: RequestSpec) -> str | None:
        group = spec.group
        if group is None or group.policy != "anti-affinity":
            return None
        limit = int(group.rules.get("max_server_per_host", 1) or 1)
        placed = group.hosts.get(host.host, 0)
        if placed >= limit:
            return f"anti-affinity group {group.uuid} has {placed} member(s) there"
        return None


class ServerGroupAffinityFilter:
    """Every member of an affinity group on one host; the first one may go anywhere."""

    name = "ServerGroupAffinityFilter"

    def applies(self, spec: RequestSpec) -> bool:
        return spec.group is not None and spec.group.policy == "affinity"

    def reject(self, host: HostState, spec: RequestSpec) -> str | None:
        group = spec.group
        if group is None or group.policy != "affinity" or not group.hosts:
            return None
        if host.host not in group.hosts:
            return f"affinity group {group.uuid} is on {', '.join(sorted(group.hosts))}"
        return None


def default_filters(now: datetime, service_down_time: float) -> list[HostFilter]:
    """Nova's default ``enabled_filters``, in its order, after the retry check."""
    return [RetryFilter(), AvailabilityZoneFilter(), ComputeFilter(now, service_down_time),
            ComputeCapabilitiesFilter(), ImagePropertiesFilter(),
            ServerGroupAntiAffinityFilter(), ServerGroupAffinityFilter()]
