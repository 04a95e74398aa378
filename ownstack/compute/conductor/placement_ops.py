"""How the conductor reads Placement's answers: a refused candidates request is the
request's fault (:class:`NoValidHost`), not an outage; allocations as plain dicts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ownstack.common.clients.placement import PlacementClient, PlacementRefused
from ownstack.compute.conductor.scheduler.scheduler import NoValidHost


async def allocation_candidates(client: PlacementClient, query: Mapping[str, str]
                                ) -> dict[str, Any]:
    """Placement's candidates for ``query``. A 400 (an unknown trait or resource class in
    the flavor or image) is the request's fault: :class:`NoValidHost`, not an outage."""
    try:
        return await client.allocation_candidates(dict(query))
    except PlacementRefused as exc:
        raise NoValidHost(f"Placement refused the request {dict(query)}: {exc.detail}"
                          ) from exc


async def existing_allocations(client: PlacementClient, consumer: str
                               ) -> dict[str, dict[str, int]]:
    """The consumer's allocations as ``{rp_uuid: {class: amount}}`` (empty: none)."""
    body = await client.allocations(consumer)
    return {rp: {rc: int(n) for rc, n in (alloc.get("resources") or {}).items()}
            for rp, alloc in (body.get("allocations") or {}).items()}
