"""Limit, sort and marker handling shared by every list endpoint.

OpenStack list APIs page by keyset: the client passes the id of the last item it saw as
``marker`` and gets the rows that sort after it. Offsets would skip or repeat rows when the
table changes between two pages; a keyset does not.

A handler reads the query with :func:`parse_limit` and :func:`parse_sort`, loads the marker row
itself (an unknown marker is a 400 in some APIs and a 404 in others), calls :func:`paginate` and
links the next page with :func:`next_link`.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any, Final, TypeVar
from urllib.parse import urlencode, urlsplit, urlunsplit

import sqlalchemy as sa
from sqlalchemy.orm import Mapper
from sqlalchemy.sql import ColumnElement, Select

from ownstack.common.errors import ValidationFailed

__all__ = ["QueryParams", "next_link", "paginate", "parse_limit", "parse_sort"]

QueryParams = Mapping[str, str] | Iterable[tuple[str, str]]
"""Query parameters as a mapping or as (name, value) pairs; repeated names need pairs.

Starlette's ``request.query_params`` works directly: its ``multi_items()`` is used.
"""

_SelectT = TypeVar("_SelectT", bound="Select[Any]")

_DIRECTIONS: Final = ("asc", "desc")
_DIGITS: Final = re.compile(r"-?[0-9]+")


def _pairs(query: QueryParams) -> list[tuple[str, str]]:
    multi_items = getattr(query, "multi_items", None)
    if callable(multi_items):  # a multi-dict, whose items() would drop repeated names
        return list(multi_items())
    if isinstance(query, Mapping):
        return list(query.items())
    return list(query)


def parse_limit(value: str | None, *, max_limit: int, default: int | None = None) -> int | None:
    """The ``limit`` query parameter as an int in ``[0, max_limit]``.

    An absent limit gives ``default`` (None means "no limit"). A limit above ``max_limit`` is
    clamped rather than refused, as Nova and Glance do, so clients can ask for "as many as
    allowed". Anything that is not a non-negative integer is a 400.
    """
    if value is None:
        return None if default is None else min(default, max_limit)
    if not _DIGITS.fullmatch(value):
        raise ValidationFailed(f"Invalid limit {value!r}: it must be a non-negative integer.")
    try:
        limit = int(value)
    except ValueError:  # more digits than int() accepts: far above any max_limit
        return max_limit
    if limit < 0:
        raise ValidationFailed(f"Invalid limit {value!r}: it must be a non-negative integer.")
    return min(limit, max_limit)


def parse_sort(
    query: QueryParams,
    *,
    allowed: Collection[str],
    default: Sequence[tuple[str, str]] = (),
    default_dir: str = "desc",
) -> list[tuple[str, str]]:
    """The requested sort as ``[(key, "asc" | "desc"), ...]``, most significant first.

    Accepts both forms OpenStack APIs use: ``sort=name:asc,created_at`` (Glance v2, Cinder) and
    repeated ``sort_key=name&sort_dir=asc`` (Nova, Glance v1), but not both in one request. As in
    Nova, keys beyond the last ``sort_dir`` take the first ``sort_dir``. A key without a direction
    takes ``default_dir``, which is ``desc`` because that is what Nova, Glance and Cinder do.
    Without any sort parameter the result is ``default``.
    """
    pairs = _pairs(query)
    sorts = [value for name, value in pairs if name == "sort"]
    keys = [value for name, value in pairs if name == "sort_key"]
    dirs = [value for name, value in pairs if name == "sort_dir"]
    if sorts and (keys or dirs):
        raise ValidationFailed("Use either 'sort' or 'sort_key' and 'sort_dir', not both.")
    if sorts:
        result = [_sort_item(item, default_dir) for value in sorts for item in value.split(",")]
    elif keys:
        if len(dirs) > len(keys):
            raise ValidationFailed("There are more 'sort_dir' than 'sort_key' parameters.")
        fill = dirs[0] if dirs else default_dir
        result = [(key, (dirs[i] if i < len(dirs) else fill)) for i, key in enumerate(keys)]
    elif dirs:
        raise ValidationFailed("'sort_dir' needs a 'sort_key'.")
    else:
        return list(default)
    return _validated(result, allowed)


def _sort_item(item: str, default_dir: str) -> tuple[str, str]:
    key, _, direction = item.partition(":")
    return key.strip(), direction.strip() or default_dir


def _validated(sort: list[tuple[str, str]], allowed: Collection[str]) -> list[tuple[str, str]]:
    seen: set[str] = set()
    result: list[tuple[str, str]] = []
    for key, direction in sort:
        if key not in allowed:
            raise ValidationFailed(
                f"Invalid sort key {key!r}; allowed keys are: {', '.join(sorted(allowed))}."
            )
        if key in seen:
            raise ValidationFailed(f"Sort key {key!r} is given more than once.")
        if direction.lower() not in _DIRECTIONS:
            raise ValidationFailed(
                f"Invalid sort direction {direction!r} for {key!r}; use 'asc' or 'desc'."
            )
        seen.add(key)
        result.append((key, direction.lower()))
    return result


def paginate(
    stmt: _SelectT,
    model: type[Any],
    *,
    limit: int | None,
    marker_row: Any | None,
    sort: Sequence[tuple[str, str]],
) -> _SelectT:
    """``stmt`` ordered by ``sort``, starting after ``marker_row``, and limited to ``limit`` rows.

    ``sort`` holds ``(attribute, "asc" | "desc")`` pairs naming attributes of the mapped
    ``model``; ``id`` is added as the last key (in the first key's direction, as Nova does)
    unless present, so the order is total and no row is skipped or repeated between pages.

    NULL sorts below every value on every database (SQLite and MySQL already do this;
    PostgreSQL does the opposite), so pages stay the same whichever database runs.
    """
    mapper: Mapper[Any] = sa.inspect(model)
    keys = list(sort)
    if all(key != "id" for key, _ in keys):
        keys.append(("id", keys[0][1] if keys else "asc"))
    columns = [(mapper.columns[key], direction) for key, direction in keys]
    order_by: list[ColumnElement[Any]] = []
    for column, direction in columns:
        order_by.extend(_order_by(column, direction))
    stmt = stmt.order_by(*order_by)
    if marker_row is not None:
        values = [getattr(marker_row, key) for key, _ in keys]
        stmt = stmt.where(_after_marker(columns, values))
    if limit is not None:
        stmt = stmt.limit(limit)
    return stmt


def _order_by(column: sa.Column[Any], direction: str) -> list[ColumnElement[Any]]:
    ordered = column.desc() if direction == "desc" else column.asc()
    if not column.nullable:
        return [ordered]
    # A portable NULLS FIRST/LAST: MySQL has no such syntax.
    is_not_null = sa.case((column.is_(None), 0), else_=1)
    return [is_not_null.desc() if direction == "desc" else is_not_null.asc(), ordered]


def _after_marker(
    columns: list[tuple[sa.Column[Any], str]], values: list[Any]
) -> ColumnElement[bool]:
    """Rows after the marker: equal on the first n keys and past it on key n+1, for some n."""
    alternatives: list[ColumnElement[bool]] = []
    equal_so_far: list[ColumnElement[bool]] = []
    for (column, direction), value in zip(columns, values, strict=True):
        alternatives.append(sa.and_(*equal_so_far, _past(column, direction, value)))
        equal_so_far.append(column.is_(None) if value is None else column == value)
    return sa.or_(*alternatives)


def _past(column: sa.Column[Any], direction: str, value: Any) -> ColumnElement[bool]:
    """Rows strictly past ``value`` on one key, with NULL as the smallest value."""
    if direction == "asc":
        return column.is_not(None) if value is None else column > value
    if value is None:
        return sa.false()
    before: ColumnElement[bool] = column < value
    return sa.or_(before, column.is_(None)) if column.nullable else before


def next_link(base_url: str, query: QueryParams, last_id: str, limit: int) -> str:
    """The ``next`` href: ``base_url`` with the request's query, ``marker`` and ``limit`` replaced.

    Any query string already on ``base_url`` is dropped in favour of ``query``, so callers may
    pass the full request URL.
    """
    kept = [(name, value) for name, value in _pairs(query) if name not in ("marker", "limit")]
    kept += [("limit", str(limit)), ("marker", last_id)]
    scheme, netloc, path, _, _ = urlsplit(base_url)
    return urlunsplit((scheme, netloc, path, urlencode(kept), ""))
