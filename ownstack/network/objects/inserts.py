"""Inserts that may lose to a unique key, at the fewest statements each backend allows.

A row whose unique key settles a race (an address, a MAC on its network) is inserted and
the caller learns whether it went in. On PostgreSQL and MariaDB the insert runs under a
savepoint, so a lost race (a key another transaction holds; it waits for that one) rolls
back only that insert. On SQLite writers take turns (``BEGIN IMMEDIATE``), so a clash can
only be with a committed row: ``INSERT ... ON CONFLICT DO NOTHING`` says so in one
statement, where the savepoint would cost two more.
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Callable
from typing import Any, NamedTuple, TypeVar, cast

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.util import greenlet_spawn

from ownstack.common.db.base import Base
from ownstack.common.db.core import Plain, Runner, run
from ownstack.network.objects import models

Row = TypeVar("Row", bound=Base)


class Within(NamedTuple):
    """A condition a row goes in only under (a quota: ``quotas.within``): ``key`` names
    it for the statement's cache, ``condition`` is SQL true when the row may go in, with
    ``params`` bound beside the row's values (its columns' names are bound to them, so
    it may name ``project_id``), and ``refused`` is the error when it is false."""

    key: str
    condition: Any
    params: dict[str, Any]
    refused: Callable[[], Exception]


def is_sqlite(db: Runner) -> bool:
    return db.get_bind().dialect.name == "sqlite"


async def insert_new(db: Runner, model: type[Base], values: dict[str, Any]
                     ) -> dict[str, Any] | None:
    """The values of every column of the row ``values`` inserted into ``model``'s table
    (the Python-side defaults filled, NULL for the rest), or None when a unique key of it
    is taken (nothing else of the transaction is undone): :func:`insert_row` with no
    object made, for a writer on a plain connection (``Database.plain_write()``) or one
    that only reads the row back. On SQLite ``INSERT ... ON CONFLICT DO NOTHING`` as the
    driver's SQL; elsewhere a Core insert under a savepoint, so that a lost race (a key
    another transaction holds) is settled by the unique key and undoes only the insert."""
    full = {**_nulls(model), **_filled(model, values)}
    if is_sqlite(db):
        inserted = await _send_plain(db, model, [full], or_nothing=True)
        return full if inserted == 1 else None
    if not await under_savepoint(db, [(_insert(model), full)]):
        return None
    return full


async def under_savepoint(db: Runner, statements: list[tuple[Any, Any]]) -> bool:
    """Whether ``statements`` (each with its parameters) all ran under one savepoint,
    which a unique key's ``IntegrityError`` rolls back (then False, and nothing else of
    the transaction is undone): on PostgreSQL and MariaDB, where an insert that loses a
    race to another transaction waits for it and then fails on the key."""
    if isinstance(db, Plain):
        return bool(await greenlet_spawn(_plain_savepoint, db, statements))
    try:
        async with db.begin_nested():
            for statement, parameters in statements:
                await db.execute(statement, parameters)
    except IntegrityError:
        return False
    return True


def _plain_savepoint(db: Plain, statements: list[tuple[Any, Any]]) -> bool:
    connection = db.connect()
    try:
        with connection.begin_nested():
            for statement, parameters in statements:
                connection.execute(statement, parameters)
    except IntegrityError:
        return False
    return True


async def insert_row(db: AsyncSession, model: type[Row], values: dict[str, Any],
                     within: Within | None = None) -> Row | None:
    """``model(**values)`` inserted and in the session, or None when a unique key of it
    is taken (nothing else of the transaction is undone). ``within``: raise its error,
    inserting nothing, when its condition is false (judged before the key)."""
    if is_sqlite(db):
        # A Core insert of every column, the defaults filled here, then the same values
        # as a persistent object: the ORM's insert with RETURNING of the entity costs
        # several times the statement, and reads back only what is known already.
        full = _filled(model, values)
        if within is None:
            inserted = await _send_plain(db, model, [{**_nulls(model), **full}],
                                         or_nothing=True)
        else:
            inserted = await _send(db, (model, within.key, True),
                                   _insert_when(model, within, or_nothing=True),
                                   [{**within.params, **_nulls(model), **full}])
        if inserted != 1:
            if within is not None:
                await _judge(db, within, full)     # refused, or a key taken
            return None
        return _attached(db, model, full)
    if within is not None:
        await _judge(db, within, values)
    row = model(**values)
    try:
        async with db.begin_nested():
            db.add(row)
            await db.flush()
    except IntegrityError:
        return None
    return row


async def add_row(db: AsyncSession, model: type[Row], values: dict[str, Any],
                  within: Within | None = None) -> Row:
    """``model(**values)`` inserted and in the session, as ``db.add`` and a flush would
    (a taken key raises ``IntegrityError``); on SQLite as :func:`insert_row` does, a
    Core insert of every column, without the ORM's unit of work and ``RETURNING``.
    ``within``: raise its error, inserting nothing, when its condition is false; on
    SQLite judged by the insert itself (``INSERT ... SELECT ... WHERE``), one statement
    where the check and the insert took two, elsewhere by a read first."""
    if within is None:
        (row,) = await add_rows(db, model, [values])
        return row
    if not is_sqlite(db):
        await _judge(db, within, values)
        (row,) = await add_rows(db, model, [values])
        return row
    full = {**_nulls(model), **_filled(model, values)}
    if await _send(db, (model, within.key, False),
                   _insert_when(model, within, or_nothing=False),
                   [{**within.params, **full}]) != 1:
        raise within.refused()
    return _attached(db, model, full)


async def _judge(db: AsyncSession, within: Within, values: dict[str, Any]) -> None:
    """Raise ``within``'s error when its condition is false for ``values``."""
    allowed = (await run(db, _condition(within), {**within.params, **values})).scalar()
    if not allowed:
        raise within.refused()


_WHEN: dict[tuple[type[Base], str, bool], Any] = {}
_CONDITIONS: dict[str, Any] = {}


def _condition(within: Within) -> Any:
    """``SELECT condition``, built once per key."""
    found = _CONDITIONS.get(within.key)
    if found is None:
        found = _CONDITIONS[within.key] = sa.select(within.condition)
    return found


def _insert_when(model: type[Base], within: Within, *, or_nothing: bool) -> Any:
    """``INSERT INTO table (every column) SELECT :column, ... WHERE condition`` (with ``ON
    CONFLICT DO NOTHING`` when ``or_nothing``), built once per model and key: each
    column's value bound by its name, as the plain insert binds it."""
    cache_key = (model, within.key, or_nothing)
    found = _WHEN.get(cache_key)
    if found is None:
        table: Any = model.__table__
        columns = list(_columns(model))
        values = sa.select(*(sa.bindparam(column.key, type_=column.type)
                             for column in columns)).where(within.condition)
        names = [table.c[column.name] for column in columns]
        if or_nothing:
            found = sqlite.insert(table).from_select(names, values).on_conflict_do_nothing()
        else:
            found = sa.insert(table).from_select(names, values)
        _WHEN[cache_key] = found
    return found


async def add_rows(db: AsyncSession, model: type[Row], rows: list[dict[str, Any]]
                   ) -> list[Row]:
    """:func:`add_row` of each of ``rows``, in one statement on SQLite."""
    if is_sqlite(db):
        # Every column written, those without a value or default as NULL, so that no
        # attribute of the objects is left to load.
        full = [{**_nulls(model), **_filled(model, values)} for values in rows]
        await _send_plain(db, model, full, or_nothing=False)
        return [_attached(db, model, values) for values in full]
    made = [model(**values) for values in rows]
    db.add_all(made)
    await db.flush()
    return made


def _filled(model: type[Base], values: dict[str, Any]) -> dict[str, Any]:
    """``values`` with the Python-side defaults of the columns they leave out."""
    full = {**_scalar_defaults(model), **values}
    for name, default in _callable_defaults(model):
        if name not in full:
            full[name] = default()
    return full


def _attached(db: AsyncSession, model: type[Row], full: dict[str, Any]) -> Row:
    """The row just inserted with ``full``, as a persistent object of the session.

    The values go straight into the new object's ``__dict__``, as a load puts them, where
    the constructor sets each through its instrumented attribute to record a change that
    ``make_transient_to_detached`` then commits: the same object, state and history
    (nothing pending), for a third of the cost. The network models have no constructor of
    their own, no relationships, and no attribute events or mutable types to miss."""
    made = cast(Row, model.__mapper__.class_manager.new_instance())
    made.__dict__.update(full)
    make_transient_to_detached(made)
    db.add(made)
    return made


@functools.cache
def _nulls(model: type[Base]) -> dict[str, Any]:
    """None for every column of ``model``, by attribute name."""
    return {column.key: None for column in _columns(model)}


@functools.cache
def _scalar_defaults(model: type[Base]) -> dict[str, Any]:
    """The constant Python-side defaults of ``model``'s columns, by attribute name."""
    return {column.key: column.default.arg for column in _columns(model)
            if column.default is not None and column.default.is_scalar}


@functools.cache
def _callable_defaults(model: type[Base]) -> tuple[tuple[str, Callable[[], Any]], ...]:
    """The Python-side defaults of ``model``'s columns that are functions (``utcnow``,
    ``list``), by attribute name, each called with no argument as the ORM calls it."""
    found = []
    for column in _columns(model):
        default = column.default
        if default is not None and default.is_callable:
            function = default.arg
            # SQLAlchemy wraps a function of no argument in one of the execution context.
            found.append((column.key, functools.partial(function, None)))
    return tuple(found)


def _columns(model: type[Base]) -> Any:
    mapper: Any = sa.inspect(model)
    for attribute in mapper.column_attrs:
        (column,) = attribute.columns
        if column.key != attribute.key:
            raise TypeError(f"{model.__name__}.{attribute.key} names column {column.key}")
        if column.server_default is not None:
            raise TypeError(f"{model.__name__}.{attribute.key} has a server default: "
                            "insert_row cannot know its value")
        yield column


@functools.cache
def _insert_or_nothing(model: type[Base]) -> Any:
    """SQLite's ``INSERT ... ON CONFLICT DO NOTHING`` of ``model``'s table, built once:
    the values are bound when it runs, so it is not built and cache-keyed for each row.
    The table's, not the entity's: a Core insert, whose result has its rowcount."""
    table: Any = model.__table__
    return sqlite.insert(table).on_conflict_do_nothing()


@functools.cache
def _insert(model: type[Base]) -> Any:
    """The plain ``INSERT`` of ``model``'s table, built once (see _insert_or_nothing)."""
    table: Any = model.__table__
    return sa.insert(table)


async def insert_values(db: Runner, model: type[Base], values: dict[str, Any]
                        ) -> bool:
    """Whether the plain row ``values`` went into ``model``'s table (False: a unique key
    of it is taken); no object joins the session."""
    if is_sqlite(db):
        return await insert_plain(db, model, [values], or_nothing=True) == 1
    if isinstance(db, Plain):
        return await under_savepoint(db, [(_insert(model), values)])
    try:
        async with db.begin_nested():
            await db.execute(sa.insert(model).values(**values))
    except IntegrityError:
        return False
    return True


async def insert_plain(db: Runner, model: type[Base], rows: list[dict[str, Any]],
                       *, or_nothing: bool = False) -> int:
    """How many of ``rows`` went into ``model``'s table on SQLite (with ``or_nothing``, a
    row whose unique key is taken is skipped), each with the Python-side defaults of the
    columns it leaves out and NULL for the rest, as :func:`add_rows` writes them; no
    object joins the session. The insert SQLAlchemy compiles of the table is compiled
    once and sent as the driver's SQL, each value converted by its column type's bind
    processor, as SQLAlchemy's execution converts it: past the compiled cache's key and
    the execution's building of the parameters, which cost a network write's small
    inserts about a third of their time (decision 93). A table with a server-side default
    (whose value only omitting the column gives) goes through Core as before. What the
    session holds pending is flushed first, as :func:`ownstack.common.db.core.run` does."""
    return await _send_plain(db, model, [{**_nulls(model), **_filled(model, values)}
                                         for values in rows], or_nothing=or_nothing)


async def _send_plain(db: Runner, model: type[Base], full: list[dict[str, Any]],
                      *, or_nothing: bool) -> int:
    """:func:`insert_plain` of rows that hold every column's value already."""
    return await _send(db, *_plain(model, or_nothing), full)


def _plain(model: type[Base], or_nothing: bool) -> tuple[Any, Any]:
    """The key and statement of ``model``'s plain insert (see :func:`_send`)."""
    statement = _insert_or_nothing(model) if or_nothing else _insert(model)
    # Omitting a column with a server default is not writing NULL: Core's insert.
    return None if _server_defaults(model) else (model, or_nothing), statement


def network_models() -> list[type[Base]]:
    """Every model of :mod:`ownstack.network.objects.models`, the tables this module
    inserts into."""
    return [mapper.class_ for mapper in Base.registry.mappers
            if mapper.class_.__module__ == models.__name__]


def compile_plain_inserts(dialect: Dialect, model: type[Base]) -> int:
    """Compile now, for ``dialect`` (an engine's), both plain inserts of ``model`` that
    :func:`insert_row`, :func:`add_rows` and :func:`insert_plain` send as the driver's
    SQL (with and without ``ON CONFLICT DO NOTHING``), so that the first of them a process
    runs finds its SQL built (it is otherwise compiled then, a few ms each). Nothing is
    executed. Only SQLite's are sent so, and only a table without server defaults':
    elsewhere nothing is compiled. Returns how many were. An insert ``within`` a condition
    is the caller's condition's, and is compiled on its first use."""
    if not _sends_driver_sql(dialect) or _server_defaults(model):
        return 0
    return sum(_driver_statement(*_plain(model, or_nothing), dialect) is not None
               for or_nothing in (False, True))


@functools.cache
def _server_defaults(model: type[Base]) -> bool:
    table: Any = model.__table__
    return any(column.server_default is not None for column in table.columns)


async def _send(db: Runner, key: Any, statement: Any, rows: list[dict[str, Any]]
                ) -> int:
    """The rowcount of ``statement`` (an insert, built once and known by ``key``; None:
    send it through Core) run with each of ``rows`` on the session's connection, after
    flushing what the session holds pending, as ``core.run`` does; on SQLite sent as the
    driver's SQL (see :func:`insert_plain`)."""
    plain = None if key is None else _driver_statement(key, statement,
                                                         db.get_bind().dialect)
    if plain is None:
        result: Any = await run(db, statement, rows)
        return int(result.rowcount)
    params = [tuple([_bound(row[name] if required else row.get(name, fixed), convert)
                     for name, required, fixed, convert in plain.binds]) for row in rows]
    if isinstance(db, Plain):
        return await greenlet_spawn(_plain_driver_sql, db, plain.sql,
                                    params[0] if len(params) == 1 else params)
    if db.new or db.dirty or db.deleted:
        await db.flush()
    return await greenlet_spawn(_execute_driver_sql, db.sync_session, plain.sql,
                                params[0] if len(params) == 1 else params)


def _plain_driver_sql(db: Plain, sql: str, params: Any) -> int:
    """``sql`` on ``db``'s connection, taken by this statement if none ran."""
    return int(db.connect().exec_driver_sql(sql, params).rowcount)


def _execute_driver_sql(session: Session, sql: str, params: Any) -> int:
    """The rowcount of ``sql`` run on ``session``'s connection (procured, and its
    transaction begun, by this first statement if none ran), in one greenlet as
    ``core.run`` runs a statement (decision 92)."""
    return int(session.connection().exec_driver_sql(sql, params).rowcount)


def _bound(value: Any, convert: Callable[[Any], Any] | None) -> Any:
    return value if convert is None else convert(value)


class _DriverStatement(NamedTuple):
    sql: str
    # Each positional parameter: its name, whether a row must give it (else its value is
    # the statement's, a literal of a condition, unless the row gives one) and its type's
    # bind processor.
    binds: tuple[tuple[str, bool, Any, Callable[[Any], Any] | None], ...]


# By dialect (an engine's: its bind processors may carry the engine's JSON serializer),
# then by the statement's key.
_DRIVER_STATEMENTS: weakref.WeakKeyDictionary[
    Any, dict[Any, _DriverStatement | None]] = weakref.WeakKeyDictionary()


def _sends_driver_sql(dialect: Dialect) -> bool:
    return dialect.name == "sqlite" and bool(dialect.positional)


def _driver_statement(key: Any, statement: Any, dialect: Any) -> _DriverStatement | None:
    """``statement`` as SQLAlchemy compiles it for ``dialect`` on SQLite, with its
    parameters in order, built once; None elsewhere, or when a parameter is one
    SQLAlchemy computes at execution (a callable, an expanding IN, a literal rendered
    at execution)."""
    built = _DRIVER_STATEMENTS.setdefault(dialect, {})
    if key in built:
        return built[key]
    found = None
    if _sends_driver_sql(dialect):
        compiled = statement.compile(dialect=dialect)
        names = list(compiled.positiontup or ())
        binds = [compiled.binds[name] for name in names]
        if not any(bind.callable or bind.expanding or bind.literal_execute
                   for bind in binds):
            found = _DriverStatement(compiled.string, tuple(
                (name, bind.required, bind.effective_value,
                 bind.type.bind_processor(dialect))
                for name, bind in zip(names, binds, strict=True)))
    built[key] = found
    return found
