"""The filters of ``GET /v2/images``, turned into SQL conditions as Glance reads them.

* ``visibility`` (public, private, shared, community or all) and ``member_status``
  (accepted by default; pending, rejected or all) choose among the visible images;
* ``os_hidden`` (default false) and ``protected`` take ``true`` or ``false``;
* ``size_min`` and ``size_max`` bound the size; ``tag`` may repeat, and every tag must match;
* core attributes match exactly; ``id``, ``name``, ``status`` and the formats also take
  ``in:a,b``; ``created_at`` and ``updated_at`` take ``gt:``, ``gte:``, ``lt:``, ``lte:``,
  ``eq:`` or ``neq:`` and an ISO 8601 time;
* any other parameter filters on the extra property of that name (``?os_distro=debian``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, exists, select
from sqlalchemy.orm import InstrumentedAttribute
from starlette.datastructures import QueryParams

from ownstack.common.context import RequestContext
from ownstack.common.errors import BadRequest
from ownstack.image.objects.images import MEMBER_STATUSES, VISIBILITIES, list_condition
from ownstack.image.objects.models import Image, ImageTag

# Paging and sorting, read elsewhere; never property filters.
_NOT_FILTERS = frozenset({"limit", "marker", "sort", "sort_key", "sort_dir"})
_STRING_COLUMNS: dict[str, InstrumentedAttribute[Any]] = {
    "id": Image.id, "name": Image.name, "status": Image.status, "owner": Image.owner,
    "container_format": Image.container_format, "disk_format": Image.disk_format,
    "checksum": Image.checksum, "os_hash_algo": Image.os_hash_algo,
    "os_hash_value": Image.os_hash_value}
_IN_COLUMNS = frozenset({"id", "name", "status", "container_format", "disk_format"})
_INT_COLUMNS: dict[str, InstrumentedAttribute[Any]] = {
    "min_disk": Image.min_disk, "min_ram": Image.min_ram, "size": Image.size,
    "virtual_size": Image.virtual_size}
_TIME_COLUMNS: dict[str, InstrumentedAttribute[Any]] = {
    "created_at": Image.created_at, "updated_at": Image.updated_at}
_HANDLED = frozenset({"visibility", "member_status", "os_hidden", "protected", "size_min",
                      "size_max", "tag", *_STRING_COLUMNS, *_INT_COLUMNS, *_TIME_COLUMNS})


def list_filters(ctx: RequestContext, query: QueryParams) -> list[ColumnElement[bool]]:
    if "changes-since" in query:
        raise BadRequest('The "changes-since" filter is no longer available on v2.')
    visibility = query.get("visibility")
    if visibility is not None and visibility not in (*VISIBILITIES, "all"):
        raise BadRequest(f"Invalid visibility value: {visibility}")
    conditions = [list_condition(ctx, visibility=visibility,
                                 member_status=_member_status(query)),
                  Image.os_hidden.is_(_flag(query, "os_hidden", "false"))]
    if "protected" in query:
        conditions.append(Image.protected.is_(_flag(query, "protected", "false")))
    if "size_min" in query:
        conditions.append(Image.size >= _integer(query, "size_min"))
    if "size_max" in query:
        conditions.append(Image.size <= _integer(query, "size_max"))
    for tag in query.getlist("tag"):
        conditions.append(exists(select(ImageTag.image_id).where(
            ImageTag.image_id == Image.id, ImageTag.value == tag.strip())))
    conditions += [_string_filter(name, column, query[name])
                   for name, column in _STRING_COLUMNS.items() if name in query]
    conditions += [column == _integer(query, name)
                   for name, column in _INT_COLUMNS.items() if name in query]
    conditions += [_time_filter(name, column, query[name])
                   for name, column in _TIME_COLUMNS.items() if name in query]
    conditions += [Image.properties[name].as_string() == value
                   for name, value in query.multi_items()
                   if name not in _HANDLED and name not in _NOT_FILTERS]
    return conditions


def _member_status(query: QueryParams) -> str | None:
    """The membership status a listed shared image needs; None for any.

    Glance's default is ``accepted``. A lookup by ``name`` also finds images shared with
    the caller whose membership is still pending (or rejected): that is how
    ``openstack image set --accept NAME`` finds the image it is asked to accept.
    """
    status = query.get("member_status")
    if status is None:
        return None if "name" in query else "accepted"
    if status not in (*MEMBER_STATUSES, "all"):
        raise BadRequest(f"Invalid status: {status}")
    return None if status == "all" else status


def _flag(query: QueryParams, name: str, default: str) -> bool:
    value = query.get(name, default).strip().lower()
    if value not in ("true", "false"):
        raise BadRequest(f"Invalid value '{value}' for '{name}' filter. Valid values are "
                         "'true' or 'false'.")
    return value == "true"


def _integer(query: QueryParams, name: str) -> int:
    value = query[name].strip()
    if not value.isdigit() or len(value) > 19:
        raise BadRequest(f"Unable to filter using the specified range: {name}={value!r} is "
                         "not a non-negative integer.")
    return int(value)


def _string_filter(name: str, column: InstrumentedAttribute[Any], value: str
                   ) -> ColumnElement[bool]:
    if name in _IN_COLUMNS and value.startswith("in:"):
        return column.in_([v.strip() for v in value[3:].split(",")])
    return column == value


_TIME_OPERATORS = {"gt": "__gt__", "gte": "__ge__", "lt": "__lt__", "lte": "__le__",
                   "eq": "__eq__", "neq": "__ne__"}


def _time_filter(name: str, column: InstrumentedAttribute[Any], value: str
                 ) -> ColumnElement[bool]:
    operator, sep, moment = value.partition(":")
    if not sep or operator not in _TIME_OPERATORS:
        operator, moment = "eq", value
    try:
        when = datetime.fromisoformat(moment.strip().replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(f"Invalid {name} filter {value!r}: use an operator (gt, gte, lt, "
                         "lte, eq, neq) and an ISO 8601 time.") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    condition: ColumnElement[bool] = getattr(column, _TIME_OPERATORS[operator])(when)
    return condition
