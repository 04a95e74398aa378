"""The placement service's state: what its handlers reach through ``req.svc``."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from ownstack.common.api.app import ApiRequest
from ownstack.common.config import Config
from ownstack.common.errors import OwnstackError
from ownstack.common.peers import Peers
from ownstack.common.service import ServiceState
from ownstack.placement.errors import ConcurrentUpdate
from ownstack.placement.objects.names import Names, sync_standard_names
from ownstack.placement.policy import DEFAULT_RULES

SERVICE_TYPE = "placement"


class PlacementState(ServiceState):
    def __init__(self, config: Config, peers: Peers, engine: AsyncEngine | None = None) -> None:
        super().__init__(config, DEFAULT_RULES, engine)
        self.identity = peers.identity_client(cache_ttl=config.placement.token_cache_ttl)
        self.names = Names()

    async def start(self) -> None:
        await sync_standard_names(self)

    async def stop(self) -> None:
        await self.identity.aclose()
        await super().stop()

    def race_error(self) -> OwnstackError:
        return ConcurrentUpdate("Another request changed the same resources at the same "
                                "time; retry.")


Req = ApiRequest[PlacementState]
