"""SQLite through aiosqlite: one thread hop per statement that may wait, none for the rest.

aiosqlite runs each SQLite connection in a thread of its own; every call on it is a hop
there and back (a queue put, a thread switch, the GIL handed over twice, a wake-up of the
event loop). SQLAlchemy's adapter makes four hops for each statement (open a cursor,
execute, fetch, close) and one more to roll back every connection returned to the pool,
read-only or not. At a few dozen statements per server boot that costs more CPU than the
SQL itself.

:class:`OneHopDBAPI` is SQLAlchemy's aiosqlite DBAPI adapter with a cursor that does all
four in one hop, and a connection that skips the commit or rollback hop when SQLite has no
transaction open: after every statement the worker thread also reports
``sqlite3.Connection.in_transaction``, and any call it cannot account for (a function
registered, the isolation level changed) counts as "maybe in a transaction". A
``BEGIN IMMEDIATE`` (see ``ownstack.common.db.database``) waits for the transaction's
first statement and runs with it. Results, errors and transaction semantics are the
driver's own; only the number of hops changes.

On a database in WAL mode a statement that cannot wait for a lock runs on the caller's
thread, with no hop at all (decision 78): a ``SELECT`` (WAL readers never wait for the
writer) and any statement of a write transaction that already holds the write lock (its
``BEGIN IMMEDIATE`` ran). Such a statement is a B-tree lookup in the page cache that takes
microseconds, far less than the hop (two thread switches and a wake-up of the event loop)
and always less than the Python that builds it and reads its rows, which runs on the event
loop anyway. Every statement that may wait stays on the connection's thread, where the
wait blocks nothing else: the first write of a transaction opened without ``BEGIN
IMMEDIATE``, the commit of such a transaction and every commit that may ``fsync`` (see
below), the rollback, and everything on a database in another journal mode, whose readers
wait for a committing writer. A ``BEGIN IMMEDIATE`` is first tried on the caller's thread
with SQLite's busy timeout at 0 (decision 83): it takes a free write lock at once, or
fails at once on a held one and then runs on the connection's thread, which waits for the
lock. The connection is then used from two threads, never at once: a connection belongs
to one session at a time, and each of its calls is awaited before the next.

The commit of a transaction that holds the write lock runs on the caller's thread too
(decision 87): with ``synchronous=NORMAL`` a WAL commit appends its frames to the WAL file
without an ``fsync``, and holding the lock it waits for nothing. Two things in a commit may
``fsync``: an automatic checkpoint, which this process's connections turn off (``PRAGMA
wal_autocheckpoint=0``, :func:`wal_pragmas`), and the rewrite of the WAL's header by the
first commit after a complete checkpoint. So the commit that brings a file's commits
since the last checkpoint to :data:`CHECKPOINT_EVERY`, or the rows they changed to
:data:`CHECKPOINT_ROWS` (counted over the process's connections to it: a large
transaction brings its checkpoint sooner), hops as before and runs a passive checkpoint
after it on the connection's thread (what the automatic one does, at a cadence of commits
and rows instead of WAL pages, which SQLite does not tell); when that checkpoint copied
the whole WAL, the next commit on the file, which restarts the WAL, hops too.
"""

from __future__ import annotations

import asyncio
import collections
import os
import sqlite3
from collections.abc import Iterator, Sequence
from typing import Any, Final

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util import await_only


class OneHopCursor:
    """A DBAPI cursor whose ``execute`` opens, runs, fetches and closes a SQLite cursor
    in one call on the connection's thread; rows are then read from memory."""

    server_side = False

    __slots__ = ("_adapt", "_rows", "arraysize", "description", "lastrowid", "rowcount")

    def __init__(self, adapt: OneHopConnection) -> None:
        self._adapt = adapt
        self._rows: collections.deque[Any] = collections.deque()
        self.arraysize = 1
        self.description: Any = None
        self.rowcount = -1
        self.lastrowid: int | None = None

    def execute(self, operation: str, parameters: Any = None) -> None:
        adapt = self._adapt
        if operation in _DEFERRED and not parameters:
            # Runs in the same hop as the transaction's first statement (or never, for a
            # transaction that runs none): one hop fewer per write transaction.
            adapt._pending_begin = operation
            self.description, self.rowcount, self.lastrowid = None, -1, None
            return
        try:
            if adapt._runs_inline(operation):
                await_only(self._inline(operation, parameters, many=False))
            else:
                await_only(self._run(operation, parameters, many=False))
        except Exception as error:
            adapt._handle_exception(error)

    def executemany(self, operation: str, seq_of_parameters: Any) -> None:
        adapt = self._adapt
        try:
            if adapt._runs_inline(operation):
                await_only(self._inline(operation, seq_of_parameters, many=True))
            else:
                await_only(self._run(operation, seq_of_parameters, many=True))
        except Exception as error:
            adapt._handle_exception(error)

    async def _run(self, operation: str, parameters: Any, *, many: bool) -> None:
        adapt = self._adapt
        connection: Any = adapt._connection        # an aiosqlite.Connection
        adapt._in_transaction = True        # until the thread says otherwise
        begin, adapt._pending_begin = adapt._pending_begin, None
        async with adapt._mutex:
            result = await connection._execute(_execute, connection._conn, operation,
                                               parameters, many, begin)
        if begin is not None:
            adapt._write_locked = True      # BEGIN IMMEDIATE took the write lock
        self._took(result)
        if operation.startswith(_JOURNAL_MODE):     # the engine's first pragma
            adapt._wal = bool(self._rows) and str(self._rows[0][0]).lower() == "wal"

    async def _inline(self, operation: str, parameters: Any, *, many: bool) -> None:
        # A coroutine that never suspends, awaited all the same: SQLAlchemy's async layer
        # checks that each execution awaited something (a sync driver would not have).
        self._took(_execute(self._adapt._connection._conn, operation, parameters, many,
                            None))

    def _took(self, result: tuple[Any, list[Any], int, int | None, bool]) -> None:
        adapt = self._adapt
        self.description, rows, self.rowcount, self.lastrowid, adapt._in_transaction = result
        if not adapt._in_transaction:
            adapt._write_locked = False
        self._rows = collections.deque(rows)

    def close(self) -> None:
        self._rows.clear()

    async def _async_soft_close(self) -> None:
        """Nothing to close: the SQLite cursor closed in the hop that ran it."""

    def setinputsizes(self, *inputsizes: Any) -> None:
        return None

    def __iter__(self) -> Iterator[Any]:
        while self._rows:
            yield self._rows.popleft()

    def fetchone(self) -> Any:
        return self._rows.popleft() if self._rows else None

    def fetchmany(self, size: int | None = None) -> Sequence[Any]:
        rows = self._rows
        return [rows.popleft() for _ in range(min(size or self.arraysize, len(rows)))]

    def fetchall(self) -> Sequence[Any]:
        rows = list(self._rows)
        self._rows.clear()
        return rows


def _execute(conn: sqlite3.Connection, operation: str, parameters: Any, many: bool,
             begin: str | None) -> tuple[Any, list[Any], int, int | None, bool]:
    """Runs on the connection's thread."""
    if begin is not None:
        conn.execute(begin)
    cursor = conn.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else []
        return description, rows, cursor.rowcount, cursor.lastrowid, conn.in_transaction
    finally:
        cursor.close()


def _commit(conn: sqlite3.Connection, checkpoint: bool) -> tuple[int, int, int] | None:
    """Runs on the connection's thread: the commit, then a passive checkpoint if asked,
    whose (busy, WAL frames, frames copied) it returns."""
    conn.commit()
    if not checkpoint:
        return None
    row = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    return int(row[0]), int(row[1]), int(row[2])


def wal_pragmas(dbapi_connection: Any) -> list[str]:
    """The pragmas a new connection of this driver takes for the commits above: automatic
    checkpoints off (they would run in a commit on the event loop)."""
    return ["PRAGMA wal_autocheckpoint=0"] if isinstance(dbapi_connection,
                                                          OneHopConnection) else []


# Statements that open a transaction, deferred to the hop of the next statement.
_DEFERRED: Final = frozenset({"BEGIN IMMEDIATE"})
_JOURNAL_MODE: Final = "PRAGMA journal_mode"


# How many commits on one file, or rows changed by them, run between two checkpoints
# (decision 87). SQLite's automatic checkpoint runs when the WAL reaches 1000 pages; a
# network write changes 1-6 rows and commits 5-15 pages.
CHECKPOINT_EVERY: Final = 100
CHECKPOINT_ROWS: Final = 1000


class WalFile:
    """What the process's connections to one database file share: the commits since the
    last checkpoint and the rows they changed, and whether the next commit restarts the
    WAL (and so syncs its header)."""

    __slots__ = ("commits", "restart_next", "rows")

    def __init__(self) -> None:
        self.commits = 0
        self.rows = 0
        self.restart_next = False

    def commit_may_sync(self, rows: int) -> bool:
        """Whether the commit about to run (counted here, with the ``rows`` it changed)
        should hop: a checkpoint is due after it, or it restarts the WAL."""
        self.commits += 1
        self.rows += rows
        return self.restart_next or self.checkpoint_due()

    def checkpoint_due(self) -> bool:
        return self.commits >= CHECKPOINT_EVERY or self.rows >= CHECKPOINT_ROWS


_WAL_FILES: dict[str, WalFile] = {}


def _wal_file(database: Any) -> WalFile:
    key = str(database)
    if not key.startswith(":") and not key.startswith("file:"):
        key = os.path.realpath(key)
    return _WAL_FILES.setdefault(key, WalFile())


class OneHopConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ("_busy_timeout", "_changes", "_file", "_in_transaction", "_mutex",
                 "_pending_begin", "_wal", "_write_locked")

    def __init__(self, dbapi: Any, connection: Any, file: WalFile | None = None) -> None:
        super().__init__(dbapi, connection)
        self._file = file if file is not None else WalFile()
        self._changes = 0           # SQLite's total_changes at this connection's last commit
        self._in_transaction = True
        self._pending_begin: str | None = None
        # Whether the database is in WAL mode (read from the engine's journal_mode
        # pragma), and whether this connection's transaction holds the write lock.
        self._wal = False
        self._write_locked = False
        self._busy_timeout: int | None = None       # SQLite's, read when first needed
        # SQLAlchemy 2.1 serialises a connection's statements with this lock; 2.0 has none.
        self._mutex: asyncio.Lock = getattr(self, "_execute_mutex", None) or asyncio.Lock()

    def defer_begin(self, operation: str) -> None:
        """Open the transaction with ``operation`` (``BEGIN IMMEDIATE``) in the hop of
        its first statement: what executing ``operation`` on a cursor does."""
        self._pending_begin = operation

    def idle(self) -> bool:
        """Whether no transaction is open or pending: a rollback would do nothing."""
        return not self._in_transaction and self._pending_begin is None

    def _runs_inline(self, operation: str) -> bool:
        """Whether ``operation`` cannot wait for a lock, and so runs without a hop."""
        if not self._wal or self._mutex.locked():
            return False
        if self._pending_begin is not None:
            return self._begin_without_waiting(self._pending_begin)
        return self._write_locked or operation[:6].upper() == "SELECT"

    def _begin_without_waiting(self, begin: str) -> bool:
        """Run ``begin``, the pending ``BEGIN IMMEDIATE``, here if the write lock is free:
        SQLite's busy timeout set to 0 for it, so that it fails at once where it would
        wait. When it fails it stays pending, for the connection's thread to wait for the
        lock."""
        conn: sqlite3.Connection = self._connection._conn
        if self._busy_timeout is None:
            self._busy_timeout = int(conn.execute("PRAGMA busy_timeout").fetchone()[0])
        conn.execute("PRAGMA busy_timeout=0")
        try:
            conn.execute(begin)
        except sqlite3.OperationalError:
            return False        # busy (or anything else): the thread runs it, and says
        finally:
            conn.execute(f"PRAGMA busy_timeout={self._busy_timeout}")
        self._pending_begin = None
        self._in_transaction = self._write_locked = True
        return True

    def cursor(self, server_side: bool = False) -> Any:
        if server_side:
            # The stock cursor streams rows hop by hop; the transaction must be open first.
            begin, self._pending_begin = self._pending_begin, None
            if begin is not None:
                self._in_transaction = True
                connection: Any = self._connection
                await_only(connection._execute(connection._conn.execute, begin))
            return super().cursor(server_side=True)
        return OneHopCursor(self)

    def commit(self) -> None:
        self._pending_begin = None      # a transaction that ran nothing: nothing to end
        if not self._in_transaction:
            return
        inline = self._write_locked and self._wal and not self._mutex.locked()
        self._write_locked = False
        if not self._wal:
            super().commit()
            self._in_transaction = False
            return
        total = self._connection._conn.total_changes
        rows, self._changes = total - self._changes, total
        if inline and not self._file.commit_may_sync(rows):
            # Holding the write lock, with automatic checkpoints off and no WAL restart
            # due: the commit appends to the WAL and waits for nothing.
            try:
                await_only(self._commit_inline())
            except Exception as error:
                self._handle_exception(error)
        else:
            if not inline:
                self._file.commit_may_sync(rows)
            self._commit_on_thread()
        self._in_transaction = False

    async def _commit_inline(self) -> None:
        # Awaited, as ``OneHopCursor._inline`` is, though it never suspends.
        self._connection._conn.commit()

    def _commit_on_thread(self) -> None:
        """The commit in a hop, with the passive checkpoint after it when one is due."""
        file = self._file
        checkpoint = file.checkpoint_due()
        if checkpoint:
            file.commits = file.rows = 0
        file.restart_next = False
        connection: Any = self._connection
        try:
            done = await_only(connection._execute(_commit, connection._conn, checkpoint))
        except Exception as error:
            self._handle_exception(error)
        if done is not None:
            _busy, log, copied = done
            # Every frame copied: the next commit writes the WAL from its start again.
            file.restart_next = log > 0 and copied == log

    def rollback(self) -> None:
        self._pending_begin = None
        if self._in_transaction:
            self._write_locked = False
            super().rollback()
            self._in_transaction = False

    def create_function(self, *args: Any, **kw: Any) -> None:
        self._in_transaction = True
        super().create_function(*args, **kw)

    @property
    def isolation_level(self) -> str | None:
        return super().isolation_level

    @isolation_level.setter
    def isolation_level(self, value: str | None) -> None:
        self._in_transaction = True
        AsyncAdapt_aiosqlite_connection.isolation_level.fset(self, value)  # type: ignore[attr-defined]


class OneHopDBAPI(AsyncAdapt_aiosqlite_dbapi):
    """Pass as ``module=`` to ``create_async_engine`` for a ``sqlite+aiosqlite`` URL."""

    def __init__(self) -> None:
        super().__init__(aiosqlite, sqlite3)

    def connect(self, *arg: Any, **kw: Any) -> OneHopConnection:
        # Statements that cannot wait run on the event loop's thread (see the module's
        # docstring), the others on the connection's own: never two at once.
        kw.setdefault("check_same_thread", False)
        adapted = super().connect(*arg, **kw)
        database = arg[0] if arg else kw.get("database", "")
        return OneHopConnection(self, adapted._connection, _wal_file(database))
