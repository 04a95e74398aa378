"""plan(): every branch of the diff between the desired instance and the observed guest."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any, cast

import pytest

from helpers.agent import make_spec as _make_spec
from ownstack.compute import states
from ownstack.compute.agent.guest_specs import guest_spec
from ownstack.compute.agent.reconcile import Step, plan
from ownstack.compute.drivers.base import GuestInfo, ImageRef, PowerState, SpawnFailed
from ownstack.compute.rpc import InstanceSpec

HOST = "node-a"


def make_spec(host: str, **overrides: Any) -> InstanceSpec:
    return cast(InstanceSpec, _make_spec(host, **overrides))


def guest(power: PowerState, uuid: str = "x") -> GuestInfo:
    return GuestInfo(uuid, power)


def test_a_guest_nobody_wants_is_destroyed_and_no_guest_means_nothing() -> None:
    assert plan(None, guest(PowerState.RUNNING), HOST) == Step.DESTROY
    assert plan(None, None, HOST) == Step.NOTHING


def test_a_guest_of_an_instance_placed_elsewhere_is_destroyed() -> None:
    spec = make_spec("node-b", vm_state=states.ACTIVE, task_state=None)
    assert plan(spec, guest(PowerState.RUNNING), HOST) == Step.DESTROY
    assert plan(spec, None, HOST) == Step.NOTHING


@pytest.mark.parametrize("observed", [None, PowerState.RUNNING, PowerState.SHUTDOWN])
def test_deleting_always_deletes(observed: PowerState | None) -> None:
    spec = make_spec(HOST, vm_state=states.ACTIVE, task_state=states.DELETING)
    assert plan(spec, None if observed is None else guest(observed), HOST) == Step.DELETE


@pytest.mark.parametrize(("observed", "step"), [
    (None, Step.SPAWN), (PowerState.NOSTATE, Step.SPAWN), (PowerState.SHUTDOWN, Step.SPAWN),
    (PowerState.RUNNING, Step.ADOPT)])
def test_spawning_adopts_a_running_guest_and_spawns_otherwise(
        observed: PowerState | None, step: Step) -> None:
    spec = make_spec(HOST)
    assert plan(spec, None if observed is None else guest(observed), HOST) == step


@pytest.mark.parametrize(("task", "step"), [
    (states.POWERING_OFF, Step.POWER_OFF), (states.POWERING_ON, Step.POWER_ON),
    (states.REBOOTING, Step.REBOOT), (states.REBOOTING_HARD, Step.REBOOT),
    (states.REBUILDING, Step.REBUILD), (states.IMAGE_SNAPSHOT, Step.SNAPSHOT),
    (states.PAUSING, Step.PAUSE), (states.UNPAUSING, Step.UNPAUSE),
    (states.SUSPENDING, Step.SUSPEND), (states.RESUMING, Step.RESUME_SUSPENDED),
    (states.RESCUING, Step.RESCUE), (states.UNRESCUING, Step.UNRESCUE),
    (states.SCHEDULING, Step.NOTHING)])
def test_each_task_has_its_step(task: str, step: Step) -> None:
    spec = make_spec(HOST, vm_state=states.ACTIVE, task_state=task, power_state=1)
    assert plan(spec, guest(PowerState.RUNNING), HOST) == step


@pytest.mark.parametrize(("vm_state", "recorded", "observed", "step"), [
    (states.ACTIVE, 1, PowerState.RUNNING, Step.NOTHING),
    (states.ACTIVE, 0, PowerState.RUNNING, Step.SYNC_POWER),
    (states.ACTIVE, 1, PowerState.PAUSED, Step.SYNC_POWER),
    (states.ACTIVE, 1, PowerState.SHUTDOWN, Step.MARK_STOPPED),
    (states.ACTIVE, 1, PowerState.CRASHED, Step.MARK_STOPPED),
    (states.ACTIVE, 1, PowerState.NOSTATE, Step.MARK_STOPPED),
    (states.ACTIVE, 1, None, Step.MARK_STOPPED),
    (states.STOPPED, 4, PowerState.SHUTDOWN, Step.NOTHING),
    (states.STOPPED, 4, PowerState.RUNNING, Step.STOP_GUEST),
    (states.STOPPED, 4, PowerState.CRASHED, Step.SYNC_POWER),
    (states.STOPPED, 4, None, Step.SYNC_POWER),
    (states.STOPPED, 0, None, Step.NOTHING),
    (states.ERROR, 0, PowerState.RUNNING, Step.SYNC_POWER),
    (states.ERROR, 0, None, Step.NOTHING),
    # A user-paused server rests paused; it lost its guest if the process went.
    (states.PAUSED, 3, PowerState.PAUSED, Step.NOTHING),
    (states.PAUSED, 1, PowerState.PAUSED, Step.SYNC_POWER),
    (states.PAUSED, 3, PowerState.RUNNING, Step.SYNC_POWER),
    (states.PAUSED, 3, PowerState.SHUTDOWN, Step.MARK_STOPPED),
    (states.PAUSED, 3, PowerState.SUSPENDED, Step.MARK_STOPPED),
    (states.PAUSED, 3, None, Step.MARK_STOPPED),
    # A suspended server has no process: its save file is what it holds.
    (states.SUSPENDED, 7, PowerState.SUSPENDED, Step.NOTHING),
    (states.SUSPENDED, 1, PowerState.SUSPENDED, Step.SYNC_POWER),
    (states.SUSPENDED, 7, PowerState.SHUTDOWN, Step.MARK_STOPPED),
    (states.SUSPENDED, 7, PowerState.CRASHED, Step.MARK_STOPPED),
    (states.SUSPENDED, 7, None, Step.MARK_STOPPED),
    (states.SUSPENDED, 7, PowerState.RUNNING, Step.SYNC_POWER),
    # A rescued server runs its rescue boot; gone, it is SHUTOFF (start boots its disk).
    (states.RESCUED, 1, PowerState.RUNNING, Step.NOTHING),
    (states.RESCUED, 1, PowerState.SHUTDOWN, Step.MARK_STOPPED),
    (states.RESCUED, 1, None, Step.MARK_STOPPED),
])
def test_steady_state_syncs_power_as_nova_does(
        vm_state: str, recorded: int, observed: PowerState | None, step: Step) -> None:
    spec = make_spec(HOST, vm_state=vm_state, task_state=None, power_state=recorded)
    assert plan(spec, None if observed is None else guest(observed), HOST) == step


@pytest.mark.parametrize("observed", [PowerState.PAUSED, PowerState.RUNNING, None])
def test_a_paused_guest_while_spawning_is_the_plug_wait_never_a_users_pause(
        observed: PowerState | None) -> None:
    """The plug wait and the user's pause are told apart by the task, not the power."""
    spawning = make_spec(HOST, nics=[{"port_id": "p1", "active": False}])
    paused = make_spec(HOST, vm_state=states.PAUSED, task_state=None, power_state=3)
    got = plan(spawning, None if observed is None else guest(observed), HOST, now=1.0)
    assert got == {PowerState.PAUSED: Step.WAIT_PLUG, PowerState.RUNNING: Step.ADOPT,
                   None: Step.SPAWN}[observed]
    assert plan(paused, guest(PowerState.PAUSED), HOST, now=1.0) == Step.NOTHING
    unpausing = make_spec(HOST, vm_state=states.PAUSED, task_state=states.UNPAUSING)
    assert plan(unpausing, guest(PowerState.PAUSED), HOST) == Step.UNPAUSE


def test_guest_spec_carries_flavor_sizes_and_decoded_user_data(tmp_path: Path) -> None:
    image = ImageRef("img-1", tmp_path / "img-1", "qcow2")
    spec = make_spec(HOST, flavor={"vcpus": 2, "ram": 512, "disk": 3, "ephemeral": 1,
                                   "swap": 64}, user_data=base64.b64encode(b"#!/bin/sh\n")
                     .decode(), key_name="k", key_data="ssh-ed25519 AAAA", config_drive=True,
                     metadata={"a": "b"}, launch_index=2, availability_zone=None)
    g = guest_spec(spec, image)
    assert (g.vcpus, g.memory_mb, g.root_gb, g.ephemeral_gb, g.swap_mb) == (2, 512, 3, 1, 64)
    assert g.user_data == b"#!/bin/sh\n" and g.key_data == "ssh-ed25519 AAAA"
    assert g.config_drive and g.metadata == {"a": "b"} and g.launch_index == 2
    assert g.availability_zone == "" and g.admin_pass == "s3cret" and g.image is image


def test_user_data_that_is_not_base64_fails_the_spawn_for_good(tmp_path: Path) -> None:
    spec = make_spec(HOST, user_data="not base64!")
    with pytest.raises(SpawnFailed) as caught:
        guest_spec(spec, ImageRef("img-1", tmp_path / "img-1", "qcow2"))
    assert not caught.value.retryable
