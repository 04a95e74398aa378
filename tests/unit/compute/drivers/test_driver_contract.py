"""The driver contract (:class:`helpers.driver_contract.DriverContract`) over the fake
driver, twice: as configured, and as ``fake-minimal``, the fake with every capability turned
off, so the "unsupported operations raise Unsupported and change nothing" half of the
contract is exercised too. The QEMU driver runs the same suite in
tests/e2e/test_qemu_driver_contract.py.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from helpers.driver_contract import DriverContract, Harness, HarnessFactory, initialised, unset
from ownstack.compute.drivers.base import Capability, ComputeDriver, ImageRef
from ownstack.compute.drivers.fake import QCOW2_MAGIC, FakeComputeDriver, FakeHypervisor


def write_qcow2_stub(path: Path) -> Path:
    """A file the fake accepts as a qcow2 base image."""
    path.write_bytes(QCOW2_MAGIC + bytes(508))
    return path


def _fake_harness(**capabilities: bool) -> HarnessFactory:
    @contextlib.asynccontextmanager
    async def factory(tmp_path: Path) -> AsyncIterator[Harness]:
        hypervisor = FakeHypervisor("contract-host")
        image = ImageRef("img-1", write_qcow2_stub(tmp_path / "base.qcow2"), "qcow2")
        harness = Harness(FakeComputeDriver(hypervisor, capabilities=capabilities), image,
                          restart=unset, stop_behind_back=unset)

        async def restart() -> ComputeDriver:
            await harness.driver.close()
            return FakeComputeDriver(hypervisor, capabilities=capabilities)

        async def stop_behind_back(uuid: str) -> None:
            hypervisor.stop_behind_back(uuid)

        harness.restart, harness.stop_behind_back = restart, stop_behind_back
        yield harness

    return factory


HARNESSES: dict[str, HarnessFactory] = {
    "fake": _fake_harness(),
    "fake-minimal": _fake_harness(**{c.value: False for c in Capability}),
}


@pytest.fixture(params=list(HARNESSES))
async def h(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Harness]:
    async with initialised(HARNESSES[request.param], tmp_path) as harness:
        yield harness


class TestFakeDrivers(DriverContract):
    pass
