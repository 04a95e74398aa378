"""The conductor as a role of its own (see :mod:`ownstack.roles`): built from config, the
bus and a Placement client acting as the services' own user, with a database connection
of its own, never from the compute API's state."""

from __future__ import annotations

from ownstack.common.clients.network import NetworkClient
from ownstack.common.clients.placement import PlacementClient
from ownstack.common.clients.volume import VolumeClient
from ownstack.common.db.database import Database
from ownstack.common.peers import Peers
from ownstack.compute.conductor import Conductor
from ownstack.compute.conductor.env import ConductorEnv
from ownstack.compute.errors import ConcurrentUpdate


async def start_conductor(peers: Peers) -> Conductor:
    config = peers.config
    db = Database.connect(config.database_url, echo=config.database.echo,
                          race_error=ConcurrentUpdate)
    placement = PlacementClient(peers.url("placement"), peers.service_auth(),
                                transport=peers.transport("placement", between_services=True))
    network = NetworkClient(peers.url("network"), peers.service_auth(),
                            transport=peers.transport("network", between_services=True))
    volume = VolumeClient(peers.url("volume"), peers.service_auth(),
                          transport=peers.transport("volume", between_services=True))
    bus = await peers.open_bus()
    conductor = Conductor(ConductorEnv(config=config, db=db, bus=bus, placement=placement,
                                       network=network, volume=volume,
                                       closers=(placement.aclose, network.aclose,
                                                volume.aclose, db.close, peers.close_bus)))
    try:
        await conductor.start()
    except BaseException:
        await conductor.stop()
        raise
    return conductor
