"""Lock rows (:mod:`ownstack.common.db.locks`) on each database of
``OWNSTACK_TEST_DATABASES``: many transactions that take the lock of a key nobody has
taken yet all succeed, one after another.

This is the race that made one of 30 concurrent volume creates in a new project a 409 on
MariaDB: the lock row was made with an insert that ignored its twins and then updated,
and the twins deadlocked on the shared locks InnoDB gave them.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from helpers.databases import backends, fresh_database
from ownstack.common.db.database import Database
from ownstack.common.db.engine import make_engine
from ownstack.common.db.locks import LockRows
from ownstack.common.errors import Conflict

_METADATA = sa.MetaData()
_TABLE = sa.Table(
    "test_lock_rows", _METADATA,
    sa.Column("project_id", sa.String(64), primary_key=True),
    sa.Column("generation", sa.Integer, nullable=False, default=0),
    mysql_engine="InnoDB")
_COUNTERS = sa.Table(
    "test_lock_counters", _METADATA,
    sa.Column("project_id", sa.String(64), primary_key=True),
    sa.Column("seen", sa.Integer, nullable=False))


@pytest.fixture(scope="module", params=sorted({b.partition("+")[0] for b in backends()}))
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
                 ) -> Iterator[str]:
    backend = str(request.param)
    with fresh_database(backend) as url:
        if url is None:
            url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('locks') / 'locks.db'}"
        yield url


async def _create_tables(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(_METADATA.create_all)


def test_new_keys_taken_by_many_transactions_at_once(database_url: str) -> None:
    """Twenty transactions take the lock of one new key at once, for forty keys: none is
    refused, and each sees what every earlier holder committed (a counter read under
    the lock and written back ends at twenty), so they really took turns.

    Forty rounds, because the old insert-then-update deadlocked on MariaDB in about one
    round in ten (every run of forty failed); the whole test takes about 2 s a database."""
    locks = LockRows(_TABLE, "project_id")
    takers, rounds = 20, 40

    async def run() -> list[tuple[int, int, list[BaseException]]]:
        engine = make_engine(database_url)
        try:
            await _create_tables(engine)
            database = Database(engine)

            async def take_and_count(key: str) -> None:
                async with database.write() as db:
                    await locks.take(db, key)
                    seen = (await db.execute(
                        sa.select(_COUNTERS.c.seen).where(_COUNTERS.c.project_id == key)
                        .with_for_update())).scalar_one_or_none()
                    await asyncio.sleep(0.001)
                    if seen is None:
                        await db.execute(sa.insert(_COUNTERS).values(project_id=key, seen=1))
                    else:
                        await db.execute(sa.update(_COUNTERS).where(
                            _COUNTERS.c.project_id == key).values(seen=seen + 1))

            results = []
            for _ in range(rounds):
                key = f"project-{uuid.uuid4().hex}"
                outcomes = await asyncio.gather(
                    *(take_and_count(key) for _ in range(takers)), return_exceptions=True)
                errors = [o for o in outcomes if isinstance(o, BaseException)]
                async with database.read() as db:
                    generation = (await db.execute(sa.select(_TABLE.c.generation).where(
                        _TABLE.c.project_id == key))).scalar_one()
                    seen = (await db.execute(sa.select(_COUNTERS.c.seen).where(
                        _COUNTERS.c.project_id == key))).scalar_one()
                results.append((generation, seen, errors))
            return results
        finally:
            await engine.dispose()

    for generation, seen, errors in asyncio.run(run()):
        assert errors == [], errors
        assert seen == takers
        # The first take makes the row at 0; each of the others bumps it once.
        assert generation == takers - 1


def test_the_lock_makes_a_second_taker_wait_for_the_first(database_url: str) -> None:
    """While one transaction holds a key's lock, another's take of the same key does not
    return until the first ends; a take of another key does not wait."""
    locks = LockRows(_TABLE, "project_id")

    async def run() -> tuple[bool, bool]:
        engine = make_engine(database_url)
        try:
            await _create_tables(engine)
            database = Database(engine)
            key, other = f"p-{uuid.uuid4().hex}", f"p-{uuid.uuid4().hex}"
            async with database.write() as db:
                await locks.take(db, key)
            held = asyncio.Event()
            release = asyncio.Event()

            async def holder() -> None:
                async with database.write() as db:
                    await locks.take(db, key)
                    held.set()
                    await release.wait()

            async def taker(which: str) -> None:
                async with database.write() as db:
                    await locks.take(db, which)

            holding = asyncio.create_task(holder())
            await held.wait()
            waiting = asyncio.create_task(taker(key))
            await asyncio.sleep(0.3)
            blocked = not waiting.done()
            other_done = True
            if not database.sqlite:
                # SQLite has one writer at a time: every key waits there, by design.
                try:
                    await asyncio.wait_for(taker(other), timeout=5)
                except (TimeoutError, Conflict):
                    other_done = False
            release.set()
            await holding
            await asyncio.wait_for(waiting, timeout=10)
            return blocked, other_done
        finally:
            await engine.dispose()

    blocked, other_done = asyncio.run(run())
    assert blocked, "a second take of a held key returned before the holder ended"
    assert other_done, "a take of another key waited for an unrelated holder"
