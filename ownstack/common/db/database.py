"""One database as the control plane uses it: read sessions, and write transactions that
turn a lost race into the owner's conflict error.

API services reach it through their service state (``req.svc.read()``), and workers such
as the conductor are handed one directly: neither needs the other to open the database.

Write transactions are serialised where the database needs it: SQLite has one writer at
a time, so writers queue on an :class:`asyncio.Lock`, one per database file and event loop
and so shared by every service of the all-in-one process, and take the write lock up front
(``BEGIN IMMEDIATE``), which keeps their reads current and means a transaction never
fails half-way on a lock upgrade. PostgreSQL and MariaDB run writers concurrently; their
row locks and generation compare-and-swap settle races. A lost race on any backend
(deadlock, serialisation failure, busy lock) rolls the whole transaction back and raises
the owner's ``race_error``; nothing is retried behind the caller's back.
"""

from __future__ import annotations

import asyncio
import contextvars
import weakref
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import Session
from sqlalchemy.util import greenlet_spawn

from ownstack.common.db.core import Plain, to_the_end
from ownstack.common.db.engine import make_engine, make_sessionmaker
from ownstack.common.db.sqlite import OneHopConnection
from ownstack.common.errors import Conflict, OwnstackError

# What a lost race looks like on each backend when it is not a generation mismatch:
# PostgreSQL's deadlock and serialization failures, MariaDB's deadlock, SQLite's busy lock.
_RACE_MARKERS = ("deadlock", "could not serialize", "database is locked", "lock wait timeout")

RaceError = Callable[[], OwnstackError]


def default_race_error() -> OwnstackError:
    return Conflict("Another request changed the same resources at the same time; retry.")


class Database:
    """An engine and its sessions; :meth:`read` and :meth:`write` are the only ways in."""

    def __init__(self, engine: AsyncEngine, *, race_error: RaceError = default_race_error
                 ) -> None:
        self.engine = engine
        self.sessions = make_sessionmaker(engine)
        self.race_error = race_error
        self.sqlite = engine.dialect.name == "sqlite"
        if self.sqlite:
            _explicit_sqlite_transactions(engine)
        # A SQLite write session's connections begin with BEGIN IMMEDIATE: the option is
        # the engine's (the same pool), so the session procures its connection with its
        # first statement, in that statement's greenlet, rather than in one of its own.
        self._immediate = engine.execution_options(ownstack_sqlite_begin="IMMEDIATE")
        self._write_sessions = make_sessionmaker(self._immediate)
        self._url = str(engine.url)
        self._queue: tuple[weakref.ref[asyncio.AbstractEventLoop], asyncio.Lock] | None = None

    @classmethod
    def connect(cls, url: str, *, echo: bool = False,
                race_error: RaceError = default_race_error) -> Database:
        return cls(make_engine(url, echo=echo), race_error=race_error)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A session for reads, closed when the block ends (:meth:`plain_read` for Core
        statements alone).

        On SQLite in WAL mode a read runs no ``BEGIN`` (pysqlite opens a transaction only
        before a write) and its statements run on the event loop (decision 78), so the
        close of a session that wrote nothing has nothing to roll back and cannot wait:
        it runs in one greenlet, without the task that ``AsyncSession``'s exit makes so
        that a close that waits is not cut short by a cancellation. A session with a
        transaction open on its connection closes as ``AsyncSession`` does."""
        db = self.sessions()
        try:
            yield db
        finally:
            if self.sqlite and _nothing_to_roll_back(db.sync_session):
                await greenlet_spawn(db.sync_session.close)
            else:
                await to_the_end(db.close())

    def plain_read(self) -> Plain:
        """Core reads on one pooled connection and no ORM session (``async with``): for a
        reader that only sends Core statements through :func:`~ownstack.common.db.core.run`
        (decision 99). It gives its connection back as :meth:`read` closes a session."""
        return Plain(self.engine.sync_engine, sqlite=self.sqlite)

    @asynccontextmanager
    async def plain_write(self) -> AsyncIterator[Plain]:
        """:meth:`write` for a writer that only sends Core statements through
        :func:`~ownstack.common.db.core.run`: the same transaction (on SQLite the writers'
        queue and ``BEGIN IMMEDIATE`` with the first statement), committed when the block
        ends and rolled back if it raises, a lost race its :attr:`race_error`, on one
        pooled connection with no ORM session (decision 99)."""
        if self.sqlite:
            async with self._sqlite_writer(), \
                    self._plain_transaction(self._immediate) as plain:
                yield plain
        else:
            async with self._plain_transaction(self.engine) as plain:
                yield plain

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """One write transaction: committed when the block ends, rolled back if it raises.
        A lost race anywhere in it becomes :attr:`race_error`."""
        if self.sqlite:
            async with self._sqlite_writer(), self._transaction(immediate=True) as db:
                yield db
        else:
            async with self._transaction(immediate=False) as db:
                yield db

    async def close(self) -> None:
        await self.engine.dispose()

    def _writers_queue(self) -> asyncio.Lock:
        """:func:`_write_lock`, remembered for the event loop it was last asked in."""
        loop = asyncio.get_running_loop()
        if self._queue is None or self._queue[0]() is not loop:
            self._queue = (weakref.ref(loop), _write_lock(self._url))
        return self._queue[1]

    @asynccontextmanager
    async def _sqlite_writer(self) -> AsyncIterator[None]:
        """This task's turn to write to the SQLite file: the writers' queue, taken here
        rather than in SQLite's busy handler, which sleeps in steps of up to 100 ms (a
        writer of another service on the same file would otherwise stall behind it for far
        longer than the write takes). A write transaction that calls a service writing to
        the same file (in process, in this very task) would wait for itself forever: it is
        refused instead."""
        if _holding_write.get():
            raise RuntimeError("nested write transaction on one SQLite database: "
                               "call other services after the transaction ends")
        marker = _holding_write.set(True)
        try:
            async with self._writers_queue():
                yield
        finally:
            _holding_write.reset(marker)

    @asynccontextmanager
    async def _races_as_error(self) -> AsyncIterator[None]:
        """A lost race (a deadlock, a lock wait that timed out, a busy SQLite file) raised
        in the block becomes :attr:`race_error`; an integrity error stays what it is."""
        try:
            yield
        except IntegrityError:
            raise
        except DBAPIError as exc:
            if any(marker in str(exc.orig).lower() for marker in _RACE_MARKERS):
                raise self.race_error() from exc
            raise

    @asynccontextmanager
    async def _transaction(self, *, immediate: bool) -> AsyncIterator[AsyncSession]:
        async with self._races_as_error():
            if immediate:
                async with self._sqlite_transaction() as db:
                    yield db
            else:
                async with self.sessions() as db, db.begin():
                    yield db

    @asynccontextmanager
    async def _sqlite_transaction(self) -> AsyncIterator[AsyncSession]:
        """What ``async with sessions() as db, db.begin()`` does, in fewer steps.

        A committed SQLite connection goes back to the pool with no transaction open, so
        giving it back cannot wait (``OneHopConnection.rollback`` has nothing to do): the
        commit and the close run in one greenlet, where ``AsyncSession``'s exit would close
        in a task of its own (so that a cancellation cannot cut a close short that waits).
        Any other ending closes as it does, rolling back. The session's engine carries the
        ``BEGIN IMMEDIATE`` option, so its connection is procured by its first statement
        (decision 92), not by a call of its own before the block."""
        db = self._write_sessions()
        done = False
        try:
            yield db
            await greenlet_spawn(_commit_and_close, db.sync_session)
            done = True
        finally:
            if not done:
                await to_the_end(db.close())

    @asynccontextmanager
    async def _plain_transaction(self, engine: AsyncEngine) -> AsyncIterator[Plain]:
        """A write transaction on a :class:`Plain` connection of ``engine``: committed when
        the block ends (on SQLite the commit and the giving back in one greenlet, as
        :meth:`_sqlite_transaction` does), otherwise given back rolling back, to the end."""
        plain = Plain(engine.sync_engine, sqlite=self.sqlite)
        async with self._races_as_error():
            try:
                yield plain
                if plain.connection is not None:
                    if self.sqlite:
                        await greenlet_spawn(_commit_and_give_back, plain)
                    else:
                        await greenlet_spawn(plain.connection.commit)
            finally:
                # What is still held (a failed block or commit, or another backend's
                # committed connection) is given back, rolling back what is open.
                await plain.close()


def _commit_and_give_back(plain: Plain) -> None:
    """Commit ``plain``'s transaction, then give its connection back: a committed SQLite
    connection has nothing to roll back, so this cannot wait. A failed commit leaves the
    connection to :meth:`Plain.close`."""
    connection = plain.connection
    assert connection is not None
    connection.commit()
    plain.connection = None
    connection.close()


def _nothing_to_roll_back(session: Session) -> bool:
    """Whether closing ``session`` cannot wait: it holds no connection, or only
    :class:`OneHopConnection` ones with no transaction open and none pending."""
    transaction = session.get_transaction()
    if transaction is None:
        return True
    for connection in transaction.connections:
        if connection.closed or connection.invalidated:
            return False
        driver = connection.connection.dbapi_connection
        if not isinstance(driver, OneHopConnection) or not driver.idle():
            return False
    return True


def _commit_and_close(session: Session) -> None:
    session.commit()
    session.close()


_holding_write: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "ownstack_holding_sqlite_write", default=False)
_WRITE_LOCKS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Lock]] = \
    weakref.WeakKeyDictionary()


def _write_lock(database_url: str) -> asyncio.Lock:
    """The one writers' queue of a SQLite file in this event loop."""
    locks = _WRITE_LOCKS.setdefault(asyncio.get_running_loop(), {})
    return locks.setdefault(database_url, asyncio.Lock())


def _explicit_sqlite_transactions(engine: AsyncEngine) -> None:
    """Let a write transaction take SQLite's write lock up front (``BEGIN IMMEDIATE``): its
    reads then see the latest commit, and it never fails half-way on a lock upgrade.

    Every other transaction keeps pysqlite's own behaviour, which begins only before the
    first write statement, so a session that reads and then writes outside
    :meth:`Database.write` takes the lock at its first write (waiting for it), never
    upgrading a stale read snapshot, which WAL would refuse at once with "database is
    locked". Several services share one engine's listener: it is added once.
    """
    if not event.contains(engine.sync_engine, "begin", _begin_immediate):
        event.listen(engine.sync_engine, "begin", _begin_immediate)


def _begin_immediate(connection: Any) -> None:
    if connection.get_execution_options().get("ownstack_sqlite_begin") == "IMMEDIATE":
        driver = connection.connection.dbapi_connection
        if isinstance(driver, OneHopConnection):
            # Handed straight to the driver, which runs it with the first statement (on
            # the event loop if the lock is free, else in that statement's hop): the
            # execution of a statement by SQLAlchemy costs more than the rest of opening
            # the transaction.
            driver.defer_begin("BEGIN IMMEDIATE")
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
