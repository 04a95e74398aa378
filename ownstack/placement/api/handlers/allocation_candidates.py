"""``GET /allocation_candidates`` (1.10+), in the shape of the requested microversion."""

from __future__ import annotations

import orjson
from starlette.responses import Response

from ownstack.common.api.schema import Validator
from ownstack.placement.api import common, views
from ownstack.placement.api.request_groups import parse_groups, parse_wide
from ownstack.placement.api.schemas import allocation_candidate as schema
from ownstack.placement.objects.candidates import find_candidates
from ownstack.placement.state import Req

_QUERY = tuple((v, Validator(s)) for v, s in (
    ("1.36", schema.GET_1_36), ("1.35", schema.GET_1_35), ("1.33", schema.GET_1_33),
    ("1.31", schema.GET_1_31), ("1.25", schema.GET_1_25), ("1.21", schema.GET_1_21),
    ("1.17", schema.GET_1_17), ("1.16", schema.GET_1_16), ("1.10", schema.GET_1_10)))


async def list_allocation_candidates(req: Req) -> Response:
    version = common.allow_read(req, "placement:allocation_candidates:list", since="1.10")
    common.query(req, common.pick(version, _QUERY))
    wide = parse_wide(req.query)
    groups = parse_groups(req.query, version, wide)
    async with req.svc.db.plain_read() as db:
        found = await find_candidates(db, req.svc.names, groups, wide,
                                      nested_aware=common.at_least(version, "1.29"),
                                      all_classes=common.at_least(version, "1.27"),
                                      with_traits=common.at_least(version, "1.17"))
    # orjson: at a thousand providers the document is ~0.5 MB, which the standard
    # encoder alone takes longer to write than the whole search.
    return Response(orjson.dumps(views.allocation_candidates(found, version)),
                    media_type="application/json", headers=common.cache_headers(req))
