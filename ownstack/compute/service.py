"""The compute service: its state, and the factory of its ASGI app."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from ownstack.common.api.app import ApiRequest, ServiceApp
from ownstack.common.config import Config
from ownstack.common.context import RequestContext
from ownstack.common.service import ServiceState
from ownstack.compute.errors import format_error
from ownstack.compute.policy import DEFAULT_RULES
from ownstack.peers import Peers

SERVICE_TYPE = "compute"


class ComputeService(ServiceState):
    def __init__(self, config: Config, peers: Peers, engine: AsyncEngine | None = None) -> None:
        super().__init__(config, DEFAULT_RULES, engine)
        self.identity = peers.identity_client(cache_ttl=config.compute.token_cache_ttl)

    def default_target(self, ctx: RequestContext) -> dict[str, Any]:
        """Nova's default target is the caller's own project and user."""
        return {"project_id": ctx.project_id, "user_id": ctx.user_id}


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
