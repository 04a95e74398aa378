"""Cinder's list queries, for volumes, snapshots, attachments and types.

A list request may carry, beside its filters:

* ``limit`` (at most :data:`MAX_LIMIT`, Cinder's ``osapi_max_limit``), ``marker`` (the id
  of the last item seen: paged by keyset, so a table that changes between pages neither
  skips nor repeats a row; an unknown marker is Cinder's 404) and ``offset`` (rows skipped
  after the marker);
* ``sort=key:dir,key2`` or ``sort_key``/``sort_dir``, ``created_at desc`` by default, ``id``
  last so the order is total;
* ``with_count`` (3.45): the number of items the filters match, ``count`` beside them;
* ``all_tenants`` (admins: every project's, and then ``project_id`` picks one);
* the filters a kind declares. Cinder's configured filters are the public ones
  (``etc/cinder/resource_filters.json``); a filter nobody declared is a 400 ("Invalid
  filters ... are found in query options"), never silently ignored, except
  ``all_tenants`` from a non-admin, which Cinder also ignores (its clients always send it).
  ``name~`` and ``description~`` (3.34) match a substring; ``created_at`` and
  ``updated_at`` (3.60) take ``op:time`` with op one of gt, gte, eq, neq, lt, lte.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql import ColumnElement, Select

from ownstack.common.api.microversion import Version, at_least
from ownstack.common.api.pagination import paginate, parse_limit, parse_sort
from ownstack.common.booleans import parse_bool
from ownstack.common.errors import BadRequest, NotFound, ValidationFailed
from ownstack.common.times import as_utc

MAX_LIMIT: Final = 1000                 # Cinder's osapi_max_limit
_MAX_INT: Final = 2**31 - 1
_PAGING: Final = frozenset({"limit", "marker", "offset", "sort", "sort_key", "sort_dir",
                            "with_count"})
_TIME_OPS: Final = {"gt": "__gt__", "gte": "__ge__", "eq": "__eq__", "neq": "__ne__",
                    "lt": "__lt__", "lte": "__le__"}
_METADATA_TEXT_LIMIT: Final = 8192


def parse_limit_value(value: str | None) -> int:
    limit = parse_limit(value, max_limit=MAX_LIMIT, default=MAX_LIMIT)
    return MAX_LIMIT if limit is None else limit


def as_bool(name: str, value: str) -> bool:
    parsed = parse_bool(value)
    if parsed is None:
        raise BadRequest(f"Invalid input received: '{value}' is not a boolean for "
                         f"filter {name}.")
    return parsed


def as_int(name: str, value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise BadRequest(f"Invalid input received: {name} must be an integer.") from None
    if not 0 <= number <= _MAX_INT:
        raise BadRequest(f"Invalid input received: {name} must be an integer between 0 "
                         f"and {_MAX_INT}.")
    return number


def parse_metadata_filter(value: str) -> dict[str, str]:
    """``metadata={'k': 'v'}`` as cinderclient and openstacksdk send it (a Python dict's
    repr), or JSON: read as a literal, never evaluated."""
    if len(value) > _METADATA_TEXT_LIMIT:
        raise BadRequest("Invalid input received: the metadata filter is too long.")
    try:
        parsed = ast.literal_eval(value)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        raise BadRequest(f"Invalid input received: metadata filter {value!r} is not a "
                         "dictionary.") from None
    if not isinstance(parsed, dict) or not all(
            isinstance(k, str) and isinstance(v, str | int | float | bool)
            for k, v in parsed.items()):
        raise BadRequest(f"Invalid input received: metadata filter {value!r} is not a "
                         "dictionary of strings.")
    return {key: str(item) for key, item in parsed.items()}


@dataclass(frozen=True)
class Filter:
    """A filter clients may use: the clause for one value, and from which version."""

    clause: Callable[[str], ColumnElement[bool]]
    since: str = "3.0"
    admin_only: bool = False


@dataclass(frozen=True)
class Kind:
    name: str                                           # "volume", "snapshot"
    model: type[Any]
    filters: Mapping[str, Filter]
    sort_keys: Mapping[str, str]                        # API key -> attribute of model
    default_sort: tuple[tuple[str, str], ...] = (("created_at", "desc"),)


@dataclass
class ListQuery:
    clauses: list[ColumnElement[bool]] = field(default_factory=list)
    sort: list[tuple[str, str]] = field(default_factory=list)
    limit: int | None = None
    marker: str | None = None
    offset: int = 0
    all_tenants: bool = False
    project_id: str | None = None
    with_count: bool = False


def equals(column: InstrumentedAttribute[Any], parse: Callable[[str], Any] = str
           ) -> Callable[[str], ColumnElement[bool]]:
    return lambda value: column == parse(value)


def contains(column: InstrumentedAttribute[Any]) -> Callable[[str], ColumnElement[bool]]:
    def clause(value: str) -> ColumnElement[bool]:
        escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return column.like(f"%{escaped}%", escape="\\")
    return clause


def compares_time(column: InstrumentedAttribute[Any], name: str
                  ) -> Callable[[str], ColumnElement[bool]]:
    """``op:2020-01-01T00:00:00`` (3.60); several comparisons joined by commas."""
    def clause(value: str) -> ColumnElement[bool]:
        parts = []
        for item in value.split(","):
            op, sep, moment = item.partition(":")
            if not sep or op not in _TIME_OPS:
                raise BadRequest(f"Invalid input received: {name} filter {item!r} must be "
                                 "OP:TIME with OP one of gt, gte, eq, neq, lt, lte.")
            try:
                when = as_utc(datetime.fromisoformat(moment.replace("Z", "+00:00")))
            except ValueError:
                raise BadRequest(f"Invalid input received: {name} filter has an invalid "
                                 f"time {moment!r}.") from None
            parts.append(getattr(column, _TIME_OPS[op])(when))
        return sa.and_(*parts)
    return clause


def parse_query(items: Iterable[tuple[str, str]], kind: Kind, version: Version, *,
                is_admin: bool, with_like: bool = True) -> ListQuery:
    """A list request's query, checked against ``kind``; :class:`BadRequest` for an
    unknown filter or a malformed value."""
    pairs = list(items)
    query = ListQuery()
    query.limit = parse_limit(_last(pairs, "limit"), max_limit=MAX_LIMIT, default=MAX_LIMIT)
    query.marker = _last(pairs, "marker")
    offset = _last(pairs, "offset")
    query.offset = as_int("offset", offset) if offset is not None else 0
    sort = parse_sort([(n, v) for n, v in pairs if n in ("sort", "sort_key", "sort_dir")],
                      allowed=kind.sort_keys, default=kind.default_sort)
    query.sort = [(kind.sort_keys[key], direction) for key, direction in sort]
    if at_least(version, "3.45"):
        count = _last(pairs, "with_count")
        query.with_count = bool(count is not None and as_bool("with_count", count))
    unknown = []
    for name, value in pairs:
        if name in _PAGING:
            continue
        if name == "all_tenants":
            query.all_tenants = is_admin and bool(parse_bool(value) is not False)
            continue
        if name == "project_id" and is_admin:
            query.project_id = value
            continue
        spec = kind.filters.get(name)
        if (spec is None or not at_least(version, spec.since)
                or (spec.admin_only and not is_admin)
                or (name.endswith("~") and not with_like)):
            unknown.append(name)
            continue
        query.clauses.append(spec.clause(value))
    if unknown:
        raise BadRequest(f"Invalid filters {','.join(sorted(set(unknown)))} are found in "
                         "query options.")
    return query


def _last(pairs: list[tuple[str, str]], name: str) -> str | None:
    values = [value for key, value in pairs if key == name]
    return values[-1] if values else None


async def page(db: AsyncSession, stmt: Select[Any], kind: Kind, query: ListQuery,
               visible: ColumnElement[bool] | None) -> tuple[list[Any], int | None]:
    """The page of rows ``query`` asks for among those ``stmt`` selects, and the count of
    all that match when ``with_count`` asked for it."""
    stmt = stmt.where(*query.clauses)
    if visible is not None:
        stmt = stmt.where(visible)
    count = None
    if query.with_count:
        count = int(await db.scalar(sa.select(sa.func.count()).select_from(
            stmt.order_by(None).subquery())) or 0)
    marker_row = None
    if query.marker is not None:
        marker_stmt = sa.select(kind.model).where(kind.model.id == query.marker)
        if visible is not None:
            marker_stmt = marker_stmt.where(visible)
        marker_row = await db.scalar(marker_stmt)
        if marker_row is None:
            raise NotFound(f"Marker {query.marker} could not be found.")
    try:
        stmt = paginate(stmt, kind.model, limit=query.limit, marker_row=marker_row,
                        sort=query.sort)
    except KeyError as exc:
        raise ValidationFailed(f"Invalid sort key {exc}.") from None
    if query.offset:
        stmt = stmt.offset(query.offset)
    rows = list((await db.execute(stmt)).scalars().unique())
    return rows, count
