"""What every network handler shares: bodies, list responses, revisions and attribute
rules."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from starlette.responses import Response

from ownstack.common.api.app import json_response
from ownstack.common.api.schema import Validator
from ownstack.common.booleans import parse_bool
from ownstack.common.db.base import utc_text
from ownstack.common.errors import BadRequest
from ownstack.network.errors import BadNetworkRequest
from ownstack.network.objects.listing import Kind, ListQuery, Page, parse_query
from ownstack.network.objects.standard import parse_if_match
from ownstack.network.state import Req


def timestamp(moment: datetime | str) -> str:
    """Neutron's times: ``2016-03-08T20:19:41Z`` (from a datetime, or the text
    ``UTCTimeText`` reads on SQLite)."""
    return f"{utc_text(moment, fraction=False)}Z"


def standard(row: Any, tags: list[str] | None = None) -> dict[str, Any]:
    """Neutron's standard attributes of ``row`` (id, project, description, times and
    revision), and its ``tags`` where the kind has them: the start of every body."""
    body: dict[str, Any] = {
        "id": row.id, "project_id": row.project_id, "tenant_id": row.project_id,
        "description": row.description, "created_at": timestamp(row.created_at),
        "updated_at": timestamp(row.updated_at), "revision_number": row.revision_number}
    if tags is not None:
        body["tags"] = tags
    return body


async def body(req: Req, validator: Validator, key: str) -> dict[str, Any]:
    """The one resource a request body holds under ``key``, validated."""
    data = await req.json(validator)
    resource: dict[str, Any] = data[key]
    return resource


def booleans(data: dict[str, Any], *names: str) -> dict[str, Any]:
    """``data`` with the named flags as bools: Neutron takes "true", "False", "1"..."""
    for name in names:
        if name in data and not isinstance(data[name], bool):
            data[name] = bool(parse_bool(str(data[name])))
    return data


def integers(data: dict[str, Any], *names: str) -> dict[str, Any]:
    """``data`` with the named numbers as ints (the schema let through digits only)."""
    for name in names:
        if isinstance(data.get(name), str):
            data[name] = int(data[name])
    return data


def revision(req: Req) -> int | None:
    return parse_if_match(req.headers.get("if-match"))


def owner(req: Req, data: dict[str, Any]) -> str:
    """The project a new resource belongs to: the caller's, or one an admin names
    (``project_id``, or the older ``tenant_id``; both must agree). Naming another project
    without being admin is Neutron's plain 400."""
    project = data.pop("project_id", None)
    tenant = data.pop("tenant_id", None)
    if project and tenant and project != tenant:
        raise BadNetworkRequest("request", "'project_id' and 'tenant_id' do not match")
    chosen = project or tenant or req.ctx.project_id
    if chosen != req.ctx.project_id and not req.ctx.is_admin:
        raise BadRequest("Specifying 'project_id' other than the authenticated project in "
                         "request is not allowed for the current user.")
    if not chosen:
        raise BadNetworkRequest("request", "a project must be named when the token has none")
    return str(chosen)


def enforce_attributes(req: Req, action: str, resource: str, data: Mapping[str, Any],
                       target: dict[str, Any], guarded: Iterable[str]) -> None:
    """The rule of the action, then the rule of each guarded attribute the body sets
    (``create_network:shared`` applies only to a network created shared)."""
    req.svc.enforce(req.ctx, f"{action}_{resource}", target)
    for name in guarded:
        if name in data and data[name] not in (None, False):
            req.svc.enforce(req.ctx, f"{action}_{resource}:{name}", target)


def readable(req: Req, resource: str, names: Sequence[str]) -> set[str]:
    """The attributes among ``names`` that the caller may not read."""
    return {name for name in names
            if not req.svc.allowed(req.ctx, f"get_{resource}:{name}")}


def list_query(req: Req, kind: Kind) -> ListQuery:
    return parse_query(req.query.multi_items(), kind)


def list_response(req: Req, kind: Kind, query: ListQuery, page: Page,
                  items: list[dict[str, Any]]) -> Response:
    """``{"networks": [...]}``, projected to ``fields``, with Neutron's paging links."""
    body: dict[str, Any] = {kind.collection: [project(item, query.fields) for item in items]}
    links = _links(req, query, page)
    if links:
        body[f"{kind.collection}_links"] = links
    return json_response(body)


def project(item: dict[str, Any], fields: Sequence[str]) -> dict[str, Any]:
    """``item`` with only ``fields`` (all of it when none are asked for)."""
    if not fields:
        return item
    return {name: item[name] for name in fields if name in item}


def _links(req: Req, query: ListQuery, page: Page) -> list[dict[str, str]]:
    if query.limit is None or not page.rows:
        return []
    first, last = page.rows[0].id, page.rows[-1].id
    forward_more = page.more if not query.page_reverse else query.marker is not None
    backward_more = query.marker is not None if not query.page_reverse else page.more
    links = []
    if forward_more:
        links.append({"rel": "next", "href": _href(req, last, reverse=False)})
    if backward_more:
        links.append({"rel": "previous", "href": _href(req, first, reverse=True)})
    return links


def _href(req: Req, marker: str, *, reverse: bool) -> str:
    kept = [(name, value) for name, value in req.query.multi_items()
            if name not in ("marker", "page_reverse")]
    kept.append(("marker", marker))
    if reverse:
        kept.append(("page_reverse", "True"))
    return f"{req.base_url()}{req.request.url.path}?{urlencode(kept)}"


def one(key: str, item: dict[str, Any], fields: Sequence[str] = (), status: int = 200
        ) -> Response:
    return json_response({key: project(item, fields)}, status=status)


def show_fields(req: Req) -> list[str]:
    return [part for name, value in req.query.multi_items() if name == "fields"
            for part in value.split(",") if part]


Viewer = Callable[[Any], dict[str, Any]]
