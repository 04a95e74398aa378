"""``ownstack.common.db.core.run``: a Core statement on the session's connection, in its
transaction, after a flush of what the session holds pending, in one greenlet (decision 92)."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Integer, String, func, insert, select, update
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from ownstack.common.db import core
from ownstack.common.db.database import Database


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
    spawned: list[Any] = []
    real = core.greenlet_spawn

    async def counting(fn: Any, *args: Any, **kwargs: Any) -> Any:
        spawned.append(fn)
        return await real(fn, *args, **kwargs)

    monkeypatch.setattr(core, "greenlet_spawn", counting)
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
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
        other.execute("BEGIN IMMEDIATE")        # free once committed
        other.execute("ROLLBACK")
    finally:
        other.close()
