"""The factory of the placement service's ASGI app: its state, routes and error format.

The only module of the service that imports its routes, so handlers can import the state
(``Req``) without a cycle.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from ownstack.common.api.app import ServiceApp
from ownstack.common.config import Config
from ownstack.common.peers import Peers
from ownstack.placement.api.routes import ROUTES
from ownstack.placement.errors import format_error
from ownstack.placement.objects.names import sync_standard_names
from ownstack.placement.state import SERVICE_TYPE, PlacementState


def make_app(config: Config, peers: Peers, engine: AsyncEngine | None = None
             ) -> ServiceApp[PlacementState]:
    svc = PlacementState(config, peers, engine)

    async def start() -> None:
        await sync_standard_names(svc)

    async def close() -> None:
        await svc.identity.aclose()
        await svc.db.close()

    return ServiceApp(name=SERVICE_TYPE, routes=ROUTES, svc=svc, format_error=format_error,
                      validator=svc.identity, body_limit=config.placement.max_request_body_size,
                      on_startup=[start], on_shutdown=[close],
                      access_log=config.log.access_log)
