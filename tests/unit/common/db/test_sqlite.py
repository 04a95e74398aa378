"""SQLite through aiosqlite with one thread hop per statement that may wait for a lock and
none for the others: the same results, errors and transactions as the stock driver, with
fewer hops."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from helpers.inprocess import make_config
from ownstack.common.db import sqlite as one_hop
from ownstack.common.db.engine import make_engine
from ownstack.common.db.sqlite import OneHopConnection
from ownstack.common.service import ServiceState

_TABLE = Table("t", MetaData(), Column("id", Integer, primary_key=True),
               Column("name", String(20), unique=True))


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    async with engine.begin() as conn:
        await conn.run_sync(_TABLE.metadata.create_all)
    yield engine
    await engine.dispose()


@pytest.fixture
def hops(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every call run on a connection's thread, as it is made."""
    made: list[Any] = []
    original = aiosqlite.Connection._execute

    async def counted(self: Any, fn: Any, *args: Any, **kwargs: Any) -> Any:
        made.append(fn)
        return await original(self, fn, *args, **kwargs)
    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    return made


async def test_rows_counts_and_ids_are_the_drivers(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        raw = await conn.get_raw_connection()
        assert isinstance(raw.dbapi_connection, OneHopConnection)
        result = await conn.execute(insert(_TABLE).values(name="a"))
        assert result.inserted_primary_key == (1,)
        await conn.execute(insert(_TABLE), [{"name": "b"}, {"name": "c"}])
        changed = await conn.execute(update(_TABLE).where(_TABLE.c.id > 1).values(name=None))
        assert changed.rowcount == 2
        rows = (await conn.execute(select(_TABLE).order_by(_TABLE.c.id))).all()
    assert [tuple(row) for row in rows] == [(1, "a"), (2, None), (3, None)]
    async with engine.connect() as conn:
        streamed = [row.id async for row in await conn.stream(select(_TABLE.c.id))]
    assert streamed == [1, 2, 3]


async def test_errors_and_rollback(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(insert(_TABLE).values(name="a"))
    with pytest.raises(IntegrityError):
        async with engine.begin() as conn:
            await conn.execute(insert(_TABLE).values(name="b"))
            await conn.execute(insert(_TABLE).values(name="a"))
    async with engine.connect() as conn:
        assert (await conn.execute(select(_TABLE.c.name))).scalars().all() == ["a"]


async def test_reads_run_without_a_hop_and_end_without_one(
        engine: AsyncEngine, hops: list[Any]) -> None:
    async with engine.connect() as conn:
        await conn.execute(text("select 1"))        # the pool's first connect, hops of its own
    hops.clear()
    async with engine.connect() as conn:
        for _ in range(3):
            assert (await conn.execute(select(_TABLE.c.id))).all() == []
    assert hops == []       # WAL readers never wait: no hop, and no rollback at check-in


async def test_reads_hop_when_the_database_is_not_in_wal_mode(
        tmp_path: Path, hops: list[Any]) -> None:
    # Outside WAL a reader waits for a committing writer: that wait must not block the
    # event loop, so the read goes to the connection's thread.
    engine = make_engine("sqlite://")       # in memory: journal mode "memory"
    try:
        async with engine.connect() as conn:
            await conn.execute(text("select 1"))
        hops.clear()
        async with engine.connect() as conn:
            for _ in range(3):
                await conn.execute(text("select 1"))
        assert len(hops) == 3
    finally:
        await engine.dispose()


async def test_a_write_that_may_wait_for_the_lock_hops(
        engine: AsyncEngine, hops: list[Any]) -> None:
    async with engine.connect() as conn:
        await conn.execute(text("select 1"))
    hops.clear()
    async with engine.begin() as conn:       # a deferred transaction: its write takes the lock
        await conn.execute(insert(_TABLE).values(name="a"))
        await conn.execute(insert(_TABLE).values(name="b"))
    assert len(hops) == 3       # each write (no BEGIN IMMEDIATE vouched for the lock), commit


@asynccontextmanager
async def _warmed(tmp_path: Path, hops: list[Any]) -> AsyncIterator[ServiceState]:
    """A service with the table made and its pool warmed by an empty write, the hops
    recorded so far cleared."""
    svc = ServiceState(make_config(tmp_path), {})
    try:
        async with svc.engine.begin() as conn:
            await conn.run_sync(_TABLE.metadata.create_all)
        async with svc.write():
            pass
        hops.clear()
        yield svc
    finally:
        await svc.engine.dispose()


async def test_a_write_transaction_takes_a_free_write_lock_without_a_hop(
        tmp_path: Path, hops: list[Any]) -> None:
    async with _warmed(tmp_path, hops) as svc:
        async with svc.write() as db:
            await db.execute(insert(_TABLE).values(name="a"))
            # The write lock is held from here on: nothing can wait, nothing hops.
            await db.execute(insert(_TABLE).values(name="b"))
            await db.execute(update(_TABLE).where(_TABLE.c.name == "b").values(name="c"))
            assert (await db.execute(select(_TABLE.c.name).order_by(_TABLE.c.id))
                    ).scalars().all() == ["a", "c"]
        # BEGIN IMMEDIATE with the first insert, on the event loop (the lock was free),
        # and the commit there too (decision 87): it holds the lock, and no automatic
        # checkpoint runs in it.
        assert hops == []
        hops.clear()
        async with svc.write():
            pass
        assert hops == []       # nothing ran: nothing to begin or commit
        async with svc.read() as db:
            assert (await db.execute(select(_TABLE.c.name))).scalars().all() == ["a", "c"]


async def test_a_failed_write_transaction_rolls_back_and_the_next_one_begins_again(
        tmp_path: Path, hops: list[Any]) -> None:
    svc = ServiceState(make_config(tmp_path), {})
    try:
        async with svc.engine.begin() as conn:
            await conn.run_sync(_TABLE.metadata.create_all)
        with pytest.raises(IntegrityError):
            async with svc.write() as db:
                await db.execute(insert(_TABLE).values(name="a"))
                await db.execute(insert(_TABLE).values(name="a"))     # inline, and fails
        hops.clear()
        async with svc.write() as db:
            await db.execute(insert(_TABLE).values(name="b"))
        assert hops == []       # the lock is taken again without waiting, and committed
        async with svc.read() as db:
            assert (await db.execute(select(_TABLE.c.name))).scalars().all() == ["b"]
    finally:
        await svc.engine.dispose()


async def test_a_read_does_not_wait_for_an_open_write_transaction(tmp_path: Path) -> None:
    svc = ServiceState(make_config(tmp_path), {})
    try:
        async with svc.engine.begin() as conn:
            await conn.run_sync(_TABLE.metadata.create_all)
            await conn.execute(insert(_TABLE).values(name="a"))
        writing, read_done = asyncio.Event(), asyncio.Event()

        async def writer() -> None:
            async with svc.write() as db:
                await db.execute(insert(_TABLE).values(name="b"))
                writing.set()
                await read_done.wait()      # holds the write lock until the read is over

        task = asyncio.create_task(writer())
        await writing.wait()
        async with svc.read() as db:        # would block the event loop if it waited
            names = (await db.execute(select(_TABLE.c.name))).scalars().all()
        read_done.set()
        await asyncio.wait_for(task, 10)
        assert names == ["a"]               # the last commit, not the open transaction
        async with svc.read() as db:
            assert (await db.execute(select(_TABLE.c.name).order_by(_TABLE.c.id))
                    ).scalars().all() == ["a", "b"]
    finally:
        await svc.engine.dispose()


async def test_a_stream_inside_a_write_transaction_runs_in_it(tmp_path: Path) -> None:
    svc = ServiceState(make_config(tmp_path), {})
    try:
        async with svc.engine.begin() as conn:
            await conn.run_sync(_TABLE.metadata.create_all)
            await conn.execute(insert(_TABLE).values(name="a"))
        async with svc.write() as db:
            streamed = [row.name async for row in await db.stream(select(_TABLE.c.name))]
            conn = await db.connection()
            raw = await conn.get_raw_connection()
            assert raw.dbapi_connection.driver_connection.in_transaction
        assert streamed == ["a"]
    finally:
        await svc.engine.dispose()


async def test_a_write_transaction_waits_for_a_held_write_lock_on_the_thread(
        tmp_path: Path, hops: list[Any]) -> None:
    """Another process (here another connection) holds the write lock: the BEGIN IMMEDIATE
    that fails at once on the event loop is run again on the connection's thread, which
    waits for the lock with SQLite's own busy timeout while the event loop goes on."""
    svc = ServiceState(make_config(tmp_path), {})
    try:
        async with svc.engine.begin() as conn:
            await conn.run_sync(_TABLE.metadata.create_all)
        async with svc.write():
            pass
        other = sqlite3.connect(str(svc.engine.url.database), isolation_level=None,
                                check_same_thread=False)
        other.execute("BEGIN IMMEDIATE")
        other.execute("INSERT INTO t (name) VALUES ('other')")
        hops.clear()

        async def writer() -> list[str]:
            async with svc.write() as db:
                await db.execute(insert(_TABLE).values(name="mine"))
                return list((await db.execute(select(_TABLE.c.name).order_by(_TABLE.c.id))
                             ).scalars())

        task = asyncio.create_task(writer())
        while not hops:             # the loop runs while the thread waits
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.2)
        assert not task.done()
        other.execute("COMMIT")     # the lock is free: the waiting BEGIN takes it
        assert await asyncio.wait_for(task, 10) == ["other", "mine"]
        # The BEGIN IMMEDIATE and the insert waited on the thread; the commit, holding the
        # lock, ran on the event loop (decision 87).
        assert [getattr(fn, "__name__", "") for fn in hops] == ["_execute"]
        other.close()
        async with svc.engine.connect() as conn:
            raw = await conn.get_raw_connection()
            assert raw.dbapi_connection.driver_connection._conn.execute(
                "PRAGMA busy_timeout").fetchone() == (30000,)
    finally:
        await svc.engine.dispose()


async def test_a_cancelled_write_transaction_rolls_back_and_gives_its_connection_back(
        tmp_path: Path) -> None:
    svc = ServiceState(make_config(tmp_path), {})
    try:
        async with svc.engine.begin() as conn:
            await conn.run_sync(_TABLE.metadata.create_all)
        inserted = asyncio.Event()

        async def writer() -> None:
            async with svc.write() as db:
                await db.execute(insert(_TABLE).values(name="a"))
                inserted.set()
                await asyncio.sleep(10)

        task = asyncio.create_task(writer())
        await inserted.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        pool: Any = svc.engine.sync_engine.pool
        assert pool.checkedout() == 0
        async with svc.write() as db:         # the write lock was let go
            await db.execute(insert(_TABLE).values(name="b"))
        assert pool.checkedout() == 0
        async with svc.read() as db:
            assert (await db.execute(select(_TABLE.c.name))).scalars().all() == ["b"]
    finally:
        await svc.engine.dispose()


async def test_a_read_session_closes_in_the_task_that_read(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hops: list[Any]) -> None:
    """A read that opened no transaction closes without a task of its own and without a
    hop (decision 84); one that wrote closes as ``AsyncSession`` does, rolling back."""
    svc = ServiceState(make_config(tmp_path), {})
    try:
        async with svc.engine.begin() as conn:
            await conn.run_sync(_TABLE.metadata.create_all)
        async with svc.write() as db:
            await db.execute(insert(_TABLE).values(name="a"))
        async with svc.read() as db:         # the pool's connection, opened once
            await db.execute(select(_TABLE.c.name))
        tasks: list[Any] = []
        for name in ("create_task", "ensure_future"):
            def counted(*args: Any, _original: Any = getattr(asyncio, name),
                        **kwargs: Any) -> Any:
                tasks.append(args[0])
                return _original(*args, **kwargs)
            monkeypatch.setattr(asyncio, name, counted)
        hops.clear()
        async with svc.read() as db:
            assert (await db.execute(select(_TABLE.c.name))).scalars().all() == ["a"]
        pool: Any = svc.engine.sync_engine.pool
        assert pool.checkedout() == 0
        assert tasks == [] and hops == []
        # A read session that wrote: its transaction is open, and the close rolls it back.
        async with svc.read() as db:
            await db.execute(insert(_TABLE).values(name="b"))
        assert tasks and hops
        assert pool.checkedout() == 0
        async with svc.read() as db:
            assert (await db.execute(select(_TABLE.c.name))).scalars().all() == ["a"]
        # A read that fails ends the same way, and the connection goes back.
        with pytest.raises(ZeroDivisionError):
            async with svc.read() as db:
                await db.execute(select(_TABLE.c.name))
                raise ZeroDivisionError
        assert pool.checkedout() == 0
    finally:
        await svc.engine.dispose()


async def test_connections_take_no_automatic_checkpoint(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        assert (await conn.exec_driver_sql("PRAGMA wal_autocheckpoint")).scalar() == 0


async def test_commits_on_the_event_loop_are_seen_by_other_connections(
        tmp_path: Path, hops: list[Any]) -> None:
    async with _warmed(tmp_path, hops) as svc:
        for name in ("a", "b"):
            async with svc.write() as db:
                await db.execute(insert(_TABLE).values(name=name))
        assert hops == []
        # Committed for good: another connection, of another driver, reads both rows.
        other = sqlite3.connect(str(svc.engine.url.database))
        try:
            assert [row[0] for row in other.execute("select name from t order by id")] == \
                ["a", "b"]
        finally:
            other.close()


@asynccontextmanager
async def _counted_from_zero(tmp_path: Path, hops: list[Any]
                             ) -> AsyncIterator[tuple[ServiceState, Any]]:
    """A service with the table made and one row committed, and its WAL file's counts
    (commits and rows since the last checkpoint) and the hops recorded set back to none."""
    svc = ServiceState(make_config(tmp_path), {})
    try:
        async with svc.engine.begin() as conn:      # a deferred transaction: hops, counts
            await conn.run_sync(_TABLE.metadata.create_all)
        async with svc.write() as db:
            await db.execute(insert(_TABLE).values(name="warm"))
        file = one_hop._wal_file(svc.engine.url.database)
        file.commits, file.rows, file.restart_next = 0, 0, False
        hops.clear()
        yield svc, file
    finally:
        await svc.engine.dispose()


async def test_every_nth_commit_hops_and_checkpoints_and_the_restart_after_it_hops(
        tmp_path: Path, hops: list[Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(one_hop, "CHECKPOINT_EVERY", 3)
    async with _counted_from_zero(tmp_path, hops) as (svc, _file):
        names = []
        for i in range(5):
            async with svc.write() as db:
                await db.execute(insert(_TABLE).values(name=f"n{i}"))
            names.append([fn.__name__ for fn in hops])
            hops.clear()
        # Commits 1-2 inline; the 3rd hops and checkpoints, copying the whole WAL; the
        # 4th restarts the WAL (syncing its header) and hops; the 5th is inline again.
        assert names == [[], [], ["_commit"], ["_commit"], []]
        other = sqlite3.connect(str(svc.engine.url.database))
        try:
            # The last checkpoint copied every frame it saw: what is left in the WAL is
            # what was committed after it.
            busy, log, copied = other.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            assert busy == 0 and copied == log
            assert other.execute("select count(*) from t").fetchone()[0] == 6
        finally:
            other.close()


async def test_a_commit_that_brings_the_rows_changed_to_the_limit_checkpoints(
        tmp_path: Path, hops: list[Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(one_hop, "CHECKPOINT_ROWS", 5)
    async with _counted_from_zero(tmp_path, hops) as (svc, file):
        async with svc.write() as db:       # 4 rows: inline
            await db.execute(insert(_TABLE), [{"name": f"a{i}"} for i in range(4)])
        assert hops == []
        async with svc.write() as db:       # 2 more, 6 in all: the checkpoint is due
            await db.execute(insert(_TABLE), [{"name": f"b{i}"} for i in range(2)])
        assert [fn.__name__ for fn in hops] == ["_commit"]
        assert (file.commits, file.rows) == (0, 0)
