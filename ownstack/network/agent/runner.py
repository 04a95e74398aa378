"""Starting this machine's network agent: the ``network`` worker role (:mod:`ownstack.roles`).

It is built from config and the bus alone (the agent needs no service client yet), never
from the network API's state, so it runs beside the APIs or in a process of its own on
another machine. The host it serves is ``network.host``, else ``compute.host``, else the
machine's name: the name compute binds ports to.
"""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import Awaitable, Callable
from typing import Any

from ownstack.common.agent import stop_agents
from ownstack.common.bus import Bus
from ownstack.common.config import Config
from ownstack.common.peers import Peers
from ownstack.common.statedir import metadata_url, read_metadata_secret
from ownstack.network.agent.agent import STARTUP_WAIT, NetworkAgent
from ownstack.network.agent.metadata import MetadataAgent
from ownstack.network.agent.server_api import NetworkServerAPI
from ownstack.network.drivers import driver_factory
from ownstack.network.drivers.base import Capability, NetworkDriver
from ownstack.network.metadata_proxy import agent_socket_path

_HOST_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,190}")


def agent_host(config: Config) -> str:
    """The host this process's agent serves; :class:`ValueError` for a name the bus
    cannot carry."""
    host = config.network.host or config.compute.host or socket.gethostname()
    if not _HOST_NAME.fullmatch(host):
        raise ValueError(f"network.host {host!r} is not a valid host name: use letters, "
                         f"digits, '.', '_' and '-'")
    return host


def driver_options(config: Config) -> dict[str, Any]:
    """What the network driver reads: the ``network.*`` options that describe this host."""
    network = config.network
    return {"host_namespace": network.host_namespace,
            "tunnel_address": network.tunnel_address,
            "bridge_mappings": network.bridge_mapping,
            "public_physnet": network.public_physnet,
            "public_cidr": network.public_cidr,
            "external_uplink": network.external_uplink}


def metadata_agent(peers: Peers, bus: Bus, host: str, driver: NetworkDriver
                   ) -> MetadataAgent | None:
    """The metadata agent, when the driver runs metadata proxies (its ``METADATA``
    capability): with no proxy nothing would ever connect to it. It reaches the metadata
    service in process when that app is in this process, else at ``metadata.url``."""
    if not driver.capabilities.get(Capability.METADATA.value):
        return None
    config = peers.config
    return MetadataAgent(server=NetworkServerAPI(bus, host),
                         path=agent_socket_path(config.state_dir),
                         metadata_url=peers.url("metadata") if "metadata" in peers.apps
                         else metadata_url(config),
                         secret=read_metadata_secret(config),
                         transport=peers.transport("metadata"))


def agent_hosts(config: Config) -> list[str]:
    """The hosts this process's agents serve: :func:`agent_host`, or, when the fake network
    driver sits beside the fake compute driver's simulated nodes (``compute.fake_nodes``
    > 1, no ``network.host``), one per node, named as compute names them: each simulated
    machine then has the agent a real one would, and a port bound to it is plugged."""
    host = agent_host(config)
    if config.network.driver == "fake" and not config.network.host:
        return config.compute.fake_node_names(host)
    return [host]


class NetworkAgentGroup:
    """The network agents of one process (one, but for simulated nodes); stopping it stops
    them all and then closes their bus."""

    def __init__(self, agents: list[NetworkAgent],
                 release: Callable[[], Awaitable[None]]) -> None:
        self.agents = agents
        self._release = release
        self._stopped = False

    def agent(self, host: str) -> NetworkAgent:
        for agent in self.agents:
            if agent.host == host:
                return agent
        raise KeyError(host)

    async def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        await stop_agents(self.agents, self._release)


async def start_network_agent(peers: Peers, *, startup_wait: float = STARTUP_WAIT
                              ) -> NetworkAgentGroup:
    """The network role: this machine's agent (or its simulated nodes' agents), started;
    stopping the group closes their bus. All of them start, or none."""
    config = peers.config
    bus = await peers.open_bus()
    agents: list[NetworkAgent] = []
    try:
        for host in agent_hosts(config):
            driver = driver_factory(config.network.driver)(host, config.state_dir,
                                                           driver_options(config))
            agents.append(NetworkAgent(config=config, bus=bus, driver=driver, host=host,
                                       startup_wait=startup_wait,
                                       metadata=metadata_agent(peers, bus, host, driver)))
    except BaseException:
        await peers.close_bus()
        raise
    group = NetworkAgentGroup(agents, peers.close_bus)
    results = await asyncio.gather(*(agent.start() for agent in agents),
                                   return_exceptions=True)
    failures = [result for result in results if isinstance(result, BaseException)]
    if failures:
        await group.stop()
        raise failures[0]
    return group
