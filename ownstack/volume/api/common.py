"""What volume handlers share: the two URL forms, links, bodies, list answers, nudges.

Cinder serves every resource under ``/v3/{project_id}/...`` and, from 3.67 (ownstack at
every version), under ``/v3/...`` as well. :func:`both_forms` turns one table of
project-less paths into both, and a project id in the URL must be the token's (Cinder's
400 "Malformed request url"), so the path never widens what a caller sees.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from starlette.responses import Response

from ownstack.common.api.app import json_response
from ownstack.common.api.microversion import Version, at_least, version_of
from ownstack.common.api.pagination import next_link
from ownstack.common.api.routing import Handler, is_public, public
from ownstack.common.api.schema import Validator
from ownstack.common.booleans import parse_bool
from ownstack.common.db.base import utc_text
from ownstack.common.errors import BadRequest
from ownstack.volume.objects.listing import ListQuery
from ownstack.volume.state import Req

__all__ = ["Version", "at_least", "body", "both_forms", "collection_links", "links",
           "timestamp", "version_of"]

PREFIX: Final = "/v3"


def both_forms(table: Mapping[str, Mapping[str, Handler]]
               ) -> dict[str, dict[str, Handler]]:
    """``{"/volumes": ...}`` as ``/v3/volumes`` and ``/v3/{project_id}/volumes``, the
    project-less form first (so that ``/v3/volumes/{id}`` never reads as a project)."""
    routes: dict[str, dict[str, Handler]] = {}
    for path, methods in table.items():
        routes[f"{PREFIX}{path}"] = dict(methods)
    for path, methods in table.items():
        routes[f"{PREFIX}/{{project_id}}{path}"] = {
            method: _project_checked(handler) for method, handler in methods.items()}
    return routes


def _project_checked(handler: Handler) -> Handler:
    async def checked(req: Req) -> Response:
        project_id = req.params.get("project_id")
        if project_id is not None and req.ctx.authenticated and \
                project_id != req.ctx.project_id:
            raise BadRequest("Malformed request url")
        result: Response = await handler(req)
        return result
    checked.__name__ = getattr(handler, "__name__", "handler")
    checked.__qualname__ = getattr(handler, "__qualname__", "handler")
    return public(checked) if is_public(handler) else checked


def _project_part(req: Req) -> str:
    project_id = req.params.get("project_id")
    return f"/{project_id}" if project_id else ""


def links(req: Req, collection: str, item_id: str) -> list[dict[str, str]]:
    base = req.base_url()
    project = _project_part(req)
    return [{"rel": "self", "href": f"{base}{PREFIX}{project}/{collection}/{item_id}"},
            {"rel": "bookmark", "href": f"{base}{project}/{collection}/{item_id}"}]


def collection_links(req: Req, items: list[Any], query: ListQuery) -> list[dict[str, str]]:
    """Cinder's ``*_links``: a next link whenever the page is full."""
    if not items or query.limit is None or len(items) < query.limit:
        return []
    return [{"rel": "next", "href": next_link(req.url(), req.query, str(items[-1].id),
                                              query.limit)}]


def list_body(key: str, items: list[dict[str, Any]], req: Req, rows: list[Any],
              query: ListQuery, count: int | None) -> Response:
    body: dict[str, Any] = {key: items}
    more = collection_links(req, rows, query)
    if more:
        body[f"{key}_links"] = more
    if count is not None:
        body["count"] = count
    return json_response(body)


def timestamp(moment: Any) -> str | None:
    """Cinder's times: ``2019-04-03T13:28:39.000000``."""
    return None if moment is None else utc_text(moment, fraction=True)


async def body(req: Req, validator: Validator) -> Any:
    return await req.json(validator)


def flag(name: str, value: Any) -> bool:
    """A boolean body field the schema let through (true, "True", "1", "off", ...)."""
    parsed = parse_bool(value)
    if parsed is None:
        raise BadRequest(f"Invalid input received: {name} {value!r} is not a boolean.")
    return parsed


def query_flag(req: Req, name: str, default: bool = False) -> bool:
    value = req.query.get(name)
    if value is None:
        return default
    return flag(name, value)


def as_int(value: Any) -> int:
    """An integer the schema let through as a number or a string of digits."""
    return int(value)


def version(req: Req) -> Version:
    return version_of(req)
