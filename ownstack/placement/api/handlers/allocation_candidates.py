"""``GET /allocation_candidates`` (1.10+), in the shape of the requested microversion."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from ownstack.common.api.microversion import Version
from ownstack.common.api.schema import Validator
from ownstack.common.errors import NotFound
from ownstack.placement.api.common import at_least, cache_headers, check_accept, pick, query
from ownstack.placement.api.common import version_of as negotiated
from ownstack.placement.api.request_groups import parse_groups, parse_wide
from ownstack.placement.objects.candidates import Candidates, find_candidates
from ownstack.placement.objects.traits import traits_of
from ownstack.placement.schemas import allocation_candidate as schema
from ownstack.placement.state import Req

_QUERY = tuple((v, Validator(s)) for v, s in (
    ("1.36", schema.GET_1_36), ("1.35", schema.GET_1_35), ("1.33", schema.GET_1_33),
    ("1.31", schema.GET_1_31), ("1.25", schema.GET_1_25), ("1.21", schema.GET_1_21),
    ("1.17", schema.GET_1_17), ("1.16", schema.GET_1_16), ("1.10", schema.GET_1_10)))


async def list_allocation_candidates(req: Req) -> Response:
    version = negotiated(req)
    if not at_least(version, "1.10"):
        raise NotFound("The resource could not be found.")
    req.svc.enforce(req.ctx, "placement:allocation_candidates:list")
    check_accept(req)
    query(req, pick(version, _QUERY))
    wide = parse_wide(req.query)
    groups = parse_groups(req.query, version, wide)
    with_traits = at_least(version, "1.17")
    async with req.svc.read() as db:
        found = await find_candidates(db, req.svc.names, groups, wide,
                                      nested_aware=at_least(version, "1.29"),
                                      all_classes=at_least(version, "1.27"))
        traits = await _traits(db, found) if with_traits and found.summary_ids else {}
    # orjson: at a thousand providers the document is ~0.5 MB, which the standard
    # encoder alone takes longer to write than the whole search.
    return Response(orjson.dumps({"allocation_requests": _requests(found, version),
                                  "provider_summaries": _summaries(found, traits, version)}),
                    media_type="application/json", headers=cache_headers(version))


async def _traits(db: AsyncSession, found: Candidates) -> dict[int, list[str]]:
    """The traits of the summarised providers: of every provider when the summary covers
    most of them (one query with no list of a thousand ids to expand), else of those."""
    if len(found.summary_ids) * 2 < len(found.uuids):
        return await traits_of(db, found.summary_ids)
    return await traits_of(db, None)


def _requests(found: Candidates, version: Version) -> list[dict[str, Any]]:
    uuids, classes = found.uuids, found.classes
    out: list[dict[str, Any]] = []
    as_dict = at_least(version, "1.12")
    with_mappings = at_least(version, "1.34")
    named: dict[int, dict[str, int]] = {}   # requests of a group share their amount dicts
    for request in found.requests:
        by_rp: dict[str, dict[str, int]] = {}
        for rp, amounts in request.amounts.items():
            resources = named.get(id(amounts))
            if resources is None:
                resources = named[id(amounts)] = {classes[rc]: n for rc, n in amounts.items()}
            by_rp[uuids[rp]] = resources
        if as_dict:
            item: dict[str, Any] = {"allocations": {rp: {"resources": res}
                                                    for rp, res in by_rp.items()}}
            if with_mappings:
                item["mappings"] = {suffix: [uuids[rp] for rp in rps]
                                    for suffix, rps in request.mappings.items()}
        else:
            item = {"allocations": [{"resource_provider": {"uuid": rp}, "resources": res}
                                    for rp, res in by_rp.items()]}
        out.append(item)
    return out


def _summaries(found: Candidates, traits: dict[int, list[str]], version: Version
               ) -> dict[str, Any]:
    uuids, classes = found.uuids, found.classes
    with_traits = at_least(version, "1.17")
    all_classes = at_least(version, "1.27")
    nested = at_least(version, "1.29")
    out: dict[str, Any] = {}
    for rp in found.summary_ids:
        stock = found.stock.get(rp, {})
        summary: dict[str, Any] = {"resources": {
            classes[rc]: {"capacity": s[5], "used": s[1]}
            for rc, s in stock.items() if all_classes or rc in found.requested_classes}}
        if with_traits:
            summary["traits"] = traits.get(rp, [])
        if nested:
            parent = found.parents[rp]
            summary["parent_provider_uuid"] = uuids[parent] if parent is not None else None
            summary["root_provider_uuid"] = uuids[found.roots[rp]]
        out[uuids[rp]] = summary
    return out
