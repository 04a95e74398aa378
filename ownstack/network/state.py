"""The network service's state: what its handlers reach through ``req.svc``."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from ownstack.common.api.app import ApiRequest
from ownstack.common.config import Config
from ownstack.common.errors import OwnstackError
from ownstack.common.peers import Peers
from ownstack.common.service import ServiceState
from ownstack.network.errors import ConcurrentUpdate
from ownstack.network.policy import DEFAULT_RULES

SERVICE_TYPE = "network"


class NetworkState(ServiceState):
    def __init__(self, config: Config, peers: Peers, engine: AsyncEngine | None = None) -> None:
        super().__init__(config, DEFAULT_RULES, engine)
        self.settings = config.network
        self.identity = peers.identity_client(cache_ttl=config.network.token_cache_ttl)

    async def stop(self) -> None:
        await self.identity.aclose()
        await super().stop()

    def race_error(self) -> OwnstackError:
        return ConcurrentUpdate()


Req = ApiRequest[NetworkState]
