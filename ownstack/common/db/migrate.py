"""Run each service's Alembic migrations on an async engine.

Every service keeps its own migration scripts (``ownstack/<service>/migrations``) and its
own version table (``alembic_version_<service>``), so services evolve their schemas
independently inside one database.
"""

from __future__ import annotations

from importlib.resources import files

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncEngine


def alembic_config(service: str, connection: Connection | None = None) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(files(f"ownstack.{service}") / "migrations"))
    cfg.attributes["service"] = service
    cfg.attributes["connection"] = connection
    return cfg


async def upgrade(engine: AsyncEngine, service: str, revision: str = "head") -> None:
    async with engine.begin() as conn:
        await conn.run_sync(_upgrade_sync, service, revision)


def _upgrade_sync(connection: Connection, service: str, revision: str) -> None:
    command.upgrade(alembic_config(service, connection), revision)


def version_table(service: str) -> str:
    return f"alembic_version_{service}"
