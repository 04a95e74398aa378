"""What compute handlers share: links, query parsing, the user_data check, nudges."""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Iterable
from typing import Any, Final

from ownstack.common.api.microversion import Version, at_least, version_of
from ownstack.common.api.pagination import next_link, parse_limit
from ownstack.common.api.schema import Validator
from ownstack.common.booleans import parse_bool
from ownstack.common.bus import BusError
from ownstack.common.errors import BadRequest
from ownstack.compute import rpc
from ownstack.compute.state import Req

__all__ = ["Version", "at_least", "body", "check_user_data", "collection_links",
           "int_filter", "limit_of", "links", "nudge", "query_bool", "reject_unknown_query",
           "version_of"]

log = logging.getLogger(__name__)

MAX_LIMIT = 1000  # Nova's [api]max_limit
MAX_USER_DATA: Final = 65535    # bytes, decoded (Nova's MAX_USERDATA_SIZE)


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


def count_query(req: Req, name: str, default: int, *, minimum: int) -> int:
    """Nova's ``limited``: ``limit`` and ``offset`` are non-negative integers, the limit
    capped at the largest page."""
    value = req.query.get(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise BadRequest(f"{name} param must be an integer") from None
    if number < minimum:
        raise BadRequest(f"{name} param must be positive")
    return min(number, MAX_LIMIT) if name == "limit" else number


def reject_unknown_query(req: Req, allowed: Iterable[str]) -> None:
    """From 2.75 Nova answers an unknown query parameter with a 400."""
    if not at_least(version_of(req), "2.75"):
        return
    unknown = sorted(set(req.query.keys()) - set(allowed))
    if unknown:
        raise BadRequest(f"Invalid input for query parameters: additional properties are "
                         f"not allowed ({', '.join(unknown)} unexpected)")


def query_bool(name: str, value: str) -> bool:
    """A boolean query parameter read as oslo's ``bool_from_string(strict=True)``:
    anything else is a 400."""
    parsed = parse_bool(value)
    if parsed is None:
        raise BadRequest(f"Invalid input for query parameters {name}: '{value}' is not a "
                         "boolean.")
    return parsed


def check_user_data(value: str) -> None:
    """``user_data`` (server create, rebuild) must be base64 of at most 64 KiB, as in Nova."""
    try:
        decoded = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest("Invalid input for field 'user_data': it is not valid "
                         "base64.") from None
    if len(decoded) > MAX_USER_DATA:
        raise BadRequest(f"Invalid input for field 'user_data': {len(decoded)} bytes "
                         f"decoded, more than {MAX_USER_DATA}.")


async def nudge(req: Req, host: str, uuid: str) -> None:
    """Tell ``host``'s agent to reconcile ``uuid`` now. Only a nudge: the task is in the
    row, so if the cast is lost the agent's next resync does the work."""
    await _cast(req, rpc.compute_topic(host), "reconcile_instance",
                {"uuid": uuid, "request_id": req.ctx.request_id},
                f"{host}'s agent about {uuid} (its resync will)")


async def tell_host(req: Req, host: str, method: str, payload: dict[str, Any]) -> None:
    """Cast ``method`` to ``host``'s agent, for work no row records (a courtesy whose
    loss the other side times out)."""
    await _cast(req, rpc.compute_topic(host), method, payload,
                f"{host}'s agent ({method})")


async def ask_to_schedule(req: Req, uuids: list[str]) -> None:
    """Ask the conductor to place new servers now. Only a nudge as well: they wait in the
    database in ``scheduling``, and the conductor's sweep places what no message asked
    for, so a bus that is down after the commit delays a boot and never loses it."""
    await _cast(req, rpc.CONDUCTOR_TOPIC, "schedule_instances",
                {"instance_uuids": uuids, "request_id": req.ctx.request_id},
                f"the conductor about {len(uuids)} new server(s) (its sweep will)")


async def _cast(req: Req, topic: str, method: str, payload: dict[str, Any], what: str
                ) -> None:
    try:
        await req.svc.bus.cast(topic, method, payload)
    except BusError as exc:
        log.warning("could not tell %s: %s", what, exc)
