"""One network agent: the node agent of one host's data path, on the common agent runtime.

It learns which ports its host should carry from the network service (a ``port_changed``
nudge per port on ``network.<host>``, and every port bound to the host at start-up and every
``network.resync_interval``), compares them with what the driver has wired, and closes the
gap one port at a time through its controller (:class:`~.ports.PortController`). Three
sources of nudges, none of which has to be reliable: casts from the network service, the
driver's tap events (a guest's tap appeared or vanished), and the periodic resync, which
also removes networks no port uses any more.

It registers and heartbeats with ``report_agent`` every ``network.report_interval``, so
``openstack network agent list`` shows it alive. When its driver has the DHCP capability
it also runs the DHCP servers of the networks the service gives it
(:class:`~.dhcp.DhcpController`, keyed by network id, nudged by ``dhcp_changed``), in a
work queue of its own. L3, security-group and metadata controllers join them, each one
more :meth:`~ownstack.common.agent.Agent.work_queue`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from ownstack.common.agent import Agent, WorkQueue
from ownstack.common.bus import Bus, Payload
from ownstack.common.config import Config
from ownstack.network import rpc
from ownstack.network.agent.dhcp import DhcpController
from ownstack.network.agent.groups import GroupController
from ownstack.network.agent.metadata import MetadataAgent
from ownstack.network.agent.ports import PortController
from ownstack.network.agent.routers import RouterController
from ownstack.network.agent.server_api import NetworkServerAPI
from ownstack.network.drivers.base import (
    Capability,
    DriverError,
    NetworkDriver,
    PortNotWired,
    PortSpec,
)

log = logging.getLogger(__name__)

STARTUP_WAIT = 10.0             # how long start() waits for the network service to answer


class NetworkAgent(Agent):
    def __init__(self, *, config: Config, bus: Bus, driver: NetworkDriver, host: str,
                 startup_wait: float = STARTUP_WAIT,
                 release: Callable[[], Awaitable[None]] | None = None,
                 metadata: MetadataAgent | None = None) -> None:
        super().__init__(name=f"network agent {host}", bus=bus,
                         report_interval=config.network.report_interval,
                         resync_interval=config.network.resync_interval,
                         startup_wait=startup_wait)
        self.config = config
        self.driver = driver
        self.host = host
        self.server = NetworkServerAPI(bus, host)
        bridges = config.network.bridge_mapping
        self.controller = PortController(host=host, driver=driver, server=self.server,
                                         bridges=bridges, rewired=self._port_rewired)
        self.ports = self.work_queue(self.controller)
        # After the ports, so a resync sees the groups the ports' new rules name.
        self.group_controller = GroupController(driver=driver, server=self.server)
        self.groups = self.work_queue(self.group_controller)
        # DHCP servers, keyed by network id: only on a driver that can run them.
        self.dhcp: WorkQueue[str] | None = None
        if driver.capabilities.get(Capability.DHCP.value):
            self.dhcp = self.work_queue(DhcpController(
                host=host, driver=driver, server=self.server))
        self.router_controller: RouterController | None = None
        if driver.capabilities.get(Capability.ROUTERS.value):
            self.router_controller = RouterController(host=host, driver=driver,
                                                      server=self.server, bridges=bridges)
            self.routers = self.work_queue(self.router_controller)
        self.agent_id: str | None = None
        self.admin_state_up = True
        self._started = False
        self._release = release
        self.metadata = metadata          # started with the agent when the driver proxies

    @property
    def topic(self) -> str:
        return rpc.agent_topic(self.host)

    async def prepare(self) -> None:
        await self.driver.init_host()
        self.consume(self.driver.events(), self.ports.nudge)
        if self.metadata is not None:
            await self.metadata.start()

    async def release(self) -> None:
        try:
            if self.metadata is not None:
                await self.metadata.stop()
            await self.driver.close()
        finally:
            if self._release is not None:
                await self._release()

    # -- reporting ----------------------------------------------------------------------

    async def agent_report(self) -> dict[str, Any]:
        capabilities = self.driver.capabilities
        wired = await self.driver.wired_ports()
        return {
            "agent_type": rpc.AGENT_TYPE, "binary": rpc.AGENT_BINARY, "topic": self.topic,
            "availability_zone": self.config.network.availability_zone,
            "start_flag": not self._started,
            "configurations": {
                "driver": self.config.network.driver,
                "bridge_mappings": dict(self.config.network.bridge_mapping),
                "interface_mappings": {},
                "tunnel_types": ["vxlan"] if capabilities.get(Capability.VXLAN.value) else [],
                "capabilities": dict(capabilities),
                "devices": len(wired),
            }}

    async def report(self, *, timeout: float | None = None) -> None:
        """Heartbeat: the agent is up, and what it carries."""
        answer = await self.server.report_agent(await self.agent_report(), timeout=timeout)
        self._started = True
        self.agent_id = str(answer.get("id") or "") or self.agent_id
        up = bool(answer.get("admin_state_up", True))
        if up != self.admin_state_up:
            log.info("network agent %s is now %s", self.host, "enabled" if up else "disabled")
        self.admin_state_up = up

    # -- reconciling --------------------------------------------------------------------

    def nudge(self, port_id: str) -> asyncio.Future[None]:
        return self.ports.nudge(port_id)

    def _port_rewired(self, old: PortSpec | None, new: PortSpec | None) -> None:
        """A port's rules may now name a group this process has not filled yet, or no
        longer name one that nothing else here may name."""
        named = new.remote_group_ids if new is not None else frozenset()
        before = old.remote_group_ids if old is not None else frozenset()
        for group_id in (named - self.group_controller.set_here) | (before - named):
            self.groups.nudge(group_id)

    async def reconcile(self, port_id: str) -> None:
        """Reconcile one port and wait for it (for tests)."""
        await self.ports.run(port_id)

    async def resync(self) -> None:
        """Every port that differs, then the networks no port uses any more."""
        await super().resync()
        keep: set[str] = set()
        if self.router_controller is not None:
            keep |= await self.router_controller.networks()
        if self.dhcp is not None:
            keep |= {server.network_id for server in await self.driver.dhcp_servers()}
        for network_id in await self.controller.prune_networks(keep):
            log.info("network %s removed from %s: no port of it is here", network_id,
                     self.host)

    # -- the host's topic ---------------------------------------------------------------

    async def handle(self, method: str, payload: Payload) -> Any:
        if method == "port_changed":
            self.nudge(str(payload["port_id"]))
            return None
        if method == "network_changed":
            network_id = str(payload["network_id"])
            for port in await self.driver.wired_ports():
                if port.spec.network.network_id == network_id:
                    self.nudge(port.port_id)
            if self.dhcp is not None:
                self.dhcp.nudge(network_id)
            return None
        if method == "dhcp_changed":
            if self.dhcp is not None:
                self.dhcp.nudge(str(payload["network_id"]))
            return None
        if method == "describe_network":
            network_id = str(payload["network_id"])
            bridge = next((dict(info.details) for info in await self.driver.networks()
                           if info.spec.network_id == network_id), None)
            dhcp = await self.driver.describe_dhcp(network_id) if self.dhcp else None
            return {"details": None if bridge is None and dhcp is None
                    else {"bridge": bridge, "dhcp": dhcp}}
        if method == "describe_dhcp":
            if self.dhcp is None:
                return {"details": None}
            return {"details": await self.driver.describe_dhcp(str(payload["network_id"]))}
        if method == "router_changed":
            if self.router_controller is not None:
                self.routers.nudge(str(payload["router_id"]))
            return None
        if method == "describe_router":
            try:
                return {"details": await self.driver.describe_router(
                    str(payload["router_id"]))}
            except DriverError:
                return {"details": None}
        if method == "security_groups_changed":
            changed = {str(gid) for gid in payload["security_group_ids"]}
            for port in await self.driver.wired_ports():
                if changed & set(port.spec.security_group_ids):
                    self.nudge(port.port_id)
            return None
        if method == "group_members_changed":
            for group_id in payload["security_group_ids"]:
                self.groups.nudge(str(group_id))
            return None
        if method == "describe_port":
            try:
                return {"details": await self.driver.describe_port(str(payload["port_id"]))}
            except PortNotWired:
                return {"details": None}
        raise ValueError(f"unknown network agent method {method!r}")
