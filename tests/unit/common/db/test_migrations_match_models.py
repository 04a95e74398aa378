"""Each service's migrations build exactly the tables its models declare: a column added
to a model without a migration (or the other way round) fails here, not on a user's
upgrade."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from ownstack.common.db import migrate
from ownstack.common.db.base import Base
from ownstack.roles import CATALOG_SERVICES

SERVICES = [spec.type for spec in CATALOG_SERVICES]


def _table_of(diff: Any) -> str:
    """The table a difference is about (alembic's tuples name it in different places)."""
    while isinstance(diff, list):          # column modifications come as lists of tuples
        diff = diff[0]
    for item in diff[1:]:
        name = getattr(item, "name", None) if not isinstance(item, str) else item
        table = getattr(item, "table", None)
        if table is not None and getattr(table, "name", None):
            return str(table.name)
        if isinstance(name, str) and "_" in name and diff[0].endswith("table"):
            return name
        if isinstance(item, str):
            return item
    return ""


@pytest.mark.parametrize("service", SERVICES)
async def test_migrations_build_the_models_tables(service: str, tmp_path: Path) -> None:
    importlib.import_module(f"ownstack.{service}.objects.models")
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    try:
        await migrate.upgrade(engine, service)

        def differences(connection: Connection) -> list[Any]:
            context = MigrationContext.configure(connection, opts={
                "include_name": lambda name, kind, _parents: kind != "table" or (
                    name is not None and name.startswith(f"{service}_"))})
            return list(compare_metadata(context, Base.metadata))

        async with engine.connect() as connection:
            found = await connection.run_sync(differences)
    finally:
        await engine.dispose()
    ours = [diff for diff in found if _table_of(diff).startswith(f"{service}_")]
    assert ours == [], f"{service}'s migrations and models differ: {ours}"
