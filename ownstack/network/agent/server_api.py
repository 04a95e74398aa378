"""The agent's side of the bus contract (:mod:`ownstack.network.rpc`): typed calls to the
network service on behalf of one host.

An agent never touches the database; everything it learns or reports goes through these
calls. Each raises :class:`~ownstack.common.bus.BusError` when the network service does not
answer or fails: the agent's work queue retries the pass with backoff, and the next resync
tries again, since the port rows still hold what is wanted.
"""

from __future__ import annotations

from typing import Any, cast

from ownstack.common.agent.control_plane import ControlPlaneClient
from ownstack.network.rpc import (
    NETWORK_TOPIC,
    DhcpNetworkInfo,
    DhcpReadyEntry,
    MembersInfo,
    MetadataPort,
    PortInfo,
    RouterInfo,
)


class NetworkServerAPI(ControlPlaneClient):
    topic = NETWORK_TOPIC

    async def report_agent(self, report: dict[str, Any], *, timeout: float | None = None
                           ) -> dict[str, Any]:
        return dict(await self._call("report_agent", {**report, "host": self.host},
                                     timeout=timeout))

    async def host_ports(self) -> list[PortInfo]:
        result = await self._call("host_ports", {"host": self.host})
        return cast(list[PortInfo], list(result["ports"]))

    async def get_port(self, port_id: str) -> PortInfo | None:
        result = await self._call("get_port", {"port_id": port_id})
        return cast(PortInfo | None, result["port"])

    async def port_status(self, port_id: str, status: str) -> bool:
        """Report a port ACTIVE or DOWN; False when it is no longer bound to this host
        (not an error: the port moved, and its new host reports it)."""
        result = await self._call("port_status", {"port_id": port_id, "host": self.host,
                                                  "status": status})
        return bool(result["applied"])

    async def dhcp_networks(self) -> list[DhcpNetworkInfo]:
        """Every network whose DHCP this host serves."""
        result = await self._call("dhcp_networks", {"host": self.host})
        return cast(list[DhcpNetworkInfo], list(result["networks"]))

    async def get_dhcp_network(self, network_id: str) -> DhcpNetworkInfo | None:
        """The network's DHCP as this host should serve it; None when it should not."""
        result = await self._call("get_dhcp_network", {"network_id": network_id,
                                                       "host": self.host})
        return cast(DhcpNetworkInfo | None, result["network"])

    async def dhcp_ready(self, entries: list[DhcpReadyEntry]) -> list[str]:
        """Report host entries this host's DHCP server has loaded; the ports whose DHCP
        provisioning block that cleared."""
        if not entries:
            return []
        result = await self._call("dhcp_ready", {"host": self.host, "ports": entries})
        return [str(port_id) for port_id in result["ports"]]

    async def host_routers(self) -> list[RouterInfo]:
        result = await self._call("host_routers", {"host": self.host})
        return cast(list[RouterInfo], list(result["routers"]))

    async def get_router(self, router_id: str) -> RouterInfo | None:
        result = await self._call("get_router", {"router_id": router_id})
        return cast(RouterInfo | None, result["router"])

    async def router_status(self, router_id: str, status: str) -> bool:
        result = await self._call("router_status", {"router_id": router_id,
                                                    "host": self.host, "status": status})
        return bool(result["applied"])

    async def group_members(self, group_ids: list[str]) -> dict[str, MembersInfo]:
        """The addresses of the ports in each group (every asked group is answered)."""
        if not group_ids:
            return {}
        result = await self._call("group_members", {"security_group_ids": sorted(group_ids)})
        return cast(dict[str, MembersInfo], dict(result["members"]))

    async def metadata_port(self, ip_address: str, *, network_id: str | None = None,
                            router_id: str | None = None) -> MetadataPort | None:
        """The port holding ``ip_address`` on a proxy's network or router, or ``None``."""
        payload = {"ip_address": ip_address}
        if network_id:
            payload["network_id"] = network_id
        else:
            payload["router_id"] = router_id or ""
        result = await self._call("metadata_port", payload)
        return cast(MetadataPort | None, result["port"])
