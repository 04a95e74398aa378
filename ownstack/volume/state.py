"""The volume service's state: what its handlers reach through ``req.svc``.

Besides the database and policy it serves the volume bus topic (agents' reports and
questions, :mod:`ownstack.volume.rpc_handlers`) from :meth:`VolumeState.start`, beats
this host's ``cinder-scheduler`` row, nudges the agents, and reaches the image service
(images to make volumes of, volumes to upload).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from ownstack.common.api.app import ApiRequest
from ownstack.common.bus import Bus
from ownstack.common.clients.image import ImageClient
from ownstack.common.config import Config
from ownstack.common.errors import OwnstackError
from ownstack.common.peers import Peers
from ownstack.common.service import ServiceState
from ownstack.volume.errors import ConcurrentUpdate
from ownstack.volume.hostname import service_host
from ownstack.volume.notifier import ComputeNotifier
from ownstack.volume.policy import DEFAULT_RULES
from ownstack.volume.rpc_handlers import VolumeRpc

SERVICE_TYPE = "volume"


class VolumeState(ServiceState):
    def __init__(self, config: Config, peers: Peers, engine: AsyncEngine | None = None) -> None:
        super().__init__(config, DEFAULT_RULES, engine)
        self.settings = config.volume
        self.peers = peers
        self.identity = peers.identity_client(cache_ttl=config.volume.token_cache_ttl)
        self.bus: Bus = peers.bus
        self.notifier = ComputeNotifier(peers)
        self.rpc = VolumeRpc(self.db, self.bus, peers, config.volume, self.notifier,
                             host=lambda: service_host(config))
        self._image_http: httpx.AsyncClient | None = None

    async def start(self) -> None:
        await self.peers.open_bus()
        await self.rpc.start()

    async def stop(self) -> None:
        await self.rpc.stop()
        await self.notifier.stop()
        await self.peers.close_bus()
        if self._image_http is not None:
            await self._image_http.aclose()
        await self.identity.aclose()
        await super().stop()

    def race_error(self) -> OwnstackError:
        return ConcurrentUpdate()

    def image_client(self, token: str | None = None) -> ImageClient:
        """The image service acting as the caller (``token``), or as the services' own
        user. A caller's client shares one HTTP client; the services' one is the
        caller's to close."""
        if token is not None:
            if self._image_http is None:
                self._image_http = httpx.AsyncClient(
                    base_url=self.peers.url("image"), transport=self.peers.transport("image"),
                    timeout=httpx.Timeout(60.0, connect=10.0))
            return ImageClient.shared(self._image_http, token)
        provider: Callable[[], Awaitable[str]] = self.peers.service_auth()
        return ImageClient(self.peers.url("image"), provider,
                           transport=self.peers.transport("image"))


Req = ApiRequest[VolumeState]
