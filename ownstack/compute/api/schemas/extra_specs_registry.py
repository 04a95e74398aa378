"""Flavor extra specs ownstack validates (microversion 2.86+), after Nova's registry.

From 2.86 Nova checks each extra spec created or updated against its registry
(``nova/api/validation/extra_specs``): a key in a namespace Nova knows must be a known key
with a valid value, else 400; a key in any other namespace, or with no namespace, is
stored as given. ownstack keeps the same rule over the namespaces its scheduler, Placement
request and drivers read, and the others Nova validates whose keys are small, fixed sets:

==============================  ===========================================================
``resources{group}:<RC>``       integer; ``<RC>`` a standard resource class or ``CUSTOM_*``
``trait{group}:<TRAIT>``        ``required`` or ``forbidden``; a standard trait or ``CUSTOM_*``
``group_policy``                ``isolate`` or ``none``
``capabilities:<field>``        any filter value; ``<field>`` one of Nova's host fields
``aggregate_instance_extra_specs:<key>``  anything
``hw:*``                        CPU policy and topology, pinning masks, NUMA, huge pages,
                                TPM, watchdog, PMU, serial ports, ... (Nova's keys, typed)
``hide_hypervisor_id``          boolean
``hw_rng:*``, ``hw_video:*``    RNG rate and permission, video RAM
``quota:*``                     CPU shares/period/quota, disk and VIF I/O limits
``os:secure_boot``              ``disabled`` or ``required``
``accel:device_profile``, ``pci_passthrough:alias``
==============================  ===========================================================

Not validated (stored as given, as any unknown namespace): Nova's driver-specific
``vmware:`` and ``powervm:`` namespaces, whose drivers ownstack does not have.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Final

import os_resource_classes
import os_traits

from ownstack.common.booleans import parse_bool
from ownstack.compute.errors import InvalidExtraSpec

_GROUP: Final = r"([a-zA-Z0-9_-]{1,64})?"
_CPU_MASK: Final = r"\^?\d+((-\d+)?(,\^?\d+(-\d+)?)?)*"


@dataclass(frozen=True)
class SpecRule:
    """One key (or family of keys: ``{param}`` stands for a regex) and its value's type."""

    name: str
    kind: str                               # "str", "int" or "bool"
    enum: tuple[str, ...] = ()
    pattern: str | None = None
    minimum: int | None = None
    params: dict[str, str] = field(default_factory=dict)

    @property
    def regex(self) -> str:
        text = re.escape(self.name)
        for param, pattern in self.params.items():
            text = text.replace(re.escape(f"{{{param}}}"), f"(?:{pattern})")
        return text

    def check(self, value: str) -> None:
        if self.kind == "int":
            try:
                number = int(value)
            except ValueError:
                raise InvalidExtraSpec(f"Validation failed; '{value}' is not a valid "
                                       "integer value.") from None
            if self.minimum is not None and number < self.minimum:
                raise InvalidExtraSpec(f"Validation failed; '{value}' is less than the min "
                                       f"value of '{self.minimum}'.")
        elif self.kind == "bool":
            if parse_bool(value) is None:
                raise InvalidExtraSpec(f"Validation failed; '{value}' is not a valid "
                                       "boolean-like value.")
        elif self.pattern is not None and not re.fullmatch(self.pattern, value):
            raise InvalidExtraSpec(f"Validation failed; '{value}' is not of the format "
                                   f"'{self.pattern}'.")
        elif self.enum and value not in self.enum:
            raise InvalidExtraSpec(f"Validation failed; '{value}' is not one of: "
                                   f"{', '.join(self.enum)}.")


def _ints(names: list[str], minimum: int | None = None) -> list[SpecRule]:
    return [SpecRule(name, "int", minimum=minimum) for name in names]


def _bools(names: list[str]) -> list[SpecRule]:
    return [SpecRule(name, "bool") for name in names]


def _hw() -> list[SpecRule]:
    return [
        *_bools(["hw:cpu_realtime", "hw:hide_hypervisor_id", "hw:boot_menu",
                 "hw:mem_encryption", "hw:pmu", "hw:vif_multiqueue_enabled",
                 "hw:locked_memory", "hw:virtio_packed_ring", "hw:ephemeral_encryption"]),
        SpecRule("hw:cpu_realtime_mask", "str", pattern=r"(\^)?\d+((-\d+)?(,\^?\d+(-\d+)?)?)*"),
        SpecRule("hw:cpu_dedicated_mask", "str", pattern=_CPU_MASK),
        SpecRule("hw:cpu_policy", "str", enum=("dedicated", "shared", "mixed")),
        SpecRule("hw:cpu_thread_policy", "str", enum=("prefer", "isolate", "require")),
        SpecRule("hw:emulator_threads_policy", "str", enum=("isolate", "share")),
        SpecRule("hw:mem_page_size", "str",
                 pattern=r"(large|small|any|\d+([kKMGT]i?)?(b|bit|B)?)"),
        SpecRule("hw:numa_nodes", "int", minimum=1),
        SpecRule("hw:numa_cpus.{id}", "str", pattern=_CPU_MASK, params={"id": r"\d+"}),
        SpecRule("hw:numa_mem.{id}", "int", minimum=1, params={"id": r"\d+"}),
        SpecRule("hw:pci_numa_affinity_policy", "str",
                 enum=("required", "preferred", "legacy", "socket")),
        *_ints(["hw:cpu_sockets", "hw:cpu_cores", "hw:cpu_threads", "hw:max_cpu_sockets",
                "hw:max_cpu_cores", "hw:max_cpu_threads", "hw:maxphysaddr_bits"], 1),
        SpecRule("hw:pmem", "str", pattern=r"([a-zA-Z0-9_]+(,)?)+"),
        SpecRule("hw:serial_port_count", "int", minimum=0),
        SpecRule("hw:tpm_model", "str", enum=("tpm-tis", "tpm-crb")),
        SpecRule("hw:tpm_version", "str", enum=("1.2", "2.0")),
        SpecRule("hw:watchdog_action", "str",
                 enum=("none", "pause", "poweroff", "reset", "disabled")),
        SpecRule("hw:viommu_model", "str", enum=("intel", "smmuv3", "virtio", "auto")),
        SpecRule("hw:maxphysaddr_mode", "str", enum=("emulate", "passthrough")),
        SpecRule("hw:ephemeral_encryption_format", "str", enum=("luks",)),
    ]


def _quota() -> list[SpecRule]:
    rules = [SpecRule(f"quota:{resource}_{key}", kind)
             for resource in ("cpu", "memory", "disk_io", "vif")
             for key, kind in (("limit", "int"), ("reservation", "int"),
                               ("shares_level", "str"), ("shares_share", "int"))]
    rules += _ints([f"quota:cpu_{key}" for key in ("shares", "period", "quota")], 0)
    rules += _ints([f"quota:disk_{stat}_{metric}_sec" for stat in ("read", "write", "total")
                    for metric in ("bytes", "iops")], 0)
    rules += _ints([f"quota:vif_{stat}_{metric}" for stat in ("inbound", "outbound")
                    for metric in ("average", "peak", "burst")], 0)
    return rules


_CAPABILITIES: Final = (
    "id", "uuid", "service_id", "host", "vcpus", "memory_mb", "local_gb", "vcpus_used",
    "memory_mb_used", "local_gb_used", "hypervisor_type", "hypervisor_version",
    "hypervisor_hostname", "free_ram_mb", "free_disk_gb", "current_workload", "running_vms",
    "disk_available_least", "host_ip", "mapped", "cpu_allocation_ratio",
    "ram_allocation_ratio", "disk_allocation_ratio", "total_usable_ram_mb",
    "total_usable_disk_gb", "disk_mb_used", "free_disk_mb", "vcpus_total", "num_instances",
    "num_io_ops", "failed_builds", "aggregates", "cell_uuid", "updated")
_NESTED_CAPABILITIES: Final = (
    "cpu_info", "metrics", "stats", "numa_topology", "supported_hv_specs", "pci_device_pools",
    "nodename", "pci_stats", "supported_instances", "limits", "instances")


def _placement() -> list[SpecRule]:
    resource = "|".join(re.escape(rc) for rc in os_resource_classes.STANDARDS)
    trait = "|".join(re.escape(t) for t in os_traits.get_traits())
    return [
        SpecRule("resources{group}:{rc}", "int",
                 params={"group": _GROUP, "rc": f"{resource}|CUSTOM_[A-Z0-9_]+"}),
        SpecRule("trait{group}:{trait}", "str", enum=("required", "forbidden"),
                 params={"group": _GROUP, "trait": f"{trait}|CUSTOM_[A-Z0-9_]+"}),
        SpecRule("group_policy", "str", enum=("isolate", "none")),
    ]


RULES: Final[tuple[SpecRule, ...]] = (
    *_placement(), *_hw(), *_quota(),
    SpecRule("hide_hypervisor_id", "bool"),
    SpecRule("hw_rng:allowed", "bool"),
    *_ints(["hw_rng:rate_bytes", "hw_rng:rate_period", "hw_video:ram_max_mb"], 0),
    SpecRule("os:secure_boot", "str", enum=("disabled", "required")),
    SpecRule("accel:device_profile", "str"),
    SpecRule("pci_passthrough:alias", "str", pattern=r"[^:]+:\d+(?:\s*,\s*[^:]+:\d+)*"),
    *(SpecRule(f"capabilities:{name}", "str") for name in _CAPABILITIES),
    *(SpecRule(f"capabilities:{name}{{filter}}", "str", params={"filter": r"(:\w+)*"})
      for name in _NESTED_CAPABILITIES),
    SpecRule("aggregate_instance_extra_specs:{key}", "str", params={"key": r".+"}),
)

# The namespaces whose every key must be known, as regexes of the part before ':'.
NAMESPACES: Final = ("accel", "aggregate_instance_extra_specs", "capabilities", "hw",
                     "hw_rng", "hw_video", "os", "pci_passthrough", "quota",
                     f"resources{_GROUP}", f"trait{_GROUP}")

_BY_NAME: Final = {rule.name: rule for rule in RULES if not rule.params}
_PATTERNED: Final = tuple((re.compile(rule.regex), rule) for rule in RULES if rule.params)


def validate(name: str, value: str) -> None:
    """Raise :class:`InvalidExtraSpec` (400) for a bad key of a known namespace or a bad
    value of a known key; accept everything else."""
    rule = _BY_NAME.get(name)
    if rule is None:
        rule = next((r for regex, r in _PATTERNED if regex.fullmatch(name)), None)
    if rule is not None:
        rule.check(value)
        return
    namespace, colon, _ = name.partition(":")
    if colon and any(re.fullmatch(ns, namespace) for ns in NAMESPACES):
        raise InvalidExtraSpec(f"Validation failed; extra spec '{name}' does not appear to "
                               "be a valid extra spec.")
