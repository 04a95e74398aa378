"""The network driver contract (:class:`helpers.network_driver_contract.NetworkDriverContract`)
over the fake driver and over the Linux driver. The Linux driver runs as root inside a
network namespace each test makes (``host_namespace``), so no test touches the host's links;
"behind its back" is ``ip`` in that namespace."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from helpers import netns
from helpers.network_driver_contract import NetworkDriverContract, NetworkHarness
from helpers.router_contract import RouterDriverContract
from ownstack.network.drivers import naming
from ownstack.network.drivers.base import NetworkDriver
from ownstack.network.drivers.fake import FakeNetworkDriver, FakeNetworkHost
from ownstack.network.drivers.linux.driver import LinuxDriver
from ownstack.network.drivers.linux.firewall import Firewall


@pytest.fixture
def namespace() -> Iterator[str]:
    with netns.namespace() as name:
        yield name


async def fake_harness() -> NetworkHarness:
    host = FakeNetworkHost("contract-host")
    harness = NetworkHarness(FakeNetworkDriver(host), restart=_unset, add_tap=_unset,
                             remove_tap=_unset)

    async def restart() -> NetworkDriver:
        await harness.driver.close()
        harness.driver = FakeNetworkDriver(host)
        return harness.driver

    async def add_tap(port_id: str) -> None:
        host.add_tap(port_id)

    async def remove_tap(port_id: str) -> None:
        host.remove_tap(port_id)

    harness.restart, harness.add_tap, harness.remove_tap = restart, add_tap, remove_tap
    return harness


def linux_harness(state_dir: Path, namespace: str) -> NetworkHarness:
    def driver() -> LinuxDriver:
        return LinuxDriver("contract-host", state_dir, host_namespace=namespace,
                           firewall=Firewall(namespace))

    harness = NetworkHarness(driver(), restart=_unset, add_tap=_unset, remove_tap=_unset)

    async def restart() -> NetworkDriver:
        await harness.driver.close()
        harness.driver = driver()
        return harness.driver

    async def add_tap(port_id: str) -> None:
        netns.ip(namespace, "tuntap", "add", "dev", naming.tap_name(port_id), "mode", "tap")

    async def remove_tap(port_id: str) -> None:
        netns.ip(namespace, "link", "del", naming.tap_name(port_id))

    harness.restart, harness.add_tap, harness.remove_tap = restart, add_tap, remove_tap
    return harness


@pytest.fixture(params=["fake", "linux"])
async def h(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[NetworkHarness]:
    if request.param == "fake":
        harness = await fake_harness()
    else:
        harness = linux_harness(tmp_path, request.getfixturevalue("namespace"))
    await harness.driver.init_host()
    yield harness
    # Routers and DHCP servers live in namespaces of their own, outside the test's: what
    # a test left is removed here (processes included), as an agent's resync would.
    for router in await harness.driver.routers():
        await harness.driver.remove_router(router.router_id)
    for server in await harness.driver.dhcp_servers():
        await harness.driver.remove_dhcp(server.network_id)
    await harness.driver.close()


async def _unset(*args: object) -> NetworkDriver:
    raise AssertionError("replaced by the fixture")


class TestNetworkDriver(NetworkDriverContract):
    pass


class TestFakeRouters(RouterDriverContract):
    """The router contract over the fake driver (the same ``h``)."""
