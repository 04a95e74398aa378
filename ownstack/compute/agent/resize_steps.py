"""The compute agent's resize steps (see :mod:`ownstack.compute.objects.migrations`).

Each is idempotent on the node, so an agent killed in the middle does it again at its next
resync: the driver keeps the pre-resize disk only once and grows a disk only when smaller,
and each report is a compare-and-swap on the task the step started from.

* ``resize_migrating``: :meth:`~ownstack.compute.drivers.base.ComputeDriver.resize` (the
  guest powered off, its disk kept and grown, its new size), then ``resize_migrated``;
* ``resize_migrated`` and ``resize_finish``: the guest started again if the server ran,
  then RESIZED (VERIFY_RESIZE) and the migration ``finished``;
* RESIZED with ``task_args["confirm"]``: the kept disk dropped, then ACTIVE (or SHUTOFF)
  and the migration ``confirmed``;
* ``resize_reverting``: the kept disk back with the old size, the guest started again if
  it ran before the resize, then the migration ``reverted``.

A driver error ends the step in ERROR with a fault, and the migration in ``error`` (its
allocation then goes back to the server).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Final

from ownstack.common.agent import Outcome, Retry
from ownstack.compute import migration_status as mig
from ownstack.compute import states
from ownstack.compute.drivers.base import DriverError, GuestInfo, GuestSize
from ownstack.compute.rpc import InstanceSpec
from ownstack.compute.states import PowerState

if TYPE_CHECKING:
    from ownstack.compute.agent.reconcile import Reconciler

# Nova's compute manager events.
EVENT_RESIZE: Final = "compute_resize_instance"
EVENT_FINISH_RESIZE: Final = "compute_finish_resize"
EVENT_CONFIRM_RESIZE: Final = "compute_confirm_resize"
EVENT_REVERT_RESIZE: Final = "compute_revert_resize"


def wants_confirm(desired: InstanceSpec) -> bool:
    return desired["vm_state"] == states.RESIZED and desired["task_state"] is None \
        and bool(desired["task_args"].get("confirm"))


def size_of(flavor: dict[str, Any]) -> GuestSize:
    return GuestSize(vcpus=int(flavor["vcpus"]), memory_mb=int(flavor["ram"]),
                     root_gb=int(flavor.get("disk") or 0))


def _migration(desired: InstanceSpec, status: str) -> dict[str, str]:
    return {"uuid": str(desired["task_args"].get("migration") or ""), "status": status}


def _was_running(desired: InstanceSpec) -> bool:
    return bool(desired["task_args"].get("old_vm_state", states.ACTIVE) == states.ACTIVE)


async def _failed(r: Reconciler, desired: InstanceSpec, event: str, start: float,
                  reason: str) -> Outcome:
    return await r._fail(desired, event, start, reason, vm_state=states.ERROR,
                         migration=_migration(desired, mig.ERROR))


async def resize(r: Reconciler, desired: InstanceSpec, observed: GuestInfo | None) -> Outcome:
    start = time.time()
    new = desired["task_args"].get("new_flavor")
    if not isinstance(new, dict):
        return await _failed(r, desired, EVENT_RESIZE, start, "the resize names no flavor")
    if observed is None:
        return await _failed(r, desired, EVENT_RESIZE, start, r._disks_gone())
    try:
        await r.driver.resize(desired["uuid"], size_of(new), r.shutdown_timeout)
    except DriverError as exc:
        return await _failed(r, desired, EVENT_RESIZE, start, str(exc))
    if not await r._finish(desired, EVENT_RESIZE, start, task_state=states.RESIZE_MIGRATED,
                           power_state=PowerState.SHUTDOWN,
                           migration=_migration(desired, mig.POST_MIGRATING)):
        return None
    return Retry(0.0, "resize: finish next")


async def finish_resize(r: Reconciler, desired: InstanceSpec, observed: GuestInfo | None
                        ) -> Outcome:
    start = time.time()
    if desired["task_state"] == states.RESIZE_MIGRATED:
        if not await r._report(desired, task_state=states.RESIZE_FINISH):
            return None
        desired = {**desired, "task_state": states.RESIZE_FINISH}
    running = _was_running(desired)
    try:
        if running:
            await r.driver.power_on(desired["uuid"])
    except DriverError as exc:
        return await _failed(r, desired, EVENT_FINISH_RESIZE, start, str(exc))
    await r._finish(desired, EVENT_FINISH_RESIZE, start, vm_state=states.RESIZED,
                    task_state=None, fault=None,
                    power_state=PowerState.RUNNING if running else PowerState.SHUTDOWN,
                    migration=_migration(desired, mig.FINISHED))
    return None


async def confirm_resize(r: Reconciler, desired: InstanceSpec, observed: GuestInfo | None
                         ) -> Outcome:
    start = time.time()
    try:
        await r.driver.confirm_resize(desired["uuid"])
    except DriverError as exc:
        return await r._fail(desired, EVENT_CONFIRM_RESIZE, start, str(exc),
                             vm_state=states.ERROR, migration=_migration(desired, mig.ERROR))
    power = PowerState.NOSTATE if observed is None else observed.power_state
    running = power in (PowerState.RUNNING, PowerState.PAUSED)
    await r._finish(desired, EVENT_CONFIRM_RESIZE, start,
                    vm_state=states.ACTIVE if running else states.STOPPED, power_state=power,
                    migration=_migration(desired, mig.CONFIRMED))
    return None


async def revert_resize(r: Reconciler, desired: InstanceSpec, observed: GuestInfo | None
                        ) -> Outcome:
    start = time.time()
    old = desired["task_args"].get("old_flavor")
    if not isinstance(old, dict):
        return await _failed(r, desired, EVENT_REVERT_RESIZE, start,
                             "the revert names no flavor")
    if observed is None:
        return await _failed(r, desired, EVENT_REVERT_RESIZE, start, r._disks_gone())
    running = _was_running(desired)
    try:
        await r.driver.revert_resize(desired["uuid"], size_of(old), r.shutdown_timeout)
        if running:
            await r.driver.power_on(desired["uuid"])
    except DriverError as exc:
        return await _failed(r, desired, EVENT_REVERT_RESIZE, start, str(exc))
    await r._finish(desired, EVENT_REVERT_RESIZE, start,
                    vm_state=states.ACTIVE if running else states.STOPPED, task_state=None,
                    power_state=PowerState.RUNNING if running else PowerState.SHUTDOWN,
                    migration=_migration(desired, mig.REVERTED))
    return None
