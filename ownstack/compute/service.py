"""The compute service: its state, and the factory of its ASGI app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from ownstack.common.api.app import ApiRequest, ServiceApp
from ownstack.common.config import Config
from ownstack.common.context import RequestContext
from ownstack.common.db.engine import make_engine, make_sessionmaker
from ownstack.common.policy import Policy
from ownstack.compute.errors import format_error
from ownstack.compute.policy import DEFAULT_RULES
from ownstack.peers import Peers

SERVICE_TYPE = "compute"


class ComputeService:
    def __init__(self, config: Config, peers: Peers, engine: AsyncEngine | None = None) -> None:
        self.config = config
        self.engine = engine or make_engine(config.database_url, echo=config.database.echo)
        self.sessions = make_sessionmaker(self.engine)
        policy_path = Path(config.policy_file) if config.policy_file else None
        self.policy = Policy.load(DEFAULT_RULES, policy_path)
        self.identity = peers.identity_client(cache_ttl=config.compute.token_cache_ttl)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        async with self.sessions() as db:
            yield db

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        async with self.sessions() as db, db.begin():
            yield db

    def enforce(self, ctx: RequestContext, rule: str, target: dict[str, Any] | None = None
                ) -> None:
        """Nova's default target is the caller's own project and user."""
        full = {"project_id": ctx.project_id, "user_id": ctx.user_id, **(target or {})}
        self.policy.enforce(rule, full, ctx.credentials())

    def allowed(self, ctx: RequestContext, rule: str) -> bool:
        target = {"project_id": ctx.project_id, "user_id": ctx.user_id}
        return self.policy.check(rule, target, ctx.credentials())


Req = ApiRequest[ComputeService]


def make_app(config: Config, peers: Peers, engine: AsyncEngine | None = None
             ) -> ServiceApp[ComputeService]:
    from ownstack.compute.api.routes import ROUTES

    svc = ComputeService(config, peers, engine)

    async def close() -> None:
        await svc.identity.aclose()
        await svc.engine.dispose()

    return ServiceApp(name=SERVICE_TYPE, routes=ROUTES, svc=svc, format_error=format_error,
                      validator=svc.identity, body_limit=config.compute.max_request_body_size,
                      on_shutdown=[close], access_log=config.log.access_log)
