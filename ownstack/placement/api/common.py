"""What every placement handler shares: body and query validation, uuids, cache headers."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from email.utils import format_datetime
from typing import Any

from ownstack.common.api.microversion import Version, at_least, version_of
from ownstack.common.api.schema import Validator
from ownstack.common.db.base import utcnow
from ownstack.common.errors import (
    BadRequest,
    NotAcceptable,
    NotFound,
    UnsupportedMediaType,
    ValidationFailed,
)
from ownstack.placement.state import Req

__all__ = ["Version", "allow", "allow_read", "at_least", "body", "cache_headers", "check_accept",
           "pick", "query", "require_version", "rp_url", "uuid_or_400",
           "version_of"]


def require_version(req: Req, minimum: str) -> Version:
    """The request's microversion, which must be at least ``minimum``: below it the route
    does not exist yet, a 404 as in Placement."""
    version = version_of(req)
    if not at_least(version, minimum):
        raise NotFound("The resource could not be found.")
    return version


def allow(req: Req, rule: str, *, since: str | None = None) -> Version:
    """Check, in Placement's order, that the route exists at the request's microversion
    (from ``since``: else 404) and that the policy ``rule`` allows the caller (403). The
    request's microversion."""
    version = require_version(req, since) if since else version_of(req)
    req.svc.enforce(req.ctx, rule)
    return version


def allow_read(req: Req, rule: str, *, since: str | None = None) -> Version:
    """:func:`allow`, then what every GET of a JSON document checks next: an ``Accept``
    that JSON satisfies (406)."""
    version = allow(req, rule, since=since)
    check_accept(req)
    return version


def pick(version: Version, schemas: Sequence[tuple[str, Any]]) -> Any:
    """The entry of the newest microversion ``version`` includes; ``schemas`` newest first."""
    for minimum, schema in schemas:
        if at_least(version, minimum):
            return schema
    raise LookupError(f"nothing for microversion {version}")


async def body(req: Req, validator: Validator) -> Any:
    """The JSON body, which must be sent as application/json and match ``validator``."""
    media = req.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media != "application/json":
        raise UnsupportedMediaType(
            f"The media type {media or 'None'} is not supported, use application/json")
    try:
        return await req.json(validator)
    except ValidationFailed as exc:
        raise BadRequest(f"JSON does not validate: {exc.message}") from None


def query(req: Req, validator: Validator) -> dict[str, str]:
    """The query parameters (the last of repeated ones), validated."""
    params = dict(req.query)
    try:
        validator.validate(params)
    except ValidationFailed as exc:
        raise BadRequest(f"Invalid query string parameters: {exc.message}") from None
    return params


def check_accept(req: Req) -> None:
    """406 when the client accepts no JSON (Placement's ``check_accept``)."""
    accept = req.headers.get("accept")
    if not accept:
        return
    for item in accept.split(","):
        media = item.split(";", 1)[0].strip().lower()
        if media in ("application/json", "application/*", "*/*"):
            return
    raise NotAcceptable("Only application/json is provided")


def uuid_or_400(value: str, what: str) -> str:
    """``value`` as a lowercase dashed uuid; 400 when it is not uuid-like."""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise BadRequest(f"Malformed {what}: {value}") from None


def rp_url(rp_uuid: str) -> str:
    return f"/resource_providers/{rp_uuid}"


def cache_headers(req: Req, modified: Iterable[datetime | None] = ()) -> dict[str, str]:
    """From 1.15: ``Last-Modified`` (the newest of ``modified``, else now) and
    ``Cache-Control: no-cache``."""
    if not at_least(version_of(req), "1.15"):
        return {}
    newest = max((moment for moment in modified if moment is not None), default=None)
    return {"Last-Modified": format_datetime(newest or utcnow(), usegmt=True),
            "Cache-Control": "no-cache"}
