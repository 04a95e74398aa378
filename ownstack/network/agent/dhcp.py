"""The DHCP controller: ``step = plan(desired, observed); await apply(step)``, per network.

``desired`` is the network's DHCP as the network service wants it from this host
(:class:`~ownstack.network.rpc.DhcpNetworkInfo`, from ``get_dhcp_network``), or ``None``
when this host should serve none (no DHCP subnet, another host serves it, the network is
gone); ``observed`` is the driver's :class:`~ownstack.network.drivers.base.DhcpServer`, or
``None``. :func:`plan` is a pure function of the two:

* wanted (and the network administratively up), and absent, not running, or running with
  another spec (a port added, a subnet changed; or not loaded by its server, the agent
  killed between writing its files and the reload): ENSURE (the network's bridge first),
  then report what it serves;
* there but not wanted: REMOVE;
* running as wanted, with something not reported: REPORT (below);
* otherwise nothing.

The controller runs only when the driver has :attr:`Capability.DHCP
<ownstack.network.drivers.base.Capability.DHCP>`. The DHCP port's tap (the host end of the
server's interface) is the server's to make, and this controller, not the port
controller, reports that port ACTIVE once the server runs.

It also reports ``dhcp_ready`` (Neutron's ``dhcp_ready_on_ports``), in one call per
network: the host entries its server has loaded (``ensure_dhcp`` returns once dnsmasq has
reread its files) of the ports the network service lists as waiting for it (``waiting``:
their DHCP provisioning block). Level-triggered: whenever the server runs as wanted and a
waiting port's entry is in what it serves, whether the report was never sent, lost, or
sent by a process since killed; so after an agent restart the first survey reports, from
the spec its files hold, every port still waiting.
"""

from __future__ import annotations

import logging
from enum import StrEnum

from ownstack.common.agent import Controller, Outcome, Retry, Surveyed
from ownstack.network.agent.ports import network_spec
from ownstack.network.agent.server_api import NetworkServerAPI
from ownstack.network.drivers.base import (
    DhcpHost,
    DhcpServer,
    DhcpSpec,
    DhcpSubnet,
    DriverError,
    FixedIp,
    HostRoute,
    NetworkDriver,
)
from ownstack.network.rpc import ACTIVE, DhcpNetworkInfo, DhcpReadyEntry, FixedIpInfo

log = logging.getLogger(__name__)

DRIVER_RETRY = 2.0          # seconds before a pass the host refused is tried again
# Seconds a nudged network waits before its pass. A pass reads and compares the whole
# network (every port's host entry), and every port change nudges it: ports made or
# deleted together are served by one pass, not one each, for a few ms more before their
# DHCP blocks clear (the L2 wiring of a bound port takes longer).
SETTLE = 0.02


class DhcpStep(StrEnum):
    NOTHING = "nothing"
    ENSURE = "ensure"
    REMOVE = "remove"
    REPORT = "report"


def _fixed(ips: list[FixedIpInfo]) -> tuple[FixedIp, ...]:
    if len(ips) == 1:                   # most ports: nothing to sort
        return (FixedIp(ips[0]["subnet_id"], ips[0]["ip_address"]),)
    return tuple(sorted((FixedIp(ip["subnet_id"], ip["ip_address"]) for ip in ips),
                        key=lambda ip: (ip.subnet_id, ip.ip_address)))


def dhcp_spec(info: DhcpNetworkInfo) -> DhcpSpec:
    """The driver's view of a network's DHCP: what the host must run for it."""
    return DhcpSpec(
        network=network_spec(info["network"]), port_id=info["port"]["id"],
        mac_address=info["port"]["mac_address"], fixed_ips=_fixed(info["port"]["fixed_ips"]),
        subnets=tuple(DhcpSubnet(
            subnet_id=s["id"], cidr=s["cidr"], ip_version=s["ip_version"],
            gateway_ip=s["gateway_ip"], enable_dhcp=s["enable_dhcp"],
            dns_nameservers=tuple(s["dns_nameservers"]),
            host_routes=tuple(HostRoute(r["destination"], r["nexthop"])
                              for r in s["host_routes"]),
            allocation_pools=tuple((p["start"], p["end"]) for p in s["allocation_pools"]),
            ipv6_ra_mode=s["ipv6_ra_mode"], ipv6_address_mode=s["ipv6_address_mode"],
            has_router=s["has_router"]) for s in info["subnets"]),
        hosts=tuple(sorted((DhcpHost(h["port_id"], h["mac_address"], _fixed(h["fixed_ips"]),
                                     h["hostname"]) for h in info["hosts"]),
                           key=lambda host: host.port_id)))


def ready_entries(desired: DhcpNetworkInfo, served: DhcpSpec) -> list[DhcpReadyEntry]:
    """The host entries of ``served`` (what the server has loaded) of the ports that wait
    for this server's report."""
    waiting = set(desired.get("waiting", ()))
    return [{"port_id": host.port_id, "mac_address": host.mac_address,
             "ip_addresses": [ip.ip_address for ip in host.fixed_ips]}
            for host in served.hosts if host.port_id in waiting]


def plan(desired: DhcpNetworkInfo | None, observed: DhcpServer | None,
         spec: DhcpSpec | None = None) -> DhcpStep:
    """The step that moves the host toward ``desired`` for one network's DHCP (``spec``:
    ``dhcp_spec(desired)`` when the caller has it)."""
    if desired is None or not desired["network"]["admin_state_up"]:
        return DhcpStep.REMOVE if observed is not None else DhcpStep.NOTHING
    if spec is None:
        spec = dhcp_spec(desired)
    if observed is None or not observed.running or observed.spec != spec:
        return DhcpStep.ENSURE
    if desired["port"]["status"] != ACTIVE or ready_entries(desired, observed.spec):
        return DhcpStep.REPORT
    return DhcpStep.NOTHING


class DhcpController(Controller[str, DhcpNetworkInfo, DhcpServer, DhcpStep]):
    """The DHCP servers of one host, keyed by network id."""

    name = "dhcp"
    settle = SETTLE

    def __init__(self, *, host: str, driver: NetworkDriver, server: NetworkServerAPI) -> None:
        self.host = host
        self.driver = driver
        self.server = server
        # The spec plan() last built and the desired state it was built from, so the
        # apply() that follows reuses it instead of building it again.
        self._spec: tuple[DhcpNetworkInfo, DhcpSpec] | None = None

    def _spec_of(self, desired: DhcpNetworkInfo) -> DhcpSpec:
        if self._spec is not None and self._spec[0] is desired:
            return self._spec[1]
        spec = dhcp_spec(desired)
        self._spec = (desired, spec)
        return spec

    async def desired(self, key: str) -> DhcpNetworkInfo | None:
        return await self.server.get_dhcp_network(key)

    async def observed(self, key: str) -> DhcpServer | None:
        for server in await self.driver.dhcp_servers():
            if server.network_id == key:
                return server
        return None

    def plan(self, desired: DhcpNetworkInfo | None, observed: DhcpServer | None
             ) -> DhcpStep:
        if desired is None or not desired["network"]["admin_state_up"]:
            return plan(desired, observed)
        return plan(desired, observed, self._spec_of(desired))

    def idle(self, plan: DhcpStep) -> bool:
        return plan == DhcpStep.NOTHING

    async def apply(self, key: str, plan: DhcpStep, desired: DhcpNetworkInfo | None,
                    observed: DhcpServer | None) -> Outcome:
        try:
            if plan == DhcpStep.REMOVE:
                await self.driver.remove_dhcp(key)
                log.info("DHCP of network %s removed from %s", key, self.host)
                return None
            if desired is None:
                return None
            if plan == DhcpStep.REPORT and observed is not None:
                await self._report(key, desired, observed.spec)
                return None
            spec = self._spec_of(desired)
            self._spec = None
            await self.driver.ensure_network(spec.network)
            server = await self.driver.ensure_dhcp(spec)
        except DriverError as exc:
            return Retry(DRIVER_RETRY, f"the host refused: {exc}")
        log.info("DHCP of network %s served on %s (pid %s, %d hosts)", key, self.host,
                 server.pid, len(spec.hosts))
        await self._report(key, desired, server.spec)
        return None

    async def _report(self, key: str, desired: DhcpNetworkInfo, served: DhcpSpec) -> None:
        """The DHCP port ACTIVE unless it is, and the loaded entries of the waiting
        ports ready, in one call."""
        if desired["port"]["status"] != ACTIVE:
            await self.server.port_status(desired["port"]["id"], ACTIVE)
        entries = ready_entries(desired, served)
        if entries:
            cleared = await self.server.dhcp_ready(entries)
            log.info("DHCP of network %s on %s: %d of %d waiting ports ready", key,
                     self.host, len(cleared), len(entries))

    async def survey(self) -> list[Surveyed[str, DhcpNetworkInfo, DhcpServer]]:
        """Every network this host should serve and every DHCP server it has; the servers
        are listed first, so one ensured in between is never taken for an orphan."""
        running = {server.network_id: server for server in await self.driver.dhcp_servers()}
        desired = {info["network"]["id"]: info for info in await self.server.dhcp_networks()}
        return [Surveyed(key, desired.get(key), running.get(key))
                for key in [*desired, *(k for k in running if k not in desired)]]
