"""The router controller's plan: each case a pure function of desired and observed, and
passes against the fake driver with a stand-in for the network service."""

from __future__ import annotations

import copy
import uuid
from typing import Any

from ownstack.common.agent import Retry
from ownstack.network.agent.routers import RouterController, Step, plan, router_spec
from ownstack.network.drivers.base import RouterAddress
from ownstack.network.drivers.fake import FakeNetworkDriver, FakeNetworkHost
from ownstack.network.rpc import RouterInfo, RouterLegInfo

HOST = "node-1"
BRIDGES = {"public": "br-ex"}


def leg(address: str, *, flat: bool = False, status: str = "DOWN") -> RouterLegInfo:
    network_id = str(uuid.uuid4())
    return {"port_id": str(uuid.uuid4()), "mac_address": "fa:16:3e:00:00:01", "status": status,
            "network": {"id": network_id, "network_type": "flat" if flat else "vxlan",
                        "segmentation_id": None if flat else 7,
                        "physical_network": "public" if flat else None,
                        "mtu": 1500 if flat else 1450, "admin_state_up": True},
            "addresses": [{"subnet_id": str(uuid.uuid4()), "ip_address": address,
                           "prefixlen": 24}]}


def router_info(host: str = HOST, status: str = "DOWN", **changes: Any) -> RouterInfo:
    info: RouterInfo = {
        "id": str(uuid.uuid4()), "host": host, "admin_state_up": True, "status": "ACTIVE",
        "interfaces": [leg("10.0.0.1", status=status)],
        "gateway": {"leg": leg("172.24.4.10", flat=True, status=status),
                    "next_hops": ["172.24.4.1"], "enable_snat": True},
        "routes": [], "floating_ips": [
            {"id": str(uuid.uuid4()), "floating_ip_address": "172.24.4.20",
             "fixed_ip_address": "10.0.0.5", "status": status}]}
    info.update(changes)  # type: ignore[typeddict-item]
    return info


def test_the_gateway_leg_of_a_flat_network_is_on_its_mapped_bridge() -> None:
    spec = router_spec(router_info(), BRIDGES)
    assert spec.gateway is not None and spec.gateway.leg.bridge == "br-ex"
    assert spec.interfaces[0].bridge.startswith("brq")
    assert [(f.floating_ip_address, f.fixed_ip_address) for f in spec.floating_ips] == \
        [("172.24.4.20", "10.0.0.5")]


def test_floating_ips_without_a_gateway_or_a_fixed_address_are_left_out() -> None:
    info = router_info()
    info["floating_ips"].append({"id": "x", "floating_ip_address": "172.24.4.21",
                                 "fixed_ip_address": "", "status": "DOWN"})
    assert len(router_spec(info, BRIDGES).floating_ips) == 1
    assert router_spec(router_info(gateway=None), BRIDGES).floating_ips == ()


def test_a_legs_ipv6_modes_and_dns_reach_the_spec() -> None:
    info = router_info()
    info["interfaces"][0]["addresses"].append({
        "subnet_id": str(uuid.uuid4()), "ip_address": "fd00::1", "prefixlen": 64,
        "ipv6_ra_mode": "dhcpv6-stateless", "ipv6_address_mode": "dhcpv6-stateless",
        "dns_nameservers": ["fd00::53"]})
    assert router_spec(info, BRIDGES).interfaces[0].addresses == (
        RouterAddress("10.0.0.1", 24),          # a server older than the modes sends none
        RouterAddress("fd00::1", 64, "dhcpv6-stateless", "dhcpv6-stateless", ("fd00::53",)))


def test_plan() -> None:
    info = router_info()
    spec = router_spec(info, BRIDGES)
    assert plan(None, None, HOST, BRIDGES) == Step.NOTHING
    assert plan(info, None, HOST, BRIDGES) == Step.ENSURE
    assert plan(info, spec, HOST, BRIDGES) == Step.REPORT          # not ACTIVE yet
    up = router_info(status="ACTIVE")
    assert plan(up, router_spec(up, BRIDGES), HOST, BRIDGES) == Step.NOTHING
    changed = copy.deepcopy(info)
    changed["routes"] = [{"destination": "192.168.0.0/24", "nexthop": "10.0.0.9"}]
    assert plan(changed, spec, HOST, BRIDGES) == Step.ENSURE
    assert plan(router_info(host="other"), spec, HOST, BRIDGES) == Step.REMOVE
    assert plan(None, spec, HOST, BRIDGES) == Step.REMOVE


class FakeServer:
    def __init__(self, *infos: RouterInfo) -> None:
        self.routers = {info["id"]: info for info in infos}
        self.reports: list[tuple[str, str]] = []

    async def get_router(self, router_id: str) -> RouterInfo | None:
        return self.routers.get(router_id)

    async def host_routers(self) -> list[RouterInfo]:
        return [i for i in self.routers.values() if i["host"] == HOST]

    async def router_status(self, router_id: str, status: str) -> bool:
        self.reports.append((router_id, status))
        return True


async def test_a_pass_makes_the_router_with_its_networks_and_reports_it() -> None:
    host = FakeNetworkHost(HOST)
    host.bridges.clear()
    driver = FakeNetworkDriver(host)
    info = router_info()
    server = FakeServer(info)
    controller = RouterController(host=HOST, driver=driver, server=server,  # type: ignore[arg-type]
                                  bridges=BRIDGES)
    desired, observed = await controller.desired(info["id"]), await controller.observed(info["id"])
    step = controller.plan(desired, observed)
    assert step == Step.ENSURE
    assert await controller.apply(info["id"], step, desired, observed) is None
    assert [spec.router_id for spec in await driver.routers()] == [info["id"]]
    assert server.reports == [(info["id"], "ACTIVE")]
    assert await controller.networks() == {info["interfaces"][0]["network"]["id"],
                                           info["gateway"]["leg"]["network"]["id"]}
    # gone from the control plane: removed
    server.routers.clear()
    survey = await controller.survey()
    assert [(s.key, s.desired) for s in survey] == [(info["id"], None)]
    assert controller.plan(None, survey[0].observed) == Step.REMOVE
    await controller.apply(info["id"], Step.REMOVE, None, survey[0].observed)
    assert await driver.routers() == []


async def test_a_refusal_of_the_host_is_retried() -> None:
    host = FakeNetworkHost(HOST)
    driver = FakeNetworkDriver(host, capabilities={"supports_routers": False})
    info = router_info()
    controller = RouterController(host=HOST, driver=driver, server=FakeServer(info),  # type: ignore[arg-type]
                                  bridges=BRIDGES)
    outcome = await controller.apply(info["id"], Step.ENSURE, info, None)
    assert isinstance(outcome, Retry)
