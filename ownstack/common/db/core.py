"""Core statements on a session's connection, past the ORM's execute.

``AsyncSession.execute`` takes every statement through the ORM's execution (its compile
state, events and result wrapping) even when it selects plain columns or changes rows in
bulk; on SQLite that costs about 40 us more for such a select, and 85 us more for an
insert, update or delete, than the same statement on the session's connection (decisions
79 and 80), and the busiest requests (a port create, a server's status poll, a scheduling
pass) send several. :func:`run` sends such a statement on the session's connection, in its
transaction, after flushing what the session holds pending (the autoflush ``execute``
would have done, which a connection does not).

It finds the connection and executes the statement in one greenlet (decision 92), where
``await db.connection()`` then ``await connection.execute()`` took two, each a greenlet
made and switched to and back, and an ``AsyncConnection`` call between them: the same
connection, transaction and result (a buffered ``CursorResult``, as
``AsyncConnection.execute`` answers), about 20 us less CPU per statement. (A statement
with ``stream_results``, which ``AsyncConnection.execute`` refuses, is not for
:func:`run`: none is sent through it.)

Keep ``db.execute`` for a statement whose rows are ORM objects, and for an ORM bulk update
or delete that must change the objects the session holds (``synchronize_session``).

A read that only sends Core statements through :func:`run` needs no ORM session at all:
:class:`PlainRead` (``Database.plain_read()``) runs them on one connection of the engine's
pool, taken with its first statement (in that statement's greenlet) and given back when
the block ends. A session's own machinery (the ``AsyncSession`` and ``Session`` built,
its transaction object, the connection procured through it, its close and the identity
map's reset) costs about 40 us of CPU a read on SQLite beyond the connection's checkout
and return (decision 99), and the busiest reads (a server's status poll, the scheduling
pass's reads, Placement's candidates) are Core statements only.
"""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Any

from sqlalchemy.engine import Connection, CursorResult, Engine
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from sqlalchemy.util import greenlet_spawn

from ownstack.common.db.sqlite import OneHopConnection


class PlainRead:
    """Core reads on one pooled connection, with no ORM session: what :func:`run` takes
    besides a session. Its connection is taken by the first statement and given back
    (its transaction, if the driver opened one, rolled back) when the block ends; a
    statement that writes is rolled back with it, so only reads belong here.

    On SQLite in WAL mode a read opens no transaction (decision 78), so giving the
    connection back cannot wait and runs in one greenlet; otherwise (a transaction open,
    or another backend, whose rollback is a round trip) the close runs to its end even
    when the caller is cancelled, as a session's does."""

    __slots__ = ("_engine", "_sqlite", "connection")

    def __init__(self, engine: Engine, *, sqlite: bool) -> None:
        self._engine = engine
        self._sqlite = sqlite
        self.connection: Connection | None = None

    def get_bind(self) -> Engine:
        """The engine, as ``AsyncSession.get_bind`` answers a session's."""
        return self._engine

    async def __aenter__(self) -> PlainRead:
        return self

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        traceback: TracebackType | None) -> None:
        connection, self.connection = self.connection, None
        if connection is None:
            return
        if self._sqlite and _idle(connection):
            await greenlet_spawn(connection.close)
            return
        closing = asyncio.ensure_future(greenlet_spawn(connection.close))
        cancelled: asyncio.CancelledError | None = None
        while not closing.done():
            try:
                await asyncio.shield(closing)
            except asyncio.CancelledError as exc:
                cancelled = exc
        closing.result()
        if cancelled is not None:
            raise cancelled

    def _execute(self, statement: Any, parameters: Any) -> CursorResult[Any]:
        connection = self.connection
        if connection is None:
            connection = self.connection = self._engine.connect()
        result: CursorResult[Any] = connection.execute(statement, parameters)
        return result


# Where :func:`run` sends a statement: a session (in its transaction) or a plain read.
Reads = AsyncSession | PlainRead


async def run(db: Reads, statement: Any, parameters: Any = None) -> Any:
    """``statement``'s result (its rows, or its rowcount), run on ``db``'s connection."""
    if isinstance(db, PlainRead):
        return await greenlet_spawn(db._execute, statement, parameters)
    if db.new or db.dirty or db.deleted:
        await db.flush()
    return await greenlet_spawn(_execute, db.sync_session, statement, parameters)


def _idle(connection: Connection) -> bool:
    """Whether giving ``connection`` back cannot wait: a SQLite connection of ours with no
    transaction open or pending, so that its rollback has nothing to do."""
    if connection.closed or connection.invalidated:
        return False
    driver = connection.connection.dbapi_connection
    return isinstance(driver, OneHopConnection) and driver.idle()


def _execute(session: Session, statement: Any, parameters: Any) -> CursorResult[Any]:
    result: CursorResult[Any] = session.connection().execute(statement, parameters)
    return result
