"""plan() for resize: each resize task has its step, confirm is asked through the
task_args of a RESIZED server with no task, and a RESIZED server otherwise power-syncs."""

from __future__ import annotations

from typing import Any, cast

import pytest

from helpers.agent import make_spec as _make_spec
from ownstack.compute import states
from ownstack.compute.agent.reconcile import Step, plan
from ownstack.compute.agent.resize_steps import size_of, wants_confirm
from ownstack.compute.drivers.base import GuestInfo, GuestSize, PowerState
from ownstack.compute.rpc import InstanceSpec

HOST = "node-a"


def make_spec(**overrides: Any) -> InstanceSpec:
    return cast(InstanceSpec, _make_spec(HOST, **overrides))


@pytest.mark.parametrize(("task", "step"), [
    (states.RESIZE_PREP, Step.NOTHING),     # the conductor's: claiming the new flavor
    (states.RESIZE_MIGRATING, Step.RESIZE),
    (states.RESIZE_MIGRATED, Step.FINISH_RESIZE),
    (states.RESIZE_FINISH, Step.FINISH_RESIZE)])
def test_each_resize_task_has_its_step(task: str, step: Step) -> None:
    spec = make_spec(vm_state=states.ACTIVE, task_state=task, power_state=1)
    assert plan(spec, GuestInfo("x", PowerState.RUNNING), HOST) == step
    assert plan(spec, None, HOST) == step      # the step itself reports a lost guest


def test_revert_is_its_own_step() -> None:
    spec = make_spec(vm_state=states.RESIZED, task_state=states.RESIZE_REVERTING,
                     power_state=1)
    assert plan(spec, GuestInfo("x", PowerState.RUNNING), HOST) == Step.REVERT_RESIZE


def test_confirm_is_asked_through_task_args_of_an_idle_resized_server() -> None:
    asked = make_spec(vm_state=states.RESIZED, task_state=None, power_state=1,
                      task_args={"migration": "m", "confirm": True})
    assert wants_confirm(asked)
    assert plan(asked, GuestInfo("x", PowerState.RUNNING), HOST) == Step.CONFIRM_RESIZE
    waiting = make_spec(vm_state=states.RESIZED, task_state=None, power_state=1,
                        task_args={"migration": "m"})
    assert not wants_confirm(waiting)
    assert plan(waiting, GuestInfo("x", PowerState.RUNNING), HOST) == Step.NOTHING
    # A guest that stopped by itself while the resize waits: its power state is recorded,
    # the server stays RESIZED (not SHUTOFF) for the user to confirm or revert.
    assert plan(waiting, GuestInfo("x", PowerState.SHUTDOWN), HOST) == Step.SYNC_POWER
    # A delete wins over a confirm.
    deleting = make_spec(vm_state=states.RESIZED, task_state=states.DELETING,
                         task_args={"migration": "m", "confirm": True})
    assert plan(deleting, None, HOST) == Step.DELETE


def test_a_resized_server_shows_verify_resize_and_its_tasks_resize() -> None:
    assert states.status(states.RESIZED, None) == "VERIFY_RESIZE"
    assert states.status(states.RESIZED, states.RESIZE_REVERTING) == "REVERT_RESIZE"
    for task in states.RESIZE_TASKS:
        assert states.status(states.ACTIVE, task) == "RESIZE"
        assert states.status(states.STOPPED, task) == "RESIZE"


def test_size_of_a_flavor() -> None:
    assert size_of({"vcpus": 2, "ram": 256, "disk": 3}) == GuestSize(2, 256, 3)
    assert size_of({"vcpus": 1, "ram": 64, "disk": None}) == GuestSize(1, 64, 0)
