"""Host weighers, normalised as Nova's ``nova/weights.py`` does: each weigher's raw values
are scaled to 0..1 across the hosts (all 0 when they are equal), multiplied by the
weigher's multiplier (1.0 for all of these, Nova's defaults) and summed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from ownstack.compute.conductor.scheduler.hosts import HostState
from ownstack.compute.conductor.scheduler.request_spec import RequestSpec


class HostWeigher(Protocol):
    multiplier: float

    def applies(self, spec: RequestSpec) -> bool:
        """Whether the weigher can tell hosts apart for ``spec`` (if not, it is skipped:
        its weights would all be 0)."""

    def weigh(self, host: HostState, spec: RequestSpec) -> float: ...


@dataclass
class FreeResourceWeigher:
    """Most free of one resource class (after its allocation ratio) first: spreads
    instances across hosts, as Nova's RAM and CPU weighers do."""

    resource_class: str
    multiplier: float = 1.0

    def applies(self, spec: RequestSpec) -> bool:
        return True

    def weigh(self, host: HostState, spec: RequestSpec) -> float:
        return float(host.free(self.resource_class))


@dataclass
class ServerGroupWeigher:
    """Nova's soft-affinity (``sign`` 1: hosts that already run members of the group
    first) and soft-anti-affinity (``sign`` -1: hosts with the fewest members first)."""

    policy: str
    sign: float
    multiplier: float = 1.0

    def applies(self, spec: RequestSpec) -> bool:
        return spec.group is not None and spec.group.policy == self.policy

    def weigh(self, host: HostState, spec: RequestSpec) -> float:
        group = spec.group
        if group is None or group.policy != self.policy:
            return 0.0
        return self.sign * float(group.hosts.get(host.host, 0))


def default_weighers() -> list[HostWeigher]:
    return [FreeResourceWeigher("MEMORY_MB"), FreeResourceWeigher("VCPU"),
            ServerGroupWeigher("soft-affinity", 1.0),
            ServerGroupWeigher("soft-anti-affinity", -1.0)]


def normalize(values: Sequence[float]) -> list[float]:
    if not values:
        return []
    low, high = min(values), max(values)
    if low == high:
        return [0.0] * len(values)
    return [(value - low) / (high - low) for value in values]


def weigh_hosts(hosts: Sequence[HostState], spec: RequestSpec,
                weighers: Sequence[HostWeigher]) -> list[HostState]:
    """``hosts`` best first; equal weights keep the order they came in (Placement's)."""
    totals = [0.0] * len(hosts)
    for weigher in weighers:
        if not weigher.applies(spec):
            continue
        scaled = normalize([weigher.weigh(host, spec) for host in hosts])
        totals = [total + weigher.multiplier * value for total, value in zip(totals, scaled,
                                                                             strict=True)]
    order = sorted(range(len(hosts)), key=lambda i: (-totals[i], i))
    return [hosts[i] for i in order]
