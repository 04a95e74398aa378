"""The placement service: its state, and the factory of its ASGI app."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from ownstack.common.api.app import ApiRequest, ServiceApp
from ownstack.common.config import Config
from ownstack.common.errors import OwnstackError
from ownstack.common.service import ServiceState
from ownstack.peers import Peers
from ownstack.placement.errors import ConcurrentUpdate, format_error
from ownstack.placement.objects.names import Names
from ownstack.placement.policy import DEFAULT_RULES

SERVICE_TYPE = "placement"


class PlacementService(ServiceState):
    def __init__(self, config: Config, peers: Peers, engine: AsyncEngine | None = None) -> None:
        super().__init__(config, DEFAULT_RULES, engine)
        self.identity = peers.identity_client(cache_ttl=config.placement.token_cache_ttl)
        self.names = Names()

    def race_error(self) -> OwnstackError:
        return ConcurrentUpdate("Another request changed the same resources at the same "
                                "time; retry.")


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
