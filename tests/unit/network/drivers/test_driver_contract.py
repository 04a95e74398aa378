"""The network driver contract (:class:`helpers.network_driver_contract.NetworkDriverContract`)
over the fake driver, with taps made by the test as the compute side would make them. The
Linux driver will run the same suite."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from helpers.network_driver_contract import NetworkDriverContract, NetworkHarness
from helpers.router_contract import RouterDriverContract
from ownstack.network.drivers.base import NetworkDriver
from ownstack.network.drivers.fake import FakeNetworkDriver, FakeNetworkHost


@pytest.fixture
async def h() -> AsyncIterator[NetworkHarness]:
    host = FakeNetworkHost("contract-host", auto_taps=False)
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
    await harness.driver.init_host()
    yield harness
    await harness.driver.close()


async def _unset(*args: object) -> NetworkDriver:
    raise AssertionError("replaced by the fixture")


class TestFakeNetworkDriver(NetworkDriverContract):
    pass


class TestFakeRouters(RouterDriverContract):
    """The router contract over the fake driver (the same ``h``)."""
