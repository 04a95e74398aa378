"""``ownstack.common.db.core.run``: a Core statement on the session's connection, in its
transaction, after a flush of what the session holds pending, in one greenlet (decision 92);
or on a plain read's or write's pooled connection, with no ORM session (decision 99)."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Integer, String, event, func, insert, select, text, update
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from ownstack.common.db import core
from ownstack.common.db.database import Database
from ownstack.common.errors import Conflict


class _Base(DeclarativeBase):
    pass


class _Row(_Base):
    __tablename__ = "rows"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(20))


_ROWS: Any = _Row.__table__


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database.connect(f"sqlite:///{tmp_path / 'x.db'}")
    async with database.engine.begin() as conn:
        await conn.run_sync(_Base.metadata.create_all)
    yield database
    await database.close()


def _write_lock_free(other: sqlite3.Connection) -> bool:
    """Whether ``other`` (a connection with no busy timeout) could take SQLite's write
    lock now; it lets it go again."""
    try:
        other.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as error:
        if "locked" not in str(error):
            raise
        return False
    other.execute("ROLLBACK")
    return True


async def test_rows_and_rowcounts(database: Database) -> None:
    async with database.write() as db:
        await core.run(db, insert(_ROWS), [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}])
        changed = await core.run(db, update(_ROWS).where(_ROWS.c.id == 2).values(name="c"))
        assert changed.rowcount == 1
    async with database.read() as db:
        rows = (await core.run(db, select(_ROWS.c.id, _ROWS.c.name).order_by(_ROWS.c.id))
                ).all()
        one = (await core.run(db, select(_ROWS.c.name).where(_ROWS.c.id == 1))).scalar_one()
    assert [tuple(row) for row in rows] == [(1, "a"), (2, "c")] and one == "a"


async def test_runs_in_the_sessions_transaction_after_a_flush(database: Database) -> None:
    async with database.write() as db:
        db.add(_Row(id=1, name="pending"))         # flushed before the statement
        seen = (await core.run(db, select(func.count()).select_from(_ROWS))).scalar_one()
        assert seen == 1
        await core.run(db, insert(_ROWS), {"id": 2, "name": "core"})
        assert (await db.get(_Row, 2)) is not None  # the ORM sees it: one transaction
    with pytest.raises(RuntimeError):
        async with database.write() as db:
            await core.run(db, insert(_ROWS), {"id": 3, "name": "rolled back"})
            raise RuntimeError("fail the transaction")
    async with database.read() as db:
        names = (await core.run(db, select(_ROWS.c.name).order_by(_ROWS.c.id))).scalars()
        assert list(names) == ["pending", "core"]


async def test_one_greenlet_per_statement(database: Database,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    spawned = _count_greenlets(monkeypatch)
    async with database.read() as db:
        await core.run(db, select(_ROWS.c.id))
        await core.run(db, select(_ROWS.c.name))
    assert len(spawned) == 2


@pytest.mark.parametrize("first", ["core", "orm"])
async def test_a_write_takes_the_write_lock_with_its_first_statement(
        database: Database, tmp_path: Path, first: str) -> None:
    """A write session procures its connection with its first statement (decision 92),
    whether Core or ORM, and that connection begins ``IMMEDIATE``: a read first still holds
    SQLite's write lock until the commit."""
    other = sqlite3.connect(tmp_path / "x.db", timeout=0, isolation_level=None)
    try:
        async with database.write() as db:
            if first == "core":
                await core.run(db, select(_ROWS.c.id))
            else:
                await db.execute(select(_Row))
            assert not _write_lock_free(other)
        assert _write_lock_free(other)          # free once committed
    finally:
        other.close()


# --- plain reads and writes: Core statements on one pooled connection, no ORM session ----

@pytest.fixture
def sessions_begun() -> Iterator[list[Any]]:
    """The ORM session transactions begun during the test."""
    begun: list[Any] = []

    def record(session: Any, transaction: Any) -> None:
        begun.append(transaction)

    event.listen(Session, "after_transaction_create", record)
    yield begun
    event.remove(Session, "after_transaction_create", record)


async def test_a_plain_read_runs_core_statements_and_gives_its_connection_back(
        database: Database, sessions_begun: list[Any]) -> None:
    async with database.write() as db:
        await core.run(db, insert(_ROWS), [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}])
    begun = sessions_begun
    begun.clear()                                          # the write's session
    pool: Any = database.engine.sync_engine.pool
    async with database.plain_read() as plain:
        assert plain.connection is None                    # taken by the first statement
        rows = (await core.run(plain, select(_ROWS.c.id, _ROWS.c.name)
                               .order_by(_ROWS.c.id))).all()
        one = (await core.run(plain, select(_ROWS.c.name).where(_ROWS.c.id == 2))
               ).scalar_one()
        assert pool.checkedout() == 1
    assert [tuple(row) for row in rows] == [(1, "a"), (2, "b")] and one == "b"
    assert pool.checkedout() == 0 and plain.connection is None
    assert begun == []                                     # no ORM session at all
    async with database.read() as db:                      # a session's read begins one
        await core.run(db, select(_ROWS.c.id))
    assert len(begun) == 1
    async with database.plain_read():                      # no statement: no connection
        assert pool.checkedout() == 0


async def test_a_plain_read_that_writes_is_rolled_back(database: Database) -> None:
    async with database.plain_read() as plain:
        await core.run(plain, insert(_ROWS), {"id": 1, "name": "never"})
    async with database.read() as db:
        count = (await core.run(db, select(func.count()).select_from(_ROWS))).scalar_one()
    assert count == 0
    assert database.engine.sync_engine.pool.checkedout() == 0  # type: ignore[attr-defined]


async def test_a_plain_read_takes_one_greenlet_per_statement_and_one_to_close(
        database: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    spawned = _count_greenlets(monkeypatch)
    async with database.plain_read() as plain:
        await core.run(plain, select(_ROWS.c.id))
        await core.run(plain, select(_ROWS.c.name))
    assert len(spawned) == 3


async def test_a_plain_write_commits_or_rolls_back(database: Database,
                                                   sessions_begun: list[Any]) -> None:
    begun = sessions_begun
    async with database.plain_write() as plain:
        await core.run(plain, insert(_ROWS), [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}])
        changed = await core.run(plain, update(_ROWS).where(_ROWS.c.id == 2).values(name="c"))
        assert changed.rowcount == 1
    with pytest.raises(RuntimeError):
        async with database.plain_write() as plain:
            await core.run(plain, insert(_ROWS), {"id": 3, "name": "rolled back"})
            raise RuntimeError("fail the transaction")
    assert begun == []
    async with database.plain_read() as plain:
        rows = (await core.run(plain, select(_ROWS.c.id, _ROWS.c.name).order_by(_ROWS.c.id))
                ).all()
    assert [tuple(row) for row in rows] == [(1, "a"), (2, "c")]
    assert database.engine.sync_engine.pool.checkedout() == 0  # type: ignore[attr-defined]


async def test_a_plain_write_takes_the_write_lock_with_its_first_statement(
        database: Database, tmp_path: Path) -> None:
    """Its connection begins ``IMMEDIATE`` as a write session's does: a read first holds
    SQLite's write lock until the commit, and it queues behind another writer."""
    other = sqlite3.connect(tmp_path / "x.db", timeout=0, isolation_level=None)
    try:
        async with database.plain_write() as plain:
            await core.run(plain, select(_ROWS.c.id))
            assert not _write_lock_free(other)
        assert _write_lock_free(other)          # free once committed
    finally:
        other.close()


async def test_a_plain_write_is_not_nested_on_sqlite(database: Database) -> None:
    async with database.write():
        with pytest.raises(RuntimeError, match="nested write"):
            async with database.plain_write():
                pass
    async with database.plain_write():
        with pytest.raises(RuntimeError, match="nested write"):
            async with database.write():
                pass


async def test_a_plain_write_turns_a_lost_race_into_the_race_error(
        tmp_path: Path) -> None:
    """A busy lock (here another process's write lock, found at once) is the owner's
    race error, as in a session's write."""
    class Lost(Conflict):
        pass

    database = Database.connect(f"sqlite:///{tmp_path / 'y.db'}", race_error=lambda: Lost("x"))
    async with database.engine.begin() as conn:
        await conn.run_sync(_Base.metadata.create_all)
        await conn.exec_driver_sql("PRAGMA busy_timeout=0")
    other = sqlite3.connect(tmp_path / "y.db", timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        with pytest.raises(Lost):
            async with database.plain_write() as plain:
                await core.run(plain, text("PRAGMA busy_timeout=0"))
                await core.run(plain, insert(_ROWS), {"id": 1, "name": "a"})
        other.execute("ROLLBACK")
        assert database.engine.sync_engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    finally:
        other.close()
        await database.close()


def _count_greenlets(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The functions ``core`` runs in a greenlet from now on, in order."""
    spawned: list[Any] = []
    real = core.greenlet_spawn

    async def counting(fn: Any, *args: Any, **kwargs: Any) -> Any:
        spawned.append(fn)
        return await real(fn, *args, **kwargs)

    monkeypatch.setattr(core, "greenlet_spawn", counting)
    return spawned
