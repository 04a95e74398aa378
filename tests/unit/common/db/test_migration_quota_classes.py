"""Compute migration 0009 and volume migration 0003 (decision 62): the quota class tables
come on top of an existing database and keep their rows."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from ownstack.common.db import migrate


@pytest.mark.parametrize(("service", "before", "table"), [
    ("compute", "0008", "compute_quota_classes"),
    ("volume", "0002", "volume_quota_classes"),
])
async def test_quota_class_table_is_added(tmp_path: Path, service: str, before: str,
                                          table: str) -> None:
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    try:
        await migrate.upgrade(engine, service, before)
        async with engine.connect() as db:
            tables = await db.run_sync(lambda sync: sa.inspect(sync).get_table_names())
        assert table not in tables
        await migrate.upgrade(engine, service)
        rows_of = sa.table(table, sa.column("class_name"), sa.column("resource"),
                           sa.column("hard_limit"))
        async with engine.begin() as db:
            await db.execute(rows_of.insert().values(
                class_name="default", resource="volumes_gold", hard_limit=3))
            rows = (await db.execute(sa.select(rows_of))).all()
        assert [tuple(row) for row in rows] == [("default", "volumes_gold", 3)]
    finally:
        await engine.dispose()
