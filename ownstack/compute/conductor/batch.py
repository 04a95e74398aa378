"""Placing several instances in one pass (see :mod:`ownstack.compute.conductor.build`).

Placement is asked once per distinct query (instances of one flavor share it), the compute
nodes named by the answers are read once, and each instance in turn is filtered and
weighed against the answers with the instances placed before it in this pass counted as
used, so the pass spreads instances as well as one-at-a-time scheduling does and never
counts a host's room twice. All choices are then claimed in one ``POST /allocations``,
which Placement writes all or nothing: when any provider changed meanwhile (another
conductor claimed on it) nothing is claimed, and every instance goes the one-at-a-time way.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from ownstack.common.clients.placement import Claim, PlacementClient
from ownstack.compute.conductor.claims import Claimed, ToPlace
from ownstack.compute.conductor.placement_ops import allocation_candidates
from ownstack.compute.conductor.scheduler.filters import HostFilter
from ownstack.compute.conductor.scheduler.hosts import HostState
from ownstack.compute.conductor.scheduler.request_spec import RequestSpec
from ownstack.compute.conductor.scheduler.scheduler import (
    NoValidHost,
    candidate_hosts,
    filter_hosts,
)
from ownstack.compute.conductor.scheduler.weighers import default_weighers, weigh_hosts

MAX_BATCH: Final = 32        # instances placed in one pass at most


@dataclass(frozen=True)
class Entry:
    """An instance waiting for a host."""

    uuid: str
    row: ToPlace
    spec: RequestSpec
    request_id: str | None
    started: float


def candidate_providers(answers: Iterable[Mapping[str, Any]]) -> set[str]:
    """Every provider an allocation request of the candidates answers names."""
    return {rp for answer in answers for request in answer.get("allocation_requests") or []
            for rp in request.get("allocations") or {}}


HostView = Callable[[set[str]], Awaitable[dict[str, HostState]]]


async def place_batch(placement: PlacementClient, host_view: HostView,
                      filters: Sequence[HostFilter], entries: Sequence[Entry]
                      ) -> tuple[list[Claimed], set[str]]:
    """Choose and claim a host for each entry; the claims, and the uuids left for the
    one-at-a-time path (no host left in this pass, Placement refused their request, or
    the claim lost a race). ``host_view`` gives the hosts behind the candidates'
    providers, as the scheduler sees them."""
    by_query: dict[tuple[tuple[str, str], ...], list[Entry]] = defaultdict(list)
    for entry in entries:
        by_query[tuple(sorted(entry.spec.placement_query().items()))].append(entry)
    answers: dict[tuple[tuple[str, str], ...], Mapping[str, Any]] = {}
    for query in by_query:
        try:
            answers[query] = await allocation_candidates(placement, dict(query))
        except NoValidHost:
            continue            # the one-at-a-time path writes the fault
    known = await host_view(candidate_providers(answers.values())) if answers else {}
    weighers = default_weighers()
    taken: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    chosen: list[tuple[Entry, HostState, dict[str, dict[str, int]]]] = []
    for query, queued in by_query.items():
        answer = answers.get(query)
        if answer is None:
            continue
        candidates = candidate_hosts(answer, known)
        summaries = {host.node_uuid: host.resources for host in candidates}
        for entry in queued:
            hosts = [host for host in candidates
                     if _fits(host, summaries[host.node_uuid], taken)]
            passed, _ = filter_hosts(hosts, entry.spec, filters)
            if not passed:
                continue
            best = weigh_hosts(passed, entry.spec, weighers)[0]
            allocations = {rp: dict(resources) for rp, resources in best.allocations.items()}
            for rp, resources in allocations.items():
                for rc, amount in resources.items():
                    taken[rp][rc] += amount
            chosen.append((entry, best, allocations))
    claims = [Claim(entry.uuid, allocations, entry.spec.project_id, entry.spec.user_id)
              for entry, _, allocations in chosen]
    if not chosen or not await placement.claim_many(claims):
        return [], {entry.uuid for entry in entries}
    placed = [Claimed(entry.row, host.host, host.node, host.availability_zone,
                      entry.request_id, entry.started) for entry, host, _ in chosen]
    return placed, {entry.uuid for entry in entries} - {claim.row.uuid for claim in placed}


def _fits(host: HostState, summary: dict[str, tuple[int, int]],
          taken: Mapping[str, Mapping[str, int]]) -> bool:
    """Whether the host's allocation request still fits once what this pass took from
    the host is counted as used on top of Placement's ``summary`` (the host's view is
    set to match)."""
    mine = taken.get(host.node_uuid)
    if not mine:
        # Placement found room on it for exactly this request, and nothing was taken since.
        host.resources = summary
        return True
    host.resources = {rc: (capacity, used + mine.get(rc, 0))
                      for rc, (capacity, used) in summary.items()}
    wanted = host.allocations.get(host.node_uuid, {})
    return all(host.free(rc) >= amount for rc, amount in wanted.items())
