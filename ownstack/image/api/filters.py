"""The query string of ``GET /v2/images``, read as Glance reads it.

* ``visibility`` (public, private, shared, community or all) and ``member_status``
  (accepted by default; pending, rejected or all) choose among the visible images;
* ``os_hidden`` (default false) and ``protected`` take ``true`` or ``false``;
* ``size_min`` and ``size_max`` bound the size; ``tag`` may repeat, and every tag must match;
* core attributes match exactly; ``id``, ``name``, ``status`` and the formats also take
  ``in:a,b``; ``created_at`` and ``updated_at`` take ``gt:``, ``gte:``, ``lt:``, ``lte:``,
  ``eq:`` or ``neq:`` and an ISO 8601 time;
* any other parameter filters on the extra property of that name (``?os_distro=debian``);
* ``limit``, ``marker`` and ``sort`` page and order the list.
"""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.datastructures import QueryParams

from ownstack.common.api.pagination import parse_limit, parse_sort
from ownstack.common.errors import BadRequest
from ownstack.image.objects.image_list import (
    LIST_FILTERS,
    NUMBER_FILTERS,
    STRING_FILTERS,
    TIME_FILTERS,
    TIME_OPERATORS,
    ImageFilters,
)
from ownstack.image.objects.images import MEMBER_STATUSES, VISIBILITIES

SORT_KEYS = ("name", "status", "container_format", "disk_format", "size", "id",
             "created_at", "updated_at")
DEFAULT_SORT = [("created_at", "desc")]
# Glance's limit_param_default and api_limit_max.
DEFAULT_LIMIT = 25
MAX_LIMIT = 1000

# Paging and sorting, never property filters.
_NOT_FILTERS = frozenset({"limit", "marker", "sort", "sort_key", "sort_dir"})
_HANDLED = frozenset({"visibility", "member_status", "os_hidden", "protected", "size_min",
                      "size_max", "tag", *STRING_FILTERS, *NUMBER_FILTERS, *TIME_FILTERS})


def parse_filters(query: QueryParams) -> ImageFilters:
    if "changes-since" in query:
        raise BadRequest('The "changes-since" filter is no longer available on v2.')
    visibility = query.get("visibility")
    if visibility is not None and visibility not in (*VISIBILITIES, "all"):
        raise BadRequest(f"Invalid visibility value: {visibility}")
    return ImageFilters(
        visibility=visibility,
        member_status=_member_status(query),
        os_hidden=_flag(query, "os_hidden", "false"),
        protected=_flag(query, "protected", "false") if "protected" in query else None,
        size_min=_integer(query, "size_min") if "size_min" in query else None,
        size_max=_integer(query, "size_max") if "size_max" in query else None,
        tags=[tag.strip() for tag in query.getlist("tag")],
        matches={name: _values(name, query[name]) for name in STRING_FILTERS
                 if name in query},
        numbers={name: _integer(query, name) for name in NUMBER_FILTERS if name in query},
        times=[_time_filter(name, query[name]) for name in TIME_FILTERS if name in query],
        properties=[(name, value) for name, value in query.multi_items()
                    if name not in _HANDLED and name not in _NOT_FILTERS])


def page_size(query: QueryParams) -> int:
    limit = parse_limit(query.get("limit"), max_limit=MAX_LIMIT, default=DEFAULT_LIMIT)
    return DEFAULT_LIMIT if limit is None else limit


def sort_order(query: QueryParams) -> list[tuple[str, str]]:
    return parse_sort(query, allowed=SORT_KEYS, default=DEFAULT_SORT)


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
    """Glance's boolean filters take the words ``true`` and ``false`` only: not the other
    spellings :func:`ownstack.common.booleans.parse_bool` reads (``1``, ``yes``, ...)."""
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


def _values(name: str, value: str) -> list[str]:
    if name in LIST_FILTERS and value.startswith("in:"):
        return [v.strip() for v in value[3:].split(",")]
    return [value]


def _time_filter(name: str, value: str) -> tuple[str, str, datetime]:
    operator, sep, moment = value.partition(":")
    if not sep or operator not in TIME_OPERATORS:
        operator, moment = "eq", value
    try:
        when = datetime.fromisoformat(moment.strip().replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(f"Invalid {name} filter {value!r}: use an operator (gt, gte, lt, "
                         "lte, eq, neq) and an ISO 8601 time.") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return name, operator, when
