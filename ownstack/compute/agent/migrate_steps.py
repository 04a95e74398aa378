"""The compute agents' cold migration steps (see
:mod:`ownstack.compute.objects.cold_migrations`). Two agents take part, each
level-triggered and idempotent on its node:

* the **source** (``resize_migrating``, the server still on it): the guest powered off and
  kept, then ``resize_migrated`` with the migration ``post-migrating``; the conductor
  moves the server to the destination host in the same write and nudges its agent;
* the **destination** (``resize_migrated``/``resize_finish``): the guest spawned from the
  server's image (a leftover from a killed pass destroyed first), powered off again if
  the server was stopped, then VERIFY_RESIZE and the migration ``finished``;
* while ``source_host`` is in the server's ``task_args`` the source keeps its guest
  (:func:`keeps_guest`); once the migration is confirmed they no longer name it and the
  source destroys the guest as any orphan. A revert moves the server back to the source
  at once (the API's write): the destination destroys its guest as an orphan and the
  source's revert step starts the kept guest again.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Final

from ownstack.common.agent import Outcome
from ownstack.compute import migration_status as mig
from ownstack.compute import states
from ownstack.compute.drivers.base import DriverError, GuestInfo
from ownstack.compute.rpc import InstanceSpec
from ownstack.compute.states import PowerState

if TYPE_CHECKING:
    from ownstack.compute.agent.reconcile import Reconciler

# Nova's compute manager events of a cold migration.
EVENT_MIGRATE: Final = "compute_resize_instance"
EVENT_FINISH: Final = "compute_finish_resize"
MIGRATION_TYPE: Final = "migration_type"
SOURCE_HOST: Final = "source_host"


def is_cold_migration(desired: InstanceSpec) -> bool:
    return (desired.get("task_args") or {}).get(MIGRATION_TYPE) == "migration"


def keeps_guest(desired: InstanceSpec, host: str) -> bool:
    """Whether ``host``, the source of the server's cold migration, keeps its guest
    (until the migration is confirmed)."""
    return desired["host"] != host and is_cold_migration(desired) \
        and desired["task_args"].get(SOURCE_HOST) == host


def _migration(desired: InstanceSpec, status: str) -> dict[str, str]:
    return {"uuid": str(desired["task_args"].get("migration") or ""), "status": status}


def _was_running(desired: InstanceSpec) -> bool:
    return bool(desired["task_args"].get("old_vm_state", states.ACTIVE) == states.ACTIVE)


async def migrate_out(r: Reconciler, desired: InstanceSpec, observed: GuestInfo | None
                      ) -> Outcome:
    """The source: power the guest off and hand the server over."""
    start = time.time()
    if observed is None:
        return await r._fail(desired, EVENT_MIGRATE, start, r._disks_gone(),
                             vm_state=states.ERROR, migration=_migration(desired, mig.ERROR))
    try:
        await r.driver.power_off(desired["uuid"], r.shutdown_timeout)
    except DriverError as exc:
        return await r._fail(desired, EVENT_MIGRATE, start, str(exc), vm_state=states.ERROR,
                             migration=_migration(desired, mig.ERROR))
    await r._finish(desired, EVENT_MIGRATE, start, task_state=states.RESIZE_MIGRATED,
                    power_state=PowerState.SHUTDOWN,
                    migration=_migration(desired, mig.POST_MIGRATING))
    return None


async def finish_migration(r: Reconciler, desired: InstanceSpec, observed: GuestInfo | None
                           ) -> Outcome:
    """The destination: spawn the guest, then VERIFY_RESIZE."""
    start = time.time()
    if desired["task_state"] == states.RESIZE_MIGRATED:
        if not await r._report(desired, task_state=states.RESIZE_FINISH):
            return None
        desired = {**desired, "task_state": states.RESIZE_FINISH}
    running = _was_running(desired)
    pending: list[dict[str, Any]] = []
    try:
        if observed is None or observed.power_state == PowerState.NOSTATE:
            await r._build(desired, str(desired["image_ref"] or ""), observed, pending)
        if running:
            await r.driver.power_on(desired["uuid"])
        else:
            await r.driver.power_off(desired["uuid"], r.shutdown_timeout)
    except Exception as exc:    # the build's failure (with a reason) or a driver error
        reason = str(getattr(exc, "reason", None) or exc)
        await r._finish(desired, EVENT_FINISH, start, reason, pending=pending,
                        task_state=None, vm_state=states.ERROR,
                        power_state=PowerState.NOSTATE,
                        migration=_migration(desired, mig.ERROR))
        return None
    await r._finish(desired, EVENT_FINISH, start, pending=pending,
                    vm_state=states.RESIZED, task_state=None, fault=None,
                    power_state=PowerState.RUNNING if running else PowerState.SHUTDOWN,
                    migration=_migration(desired, mig.FINISHED))
    return None
