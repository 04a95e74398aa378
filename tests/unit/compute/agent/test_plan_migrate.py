"""plan() for a cold migration: the source powers off and hands over, the destination
finishes it, the source keeps its guest while the migration can be reverted and drops it
once it is confirmed; a revert sends the server back and the destination drops its guest."""

from __future__ import annotations

from typing import Any, cast

import pytest

from helpers.agent import make_spec as _make_spec
from ownstack.compute import states
from ownstack.compute.agent.migrate_steps import keeps_guest
from ownstack.compute.agent.reconcile import Step, plan
from ownstack.compute.drivers.base import GuestInfo, PowerState
from ownstack.compute.rpc import InstanceSpec

SOURCE = "node-a"
DEST = "node-b"
RUNNING = GuestInfo("x", PowerState.RUNNING)
OFF = GuestInfo("x", PowerState.SHUTDOWN)


def migrating(host: str, **overrides: Any) -> InstanceSpec:
    args = {"migration": "m", "migration_type": "migration", "source_host": SOURCE,
            **overrides.pop("task_args", {})}
    return cast(InstanceSpec, _make_spec(host, task_args=args, **overrides))


def test_the_source_powers_off_and_hands_over() -> None:
    spec = migrating(SOURCE, vm_state=states.ACTIVE, task_state=states.RESIZE_MIGRATING)
    assert plan(spec, RUNNING, SOURCE) == Step.MIGRATE
    assert plan(spec, OFF, SOURCE) == Step.MIGRATE     # killed after the power off: again
    assert plan(spec, None, SOURCE) == Step.MIGRATE    # the step reports the lost guest


@pytest.mark.parametrize("task", [states.RESIZE_MIGRATED, states.RESIZE_FINISH])
def test_the_destination_finishes(task: str) -> None:
    spec = migrating(DEST, vm_state=states.ACTIVE, task_state=task)
    assert plan(spec, None, DEST) == Step.FINISH_MIGRATION
    assert plan(spec, RUNNING, DEST) == Step.FINISH_MIGRATION   # killed after the spawn
    # ... while the source keeps its powered-off guest.
    assert keeps_guest(spec, SOURCE) and not keeps_guest(spec, DEST)
    assert plan(spec, OFF, SOURCE) == Step.NOTHING


def test_the_source_keeps_its_guest_until_the_confirm_ends() -> None:
    waiting = migrating(DEST, vm_state=states.RESIZED, task_state=None, power_state=1)
    assert plan(waiting, OFF, SOURCE) == Step.NOTHING
    assert plan(waiting, RUNNING, DEST) == Step.NOTHING
    confirming = migrating(DEST, vm_state=states.RESIZED, task_state=None,
                           task_args={"confirm": True})
    assert plan(confirming, RUNNING, DEST) == Step.CONFIRM_RESIZE
    assert plan(confirming, OFF, SOURCE) == Step.NOTHING
    # Confirmed: the task_args no longer name the source, whose guest is an orphan.
    confirmed = cast(InstanceSpec, _make_spec(DEST, vm_state=states.ACTIVE, task_args={}))
    assert plan(confirmed, OFF, SOURCE) == Step.DESTROY
    assert plan(confirmed, None, SOURCE) == Step.NOTHING


def test_a_revert_runs_on_the_source_and_the_destination_drops_its_guest() -> None:
    reverting = migrating(SOURCE, vm_state=states.RESIZED,
                          task_state=states.RESIZE_REVERTING)
    assert plan(reverting, OFF, SOURCE) == Step.REVERT_RESIZE
    assert plan(reverting, RUNNING, DEST) == Step.DESTROY
    assert plan(reverting, None, DEST) == Step.NOTHING


def test_a_resize_is_not_a_migration() -> None:
    resize = cast(InstanceSpec, _make_spec(SOURCE, vm_state=states.ACTIVE,
                                           task_state=states.RESIZE_MIGRATING,
                                           task_args={"migration": "m"}))
    assert plan(resize, RUNNING, SOURCE) == Step.RESIZE
    # Another host's server whose task_args do not name this host is not kept here.
    other = migrating(DEST, vm_state=states.RESIZED, task_args={"source_host": "node-c"})
    assert plan(other, OFF, SOURCE) == Step.DESTROY
