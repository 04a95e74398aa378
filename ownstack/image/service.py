"""The image service: its state, and the factory of its ASGI app."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from ownstack.common.api.app import ApiRequest, ServiceApp
from ownstack.common.config import Config
from ownstack.common.service import ServiceState
from ownstack.image.errors import format_error
from ownstack.image.policy import DEFAULT_RULES
from ownstack.peers import Peers

SERVICE_TYPE = "image"


class ImageService(ServiceState):
    def __init__(self, config: Config, peers: Peers, engine: AsyncEngine | None = None) -> None:
        super().__init__(config, DEFAULT_RULES, engine)
        self.identity = peers.identity_client(cache_ttl=config.image.token_cache_ttl)
        self.store_dir = Path(config.image.store_dir or config.state_dir / "images")


Req = ApiRequest[ImageService]


def make_app(config: Config, peers: Peers, engine: AsyncEngine | None = None
             ) -> ServiceApp[ImageService]:
    from ownstack.image.api.routes import ROUTES
    from ownstack.image.store import recover_interrupted_uploads

    svc = ImageService(config, peers, engine)

    async def start() -> None:
        svc.store_dir.mkdir(parents=True, exist_ok=True, mode=0o750)
        await recover_interrupted_uploads(svc)

    async def close() -> None:
        await svc.identity.aclose()
        await svc.engine.dispose()

    return ServiceApp(name=SERVICE_TYPE, routes=ROUTES, svc=svc, format_error=format_error,
                      validator=svc.identity, body_limit=config.image.max_request_body_size,
                      on_startup=[start], on_shutdown=[close],
                      access_log=config.log.access_log)
