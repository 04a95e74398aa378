"""The compute agents' cold migration steps (see
:mod:`ownstack.compute.objects.cold_migrations`). Two agents take part, each
level-triggered and idempotent on its node:

* the **source** (``resize_migrating``, the server still on it): the guest powered off and
  kept, then ``resize_migrated`` with the migration ``post-migrating``; the conductor
  moves the server to the destination host in the same write and nudges its agent;
* the **destination** (``resize_migrated``/``resize_finish``): the guest's disk pulled
  from the source over the bus (:mod:`~ownstack.compute.agent.disk_transfer`; a driver
  whose guests keep no disk file has none to pull), the guest spawned on it and the
  server's image (a leftover from a killed pass destroyed first), powered off again if
  the server was stopped, then VERIFY_RESIZE and the migration ``finished``. A source
  that does not answer is waited for (the pass is retried); a disk that cannot be had
  or arrives corrupt ends the migration in ``error``;
* while ``source_host`` is in the server's ``task_args`` the source keeps its guest
  (:func:`keeps_guest`); once the migration is confirmed they no longer name it and the
  source destroys the guest as any orphan. A revert moves the server back to the source
  at once (the API's write): the destination destroys its guest as an orphan and the
  source's revert step starts the kept guest again.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from ownstack.common.agent import Outcome, Retry
from ownstack.compute import migration_status as mig
from ownstack.compute import states
from ownstack.compute.agent import disk_transfer
from ownstack.compute.agent.disk_transfer import TransferFailed
from ownstack.compute.drivers.base import DriverError, GuestInfo
from ownstack.compute.faults import Fault
from ownstack.compute.rpc import InstanceSpec
from ownstack.compute.states import PowerState

if TYPE_CHECKING:
    from ownstack.compute.agent.reconcile import Reconciler

log = logging.getLogger(__name__)

# Nova's compute manager events of a cold migration.
EVENT_MIGRATE: Final = "compute_resize_instance"
EVENT_FINISH: Final = "compute_finish_resize"
EVENT_DISK_TRANSFER: Final = "compute_disk_transfer"     # ownstack's: the pull, timed
TRANSFER_RETRY: Final = 2.0     # seconds before a pull the source did not answer is retried
MIGRATION_TYPE: Final = "migration_type"
SOURCE_HOST: Final = "source_host"


def is_cold_migration(desired: InstanceSpec) -> bool:
    return (desired.get("task_args") or {}).get(MIGRATION_TYPE) == "migration"


def keeps_guest(desired: InstanceSpec, host: str) -> bool:
    """Whether ``host``, the source of the server's cold migration, keeps its guest
    (until the migration is confirmed)."""
    return desired["host"] != host and is_cold_migration(desired) \
        and desired["task_args"].get(SOURCE_HOST) == host


def receives_disk(desired: InstanceSpec, host: str) -> bool:
    """Whether ``host`` is the destination of the server's cold migration, before its
    guest is made there (a disk it received waits for that spawn)."""
    return desired["host"] == host and is_cold_migration(desired) \
        and desired["task_state"] in (states.RESIZE_MIGRATED, states.RESIZE_FINISH)


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
            disk = await _receive_disk(r, desired, pending)
            await r._build(desired, str(desired["image_ref"] or ""), observed, pending,
                           disk=disk)
        if running:
            await r.driver.power_on(desired["uuid"])
        else:
            await r.driver.power_off(desired["uuid"], r.shutdown_timeout)
    except Exception as exc:    # the build's failure (with a reason) or a driver error
        reason = str(getattr(exc, "reason", None) or exc)
        if isinstance(exc, TransferFailed) and exc.retryable:
            log.warning("instance %s: %s; trying again", desired["uuid"], reason)
            return Retry(TRANSFER_RETRY, reason)
        await r._finish(desired, EVENT_FINISH, start, reason, pending=pending,
                        task_state=None, vm_state=states.ERROR, fault=Fault(reason).report(),
                        power_state=PowerState.NOSTATE,
                        migration=_migration(desired, mig.ERROR))
        return None
    await r._finish(desired, EVENT_FINISH, start, pending=pending,
                    vm_state=states.RESIZED, task_state=None, fault=None,
                    power_state=PowerState.RUNNING if running else PowerState.SHUTDOWN,
                    migration=_migration(desired, mig.FINISHED))
    return None


async def _receive_disk(r: Reconciler, desired: InstanceSpec, pending: list[dict[str, Any]]
                        ) -> Path | None:
    """The guest's disk from the source host (``None``: it has none to move), timed as
    the ``compute_disk_transfer`` event. Raises :class:`TransferFailed`."""
    start = time.time()
    error: str | None = None
    try:
        return await disk_transfer.pull(r.conductor.bus, str(desired["task_args"][SOURCE_HOST]),
                                        desired["uuid"], r.incoming_dir)
    except TransferFailed as exc:
        error = exc.reason
        raise
    finally:
        if desired["request_id"]:
            pending.append(r.conductor.event(desired["uuid"], desired["request_id"],
                                             EVENT_DISK_TRANSFER, start=start,
                                             finish=time.time(), error=error))
