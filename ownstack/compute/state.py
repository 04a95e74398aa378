"""The compute service's state: what its handlers reach through ``req.svc``.

The API only writes desired state and nudges: the conductor and the compute agents are
workers of their own (see :mod:`ownstack.roles`), reached over the bus.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from ownstack.common.api.app import ApiRequest
from ownstack.common.bus import Bus
from ownstack.common.clients.image import ImageClient
from ownstack.common.clients.inprocess import http_client
from ownstack.common.clients.network import NetworkClient
from ownstack.common.clients.placement import PlacementClient
from ownstack.common.clients.volume import VolumeClient
from ownstack.common.config import Config
from ownstack.common.context import RequestContext
from ownstack.common.errors import OwnstackError
from ownstack.common.peers import Peers
from ownstack.common.service import ServiceState
from ownstack.compute.errors import ConcurrentUpdate
from ownstack.compute.policy import DEFAULT_RULES

SERVICE_TYPE = "compute"


class ComputeState(ServiceState):
    def __init__(self, config: Config, peers: Peers, engine: AsyncEngine | None = None) -> None:
        super().__init__(config, DEFAULT_RULES, engine)
        self.peers = peers
        self.identity = peers.identity_client(cache_ttl=config.compute.token_cache_ttl)
        self.service_auth = peers.service_auth()
        self.placement = PlacementClient(
            peers.url("placement"), self.service_auth,
            transport=peers.transport("placement", between_services=True))
        self.bus: Bus = peers.bus
        self._network: NetworkClient | None = None
        self._image_http: httpx.AsyncClient | None = None
        self._volume: VolumeClient | None = None

    def default_target(self, ctx: RequestContext) -> dict[str, Any]:
        """Nova's default target is the caller's own project and user."""
        return {"project_id": ctx.project_id, "user_id": ctx.user_id}

    def race_error(self) -> OwnstackError:
        return ConcurrentUpdate()

    @property
    def network(self) -> NetworkClient:
        """The network service as the services' user (``network.as_caller(token)`` acts
        as a caller), made on first use: in one process the network app may be built
        after this one."""
        if self._network is None:
            self._network = NetworkClient(
                self.peers.url("network"), self.service_auth,
                transport=self.peers.transport("network", between_services=True))
        return self._network

    @property
    def volume(self) -> VolumeClient:
        """The volume service as the services' user (``volume.as_caller(token)`` acts as
        a caller), made on first use, as :attr:`network` is."""
        if self._volume is None:
            self._volume = VolumeClient(
                self.peers.url("volume"), self.service_auth,
                transport=self.peers.transport("volume", between_services=True))
        return self._volume

    def image_client(self, token: str | None = None) -> ImageClient:
        """An image-service client acting as the caller (``token``), or as the services'
        own user when no token is given. The caller closes it."""
        if token is not None:
            if self._image_http is None:
                self._image_http = http_client(
                    self.peers.url("image"), self.peers.transport("image", between_services=True),
                    httpx.Timeout(60.0, connect=10.0))
            return ImageClient.shared(self._image_http, token)
        provider: Callable[[], Awaitable[str]] = self.service_auth
        return ImageClient(self.peers.url("image"), provider,
                           transport=self.peers.transport("image", between_services=True))

    async def start(self) -> None:
        await self.peers.open_bus()

    async def stop(self) -> None:
        await self.peers.close_bus()
        await self.placement.aclose()
        if self._network is not None:
            await self._network.aclose()
        if self._image_http is not None:
            await self._image_http.aclose()
        if self._volume is not None:
            await self._volume.aclose()
        await self.identity.aclose()
        await super().stop()

Req = ApiRequest[ComputeState]
