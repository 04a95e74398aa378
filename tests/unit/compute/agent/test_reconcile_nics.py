"""The reconcile plan follows a server's NICs when the driver reports them."""

from __future__ import annotations

from typing import Any

from ownstack.compute import states
from ownstack.compute.agent.reconcile import Step, plan
from ownstack.compute.drivers.base import GuestInfo
from ownstack.compute.states import PowerState


def _desired(*port_ids: str) -> Any:
    return {"uuid": "u", "host": "h", "task_state": None, "vm_state": states.ACTIVE,
            "power_state": PowerState.RUNNING,
            "nics": [{"port_id": p, "mac": "m", "tap_name": "tap" + p, "bridge": "b"}
                     for p in port_ids]}


def test_an_attached_port_is_hot_plugged() -> None:
    seen = GuestInfo("u", PowerState.RUNNING, nics=("a",))
    assert plan(_desired("a", "b"), seen, "h") == Step.SYNC_NICS
    assert plan(_desired(), seen, "h") == Step.SYNC_NICS
    assert plan(_desired("a"), seen, "h") == Step.NOTHING


def test_a_driver_that_does_not_report_nics_is_left_alone() -> None:
    seen = GuestInfo("u", PowerState.RUNNING)
    assert plan(_desired("a", "b"), seen, "h") == Step.NOTHING


def test_power_comes_first() -> None:
    seen = GuestInfo("u", PowerState.SHUTDOWN, nics=("a",))
    assert plan(_desired("a", "b"), seen, "h") == Step.MARK_STOPPED
