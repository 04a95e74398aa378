"""The engine's JSON columns read back exactly what was stored: big integers, NaN, non-ASCII."""

from __future__ import annotations

import json
import math
from pathlib import Path

from sqlalchemy import JSON, Column, Integer, MetaData, Table, event, insert, select

from ownstack.common.db.engine import make_engine


async def test_json_columns_round_trip_big_integers_and_nan(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    table = Table("t", MetaData(), Column("id", Integer, primary_key=True),
                  Column("doc", JSON))
    stored = {"big": 10 ** 30, "nan": float("nan"), "text": "ü", "list": [1, 2.5]}
    try:
        async with engine.begin() as conn:
            await conn.run_sync(table.metadata.create_all)
            await conn.execute(insert(table).values(id=1, doc=stored))
            doc = (await conn.execute(select(table.c.doc))).scalar_one()
    finally:
        await engine.dispose()
    assert doc["big"] == 10 ** 30 and math.isnan(doc["nan"])
    assert (doc["text"], doc["list"]) == ("ü", [1, 2.5])
    assert json.dumps(doc["list"]) == "[1, 2.5]"


async def test_sqlite_connections_are_kept_for_the_next_burst(tmp_path: Path) -> None:
    """Eight sessions at once, twice: the second burst opens no connection (an overflow
    connection, closed when given back, would be a new aiosqlite thread each time)."""
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    opened: list[object] = []
    event.listen(engine.sync_engine, "connect", lambda conn, record: opened.append(conn))

    async def burst() -> None:
        conns = [await engine.connect() for _ in range(8)]
        for conn in conns:
            assert (await conn.execute(select(1))).scalar_one() == 1
        for conn in conns:
            await conn.close()
    try:
        await burst()
        assert len(opened) == 8
        await burst()
        assert len(opened) == 8
    finally:
        await engine.dispose()
