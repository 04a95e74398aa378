"""The port controller's plan: each case a pure function of desired and observed, and one
pass of each step against the fake driver and a stand-in for the network service."""

from __future__ import annotations

import copy
import uuid
from pathlib import Path
from typing import Any

import pytest

from helpers import netns
from helpers.network_driver_contract import Events
from ownstack.common.agent import Retry
from ownstack.network.agent.ports import PortController, Step, plan, port_spec
from ownstack.network.drivers.base import WiredPort
from ownstack.network.drivers.fake import FakeNetworkDriver, FakeNetworkHost
from ownstack.network.drivers.linux.driver import LinuxDriver
from ownstack.network.rpc import PortInfo

HOST = "node-1"


def port_info(host: str = HOST, status: str = "DOWN", **changes: Any) -> PortInfo:
    network_id = str(uuid.uuid4())
    info: PortInfo = {
        "id": str(uuid.uuid4()), "network_id": network_id, "host": host, "status": status,
        "mac_address": "fa:16:3e:00:00:07", "admin_state_up": True,
        "device_owner": "compute:nova", "device_id": str(uuid.uuid4()),
        "fixed_ips": [{"subnet_id": str(uuid.uuid4()), "ip_address": "10.0.0.7"}],
        "security_groups": ["sg-b", "sg-a"], "port_security_enabled": True,
        "allowed_address_pairs": [],
        "network": {"id": network_id, "network_type": "vxlan", "segmentation_id": 7,
                    "physical_network": None, "mtu": 1450, "admin_state_up": True}}
    info.update(changes)  # type: ignore[typeddict-item]
    return info


def wired(info: PortInfo, attached: bool = True) -> WiredPort:
    return WiredPort(port_spec(info), attached, tap_exists=attached)


def test_nothing_wanted_nothing_there() -> None:
    assert plan(None, None, HOST) == Step.NOTHING


def test_a_port_bound_here_and_not_wired_is_wired() -> None:
    assert plan(port_info(), None, HOST) == Step.WIRE


def test_a_port_bound_elsewhere_is_not_wired_here() -> None:
    assert plan(port_info(host="node-2"), None, HOST) == Step.NOTHING
    assert plan(port_info(host=""), None, HOST) == Step.NOTHING


@pytest.mark.parametrize("desired", [None, "unbound", "moved"])
def test_a_wired_port_no_longer_bound_here_is_unwired(desired: str | None) -> None:
    info = port_info()
    observed = wired(info)
    wanted = None if desired is None else {**info, "host": "" if desired == "unbound"
                                           else "node-2"}
    assert plan(wanted, observed, HOST) == Step.UNWIRE      # type: ignore[arg-type]


def test_a_changed_port_is_wired_again() -> None:
    info = port_info(status="ACTIVE")
    observed = wired(info)
    for change in ({"security_groups": ["sg-a"]}, {"admin_state_up": False},
                   {"allowed_address_pairs": [{"ip_address": "10.0.0.9",
                                               "mac_address": "fa:16:3e:00:00:07"}]}):
        assert plan({**info, **change}, observed, HOST) == Step.WIRE  # type: ignore[misc]
    network = {**info["network"], "mtu": 1400}
    assert plan({**info, "network": network}, observed, HOST) == Step.WIRE  # type: ignore[misc]


def test_the_order_of_security_groups_is_no_change() -> None:
    info = port_info(status="ACTIVE")
    assert plan({**info, "security_groups": ["sg-a", "sg-b"]}, wired(info), HOST) \
        == Step.NOTHING


def test_a_status_the_control_plane_lacks_is_reported() -> None:
    info = port_info(status="DOWN")
    assert plan(info, wired(info, attached=True), HOST) == Step.REPORT
    active = port_info(status="ACTIVE")
    assert plan(active, wired(active, attached=True), HOST) == Step.NOTHING
    # Administratively down: its tap is attached (and down), the port is DOWN.
    admin_down = port_info(status="ACTIVE", admin_state_up=False)
    assert plan(admin_down, wired(admin_down, attached=True), HOST) == Step.REPORT
    down = port_info(status="DOWN", admin_state_up=False)
    assert plan(down, wired(down, attached=True), HOST) == Step.NOTHING


@pytest.mark.parametrize("tap_exists", [True, False])
def test_a_port_no_longer_attached_is_wired_again(tap_exists: bool) -> None:
    """Its tap was removed, or taken off its bridge, behind the agent's back."""
    for status in ("ACTIVE", "DOWN"):
        info = port_info(status=status)
        observed = WiredPort(port_spec(info), attached=False, tap_exists=tap_exists)
        assert plan(info, observed, HOST) == Step.WIRE


def test_plan_is_pure() -> None:
    info = port_info()
    observed = wired(info)
    before = copy.deepcopy(info)
    results = {plan(info, observed, HOST) for _ in range(3)}
    assert results == {Step.REPORT} and info == before


class FakeServer:
    """The network service as the controller sees it, in memory."""

    def __init__(self, *ports: PortInfo) -> None:
        self.ports = {port["id"]: port for port in ports}
        self.reports: list[tuple[str, str]] = []

    async def get_port(self, port_id: str) -> PortInfo | None:
        return self.ports.get(port_id)

    async def host_ports(self) -> list[PortInfo]:
        return [port for port in self.ports.values() if port["host"] == HOST]

    async def port_status(self, port_id: str, status: str) -> bool:
        self.reports.append((port_id, status))
        port = self.ports.get(port_id)
        if port is None or port["host"] != HOST:
            return False
        port["status"] = status
        return True


def controller(server: FakeServer, host: FakeNetworkHost) -> PortController:
    return PortController(host=HOST, driver=FakeNetworkDriver(host),
                          server=server)  # type: ignore[arg-type]


async def test_a_pass_wires_the_port_and_reports_it_active() -> None:
    info = port_info()
    server, host = FakeServer(info), FakeNetworkHost(HOST)
    ports = controller(server, host)
    assert await ports.reconcile(info["id"]) is None
    assert server.reports == [(info["id"], "ACTIVE")]
    assert info["network_id"] in host.bridges
    assert await ports.reconcile(info["id"]) is None        # converged: nothing more
    assert server.reports == [(info["id"], "ACTIVE")]


async def test_a_tap_removed_behind_the_agents_back_is_made_again() -> None:
    info = port_info()
    server, host = FakeServer(info), FakeNetworkHost(HOST)
    ports = controller(server, host)
    await ports.reconcile(info["id"])
    tap = port_spec(info).tap
    assert info["status"] == "ACTIVE" and tap in host.taps
    host.remove_tap(info["id"])
    await ports.reconcile(info["id"])
    assert tap in host.taps and tap in host.bridges[info["network_id"]].members
    assert server.reports == [(info["id"], "ACTIVE")]       # repaired before anyone saw


async def test_an_unbound_port_is_unwired_and_its_network_pruned() -> None:
    info = port_info()
    server, host = FakeServer(info), FakeNetworkHost(HOST)
    ports = controller(server, host)
    await ports.reconcile(info["id"])
    info["host"] = ""
    await ports.reconcile(info["id"])
    assert host.ports == {} and info["network_id"] in host.bridges
    assert await ports.prune_networks() == [info["network_id"]]
    assert host.bridges == {}


async def test_a_host_that_refuses_is_a_retry() -> None:
    info = port_info()
    server, host = FakeServer(info), FakeNetworkHost(HOST)
    driver = FakeNetworkDriver(host)

    async def refuse(*args: object) -> Any:
        from ownstack.network.drivers.base import DriverError
        raise DriverError("bridge busy")

    driver.ensure_network = refuse  # type: ignore[method-assign]
    ports = PortController(host=HOST, driver=driver, server=server)  # type: ignore[arg-type]
    outcome = await ports.reconcile(info["id"])
    assert isinstance(outcome, Retry) and "bridge busy" in outcome.reason
    assert server.reports == []


async def test_survey_lists_bound_and_orphan_ports() -> None:
    bound, orphan = port_info(), port_info()
    server, host = FakeServer(bound, orphan), FakeNetworkHost(HOST)
    ports = controller(server, host)
    await ports.reconcile(orphan["id"])
    del server.ports[orphan["id"]]
    surveyed = {item.key: item for item in await ports.survey()}
    assert set(surveyed) == {bound["id"], orphan["id"]}
    assert [key for key, item in surveyed.items() if ports.differs(item)] \
        == [bound["id"], orphan["id"]]


async def test_the_port_controller_over_the_linux_driver(tmp_path: Path) -> None:
    """One pass wires a port for real (in a namespace of the test's); a tap removed behind
    the agent's back is an event, and the next pass makes it again; an unbound port's tap
    goes, and its bridge with the prune."""
    info = port_info()
    server = FakeServer(info)
    tap, bridge = port_spec(info).tap, port_spec(info).bridge
    with netns.namespace() as ns:
        driver = LinuxDriver(HOST, tmp_path, host_namespace=ns)
        await driver.init_host()
        try:
            ports = PortController(host=HOST, driver=driver,
                                   server=server)  # type: ignore[arg-type]
            events = Events(driver.events())
            await ports.reconcile(info["id"])
            assert server.reports == [(info["id"], "ACTIVE")]
            assert netns.links(ns)[tap]["master"] == bridge
            await events.quiet()
            netns.ip(ns, "link", "del", tap)
            assert await events.next(2.0) == info["id"]
            await ports.reconcile(info["id"])
            assert netns.links(ns)[tap]["master"] == bridge
            info["host"] = ""
            await ports.reconcile(info["id"])
            assert tap not in netns.links(ns)
            assert await ports.prune_networks() == [info["network_id"]]
            assert set(netns.links(ns)) == {"lo"}
            await events.close()
        finally:
            await driver.close()
