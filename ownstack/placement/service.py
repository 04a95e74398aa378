"""The placement service: its state, and the factory of its ASGI app."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from ownstack.common.api.app import ApiRequest, ServiceApp
from ownstack.common.config import Config
from ownstack.common.service import ServiceState
from ownstack.peers import Peers
from ownstack.placement.errors import ConcurrentUpdate, format_error
from ownstack.placement.objects.names import Names
from ownstack.placement.policy import DEFAULT_RULES

SERVICE_TYPE = "placement"

# What a lost race looks like on each backend when it is not a generation mismatch:
# PostgreSQL's deadlock and serialization failures, MariaDB's deadlock, SQLite's busy lock.
_RACE_MARKERS = ("deadlock", "could not serialize", "database is locked", "lock wait timeout")


class PlacementService(ServiceState):
    def __init__(self, config: Config, peers: Peers, engine: AsyncEngine | None = None) -> None:
        super().__init__(config, DEFAULT_RULES, engine)
        self.sqlite = self.engine.dialect.name == "sqlite"
        if self.sqlite:
            _explicit_sqlite_transactions(self.engine)
        self.identity = peers.identity_client(cache_ttl=config.placement.token_cache_ttl)
        self.names = Names()
        # SQLite has one writer at a time anyway; queueing writers here, rather than in
        # SQLite's busy-wait, keeps a hot provider's claims fast and fair.
        self._write_lock = asyncio.Lock() if self.sqlite else None

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """One write transaction. A lost race anywhere in it rolls it all back and becomes
        a 409 ``placement.concurrent_update``; nothing is retried behind the caller's back."""
        if self._write_lock is not None:
            async with self._write_lock, self._transaction(immediate=True) as db:
                yield db
        else:
            async with self._transaction(immediate=False) as db:
                yield db

    @asynccontextmanager
    async def _transaction(self, *, immediate: bool) -> AsyncIterator[AsyncSession]:
        async with self._mapped_races(), self.sessions() as db, db.begin():
            if immediate:
                # Options apply when the connection is procured, before its BEGIN.
                await db.connection(execution_options={"ownstack_sqlite_begin": "IMMEDIATE"})
            yield db

    @asynccontextmanager
    async def _mapped_races(self) -> AsyncIterator[None]:
        try:
            yield
        except IntegrityError:
            raise
        except DBAPIError as exc:
            if any(marker in str(exc.orig).lower() for marker in _RACE_MARKERS):
                raise ConcurrentUpdate(
                    "Another request changed the same resources at the same time; "
                    "retry.") from exc
            raise


def _explicit_sqlite_transactions(engine: AsyncEngine) -> None:
    """Let SQLAlchemy, not pysqlite, begin transactions, so a write transaction can take
    SQLite's write lock up front (``BEGIN IMMEDIATE``): its reads then see the latest
    commit, and it never fails half-way on a lock upgrade."""

    @event.listens_for(engine.sync_engine, "connect")
    def _no_implicit_begin(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(connection: Any) -> None:
        mode = connection.get_execution_options().get("ownstack_sqlite_begin", "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")


Req = ApiRequest[PlacementService]


def make_app(config: Config, peers: Peers, engine: AsyncEngine | None = None
             ) -> ServiceApp[PlacementService]:
    from ownstack.placement.api.routes import ROUTES
    from ownstack.placement.objects.names import sync_standard_names

    svc = PlacementService(config, peers, engine)

    async def start() -> None:
        await sync_standard_names(svc)

    async def close() -> None:
        await svc.identity.aclose()
        await svc.engine.dispose()

    return ServiceApp(name=SERVICE_TYPE, routes=ROUTES, svc=svc, format_error=format_error,
                      validator=svc.identity, body_limit=config.placement.max_request_body_size,
                      on_startup=[start], on_shutdown=[close],
                      access_log=config.log.access_log)
