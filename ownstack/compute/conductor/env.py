"""What the conductor works with, and nothing more: its config, the compute database, the
bus and a Placement client acting as the services' own user.

The conductor is a worker of its own (see :mod:`ownstack.roles`): it is built from these,
never from the compute API's state, so it runs in the API's process or in another one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from ownstack.common.bus import Bus
from ownstack.common.clients.network import NetworkClient
from ownstack.common.clients.placement import PlacementClient
from ownstack.common.clients.volume import VolumeClient
from ownstack.common.config import Config
from ownstack.common.db.database import Database


@dataclass(frozen=True)
class ConductorEnv:
    config: Config
    db: Database
    bus: Bus
    placement: PlacementClient
    # What closes the parts made for this conductor alone, run when it stops.
    closers: tuple[Callable[[], Awaitable[None]], ...] = ()
    # The network service as the services' own user (ports for servers that ask for them).
    network: NetworkClient | None = None
    # The volume service as the services' own user (attachments of servers' volumes).
    volume: VolumeClient | None = None

    async def close(self) -> None:
        for close in self.closers:
            await close()
