"""plan() for shelve: each shelve task has its step; a shelved server is power-synced and
an offloaded one (no host) is no business of any agent; an unshelve spawn boots the
shelve image."""

from __future__ import annotations

from typing import Any, cast

import pytest

from helpers.agent import make_spec as _make_spec
from ownstack.compute import states
from ownstack.compute.agent.reconcile import Step, plan
from ownstack.compute.drivers.base import GuestInfo, PowerState
from ownstack.compute.rpc import InstanceSpec

HOST = "node-a"


def make_spec(host: str | None = HOST, **overrides: Any) -> InstanceSpec:
    spec = cast(InstanceSpec, _make_spec(HOST, **overrides))
    spec["host"] = host
    return spec


@pytest.mark.parametrize(("task", "step"), [
    (states.SHELVING, Step.SHELVE),
    (states.SHELVING_OFFLOADING, Step.SHELVE_OFFLOAD),
    (states.UNSHELVING, Step.UNSHELVE)])
def test_each_shelve_task_has_its_step(task: str, step: Step) -> None:
    vm_state = states.ACTIVE if task == states.SHELVING else states.SHELVED
    spec = make_spec(vm_state=vm_state, task_state=task, power_state=4)
    assert plan(spec, GuestInfo("x", PowerState.SHUTDOWN), HOST) == step


def test_a_shelved_server_keeps_its_stopped_guest() -> None:
    spec = make_spec(vm_state=states.SHELVED, task_state=None, power_state=4)
    assert plan(spec, GuestInfo("x", PowerState.SHUTDOWN), HOST) == Step.NOTHING


def test_an_offloaded_servers_leftover_guest_is_destroyed() -> None:
    spec = make_spec(None, vm_state=states.SHELVED_OFFLOADED, task_state=None)
    assert plan(spec, GuestInfo("x", PowerState.SHUTDOWN), HOST) == Step.DESTROY
    assert plan(spec, None, HOST) == Step.NOTHING


def test_an_unshelve_spawn_is_a_spawn() -> None:
    spec = make_spec(vm_state=states.SHELVED_OFFLOADED, task_state=states.SPAWNING,
                     task_args={"shelved_image_id": "img-shelved"})
    assert plan(spec, None, HOST) == Step.SPAWN


def test_shelved_statuses() -> None:
    assert states.status(states.SHELVED, None) == "SHELVED"
    assert states.status(states.SHELVED_OFFLOADED, states.UNSHELVING) == "SHELVED_OFFLOADED"
    assert states.status(states.ACTIVE, states.SHELVING) == "ACTIVE"
