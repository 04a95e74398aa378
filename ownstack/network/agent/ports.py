"""The port controller: ``step = plan(desired, observed); await apply(step)``, per port.

``desired`` is the port as the network service has it (:class:`~ownstack.network.rpc.PortInfo`,
bound to this host or not); ``observed`` is what the driver has wired for it
(:class:`~ownstack.network.drivers.base.WiredPort`), or ``None``. :func:`plan` is a pure
function of the two, so each case is a unit test with no I/O:

* bound here, not wired, wired with another spec (a group added, an MTU changed), or
  wired but not attached (its tap removed or taken off its bridge behind the agent's back):
  WIRE (its network ensured first; the driver makes the tap again), then report its status;
* wired, but no longer bound here (unbound, moved, deleted): UNWIRE;
* wired as wanted, but the control plane shows another status than the host's (a report
  lost to a kill, a tap that appeared since): REPORT.

Every step is idempotent on the host, so an agent killed halfway through one does it again
at its next resync. A network no wired port uses any more is removed by the resync
(:meth:`PortController.prune_networks`), not by the pass that unwired its last port, so a
port that moves between two passes never finds its bridge gone under it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import Final

from ownstack.common.agent import Controller, Outcome, Retry, Surveyed
from ownstack.network.agent.server_api import NetworkServerAPI
from ownstack.network.drivers.base import (
    AddressPair,
    DriverError,
    FixedIp,
    NetworkDriver,
    NetworkSpec,
    PortSpec,
    SecurityGroupSpec,
    WiredPort,
)
from ownstack.network.rpc import NetworkInfo, PortInfo, RuleInfo
from ownstack.network.sg_rules import RuleSpec

log = logging.getLogger(__name__)

DRIVER_RETRY = 2.0          # seconds before a pass the host refused is tried again


class Step(StrEnum):
    NOTHING = "nothing"
    WIRE = "wire"
    UNWIRE = "unwire"
    REPORT = "report"


def network_spec(network: NetworkInfo, bridges: Mapping[str, str] | None = None
                 ) -> NetworkSpec:
    """The driver's view of a network; ``bridges`` maps physical networks to the host's
    bridges (``network.bridge_mappings``)."""
    physical = network["physical_network"]
    mapped = (bridges or {}).get(physical) if physical else None
    return NetworkSpec(network_id=network["id"], network_type=network["network_type"],
                       segmentation_id=network["segmentation_id"],
                       physical_network=physical, mtu=network["mtu"], mapped_bridge=mapped)


def rule_spec(rule: RuleInfo) -> RuleSpec:
    return RuleSpec(direction="egress" if rule["direction"] == "egress" else "ingress",
                    ethertype="IPv6" if rule["ethertype"] == "IPv6" else "IPv4",
                    protocol=rule["protocol"], port_range_min=rule["port_range_min"],
                    port_range_max=rule["port_range_max"],
                    remote_ip_prefix=rule["remote_ip_prefix"],
                    remote_group_id=rule["remote_group_id"])


def port_spec(port: PortInfo, bridges: Mapping[str, str] | None = None) -> PortSpec:
    """The driver's view of a port: what the host must apply for it."""
    rules = port.get("security_group_rules", {})
    groups = sorted(port["security_groups"])
    return PortSpec(
        port_id=port["id"], network=network_spec(port["network"], bridges),
        mac_address=port["mac_address"],
        fixed_ips=tuple(FixedIp(ip["subnet_id"], ip["ip_address"])
                        for ip in port["fixed_ips"]),
        admin_state_up=port["admin_state_up"],
        port_security_enabled=port["port_security_enabled"],
        security_group_ids=tuple(groups),
        security_groups=tuple(SecurityGroupSpec(group_id, tuple(
            rule_spec(rule) for rule in rules.get(group_id, []))) for group_id in groups),
        allowed_address_pairs=tuple(AddressPair(pair["ip_address"], pair["mac_address"])
                                    for pair in port["allowed_address_pairs"]),
        device_owner=port["device_owner"], device_id=port["device_id"])


# Ports whose host side another controller makes and reports (a router's legs and a DHCP
# server's interface are veths into their namespaces): the port controller leaves them.
NOT_TAPS: Final = ("network:router_interface", "network:router_gateway", "network:dhcp")


def plan(desired: PortInfo | None, observed: WiredPort | None, host: str,
         bridges: Mapping[str, str] | None = None) -> Step:
    """The step that moves ``host`` toward ``desired`` for one port."""
    if desired is not None and desired["device_owner"] in NOT_TAPS:
        desired = None
    if desired is None or desired["host"] != host:
        return Step.UNWIRE if observed is not None else Step.NOTHING
    if observed is None or observed.spec != port_spec(desired, bridges):
        return Step.WIRE
    if not observed.attached:
        return Step.WIRE            # its tap vanished or left its bridge since it was wired
    if observed.status != desired["status"]:
        return Step.REPORT
    return Step.NOTHING


class PortController(Controller[str, PortInfo, WiredPort, Step]):
    """The ports of one host, keyed by port id."""

    name = "port"

    def __init__(self, *, host: str, driver: NetworkDriver, server: NetworkServerAPI,
                 bridges: Mapping[str, str] | None = None,
                 rewired: Callable[[PortSpec | None, PortSpec | None], object] | None = None
                 ) -> None:
        self.host = host
        self.driver = driver
        self.server = server
        self.bridges = dict(bridges or {})
        # Told (old spec, new spec) of each port wired or unwired: the remote groups its
        # rules named or name now may need their members set or removed.
        self.rewired = rewired

    async def desired(self, key: str) -> PortInfo | None:
        return await self.server.get_port(key)

    async def observed(self, key: str) -> WiredPort | None:
        for port in await self.driver.wired_ports():
            if port.port_id == key:
                return port
        return None

    def plan(self, desired: PortInfo | None, observed: WiredPort | None) -> Step:
        return plan(desired, observed, self.host, self.bridges)

    def idle(self, plan: Step) -> bool:
        return plan == Step.NOTHING

    async def apply(self, key: str, plan: Step, desired: PortInfo | None,
                    observed: WiredPort | None) -> Outcome:
        try:
            if plan == Step.UNWIRE:
                await self.driver.unwire_port(key)
                if self.rewired is not None and observed is not None:
                    self.rewired(observed.spec, None)
                log.info("port %s unwired from %s", key, self.host)
                return None
            if desired is None:
                return None
            if plan == Step.WIRE:
                spec = port_spec(desired, self.bridges)
                await self.driver.ensure_network(spec.network)
                old = observed.spec if observed is not None else None
                observed = await self.driver.wire_port(spec)
                if self.rewired is not None:
                    self.rewired(old, spec)
                log.info("port %s wired on %s (%s)", key, spec.bridge,
                         "attached" if observed.attached else "waiting for its tap")
        except DriverError as exc:
            return Retry(DRIVER_RETRY, f"the host refused: {exc}")
        if observed is not None and observed.status != desired["status"]:
            await self.server.port_status(key, observed.status)
        return None

    async def survey(self) -> list[Surveyed[str, PortInfo, WiredPort]]:
        """Every port bound to this host and every port the driver has wired. Wired ports
        are listed *before* the desired ones are fetched, so a port wired in between
        belongs to a port already in the list and is never taken for an orphan."""
        wired = {port.port_id: port for port in await self.driver.wired_ports()}
        desired = {port["id"]: port for port in await self.server.host_ports()}
        return [Surveyed(key, desired.get(key), wired.get(key))
                for key in [*desired, *(k for k in wired if k not in desired)]]

    async def prune_networks(self, keep: set[str] | None = None) -> list[str]:
        """Remove the networks no wired port uses and that are not in ``keep`` (those a
        router or DHCP server of this host joins); the ids removed."""
        used = {port.spec.network.network_id for port in await self.driver.wired_ports()}
        used |= keep or set()
        removed = []
        for network in await self.driver.networks():
            if network.spec.network_id not in used:
                await self.driver.remove_network(network.spec.network_id)
                removed.append(network.spec.network_id)
        return removed
