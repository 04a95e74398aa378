"""Starting the compute agents of one process: one per node.

A real host runs one node, named after the machine (``compute.host``, or its host name).
With the fake driver, ``compute.fake_nodes = N > 1`` simulates N machines in the process:
nodes ``<host>-1`` … ``<host>-N``, each its own compute host with its own
:class:`~ownstack.compute.drivers.fake.FakeHypervisor`. The hypervisors outlive the agents
(the fake driver keeps them per ``(state_dir, node)``), so an agent started again in the
same process adopts its guests, as one restarted on a real host does.

All agents of the process share one image cache and one image-service client: they are
one machine's disk and one machine's service credentials.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
import socket
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ownstack.common.agent import stop_agents
from ownstack.common.bus import Bus
from ownstack.common.clients.image import ImageClient
from ownstack.common.config import Config
from ownstack.common.peers import Peers
from ownstack.compute.agent.agent import STARTUP_WAIT, ComputeAgent
from ownstack.compute.agent.conductor_api import ConductorAPI
from ownstack.compute.agent.image_cache import ImageCache
from ownstack.compute.agent.reconcile import Reconciler
from ownstack.compute.drivers import driver_factory

if TYPE_CHECKING:
    from ownstack.compute.drivers.fake import FakeHypervisor

_HOST_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,190}")


class AgentGroup:
    """The agents of this process, and what they share."""

    def __init__(self, agents: list[ComputeAgent], images: ImageCache,
                 image_client: ImageClient, hypervisors: Mapping[str, FakeHypervisor],
                 *, release: Callable[[], Awaitable[None]] | None = None) -> None:
        self.agents = agents
        self.images = images
        self.image_client = image_client
        self._release = release
        self._stopped = False
        # node -> the simulated machine, for tests that act behind the agents' backs.
        self.hypervisors: dict[str, FakeHypervisor] = dict(hypervisors)

    def agent(self, node: str) -> ComputeAgent:
        for agent in self.agents:
            if agent.node == node:
                return agent
        raise KeyError(node)

    async def stop(self) -> None:
        """Stop every agent (guests keep running); calling it twice is harmless."""
        if self._stopped:
            return
        self._stopped = True
        await stop_agents(self.agents, self.image_client.aclose,
                          *([self._release] if self._release is not None else []))


def node_names(config: Config) -> list[str]:
    """The nodes this process runs; :class:`ValueError` for a name the bus cannot carry."""
    host = config.compute.host or socket.gethostname()
    if not _HOST_NAME.fullmatch(host):
        raise ValueError(f"compute.host {host!r} is not a valid host name: use letters, "
                         f"digits, '.', '_' and '-'")
    return config.compute.fake_node_names(host)


def driver_options(config: Config) -> dict[str, Any]:
    """Every ``compute.*`` option, for the driver to read what it needs; ``fake_*`` ones
    also without their prefix (``fake_vcpus`` -> ``vcpus``), as the fake driver reads them.
    A new driver needs nothing here: it reads its own options by name."""
    options = {f.name: getattr(config.compute, f.name)
               for f in dataclasses.fields(config.compute) if f.name != "quota"}
    if config.compute.driver == "fake":
        options |= {name.removeprefix("fake_"): value for name, value in options.items()
                    if name.startswith("fake_")}
    return options


def image_cache_dir(config: Config) -> Path:
    return Path(config.compute.image_cache_dir or config.state_dir / "compute" / "images")


async def start_compute_agents(peers: Peers) -> AgentGroup:
    """The compute role (see :mod:`ownstack.roles`): this machine's agents, built from
    config, the bus and an image client acting as the services' own user."""
    config = peers.config

    def image_client() -> ImageClient:
        return ImageClient(peers.url("image"), peers.service_auth(),
                           transport=peers.transport("image", between_services=True))

    bus = await peers.open_bus()
    try:
        return await start_agents(config, bus, image_client, release=peers.close_bus)
    except BaseException:
        await peers.close_bus()
        raise


async def start_agents(config: Config, bus: Bus, image_client: Callable[[], ImageClient],
                       *, startup_wait: float = STARTUP_WAIT,
                       release: Callable[[], Awaitable[None]] | None = None) -> AgentGroup:
    """Build and start one agent per node; all of them or none. ``release`` runs once the
    group has stopped (the bus the caller opened for it)."""
    nodes = node_names(config)
    factory = driver_factory(config.compute.driver)
    options = driver_options(config)
    client = image_client()
    images = ImageCache(image_cache_dir(config), client)
    agents: list[ComputeAgent] = []
    hypervisors: dict[str, FakeHypervisor] = {}
    for node in nodes:
        driver = factory(node, config.state_dir, options)
        if (hypervisor := getattr(driver, "hypervisor", None)) is not None:
            hypervisors[node] = hypervisor
        reconciler = Reconciler(
            host=node, driver=driver, conductor=ConductorAPI(bus, node), images=images,
            image_client=client, snapshot_dir=config.state_dir / "compute" / "snapshots",
            shutdown_timeout=config.compute.shutdown_timeout,
            plug_timeout=config.compute.vif_plugging_timeout,
            volume_detach_timeout=config.compute.volume_detach_timeout,
            volume_detach_attempts=config.compute.volume_detach_attempts)
        agents.append(ComputeAgent(config=config, bus=bus, driver=driver, node=node,
                                   reconciler=reconciler, startup_wait=startup_wait))
    group = AgentGroup(agents, images, client, hypervisors, release=release)
    results = await asyncio.gather(*(agent.start() for agent in agents),
                                   return_exceptions=True)
    failures = [result for result in results if isinstance(result, BaseException)]
    if failures:
        await group.stop()
        raise failures[0]
    return group
