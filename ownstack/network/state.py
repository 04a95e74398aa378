"""The network service's state: what its handlers reach through ``req.svc``.

Besides the database and policy it serves the network bus topic (agents' reports and
questions, :mod:`ownstack.network.rpc_handlers`) from :meth:`NetworkState.start`, and
tells agents and compute of port changes (:meth:`NetworkState.port_changed`). Its start-up
compile step adds the network models' plain inserts to the prebuilt reads (decision 102).
"""

from __future__ import annotations

import asyncio
import logging
import time

from sqlalchemy.ext.asyncio import AsyncEngine

from ownstack.common.api.app import ApiRequest
from ownstack.common.bus import Bus
from ownstack.common.config import Config
from ownstack.common.errors import OwnstackError
from ownstack.common.peers import Peers
from ownstack.common.service import ServiceState
from ownstack.network.errors import ConcurrentUpdate
from ownstack.network.notifier import ComputeNotifier
from ownstack.network.objects import inserts
from ownstack.network.objects.bindings import PortState
from ownstack.network.policy import DEFAULT_RULES
from ownstack.network.rpc_handlers import NetworkRpc, PortChangeFound

SERVICE_TYPE = "network"

log = logging.getLogger(__name__)


class NetworkState(ServiceState):
    def __init__(self, config: Config, peers: Peers, engine: AsyncEngine | None = None) -> None:
        super().__init__(config, DEFAULT_RULES, engine)
        self.settings = config.network
        self.peers = peers
        self.identity = peers.identity_client(cache_ttl=config.network.token_cache_ttl)
        self.bus: Bus = peers.bus
        self.notifier = ComputeNotifier(peers)
        self.rpc = NetworkRpc(self.db, self.bus, self.notifier, config.network)

    async def start(self) -> None:
        await self.peers.open_bus()
        await self.rpc.start()

    async def stop(self) -> None:
        await self.rpc.stop()
        await self.notifier.stop()
        await self.peers.close_bus()
        await self.identity.aclose()
        await super().stop()

    async def compile_prebuilt_reads(self) -> int:
        """The reads every service compiles, then the plain inserts of each network model
        (:func:`~ownstack.network.objects.inserts.compile_plain_inserts`), which a write's
        first insert of a model otherwise compiles into that module's own cache (on
        SQLite; nothing elsewhere). One model at a time, letting requests in between."""
        ran = await super().compile_prebuilt_reads()
        started = time.perf_counter()
        compiled = 0
        for model in inserts.network_models():
            compiled += inserts.compile_plain_inserts(self.engine.dialect, model)
            await asyncio.sleep(0)
        log.debug("network: %d plain inserts compiled in %.3fs", compiled,
                  time.perf_counter() - started)
        return ran

    def race_error(self) -> OwnstackError:
        return ConcurrentUpdate()

    async def port_changed(self, before: PortState | None, after: PortState | None,
                           found: PortChangeFound | None = None) -> None:
        """The hook of the ports code: call it after the transaction that made, changed,
        bound, unbound or deleted a port commits, with :meth:`PortState.of` the port
        before (None for a new one) and after (None for a deleted one), and what
        ``rpc_handlers.port_change_found`` read at the end of that transaction. The agents
        of the hosts concerned are nudged and compute told of a status change; never
        raises."""
        await self.rpc.port_changed(before, after, found)

    async def dhcp_changed(self, network_id: str, hosts: set[str] | None = None) -> None:
        """Call after a subnet change commits, with the hosts :func:`~ownstack.network.
        objects.dhcp.sync_network` returned: the network's DHCP agent looks again."""
        await self.rpc.dhcp_changed(network_id, hosts)
    async def router_changed(self, router_id: str | None, *hosts: str) -> None:
        """Call after a change to a router (its gateway, interfaces, routes, floating IPs)
        commits, with the hosts it was on before: the agent hosting it looks again."""
        if router_id:
            await self.rpc.router_changed(router_id, *hosts)

    async def router_gone(self, router_id: str, host: str) -> None:
        """Call after a router's delete commits, with the host it was on ("" for none):
        that host's agent looks again (a deleted router has no ports, so no host to
        look up)."""
        await self.rpc.router_gone(router_id, host)

    async def security_groups_changed(self, group_ids: set[str]) -> None:
        """Call after rules of ``group_ids`` were made or deleted (their commit done): the
        agents of their ports re-wire them. Never raises."""
        await self.rpc.security_groups_changed(group_ids)

    async def network_changed(self, network_id: str) -> None:
        """Call after a network's update commits (MTU, admin state): its agents look again."""
        await self.rpc.network_changed(network_id)


Req = ApiRequest[NetworkState]
