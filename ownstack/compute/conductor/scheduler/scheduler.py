"""One scheduling pass: Placement's candidates through the filters and weighers, with an
account of every rejection for the NoValidHost fault."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ownstack.compute.conductor.scheduler.filters import HostFilter
from ownstack.compute.conductor.scheduler.hosts import HostState, apply_summary
from ownstack.compute.conductor.scheduler.request_spec import RequestSpec
from ownstack.compute.conductor.scheduler.weighers import HostWeigher, weigh_hosts


class NoValidHost(Exception):
    """No host can take the instance; ``reason`` says why, in a user's words."""

    def __init__(self, reason: str, details: str = "") -> None:
        self.reason = reason
        self.details = details or reason
        super().__init__(reason)


@dataclass
class FilterReport:
    """How many hosts each filter turned away, and why."""

    considered: int
    rejected: list[tuple[str, Counter[str]]] = field(default_factory=list)
    # node -> (filter, reason), for the fault's details.
    per_host: dict[str, tuple[str, str]] = field(default_factory=dict)

    def summary(self) -> str:
        parts = [f"{name} rejected {sum(reasons.values())} ({_reasons(reasons)})"
                 for name, reasons in self.rejected]
        noun = "host" if self.considered == 1 else "hosts"
        return f"{self.considered} {noun}: {', '.join(parts)}"

    def details(self) -> str:
        return "; ".join(f"{node}: {name}: {reason}"
                         for node, (name, reason) in sorted(self.per_host.items()))


def _reasons(reasons: Counter[str]) -> str:
    if len(reasons) == 1:
        return next(iter(reasons))
    return ", ".join(f"{count} {reason}" for reason, count in reasons.most_common())


def filter_hosts(hosts: Sequence[HostState], spec: RequestSpec,
                 filters: Sequence[HostFilter]) -> tuple[list[HostState], FilterReport]:
    """The hosts every filter accepts, in order, and the report of the others."""
    report = FilterReport(considered=len(hosts))
    remaining = list(hosts)
    for host_filter in filters:
        if not host_filter.applies(spec):
            continue
        kept: list[HostState] = []
        reasons: Counter[str] = Counter()
        for host in remaining:
            reason = host_filter.reject(host, spec)
            if reason is None:
                kept.append(host)
            else:
                reasons[reason] += 1
                report.per_host[host.node] = (host_filter.name, reason)
        if reasons:
            report.rejected.append((host_filter.name, reasons))
        remaining = kept
    return remaining, report


def candidate_hosts(candidates: Mapping[str, Any], known: Mapping[str, HostState]
                    ) -> list[HostState]:
    """One HostState per allocation request naming a single known compute node, with that
    request and the provider's summary attached; other requests are not ours to use."""
    summaries = candidates.get("provider_summaries") or {}
    hosts: list[HostState] = []
    seen: set[str] = set()
    for request in candidates.get("allocation_requests") or []:
        allocations = request.get("allocations") or {}
        if len(allocations) != 1:
            continue
        ((rp_uuid, body),) = allocations.items()
        host = known.get(rp_uuid)
        if host is None or rp_uuid in seen:
            continue
        seen.add(rp_uuid)
        host.allocations = {rp_uuid: {rc: int(n) for rc, n in body["resources"].items()}}
        apply_summary(host, summaries.get(rp_uuid) or {})
        hosts.append(host)
    return hosts


def select_hosts(spec: RequestSpec, candidates: Mapping[str, Any],
                 known: Mapping[str, HostState], filters: Sequence[HostFilter],
                 weighers: Sequence[HostWeigher]) -> list[HostState]:
    """Hosts to claim on, best first; :class:`NoValidHost` when there is none."""
    found = len(candidates.get("allocation_requests") or [])
    if found == 0:
        raise NoValidHost("There are not enough hosts available. Placement found 0 "
                          f"candidates for {spec.describe()}.")
    hosts = candidate_hosts(candidates, known)
    if not hosts:
        raise NoValidHost(f"Placement found {found} candidates for {spec.describe()}, "
                          "but none is a registered compute node.")
    passed, report = filter_hosts(hosts, spec, filters)
    if not passed:
        raise NoValidHost(report.summary() + ".", report.details())
    return weigh_hosts(passed, spec, weighers)
