"""The image service's state: what its handlers reach through ``req.svc``."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from ownstack.common.api.app import ApiRequest
from ownstack.common.config import Config
from ownstack.common.peers import Peers
from ownstack.common.service import ServiceState
from ownstack.image.policy import DEFAULT_RULES
from ownstack.image.store import recover_interrupted_uploads

SERVICE_TYPE = "image"


class ImageState(ServiceState):
    def __init__(self, config: Config, peers: Peers, engine: AsyncEngine | None = None) -> None:
        super().__init__(config, DEFAULT_RULES, engine)
        self.identity = peers.identity_client(cache_ttl=config.image.token_cache_ttl)
        self.store_dir = Path(config.image.store_dir or config.state_dir / "images")

    async def start(self) -> None:
        self.store_dir.mkdir(parents=True, exist_ok=True, mode=0o750)
        await recover_interrupted_uploads(self)

    async def stop(self) -> None:
        await self.identity.aclose()
        await super().stop()


Req = ApiRequest[ImageState]
