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

A reader or writer that only sends Core statements through :func:`run` needs no ORM
session at all: :class:`Plain` runs them on one connection of the engine's pool, taken with
its first statement (in that statement's greenlet); ``Database.plain_read()`` gives it back
when the block ends, ``Database.plain_write()`` is a write transaction on one, committed
when the block ends. A session's own machinery (the ``AsyncSession`` and ``Session``
built, its transaction object, the connection procured through it, its close and the
identity map's reset) costs about 40-70 us of CPU a session on SQLite beyond the
connection's checkout and return (decision 99), and the busiest reads (a server's status
poll, the scheduling pass's reads, Placement's candidates) and most of a boot's writes
(Placement's claim, the conductor's hand-off, the agent's reports) are Core statements.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from types import TracebackType
from typing import Any

from sqlalchemy.engine import Connection, CursorResult, Engine
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from sqlalchemy.util import greenlet_spawn

from ownstack.common.db.sqlite import OneHopConnection


class Plain:
    """Core statements on one pooled connection, with no ORM session: what :func:`run`
    takes besides a session (``Database.plain_read()`` and ``plain_write()``). Its
    connection is taken by the first statement, in that statement's greenlet.

    As a read (``async with``) it gives the connection back when the block ends, its
    transaction, if the driver opened one, rolled back: a statement that writes is rolled
    back with it, so only reads belong there. On SQLite in WAL mode a read opens no
    transaction (decision 78), so giving the connection back cannot wait and runs in one
    greenlet; otherwise (a transaction open, or another backend, whose rollback is a round
    trip) the close runs to its end even when the caller is cancelled, as a session's
    does."""

    __slots__ = ("_engine", "_sqlite", "connection")

    def __init__(self, engine: Engine, *, sqlite: bool) -> None:
        self._engine = engine
        self._sqlite = sqlite
        self.connection: Connection | None = None

    def get_bind(self) -> Engine:
        """The engine, as ``AsyncSession.get_bind`` answers a session's."""
        return self._engine

    async def __aenter__(self) -> Plain:
        return self

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        traceback: TracebackType | None) -> None:
        await self.close()

    async def close(self) -> None:
        """Give the connection back, rolling back what is open."""
        connection, self.connection = self.connection, None
        if connection is None:
            return
        if self._sqlite and _idle(connection):
            await greenlet_spawn(connection.close)
            return
        await to_the_end(greenlet_spawn(connection.close))

    def connect(self) -> Connection:
        """The connection, taken now (in the caller's greenlet, which :func:`run` makes)
        when no statement took it yet: for a caller that needs more of it than
        :meth:`execute`, a savepoint or the driver's SQL."""
        connection = self.connection
        if connection is None:
            connection = self.connection = self._engine.connect()
        return connection

    def execute(self, statement: Any, parameters: Any) -> CursorResult[Any]:
        """``statement`` run now, in the caller's greenlet (:func:`run` makes one)."""
        result: CursorResult[Any] = self.connect().execute(statement, parameters)
        return result


# Where :func:`run` sends a statement: a session (in its transaction) or a plain
# connection.
Runner = AsyncSession | Plain


async def run(db: Runner, statement: Any, parameters: Any = None) -> Any:
    """``statement``'s result (its rows, or its rowcount), run on ``db``'s connection."""
    if isinstance(db, Plain):
        return await greenlet_spawn(db.execute, statement, parameters)
    if db.new or db.dirty or db.deleted:
        await db.flush()
    return await greenlet_spawn(_execute, db.sync_session, statement, parameters)


async def to_the_end(closing: Awaitable[Any]) -> None:
    """Await ``closing`` (a close that rolls back what is open) to its end even if the
    caller is cancelled meanwhile, and only then pass the cancellation on: a connection
    given back half closed could carry an open transaction to its next user."""
    task = asyncio.ensure_future(closing)
    cancelled: asyncio.CancelledError | None = None
    while not task.done():
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError as error:
            cancelled = error
    task.result()
    if cancelled is not None:
        raise cancelled


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
