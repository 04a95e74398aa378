"""Neutron's list queries, for every kind of resource.

A list request may carry, beside its filters:

* ``fields=a&fields=b``: only those attributes in each item (the API layer projects);
* ``sort_key=k&sort_dir=asc`` pairs (as many keys as directions), ``id`` last;
* ``limit``, ``marker`` (the id of the last item seen) and ``page_reverse``, paged by
  keyset so a table that changes between pages neither skips nor repeats a row;
* ``tags``, ``tags-any``, ``not-tags``, ``not-tags-any`` (comma-separated);
* any filterable attribute, ``name=a&name=b`` meaning either. An attribute that cannot be
  filtered is a 400 (Neutron's ``filter-validation``), never a silently ignored filter.

A :class:`Kind` says which attributes of a resource map to which columns; the domain
module of the kind adds the visibility clause (who may see which rows).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql import ColumnElement, Select

from ownstack.common.booleans import parse_bool
from ownstack.common.db.core import run
from ownstack.network.errors import BadNetworkRequest, InvalidInput, ResourceNotFound
from ownstack.network.objects.models import Tag

RESERVED: Final = frozenset({"fields", "sort_key", "sort_dir", "limit", "marker",
                             "page_reverse", "tags", "tags-any", "not-tags", "not-tags-any"})


def as_bool(value: str) -> bool:
    parsed = parse_bool(value)
    if parsed is None:
        raise InvalidInput(f"'{value}' cannot be converted to boolean")
    return parsed


_INT_RANGE: Final = range(-(2**63), 2**63)
_MAX_LIMIT: Final = 2**31 - 1


def as_int(value: str) -> int:
    """A filter's integer, as the columns hold them (64 bits at most)."""
    try:
        number = int(value)
    except ValueError:
        raise InvalidInput(f"'{value}' is not an integer") from None
    if number not in _INT_RANGE:
        raise InvalidInput(f"'{value}' is out of range")
    return number


@dataclass(frozen=True)
class Field:
    """An attribute clients may filter and sort on, and the column behind it."""

    column: InstrumentedAttribute[Any]
    parse: Callable[[str], Any] = str
    sortable: bool = True


@dataclass(frozen=True)
class Kind:
    """One kind of resource as the list API sees it."""

    name: str                          # singular: "network", "security_group"
    collection: str                    # the URL and body key: "networks", "security_groups"
    model: type[Any]
    fields: Mapping[str, Field]
    # Filters that need more than one column (a port's fixed_ips): the name, and the
    # clause for the values given.
    special: Mapping[str, Callable[[list[str]], ColumnElement[bool]]] = field(
        default_factory=dict)


@dataclass
class ListQuery:
    filters: dict[str, list[str]] = field(default_factory=dict)
    tags_all: list[str] = field(default_factory=list)
    tags_any: list[str] = field(default_factory=list)
    not_tags: list[str] = field(default_factory=list)
    not_tags_any: list[str] = field(default_factory=list)
    sort: list[tuple[str, str]] = field(default_factory=list)
    limit: int | None = None
    marker: str | None = None
    page_reverse: bool = False
    fields: list[str] = field(default_factory=list)


def parse_query(pairs: Iterable[tuple[str, str]], kind: Kind) -> ListQuery:
    """The list request's parameters, checked against ``kind``; 400 for what cannot be."""
    query = ListQuery()
    sort_keys: list[str] = []
    sort_dirs: list[str] = []
    for name, value in pairs:
        if name == "fields":
            query.fields.extend(part for part in value.split(",") if part)
        elif name == "sort_key":
            sort_keys.append(value)
        elif name == "sort_dir":
            sort_dirs.append(value)
        elif name == "limit":
            query.limit = _limit(value)
        elif name == "marker":
            query.marker = value
        elif name == "page_reverse":
            query.page_reverse = as_bool(value)
        elif name in ("tags", "tags-any", "not-tags", "not-tags-any"):
            tags = [tag for tag in value.split(",") if tag]
            {"tags": query.tags_all, "tags-any": query.tags_any, "not-tags": query.not_tags,
             "not-tags-any": query.not_tags_any}[name].extend(tags)
        elif name in kind.fields or name in kind.special:
            query.filters.setdefault(name, []).append(value)
        else:
            raise BadNetworkRequest(kind.collection,
                                    f"[{name}] is invalid attribute for filtering")
    for name, values in query.filters.items():
        spec = kind.fields.get(name)
        if spec is not None:
            for value in values:
                spec.parse(value)               # a bad value is a 400 now, not a 500 later
    if len(sort_keys) != len(sort_dirs):
        raise BadNetworkRequest(kind.collection,
                                "The number of sort_keys and sort_dirs must be same")
    for key, direction in zip(sort_keys, sort_dirs, strict=True):
        spec = kind.fields.get(key)
        if spec is None or not spec.sortable:
            raise BadNetworkRequest(kind.collection, f"{key} is invalid attribute for sort_keys")
        if direction not in ("asc", "desc"):
            raise BadNetworkRequest(kind.collection,
                                    f"{direction} is invalid value for sort_dirs, valid "
                                    "values are 'asc' and 'desc'")
        if key not in (k for k, _ in query.sort):
            query.sort.append((key, direction))
    return query


def _limit(value: str) -> int | None:
    try:
        limit = int(value)
    except ValueError:
        raise BadNetworkRequest("request", f"Limit must be an integer 0 or greater and not "
                                f"'{value}'") from None
    if limit < 0:
        raise BadNetworkRequest("request", f"Limit must be an integer 0 or greater and not "
                                f"'{value}'")
    # limit=0 means no limit, as in Neutron; a limit beyond any table is no limit either.
    return min(limit, _MAX_LIMIT) or None


@dataclass(frozen=True)
class Page:
    rows: list[Any]
    # Whether rows exist past the page in the direction it was read.
    more: bool
    # The ids of every row that matches, as a subquery, when the page holds them all (no
    # limit, no marker): related rows of a long listing are read in one statement.
    every_id: Select[Any] | None = None

    def ids(self) -> Ids:
        """What :func:`in_ids` needs to read the rows related to the page's."""
        return self.every_id if self.every_id is not None else [row.id for row in self.rows]


# Rows named by id: a list of ids, or a subquery of them.
Ids = Sequence[str] | Select[Any]
_ID_BATCH: Final = 500


def in_ids(column: Any, ids: Ids) -> list[ColumnElement[bool]]:
    """WHERE terms, one per statement to run, reading the rows whose ``column`` is among
    ``ids``: one ``IN (SELECT ...)``, or one ``IN`` list per 500 ids (a bound parameter
    each, within every database's limit)."""
    if isinstance(ids, Select):
        return [column.in_(ids)]
    return [column.in_(ids[start:start + _ID_BATCH]) for start in range(0, len(ids), _ID_BATCH)]


def filter_clause(kind: Kind, query: ListQuery) -> list[ColumnElement[bool]]:
    """The WHERE terms of ``query``'s attribute and tag filters."""
    model_id = kind.model.id
    clauses: list[ColumnElement[bool]] = []
    for name, values in query.filters.items():
        special = kind.special.get(name)
        if special is not None:
            clauses.append(special(values))
            continue
        spec = kind.fields[name]
        clauses.append(spec.column.in_([spec.parse(value) for value in values]))
    for tag in query.tags_all:
        clauses.append(_tagged([tag], model_id))
    if query.tags_any:
        clauses.append(_tagged(query.tags_any, model_id))
    if query.not_tags:
        clauses.append(sa.not_(sa.and_(*(_tagged([tag], model_id) for tag in query.not_tags))))
    if query.not_tags_any:
        clauses.append(sa.not_(_tagged(query.not_tags_any, model_id)))
    return clauses


def _tagged(tags: list[str], model_id: Any) -> ColumnElement[bool]:
    return sa.exists().where(Tag.resource_id == model_id, Tag.tag.in_(tags))


async def list_page(db: AsyncSession, kind: Kind, query: ListQuery,
                    visible: Sequence[ColumnElement[bool]],
                    options: Sequence[Any] = (), *,
                    read: Sequence[Any] = (),
                    make: Callable[[Any], Any] | None = None) -> Page:
    """The rows ``query`` asks for among those ``visible`` clauses allow, in order: ORM
    objects, or (``read`` given) plain rows of those columns, each passed to ``make``
    (a NamedTuple's ``_make``, say): several times cheaper to read in bulk."""
    model = kind.model
    where = [*visible, *filter_clause(kind, query)]
    sort = list(query.sort)
    if all(key != "id" for key, _ in sort):
        sort.append(("id", sort[0][1] if sort else "asc"))
    if query.page_reverse:
        sort = [(key, "desc" if direction == "asc" else "asc") for key, direction in sort]
    columns = [(kind.fields[key].column if key != "id" else model.id, direction)
               for key, direction in sort]
    stmt = (sa.select(*read) if read else sa.select(model)).where(*where).options(*options)
    order: list[ColumnElement[Any]] = []
    for column, direction in columns:
        order.extend(_order_by(column, direction))
    stmt = stmt.order_by(*order)
    if query.marker is not None:
        marker = (await db.execute(sa.select(model).where(model.id == query.marker,
                                                          *visible))).scalar_one_or_none()
        if marker is None:
            raise ResourceNotFound(kind.name, query.marker)
        values = [getattr(marker, column.key) for column, _ in columns]
        stmt = stmt.where(_after(columns, values))
    if query.limit is not None:
        stmt = stmt.limit(query.limit + 1)
    if read and not options:
        # Plain columns through the session's connection: the same rows without the
        # ORM's per-row loading machinery (what is pending is flushed first, as the
        # session's autoflush would).
        result: Any = await run(db, stmt)
    else:
        result = await db.execute(stmt)
    rows: list[Any] = list(map(make, result) if make is not None else result) if read \
        else list(result.scalars().all())
    more = query.limit is not None and len(rows) > query.limit
    if more:
        rows = rows[:query.limit]
    if query.page_reverse:
        rows.reverse()
    whole = query.limit is None and query.marker is None
    return Page(rows, more, sa.select(model.id).where(*where) if whole else None)


def _order_by(column: Any, direction: str) -> list[ColumnElement[Any]]:
    """NULL (and the empty string, which Neutron's columns hold as often) sorts first
    ascending and last descending on every backend."""
    ordered = column.desc() if direction == "desc" else column.asc()
    if not column.nullable:
        return [ordered]
    is_set = sa.case((column.is_(None), 0), else_=1)
    return [is_set.desc() if direction == "desc" else is_set.asc(), ordered]


def _after(columns: list[tuple[Any, str]], values: list[Any]) -> ColumnElement[bool]:
    alternatives: list[ColumnElement[bool]] = []
    equal: list[ColumnElement[bool]] = []
    for (column, direction), value in zip(columns, values, strict=True):
        alternatives.append(sa.and_(*equal, _past(column, direction, value)))
        equal.append(column.is_(None) if value is None else column == value)
    return sa.or_(*alternatives)


def _past(column: Any, direction: str, value: Any) -> ColumnElement[bool]:
    if direction == "asc":
        past: ColumnElement[bool] = column.is_not(None) if value is None else column > value
        return past
    if value is None:
        return sa.false()
    before: ColumnElement[bool] = column < value
    return sa.or_(before, column.is_(None)) if column.nullable else before


def aggregated(value: Any, where: ColumnElement[bool], outer: Any, label: str) -> Any:
    """A column of a listing: ``value`` of the rows ``where`` picks for each row of the
    outer statement's ``outer`` (a model or a table), as one comma-separated text
    (``group_concat`` on SQLite and MariaDB, ``string_agg`` on PostgreSQL), NULL for none.
    The related rows of a whole page come in its one statement, instead of a statement for
    each kind of them. ``value`` must never hold a comma; :func:`split_text` reads it
    back. MariaDB cuts the text at ``group_concat_max_len``, which our sessions set far
    past any list (``engine.GROUP_CONCAT_MAX_LEN``)."""
    return (sa.select(sa.func.aggregate_strings(value, ",")).where(where).correlate(outer)
            .scalar_subquery().label(label))


def split_text(text: str | None) -> list[str]:
    """The items of an :func:`aggregated` column, in no particular order."""
    return text.split(",") if text else []


def project(item: dict[str, Any], fields: Sequence[str]) -> dict[str, Any]:
    """``item`` with only ``fields`` (all of it when none are asked for)."""
    if not fields:
        return item
    return {name: item[name] for name in fields if name in item}
