"""A guest's ``netdev_add`` whose tap the network side holds open for a moment (pyroute2
making the persistent tap) is tried again; any other failure is not."""

from __future__ import annotations

from typing import Any, cast

import pytest
from qemu.qmp import QMPClient, QMPError

from ownstack.compute.drivers.base import DriverError
from ownstack.compute.drivers.qemu import monitor as qemu_monitor
from ownstack.compute.drivers.qemu.monitor import Monitor

BUSY = "could not configure /dev/net/tun (tap26ae3553-a8): Device or resource busy"


class _QMP:
    """Fails each command with the next of ``errors`` (None: succeeds) and counts."""

    def __init__(self, *errors: str | None) -> None:
        self.errors = list(errors)
        self.sent: list[str] = []

    async def execute(self, command: str, arguments: Any = None) -> Any:
        self.sent.append(command)
        error = self.errors.pop(0) if self.errors else None
        if error is not None:
            raise QMPError(error)
        return {}


def _monitor(qmp: _QMP) -> Monitor:
    return Monitor("u-1", 1, cast(QMPClient, qmp))


async def test_a_busy_tap_is_opened_again() -> None:
    qmp = _QMP(BUSY, BUSY, None)
    await _monitor(qmp).add_device("netdev_add", {"type": "tap", "ifname": "tap1"})
    assert qmp.sent == ["netdev_add"] * 3


async def test_a_tap_busy_past_the_timeout_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(qemu_monitor, "TAP_BUSY_TIMEOUT", 0.12)
    qmp = _QMP(*[BUSY] * 100)
    with pytest.raises(DriverError, match="Device or resource busy"):
        await _monitor(qmp).add_device("netdev_add", {"type": "tap", "ifname": "tap1"})
    assert 2 <= len(qmp.sent) <= 5


@pytest.mark.parametrize(("command", "error"), [
    ("netdev_add", "could not open /dev/net/tun: No such file or directory"),
    ("device_add", "Device or resource busy"),       # only a tap's open is waited for
])
async def test_other_failures_are_not_tried_again(command: str, error: str) -> None:
    qmp = _QMP(error, None)
    with pytest.raises(DriverError):
        await _monitor(qmp).add_device(command, {})
    assert qmp.sent == [command]
