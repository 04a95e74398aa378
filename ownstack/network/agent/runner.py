"""Starting this machine's network agent: the ``network`` worker role (:mod:`ownstack.roles`).

It is built from config and the bus alone (the agent needs no service client yet), never
from the network API's state, so it runs beside the APIs or in a process of its own on
another machine. The host it serves is ``network.host``, else ``compute.host``, else the
machine's name: the name compute binds ports to.
"""

from __future__ import annotations

import re
import socket
from typing import Any

from ownstack.common.config import Config
from ownstack.common.peers import Peers
from ownstack.network.agent.agent import STARTUP_WAIT, NetworkAgent
from ownstack.network.drivers import driver_factory

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


async def start_network_agent(peers: Peers, *, startup_wait: float = STARTUP_WAIT
                              ) -> NetworkAgent:
    """The network role: this machine's agent, started; stopping it closes its bus."""
    config = peers.config
    bus = await peers.open_bus()
    try:
        host = agent_host(config)
        driver = driver_factory(config.network.driver)(host, config.state_dir,
                                                       driver_options(config))
        agent = NetworkAgent(config=config, bus=bus, driver=driver, host=host,
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
