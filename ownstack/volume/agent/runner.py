"""Starting this machine's volume agent: the ``volume`` worker role (:mod:`ownstack.roles`).

It is built from config, the bus and the image service's client alone, never from the
volume API's state, so it runs beside the APIs or in a process of its own on another
machine. The host it serves is ``volume.host``, else ``compute.host``, else the machine's
name: the name compute's connector gives, so a volume and its guest meet on one host.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ownstack.common.clients.image import ImageClient
from ownstack.common.config import Config
from ownstack.common.peers import Peers
from ownstack.volume.agent.agent import STARTUP_WAIT, VolumeAgent
from ownstack.volume.agent.images import Images
from ownstack.volume.drivers import driver_factory
from ownstack.volume.hostname import service_host


def agent_host(config: Config) -> str:
    """The host this process's agent serves (:func:`~ownstack.volume.hostname.service_host`);
    :class:`ValueError` for a name the bus cannot carry."""
    return service_host(config)


def volumes_dir(config: Config) -> Path:
    return Path(config.volume.volumes_dir or config.state_dir / "volumes")


def driver_options(config: Config) -> dict[str, Any]:
    volume = config.volume
    return {"volumes_dir": str(volumes_dir(config)), "volume_format": volume.volume_format,
            "copy_timeout": volume.copy_timeout, "fake_capacity_gb": volume.fake_capacity_gb}


async def start_volume_agent(peers: Peers, *, startup_wait: float = STARTUP_WAIT
                             ) -> VolumeAgent:
    """The volume role: this machine's agent, started; stopping it closes its bus."""
    config = peers.config
    bus = await peers.open_bus()
    try:
        host = agent_host(config)
        driver = driver_factory(config.volume.driver)(host, config.state_dir,
                                                      driver_options(config))
        client = ImageClient(peers.url("image"), peers.service_auth(),
                             transport=peers.transport("image"))
        images = Images(client, volumes_dir(config) / f".work-{host}",
                        inspect_timeout=config.volume.inspect_timeout,
                        inspect_memory_mb=config.volume.inspect_memory_mb)
        agent = VolumeAgent(config=config, bus=bus, driver=driver, host=host, images=images,
                            startup_wait=startup_wait, release=peers.close_bus)
    except BaseException:
        await peers.close_bus()
        raise
    try:
        await agent.start()
    except BaseException:
        await agent.stop()
        raise
    return agent
