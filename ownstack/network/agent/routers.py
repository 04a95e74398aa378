"""The router controller: ``step = plan(desired, observed); await apply(step)``, per router.

``desired`` is the router as the network service has it (:class:`~ownstack.network.rpc.RouterInfo`,
hosted here or not); ``observed`` is the spec the driver last applied and still has
(:class:`~ownstack.network.drivers.base.RouterSpec`), or ``None``. :func:`plan` is pure:

* hosted here and not on the host, or on it with another spec (an interface added, a
  floating IP associated, a route changed): ENSURE, then report the router ACTIVE;
* on the host but no longer hosted here (deleted, or moved): REMOVE;
* as wanted on the host, but a leg or an associated floating IP is not ACTIVE in the
  control plane (a report lost to a kill): REPORT.

Every step is idempotent on the host, so an agent killed halfway does it again at its next
resync.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from enum import StrEnum

from ownstack.common.agent import Controller, Outcome, Retry, Surveyed
from ownstack.network.agent.ports import network_spec
from ownstack.network.agent.server_api import NetworkServerAPI
from ownstack.network.drivers.base import (
    DriverError,
    ExtraRoute,
    FloatingIpSpec,
    NetworkDriver,
    NetworkSpec,
    RouterAddress,
    RouterGateway,
    RouterLeg,
    RouterSpec,
)
from ownstack.network.rpc import ACTIVE, RouterInfo, RouterLegInfo

log = logging.getLogger(__name__)

DRIVER_RETRY = 2.0


class Step(StrEnum):
    NOTHING = "nothing"
    ENSURE = "ensure"
    REMOVE = "remove"
    REPORT = "report"


def _leg(info: RouterLegInfo, bridges: Mapping[str, str]) -> RouterLeg:
    network = info["network"]
    return RouterLeg(
        port_id=info["port_id"], mac_address=info["mac_address"],
        bridge=network_spec(network, bridges).bridge,
        addresses=tuple(RouterAddress(a["ip_address"], a["prefixlen"],
                                      a.get("ipv6_ra_mode"), a.get("ipv6_address_mode"),
                                      tuple(a.get("dns_nameservers") or ()))
                        for a in info["addresses"]),
        mtu=network["mtu"], network_id=network["id"])


def router_spec(info: RouterInfo, bridges: Mapping[str, str]) -> RouterSpec:
    """The driver's view of a router. Only associated floating IPs are in it, sorted, so
    that equal routers give equal specs."""
    gateway = info["gateway"]
    return RouterSpec(
        router_id=info["id"],
        interfaces=tuple(_leg(leg, bridges) for leg in info["interfaces"]),
        gateway=None if gateway is None else RouterGateway(
            leg=_leg(gateway["leg"], bridges), next_hops=tuple(gateway["next_hops"]),
            enable_snat=gateway["enable_snat"]),
        routes=tuple(ExtraRoute(r["destination"], r["nexthop"]) for r in info["routes"]),
        floating_ips=tuple(sorted(
            (FloatingIpSpec(f["floating_ip_address"], f["fixed_ip_address"])
             for f in info["floating_ips"] if f["fixed_ip_address"] and gateway is not None),
            key=lambda f: f.floating_ip_address)),
        admin_state_up=info["admin_state_up"])


def _leg_networks(info: RouterInfo, bridges: Mapping[str, str]) -> list[NetworkSpec]:
    """The networks the router's legs join: each must be on the host before the router."""
    legs = [*info["interfaces"], *([info["gateway"]["leg"]] if info["gateway"] else [])]
    networks = {leg["network"]["id"]: network_spec(leg["network"], bridges) for leg in legs}
    return [networks[key] for key in sorted(networks)]


def _reported(info: RouterInfo) -> bool:
    """Whether the control plane already shows the router's legs and floating IPs up."""
    legs = [*info["interfaces"], *([info["gateway"]["leg"]] if info["gateway"] else [])]
    return (all(leg["status"] == ACTIVE for leg in legs)
            and all(f["status"] == ACTIVE for f in info["floating_ips"]
                    if f["fixed_ip_address"] and info["gateway"] is not None))


def plan(desired: RouterInfo | None, observed: RouterSpec | None, host: str,
         bridges: Mapping[str, str]) -> Step:
    if desired is None or desired["host"] != host:
        return Step.REMOVE if observed is not None else Step.NOTHING
    if observed is None or observed != router_spec(desired, bridges):
        return Step.ENSURE
    if not _reported(desired):
        return Step.REPORT
    return Step.NOTHING


class RouterController(Controller[str, RouterInfo, RouterSpec, Step]):
    """The routers one host serves, keyed by router id."""

    name = "router"

    def __init__(self, *, host: str, driver: NetworkDriver, server: NetworkServerAPI,
                 bridges: Mapping[str, str]) -> None:
        self.host = host
        self.driver = driver
        self.server = server
        self.bridges = dict(bridges)

    async def desired(self, key: str) -> RouterInfo | None:
        return await self.server.get_router(key)

    async def observed(self, key: str) -> RouterSpec | None:
        return next((spec for spec in await self.driver.routers() if spec.router_id == key),
                    None)

    def plan(self, desired: RouterInfo | None, observed: RouterSpec | None) -> Step:
        return plan(desired, observed, self.host, self.bridges)

    def idle(self, plan: Step) -> bool:
        return plan == Step.NOTHING

    async def apply(self, key: str, plan: Step, desired: RouterInfo | None,
                    observed: RouterSpec | None) -> Outcome:
        try:
            if plan == Step.REMOVE:
                await self.driver.remove_router(key)
                log.info("router %s removed from %s", key, self.host)
                return None
            if desired is None:
                return None
            if plan == Step.ENSURE:
                spec = router_spec(desired, self.bridges)
                for network in _leg_networks(desired, self.bridges):
                    await self.driver.ensure_network(network)
                await self.driver.ensure_router(spec)
                log.info("router %s on %s: %d interface(s), gateway %s, %d floating IP(s)",
                         key, self.host, len(spec.interfaces),
                         "set" if spec.gateway else "none", len(spec.floating_ips))
        except DriverError as exc:
            return Retry(DRIVER_RETRY, f"the host refused: {exc}")
        await self.server.router_status(key, ACTIVE)
        return None

    async def survey(self) -> list[Surveyed[str, RouterInfo, RouterSpec]]:
        """Every router hosted here and every router the driver has. The driver's are
        listed first, so a router made in between is never taken for an orphan."""
        have = {spec.router_id: spec for spec in await self.driver.routers()}
        desired = {info["id"]: info for info in await self.server.host_routers()}
        return [Surveyed(key, desired.get(key), have.get(key))
                for key in [*desired, *(k for k in have if k not in desired)]]

    async def networks(self) -> set[str]:
        """The networks the routers on this host join (kept by the network prune)."""
        return {leg.network_id for spec in await self.driver.routers()
                for leg in (*spec.interfaces, *([spec.gateway.leg] if spec.gateway else []))}
