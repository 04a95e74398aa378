"""Async engines and sessions for SQLite (default), PostgreSQL and MariaDB."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import AsyncAdaptedQueuePool

from ownstack.common.db.sqlite import OneHopDBAPI, wal_pragmas

# MariaDB's longest GROUP_CONCAT result in our sessions (see make_engine): 4 MiB. The
# longest list a listing reads is a port's 50 tags of 255 characters, about 13 KB.
GROUP_CONCAT_MAX_LEN = 4 * 1024 * 1024

# Synchronous driver names people type, mapped to the async driver SQLAlchemy needs.
_ASYNC_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
    "mysql": "mysql+aiomysql",
    "mariadb": "mysql+aiomysql",
    "mysql+pymysql": "mysql+aiomysql",
    "postgresql+psycopg2": "postgresql+asyncpg",
}


def async_url(url: str) -> str:
    """Accept plain ``postgresql://`` or ``mysql://`` URLs and pick the async driver."""
    parsed = make_url(url)
    driver = _ASYNC_DRIVERS.get(parsed.drivername)
    if driver:
        parsed = parsed.set(drivername=driver)
    if parsed.drivername.startswith("mysql") and "charset" not in parsed.query:
        parsed = parsed.update_query_dict({"charset": "utf8mb4"})
    return parsed.render_as_string(hide_password=False)


def make_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    url = async_url(url)
    kwargs: dict[str, Any] = {"echo": echo}
    if url.startswith("sqlite"):
        # One writer at a time is SQLite's model; WAL lets readers proceed while it writes,
        # and busy_timeout makes a second writer wait instead of failing at once.
        kwargs["poolclass"] = AsyncAdaptedQueuePool
        # Eight connections at most, as before, all kept once opened: an overflow
        # connection is closed when given back, and a service that often has more than
        # a few sessions open at once (the compute API under a burst of boots and status
        # polls) would open one again and again, each a new aiosqlite thread and four
        # pragmas, each a thread hop.
        kwargs["pool_size"] = 8
        kwargs["max_overflow"] = 0
        kwargs["connect_args"] = {"timeout": 30}
        if make_url(url).drivername == "sqlite+aiosqlite":
            kwargs["module"] = OneHopDBAPI()
    else:
        kwargs["pool_pre_ping"] = True
        kwargs["pool_recycle"] = 3600
    if url.startswith("mysql"):
        # A listing reads an item's related lists as one GROUP_CONCAT each (network
        # listings: ``listing.aggregated``), which MariaDB cuts at group_concat_max_len,
        # with only a warning: 1 MiB by default, 1 KiB where a server keeps MySQL's old
        # default. Every session of ours takes a length no list comes near.
        kwargs["connect_args"] = {
            "init_command": f"SET SESSION group_concat_max_len = {GROUP_CONCAT_MAX_LEN}"}
    engine = create_async_engine(url, **kwargs)
    if url.startswith("sqlite"):
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    for pragma in wal_pragmas(dbapi_connection):
        cursor.execute(pragma)
    cursor.close()


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
