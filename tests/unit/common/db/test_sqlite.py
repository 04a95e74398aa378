"""SQLite through aiosqlite with one thread hop per statement: the same results, errors
and transactions as the stock driver, with fewer hops."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from helpers.inprocess import make_config
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


async def test_one_hop_per_statement_and_none_to_end_a_read(
        engine: AsyncEngine, hops: list[Any]) -> None:
    async with engine.connect() as conn:
        await conn.execute(text("select 1"))        # the pool's first connect, hops of its own
    hops.clear()
    async with engine.connect() as conn:
        for _ in range(3):
            await conn.execute(select(_TABLE.c.id))
    assert len(hops) == 3       # no cursor, fetch or close hops; no rollback at check-in


async def test_write_transactions_begin_in_their_first_statements_hop(
        tmp_path: Path, hops: list[Any]) -> None:
    svc = ServiceState(make_config(tmp_path), {})
    try:
        async with svc.engine.begin() as conn:
            await conn.run_sync(_TABLE.metadata.create_all)
        async with svc.write():
            pass                # warm up the pool
        hops.clear()
        async with svc.write() as db:
            await db.execute(insert(_TABLE).values(name="a"))
        assert len(hops) == 2   # BEGIN IMMEDIATE with the insert, then the commit
        hops.clear()
        async with svc.write():
            pass
        assert hops == []       # nothing ran: nothing to begin or commit
        async with svc.read() as db:
            assert (await db.execute(select(_TABLE.c.name))).scalars().all() == ["a"]
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
