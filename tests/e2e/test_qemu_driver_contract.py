"""The driver contract (:class:`helpers.driver_contract.DriverContract`) over the QEMU
driver: real guests of the ``ownstack-tiny`` test image under TCG
(:func:`helpers.qemu.qemu_harness`). The fake drivers run the same suite in
tests/unit/compute/drivers/test_driver_contract.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from helpers.driver_contract import DriverContract, Harness, initialised
from helpers.qemu import qemu_harness


@pytest.fixture(params=["qemu"])
async def h(tmp_path: Path) -> AsyncIterator[Harness]:
    async with initialised(qemu_harness, tmp_path) as harness:
        yield harness


class TestQemuDriver(DriverContract):
    pass
