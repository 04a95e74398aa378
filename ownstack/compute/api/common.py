"""What compute handlers share: links, version-picked schemas, query parsing."""

from __future__ import annotations

import logging
from typing import Any

from ownstack.common.api.microversion import Version, at_least, version_of
from ownstack.common.api.pagination import next_link, parse_limit
from ownstack.common.api.schema import Validator
from ownstack.common.bus import BusError
from ownstack.common.errors import BadRequest
from ownstack.compute import rpc
from ownstack.compute.state import Req

__all__ = ["Version", "at_least", "body", "collection_links", "limit_of", "links",
           "nudge", "version_of"]

log = logging.getLogger(__name__)

MAX_LIMIT = 1000  # Nova's [api]max_limit


def links(req: Req, collection: str, item_id: str) -> list[dict[str, str]]:
    base = req.base_url()
    return [{"rel": "self", "href": f"{base}/v2.1/{collection}/{item_id}"},
            {"rel": "bookmark", "href": f"{base}/{collection}/{item_id}"}]


def collection_links(req: Req, count: int, limit: int | None, last_id: str | None
                     ) -> list[dict[str, str]]:
    """Nova's ``*_links``: a next link whenever the page is full."""
    if limit is None or last_id is None or count < limit:
        return []
    return [{"rel": "next", "href": next_link(req.url(), req.query, last_id, limit)}]


def limit_of(req: Req) -> int | None:
    return parse_limit(req.query.get("limit"), max_limit=MAX_LIMIT, default=MAX_LIMIT)


async def body(req: Req, validator: Validator) -> Any:
    return await req.json(validator)


def int_filter(req: Req, name: str) -> int | None:
    value = req.query.get(name)
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise BadRequest(f"Invalid {name} filter [{value}]") from None


async def nudge(req: Req, host: str, uuid: str) -> None:
    """Tell ``host``'s agent to reconcile ``uuid`` now. Only a nudge: the task is in the
    row, so if the cast is lost the agent's next resync does the work."""
    try:
        await req.svc.bus.cast(rpc.compute_topic(host), "reconcile_instance",
                               {"uuid": uuid, "request_id": req.ctx.request_id})
    except BusError as exc:
        log.warning("could not nudge %s about %s (its resync will): %s", host, uuid, exc)
