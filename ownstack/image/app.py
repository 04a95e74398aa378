"""The factory of the image service's ASGI app: its state, routes and error format.

The only module of the service that imports its routes, so handlers can import the state
(``Req``) without a cycle.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from ownstack.common.api.app import ServiceApp
from ownstack.common.config import Config
from ownstack.common.peers import Peers
from ownstack.image.api.routes import ROUTES
from ownstack.image.errors import format_error
from ownstack.image.state import SERVICE_TYPE, ImageState
from ownstack.image.store import recover_interrupted_uploads


def make_app(config: Config, peers: Peers, engine: AsyncEngine | None = None
             ) -> ServiceApp[ImageState]:
    svc = ImageState(config, peers, engine)

    async def start() -> None:
        svc.store_dir.mkdir(parents=True, exist_ok=True, mode=0o750)
        await recover_interrupted_uploads(svc)

    async def close() -> None:
        await svc.identity.aclose()
        await svc.db.close()

    return ServiceApp(name=SERVICE_TYPE, routes=ROUTES, svc=svc, format_error=format_error,
                      validator=svc.identity, body_limit=config.image.max_request_body_size,
                      on_startup=[start], on_shutdown=[close],
                      access_log=config.log.access_log)
