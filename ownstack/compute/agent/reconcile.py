"""Reconcile one instance: ``step = plan(desired, observed); await apply(step)``.

``desired`` is the instance as the conductor has it (``vm_state``/``task_state`` *are* the
desired state); ``observed`` is what the driver says about the guest, or ``None``.
:func:`plan` is a pure function of the two, so every branch is a unit test with no I/O;
:class:`Reconciler` carries the step out and reports through the conductor.

Every report is a compare-and-swap on the task state the plan saw, so a user action that
lands meanwhile wins, and the agent simply reconciles again on the nudge that action sends.
Every step is idempotent on the node: an agent killed halfway through one finds the same
task at its next resync and does it again (spawning destroys a half-made guest first;
rebuilding is destroy then spawn; deleting destroys a guest that may be gone already).

A boot waits for the network, as Nova waits for Neutron: a guest with ports that are not
ACTIVE yet is spawned paused, with every device (so its taps exist for the network agent to
wire), and runs only once the network service reports every port ACTIVE
(``network-vif-plugged`` marks it in the info cache and nudges this agent; each pass of the
wait also asks the conductor to read the ports afresh, so a lost event costs nothing). The
wait's start is kept in the instance (``task_args["plug_wait"]``), so an agent restarted in
the middle goes on waiting for the rest of ``plug_timeout``; a port still not ACTIVE then
ends the boot in ERROR with a fault that names it. The wait is the boot's ``plug`` phase.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import replace
from enum import StrEnum
from pathlib import Path
from typing import Any, Final

from ownstack.common.agent import Controller, Fatal, Outcome, Retry, Surveyed
from ownstack.common.clients.image import ImageClient, ImageClientError
from ownstack.compute import states
from ownstack.compute.agent import (
    disk_transfer,
    hold_steps,
    migrate_steps,
    resize_steps,
    shelve_steps,
)
from ownstack.compute.agent.backups import rotate_backups
from ownstack.compute.agent.conductor_api import ConductorAPI
from ownstack.compute.agent.guest_specs import boots_from_volume, guest_spec, nic_spec
from ownstack.compute.agent.image_cache import ImageCache, ImageFetchFailed
from ownstack.compute.agent.volumes import VolumeSync, needs_sync
from ownstack.compute.drivers.base import (
    Capability,
    ComputeDriver,
    DriverError,
    GuestInfo,
    GuestNotFound,
    InvalidGuestState,
    Phase,
    PhaseEvent,
    PhaseTimer,
    SpawnFailed,
    root_volume,
)
from ownstack.compute.faults import Fault
from ownstack.compute.rpc import InstanceSpec
from ownstack.compute.states import PowerState

log = logging.getLogger(__name__)

# Instance-action event names (Nova's are ``compute_<manager method>``).
EVENT_BUILD = "compute_build_and_run_instance"
EVENT_STOP = "compute_stop_instance"
EVENT_START = "compute_start_instance"
EVENT_REBOOT = "compute_reboot_instance"
EVENT_REBUILD = "compute_rebuild_instance"
EVENT_SNAPSHOT = "compute_snapshot_instance"
EVENT_TERMINATE = "compute_terminate_instance"


class Step(StrEnum):
    """What one reconcile does; chosen by :func:`plan`."""

    NOTHING = "nothing"
    DESTROY = "destroy"            # no instance wants this guest here: an orphan
    DELETE = "delete"              # task deleting: destroy, then tell the conductor
    ADOPT = "adopt"                # spawning, and the guest already runs: report ACTIVE
    SPAWN = "spawn"                # spawning, no usable guest: (destroy leftovers,) spawn
    POWER_OFF = "power_off"
    POWER_ON = "power_on"
    REBOOT = "reboot"
    REBUILD = "rebuild"
    SNAPSHOT = "snapshot"
    SYNC_POWER = "sync_power"      # steady state: record the power state the guest has
    MARK_STOPPED = "mark_stopped"  # ACTIVE, but the guest stopped by itself: SHUTOFF
    STOP_GUEST = "stop_guest"      # SHUTOFF, but the guest runs: power it off
    SYNC_NICS = "sync_nics"        # an interface attached or detached: hot-plug the NICs
    SYNC_VOLUMES = "sync_volumes"  # a volume attaching or detaching, or the guest's differ
    WAIT_PLUG = "wait_plug"        # spawning, guest paused: some port is not ACTIVE yet
    PLUG_TIMEOUT = "plug_timeout"  # ... and the wait ran out: ERROR, naming the ports
    RESUME = "resume"              # spawning, guest paused, every port ACTIVE: let it run
    PAUSE = "pause"                # task pausing: the user's pause (not the plug wait's)
    UNPAUSE = "unpause"
    SUSPEND = "suspend"            # task suspending: memory to a file, no process
    RESUME_SUSPENDED = "resume_suspended"   # task resuming: memory back from the file
    RESIZE = "resize"              # resize_migrating: keep the disk, give the new size
    FINISH_RESIZE = "finish_resize"    # resize_migrated/_finish: start again, RESIZED
    CONFIRM_RESIZE = "confirm_resize"  # RESIZED, confirm asked: drop the kept disk
    REVERT_RESIZE = "revert_resize"    # resize_reverting: the kept disk and old size back
    MIGRATE = "migrate"            # cold migration's source, resize_migrating: power off
    FINISH_MIGRATION = "finish_migration"  # its destination: spawn, then RESIZED
    SHELVE = "shelve"              # shelving: power off, upload the disk
    SHELVE_OFFLOAD = "shelve_offload"  # shelving_offloading: destroy, free the host
    UNSHELVE = "unshelve"          # unshelving a SHELVED server: start its guest
    RESCUE = "rescue"              # task rescuing: boot a rescue disk, own disk second
    UNRESCUE = "unrescue"


_TASK_STEPS: dict[str, Step] = {
    states.POWERING_OFF: Step.POWER_OFF,
    states.POWERING_ON: Step.POWER_ON,
    states.REBOOTING: Step.REBOOT,
    states.REBOOTING_HARD: Step.REBOOT,
    states.REBUILDING: Step.REBUILD,
    states.IMAGE_SNAPSHOT: Step.SNAPSHOT,
    states.IMAGE_BACKUP: Step.SNAPSHOT,
    states.PAUSING: Step.PAUSE,
    states.UNPAUSING: Step.UNPAUSE,
    states.SUSPENDING: Step.SUSPEND,
    states.RESUMING: Step.RESUME_SUSPENDED,
    states.RESIZE_MIGRATING: Step.RESIZE,
    states.RESIZE_MIGRATED: Step.FINISH_RESIZE,
    states.RESIZE_FINISH: Step.FINISH_RESIZE,
    states.RESIZE_REVERTING: Step.REVERT_RESIZE,
    states.SHELVING: Step.SHELVE,
    states.SHELVING_OFFLOADING: Step.SHELVE_OFFLOAD,
    states.UNSHELVING: Step.UNSHELVE,
    states.RESCUING: Step.RESCUE,
    states.UNRESCUING: Step.UNRESCUE,
}
# A cold migration's resize steps: the guest moves to another host rather than changing
# size (its revert and confirm are the resize's).
_COLD_MIGRATION_STEPS: Final = {Step.RESIZE: Step.MIGRATE,
                                Step.FINISH_RESIZE: Step.FINISH_MIGRATION}
_STOPPED_POWER = frozenset({PowerState.SHUTDOWN, PowerState.CRASHED, PowerState.SUSPENDED})
# A paused or suspended server whose guest is in one of these has lost what it held (its
# process was killed, its save file lost): it is SHUTOFF, as Nova's power sync stops it.
_LOST_POWER: Final = {
    states.PAUSED: frozenset({PowerState.SHUTDOWN, PowerState.CRASHED, PowerState.SUSPENDED,
                              PowerState.NOSTATE}),
    states.SUSPENDED: frozenset({PowerState.SHUTDOWN, PowerState.CRASHED, PowerState.NOSTATE}),
    states.RESCUED: _STOPPED_POWER | {PowerState.NOSTATE},
}
PLUG_WAIT = "plug_wait"     # task_args of a spawning instance: {"host", "since", "build_start"}
DEFAULT_PLUG_TIMEOUT = 300.0    # Nova's vif_plugging_timeout
DEFAULT_VOLUME_DETACH_TIMEOUT = 20.0    # Nova's libvirt device_detach_timeout
DEFAULT_VOLUME_DETACH_ATTEMPTS = 8      # Nova's libvirt device_detach_attempts


def observed_power(observed: GuestInfo | None) -> PowerState:
    return PowerState.NOSTATE if observed is None else observed.power_state


def plan(desired: InstanceSpec | None, observed: GuestInfo | None, host: str, *,
         now: float = 0.0, plug_timeout: float = DEFAULT_PLUG_TIMEOUT) -> Step:
    """The step that moves the node toward ``desired``; ``now`` (``time.time()``) and
    ``plug_timeout`` decide whether a paused spawn waited long enough for its ports."""
    if desired is not None and migrate_steps.keeps_guest(desired, host):
        return Step.NOTHING         # a cold migration's source, until it is confirmed
    if desired is None or desired["host"] != host:
        return Step.DESTROY if observed is not None else Step.NOTHING
    task = desired["task_state"]
    if task == states.DELETING:
        return Step.DELETE
    if task == states.SPAWNING:
        power = observed_power(observed)
        if power == PowerState.RUNNING:
            return Step.ADOPT
        if power == PowerState.PAUSED:
            return _plug_step(desired, host, now, plug_timeout)
        return Step.SPAWN
    if task is not None:
        step = _TASK_STEPS.get(task, Step.NOTHING)    # scheduling: the conductor's
        if migrate_steps.is_cold_migration(desired):
            step = _COLD_MIGRATION_STEPS.get(step, step)
        return step
    if resize_steps.wants_confirm(desired):
        return Step.CONFIRM_RESIZE
    return _power_sync(desired, observed)


def unplugged_ports(desired: InstanceSpec) -> list[str]:
    """The ports of ``desired`` the network service has not reported ACTIVE, in order."""
    return [str(nic["port_id"]) for nic in desired.get("nics") or () if not nic.get("active")]


def plug_wait(desired: InstanceSpec, host: str) -> dict[str, Any] | None:
    """The plug wait this host started for ``desired``'s spawn, if any."""
    wait = desired["task_args"].get(PLUG_WAIT)
    return wait if isinstance(wait, dict) and wait.get("host") == host else None


def _plug_step(desired: InstanceSpec, host: str, now: float, timeout: float) -> Step:
    """A spawning guest is paused: it runs once no port waits (or nothing is to be waited
    for), fails once the wait ran out, and waits otherwise. A wait not recorded yet (an
    agent killed between spawn and report) is a wait: its pass records it."""
    if timeout <= 0 or not unplugged_ports(desired):
        return Step.RESUME
    wait = plug_wait(desired, host)
    if wait is not None and now >= float(wait["since"]) + timeout:
        return Step.PLUG_TIMEOUT
    return Step.WAIT_PLUG


def _power_sync(desired: InstanceSpec, observed: GuestInfo | None) -> Step:
    """Nova's ``_sync_instance_power_state``, for an instance with no task in flight.

    Nova ignores a guest the hypervisor does not list for an ACTIVE instance; here the
    driver's list is the truth (a guest that is gone is not running), so the server goes
    SHUTOFF with power state NOSTATE, and starting it reports the lost disks as a fault.
    """
    power = observed_power(observed)
    vm_state = desired["vm_state"]
    if vm_state == states.ACTIVE and (power in _STOPPED_POWER or power == PowerState.NOSTATE):
        return Step.MARK_STOPPED
    if vm_state == states.STOPPED and power in (PowerState.RUNNING, PowerState.PAUSED):
        return Step.STOP_GUEST
    if power in _LOST_POWER.get(vm_state, ()):
        return Step.MARK_STOPPED
    if desired["power_state"] != power:
        return Step.SYNC_POWER
    if observed is not None and observed.nics is not None and observed.nics != tuple(
            str(nic["port_id"]) for nic in desired.get("nics") or ()):
        return Step.SYNC_NICS
    if needs_sync(desired, observed):
        return Step.SYNC_VOLUMES
    return Step.NOTHING


class _Failed(Exception):
    """A step failed: ``reason`` for the event and fault; ``retryable`` for a spawn."""

    def __init__(self, reason: str, *, retryable: bool = False) -> None:
        self.reason = reason
        self.retryable = retryable
        super().__init__(reason)


class Reconciler(Controller[str, InstanceSpec, GuestInfo, Step]):
    """The compute agent's controller: instances of one node, keyed by uuid. Callers
    serialise passes per uuid (the agent's work queue does)."""

    name = "instance"

    def __init__(self, *, host: str, driver: ComputeDriver, conductor: ConductorAPI,
                 images: ImageCache, image_client: ImageClient, snapshot_dir: Path,
                 shutdown_timeout: float, plug_timeout: float = DEFAULT_PLUG_TIMEOUT,
                 volume_detach_timeout: float = DEFAULT_VOLUME_DETACH_TIMEOUT,
                 volume_detach_attempts: int = DEFAULT_VOLUME_DETACH_ATTEMPTS,
                 incoming_dir: Path | None = None) -> None:
        self.host = host
        # Where cold migrations to this host receive their disks (disk_transfer.py).
        self.incoming_dir = incoming_dir or snapshot_dir.parent / "incoming" / host
        self.driver = driver
        self.conductor = conductor
        self.images = images
        self.image_client = image_client
        self.snapshot_dir = snapshot_dir
        self.shutdown_timeout = shutdown_timeout
        self.plug_timeout = plug_timeout
        self.volumes = VolumeSync(host=host, driver=driver, conductor=conductor,
                                  detach_timeout=volume_detach_timeout,
                                  detach_attempts=volume_detach_attempts)
        # Specs a nudge carried (see :meth:`carry`), each for the next pass of its instance.
        self._carried: dict[str, InstanceSpec] = {}
        self._steps: dict[Step, Callable[[InstanceSpec, GuestInfo | None],
                                         Awaitable[Outcome]]] = {
            Step.DELETE: self._delete, Step.ADOPT: self._adopt, Step.SPAWN: self._spawn,
            Step.POWER_OFF: self._power_off, Step.POWER_ON: self._power_on,
            Step.REBOOT: self._reboot, Step.REBUILD: self._rebuild,
            Step.SNAPSHOT: self._snapshot, Step.SYNC_POWER: self._sync_power,
            Step.MARK_STOPPED: self._mark_stopped, Step.STOP_GUEST: self._stop_guest,
            Step.SYNC_NICS: self._sync_nics, Step.WAIT_PLUG: self._wait_plug,
            Step.PLUG_TIMEOUT: self._wait_plug, Step.RESUME: self._resume,
            Step.SYNC_VOLUMES: self.volumes.sync,
            Step.PAUSE: lambda d, o: hold_steps.pause(self, d, o),
            Step.UNPAUSE: lambda d, o: hold_steps.unpause(self, d, o),
            Step.SUSPEND: lambda d, o: hold_steps.suspend(self, d, o),
            Step.RESUME_SUSPENDED: lambda d, o: hold_steps.resume(self, d, o),
            Step.RESIZE: lambda d, o: resize_steps.resize(self, d, o),
            Step.FINISH_RESIZE: lambda d, o: resize_steps.finish_resize(self, d, o),
            Step.CONFIRM_RESIZE: lambda d, o: resize_steps.confirm_resize(self, d, o),
            Step.REVERT_RESIZE: lambda d, o: resize_steps.revert_resize(self, d, o),
            Step.MIGRATE: lambda d, o: migrate_steps.migrate_out(self, d, o),
            Step.FINISH_MIGRATION: lambda d, o: migrate_steps.finish_migration(self, d, o),
            Step.SHELVE: lambda d, o: shelve_steps.shelve(self, d, o),
            Step.SHELVE_OFFLOAD: lambda d, o: shelve_steps.offload(self, d, o),
            Step.UNSHELVE: lambda d, o: shelve_steps.unshelve(self, d, o),
            Step.RESCUE: lambda d, o: hold_steps.rescue(self, d, o),
            Step.UNRESCUE: lambda d, o: hold_steps.unrescue(self, d, o),
        }

    # -- the controller's shape -------------------------------------------------------------

    def carry(self, key: str, spec: InstanceSpec | None) -> None:
        """A nudge for ``key`` arrived, carrying the spec its sender just wrote (the
        conductor's build, decision 94) or none. The next pass of ``key`` takes the
        carried spec instead of asking the conductor; a nudge carrying none (any other
        change's, sent after its own commit) drops it, so that pass reads afresh. Passes
        are serialised per key and a nudge during one runs another, so a carried spec is
        as fresh as a read made when it was written, and any later change still gets a
        pass that reads it."""
        if spec is None:
            self._carried.pop(key, None)
        else:
            self._carried[key] = spec

    async def desired(self, key: str) -> InstanceSpec | None:
        """The instance as a nudge carried it (once), or as the conductor has it. Raises
        :class:`~ownstack.common.bus.BusError` when the conductor cannot be asked: nothing
        is lost, the pass is retried."""
        carried = self._carried.pop(key, None)
        if carried is not None:
            return carried
        return await self.conductor.get_instance(key)

    async def observed(self, key: str) -> GuestInfo | None:
        try:
            return await self.driver.get_info(key)
        except GuestNotFound:
            return None

    def plan(self, desired: InstanceSpec | None, observed: GuestInfo | None) -> Step:
        return plan(desired, observed, self.host, now=time.time(),
                    plug_timeout=self.plug_timeout)

    def idle(self, plan: Step) -> bool:
        return plan == Step.NOTHING

    async def apply(self, key: str, plan: Step, desired: InstanceSpec | None,
                    observed: GuestInfo | None) -> Outcome:
        if plan == Step.DESTROY:
            await self.driver.destroy(key)
            log.warning("orphan guest %s destroyed: no instance wants it on %s", key,
                        self.host)
            return None
        if desired is None:
            return None
        log.debug("instance %s: %s", key, plan)
        return await self._steps[plan](desired, observed)

    async def survey(self) -> list[Surveyed[str, InstanceSpec, GuestInfo]]:
        """Every instance the conductor places on this node, and every guest the driver
        runs, orphans included; notes the images they use for the cache's pruning.

        Guests are listed *before* the desired state is fetched: a guest spawned in
        between then belongs to an instance already in the list, so it is never taken for
        an orphan.
        """
        guests = {guest.uuid: guest for guest in await self.driver.list_guests()}
        desired = {spec["uuid"]: spec for spec in await self.conductor.node_instances(self.host)}
        self.images.set_in_use(self.host, _images_in_use(desired.values(), guests.values()))
        arriving = {uuid for uuid, spec in desired.items()
                    if migrate_steps.receives_disk(spec, self.host)}
        for name in await asyncio.to_thread(disk_transfer.prune, self.incoming_dir, arriving):
            log.info("removed %s from %s: no migration to this host wants it", name,
                     self.incoming_dir)
        return [Surveyed(uuid, desired.get(uuid), guests.get(uuid))
                for uuid in [*desired, *(u for u in guests if u not in desired)]]

    # -- events -----------------------------------------------------------------------------

    def _events(self, desired: InstanceSpec, event: str, start: float,
                error: str | None = None, pending: list[dict[str, Any]] | None = None
                ) -> list[dict[str, Any]]:
        """The event that ends a task, after the ``pending`` ones (a spawn's phases), for
        the action of the instance's latest request; none when it has no request id."""
        if not desired["request_id"]:
            return []
        return [*(pending or ()), self.conductor.event(
            desired["uuid"], desired["request_id"], event, start=start, error=error,
            finish=time.time())]

    async def _event(self, desired: InstanceSpec, event: str, start: float,
                     error: str | None = None,
                     pending: list[dict[str, Any]] | None = None) -> None:
        """Record the events of :meth:`_events` in one conductor call, for a task that
        ends with another call than a report (a reschedule, a delete)."""
        await self.conductor.record_events(self._events(desired, event, start, error,
                                                        pending))

    def _phase_recorder(self, desired: InstanceSpec, pending: list[dict[str, Any]]
                        ) -> Callable[[PhaseEvent], Awaitable[None]]:
        """Keep each phase for the build's own event to carry: one write per boot, not
        one per phase (they are milliseconds apart; a spawn returns once the guest runs)."""
        async def record(phase: PhaseEvent) -> None:
            if desired["request_id"]:
                pending.append(self.conductor.event(
                    desired["uuid"], desired["request_id"], f"compute_{phase.name}",
                    start=phase.started_at, finish=phase.finished_at, error=phase.error))
        return record

    async def _report(self, desired: InstanceSpec, *,
                      events: list[dict[str, Any]] | None = None, **updates: Any) -> bool:
        applied = await self.conductor.update_instance(
            desired["uuid"], desired["task_state"], events=events, **updates)
        if not applied:
            log.info("instance %s changed while %s ran; reconciling again later",
                     desired["uuid"], desired["task_state"] or "the power sync")
        return applied

    async def _finish(self, desired: InstanceSpec, event: str, start: float,
                      error: str | None = None, *,
                      pending: list[dict[str, Any]] | None = None, **updates: Any) -> bool:
        """End a task: its events and the state it leaves, in one conductor call (one
        transaction)."""
        return await self._report(
            desired, events=self._events(desired, event, start, error, pending), **updates)

    async def _fail(self, desired: InstanceSpec, event: str, start: float, reason: str,
                    **updates: Any) -> Fatal:
        """Record the failed event and end the task with a fault."""
        await self._finish(desired, event, start, reason, task_state=None,
                           fault=Fault(reason).report(), **updates)
        return Fatal(f"{desired['task_state'] or 'the power sync'} failed: {reason}")

    def _disks_gone(self) -> str:
        return (f"The guest's disks are gone from host {self.host}; rebuild the server "
                f"or delete it.")

    # -- building ---------------------------------------------------------------------------

    async def _build(self, desired: InstanceSpec, image_id: str,
                     observed: GuestInfo | None, pending: list[dict[str, Any]], *,
                     paused: bool = False, disk: Path | None = None) -> None:
        """Destroy any leftover guest, fetch the image and spawn (``paused``: left paused
        for the plug wait; ``disk``: the root disk a cold migration brought), keeping each
        phase's event in ``pending``. Raises :class:`_Failed`."""
        if observed is not None:
            await self.driver.destroy(desired["uuid"])
        phases = PhaseTimer(on_event=self._phase_recorder(desired, pending))
        try:
            image = None
            if image_id or not boots_from_volume(desired):
                async with phases.phase(Phase.IMAGE_FETCH):
                    image = await self.images.fetch(image_id)
            spec = replace(guest_spec(desired, image), disk=disk)
            if image is None and root_volume(spec) is None:
                raise _Failed("the server boots from a volume, and its root volume is not "
                              "attached")
            await self.driver.spawn(spec, phases, paused=paused)
        except (ImageFetchFailed, SpawnFailed) as exc:
            raise _Failed(exc.reason, retryable=exc.retryable) from exc
        except DriverError as exc:      # Unsupported on this host, say: another may do
            raise _Failed(str(exc), retryable=True) from exc

    async def _spawn(self, desired: InstanceSpec, observed: GuestInfo | None) -> Outcome:
        start = time.time()
        pending: list[dict[str, Any]] = []
        wait = self.plug_timeout > 0 and bool(unplugged_ports(desired))
        # An offloaded server being unshelved boots its shelve image.
        image_id = str(desired["task_args"].get(shelve_steps.SHELVED_IMAGE)
                       or desired["image_ref"])
        try:
            await self._build(desired, image_id, observed, pending, paused=wait)
        except _Failed as exc:
            if exc.retryable and desired["vm_state"] == states.BUILDING:
                log.warning("instance %s: spawn failed on %s, rescheduling: %s",
                            desired["uuid"], self.host, exc.reason)
                await self._event(desired, EVENT_BUILD, start, exc.reason, pending=pending)
                await self.conductor.reschedule(desired["uuid"], exc.reason)
                return None
            await self._finish(desired, EVENT_BUILD, start, exc.reason, pending=pending,
                               task_state=None, fault=Fault(exc.reason).report(),
                               vm_state=states.ERROR, power_state=PowerState.NOSTATE)
            return Fatal(f"spawn failed: {exc.reason}")
        if wait:
            return await self._begin_plug_wait(desired, start, pending)
        return await self._report_active(desired, self._events(desired, EVENT_BUILD, start,
                                                        pending=pending))

    # -- the plug wait ----------------------------------------------------------------------

    async def _begin_plug_wait(self, desired: InstanceSpec, build_start: float,
                               pending: list[dict[str, Any]]) -> Outcome:
        """Record that the paused guest waits for its ports from now (with the phases so
        far), then look at the ports once."""
        wait = {"host": self.host, "since": time.time(), "build_start": build_start}
        task_args = {**desired["task_args"], PLUG_WAIT: wait}
        if not await self._report(desired, events=pending, power_state=PowerState.PAUSED,
                                  task_args=task_args):
            return None         # a delete won: its nudge reconciles again
        log.info("instance %s: paused until ports %s are ACTIVE", desired["uuid"],
                 ", ".join(unplugged_ports(desired)))
        return await self._check_plug({**desired, "task_args": task_args}, wait)

    async def _wait_plug(self, desired: InstanceSpec, observed: GuestInfo | None) -> Outcome:
        """A pass of the wait: the ports read afresh (a lost event costs nothing), then
        resume, time out, or wait for the rest of the time."""
        wait = plug_wait(desired, self.host)
        if wait is None:        # spawned paused by an agent killed before it could report
            return await self._begin_plug_wait(desired, time.time(), [])
        return await self._check_plug(desired, wait)

    async def _check_plug(self, desired: InstanceSpec, wait: dict[str, Any]) -> Outcome:
        nics = await self.conductor.refresh_network_info(desired["uuid"])
        if nics is not None:
            desired = {**desired, "nics": nics}
        waiting = unplugged_ports(desired)
        if not waiting:
            return await self._resume(desired, None)
        left = float(wait["since"]) + self.plug_timeout - time.time()
        if left <= 0:
            return await self._plug_timed_out(desired, wait, waiting)
        return Retry(left, f"waiting for port(s) {', '.join(waiting)} to be ACTIVE")

    async def _plug_timed_out(self, desired: InstanceSpec, wait: dict[str, Any],
                              waiting: list[str]) -> Outcome:
        """Nova's vif-plugging timeout: the guest goes, the server is ERROR with a fault
        that names the ports the network service never reported ACTIVE."""
        uuid = desired["uuid"]
        reason = (f"Build of instance {uuid} aborted: port(s) {', '.join(waiting)} not "
                  f"plugged (no network-vif-plugged) within {self.plug_timeout:g} s")
        log.warning("instance %s: %s", uuid, reason)
        await self.driver.destroy(uuid)
        await self._finish(desired, EVENT_BUILD, float(wait.get("build_start") or wait["since"]),
                           reason, pending=self._plug_event(desired, wait, reason),
                           task_state=None, fault=Fault(reason).report(),
                           vm_state=states.ERROR, power_state=PowerState.NOSTATE,
                           task_args=_without_wait(desired))
        return Fatal(f"spawn failed: {reason}")

    async def _resume(self, desired: InstanceSpec, observed: GuestInfo | None) -> Outcome:
        """Every port is ACTIVE: the paused guest runs, and the server is ACTIVE."""
        wait = plug_wait(desired, self.host) or {}
        since = float(wait.get("since") or time.time())
        build_start = float(wait.get("build_start") or since)
        try:
            await self.driver.power_on(desired["uuid"])
        except GuestNotFound:
            return None             # gone meanwhile: the next pass spawns again
        except DriverError as exc:
            await self.driver.destroy(desired["uuid"])
            await self._finish(desired, EVENT_BUILD, build_start, str(exc), task_state=None,
                               fault=Fault(str(exc)).report(), vm_state=states.ERROR,
                               power_state=PowerState.NOSTATE, task_args=_without_wait(desired))
            return Fatal(f"spawn failed: {exc}")
        return await self._report_active(desired, self._events(
            desired, EVENT_BUILD, build_start, pending=self._plug_event(desired, wait)))

    def _plug_event(self, desired: InstanceSpec, wait: dict[str, Any],
                    error: str | None = None) -> list[dict[str, Any]]:
        """The ``plug`` phase's event: from the start of the wait to now."""
        if not desired["request_id"] or not wait:
            return []
        return [self.conductor.event(desired["uuid"], desired["request_id"],
                                     f"compute_{Phase.PLUG.value}", start=float(wait["since"]),
                                     finish=time.time(), error=error)]

    async def _adopt(self, desired: InstanceSpec, observed: GuestInfo | None) -> Outcome:
        """A guest that runs while its instance is still spawning: the agent that spawned
        it died before reporting. The guest is complete (a spawn returns only once it
        runs), so adopt it rather than boot it twice."""
        log.info("instance %s: adopting its running guest", desired["uuid"])
        return await self._report_active(desired, self._events(desired, EVENT_BUILD, time.time()))

    async def _report_active(self, desired: InstanceSpec, events: list[dict[str, Any]]
                             ) -> Outcome:
        extra: dict[str, Any] = {}
        unshelved = shelve_steps.SHELVED_IMAGE in desired["task_args"]
        if PLUG_WAIT in desired["task_args"] or unshelved:
            extra["task_args"] = {k: v for k, v in _without_wait(desired).items()
                                  if k != shelve_steps.SHELVED_IMAGE}
        applied = await self._report(desired, events=events, vm_state=states.ACTIVE,
                                     task_state=None, power_state=PowerState.RUNNING,
                                     launched=True, clear_admin_pass=True, fault=None, **extra)
        if applied and unshelved:
            await shelve_steps.delete_shelved_image(self, desired)
        return None

    async def _rebuild(self, desired: InstanceSpec, observed: GuestInfo | None) -> Outcome:
        """Destroy and spawn from the new image. A stopped server ends stopped, as in Nova
        (it is powered off again once it has booted)."""
        start = time.time()
        image_id = str(desired["task_args"].get("image_ref") or desired["image_ref"])
        stopped = desired["vm_state"] == states.STOPPED
        pending: list[dict[str, Any]] = []
        try:
            await self._build(desired, image_id, observed, pending)
            if stopped:
                await self.driver.power_off(desired["uuid"], self.shutdown_timeout)
        except (_Failed, DriverError) as exc:
            reason = exc.reason if isinstance(exc, _Failed) else str(exc)
            await self._finish(desired, EVENT_REBUILD, start, reason, pending=pending,
                               task_state=None, fault=Fault(reason).report(),
                               vm_state=states.ERROR, power_state=PowerState.NOSTATE)
            return Fatal(f"rebuild failed: {reason}")
        await self._finish(desired, EVENT_REBUILD, start, pending=pending,
                           vm_state=states.STOPPED if stopped else states.ACTIVE,
                           task_state=None, launched=True, clear_admin_pass=True, fault=None,
                           power_state=PowerState.SHUTDOWN if stopped else PowerState.RUNNING)
        return None

    # -- deleting ---------------------------------------------------------------------------

    async def _delete(self, desired: InstanceSpec, observed: GuestInfo | None) -> Outcome:
        start = time.time()
        await self.driver.destroy(desired["uuid"])
        await self._event(desired, EVENT_TERMINATE, start)
        await self.conductor.instance_destroyed(desired["uuid"])
        return None

    # -- power ------------------------------------------------------------------------------

    async def _power_off(self, desired: InstanceSpec, observed: GuestInfo | None) -> Outcome:
        """Stop the guest. A guest that is gone is as off as it gets: the server is SHUTOFF
        (power state NOSTATE), and starting it later reports the lost disks."""
        start = time.time()
        if observed is not None:
            try:
                await self.driver.power_off(desired["uuid"], self.shutdown_timeout)
            except GuestNotFound:
                observed = None
            except DriverError as exc:
                return await self._fail(desired, EVENT_STOP, start, str(exc))
        await self._finish(desired, EVENT_STOP, start, vm_state=states.STOPPED,
                           task_state=None,
                           power_state=PowerState.SHUTDOWN if observed else PowerState.NOSTATE)
        return None

    async def _power_on(self, desired: InstanceSpec, observed: GuestInfo | None) -> Outcome:
        """Start the guest from its disks. Without a guest there are no disks to start
        from: ERROR with a fault (rebuild recreates the guest), never a silent respawn."""
        return await self._on_disks(desired, observed, EVENT_START,
                                    lambda: self.driver.power_on(desired["uuid"]))

    async def _reboot(self, desired: InstanceSpec, observed: GuestInfo | None) -> Outcome:
        """Soft when asked, the driver can and the guest runs; hard otherwise, as Nova
        falls back to a hard reboot when a soft one cannot be done."""
        uuid = desired["uuid"]
        hard = (desired["task_state"] == states.REBOOTING_HARD
                or not self.driver.capabilities.get(Capability.REBOOT_SOFT.value, False)
                or observed_power(observed) != PowerState.RUNNING)

        async def reboot() -> None:
            try:
                await self.driver.reboot(uuid, hard, self.shutdown_timeout)
            except InvalidGuestState:
                if hard:
                    raise
                await self.driver.reboot(uuid, True, self.shutdown_timeout)

        return await self._on_disks(desired, observed, EVENT_REBOOT, reboot)

    async def _on_disks(self, desired: InstanceSpec, observed: GuestInfo | None, event: str,
                        act: Callable[[], Awaitable[None]]) -> Outcome:
        """Run ``act`` on a guest that still has its disks: ACTIVE and running when it
        works; ERROR with a fault when the guest or its disks are gone."""
        start = time.time()
        try:
            if observed is None or observed.power_state == PowerState.NOSTATE:
                raise GuestNotFound(desired["uuid"])
            await act()
        except (GuestNotFound, InvalidGuestState):
            return await self._fail(desired, event, start, self._disks_gone(),
                                    vm_state=states.ERROR, power_state=PowerState.NOSTATE)
        except DriverError as exc:
            return await self._fail(desired, event, start, str(exc))
        await self._finish(desired, event, start, vm_state=states.ACTIVE,
                           task_state=None, power_state=PowerState.RUNNING)
        return None

    # -- snapshot ---------------------------------------------------------------------------

    async def _snapshot(self, desired: InstanceSpec, observed: GuestInfo | None) -> Outcome:
        """Copy the root disk and upload it into the image the API queued.

        The instance keeps its vm_state whatever happens (as in Nova); on failure the
        event says why and the queued image is deleted, so no image stays ``queued``.
        """
        start = time.time()
        image_id = str(desired["task_args"].get("image_id") or "")
        try:
            await self._upload_snapshot(desired["uuid"], image_id, observed)
        except (_Failed, DriverError, ImageClientError, OSError) as exc:
            reason = exc.reason if isinstance(exc, _Failed) else str(exc)
            if image_id:
                with contextlib.suppress(ImageClientError):
                    await self.image_client.delete(image_id)
            await self._finish(desired, EVENT_SNAPSHOT, start, reason, task_state=None)
            return Fatal(f"snapshot into image {image_id} failed: {reason}")
        args = desired["task_args"]
        if args.get("backup_type") is not None:
            await rotate_backups(self.image_client, desired["uuid"],
                                 str(args["backup_type"]), int(args.get("rotation") or 0))
        await self._finish(desired, EVENT_SNAPSHOT, start, task_state=None)
        return None


    async def _upload_snapshot(self, uuid: str, image_id: str,
                               observed: GuestInfo | None) -> None:
        if not image_id:
            raise _Failed("the snapshot task names no image")
        if observed is None:
            raise _Failed(self._disks_gone())
        if (await self.image_client.get(image_id)).status == "active":
            return      # uploaded by an agent killed before it could report
        await asyncio.to_thread(self.snapshot_dir.mkdir, parents=True, exist_ok=True)
        dest = self.snapshot_dir / f"{uuid}-{image_id}"
        try:
            snapshot = await self.driver.snapshot(uuid, dest)
            await self.image_client.upload(image_id, snapshot.path)
        finally:
            await asyncio.to_thread(dest.unlink, missing_ok=True)

    # -- steady state -----------------------------------------------------------------------

    async def _sync_power(self, desired: InstanceSpec, observed: GuestInfo | None) -> Outcome:
        await self._report(desired, power_state=observed_power(observed))
        return None

    async def _sync_nics(self, desired: InstanceSpec, observed: GuestInfo | None) -> Outcome:
        """The server's ports changed (an interface attached or detached): the guest's NICs
        follow, hot-plugged by a driver that can (only such a driver reports them)."""
        nics = [nic_spec(nic) for nic in desired.get("nics") or ()]
        await self.driver.plug_nics(desired["uuid"], nics)
        log.info("instance %s: NICs now %s", desired["uuid"], [n.tap_name for n in nics])
        return None

    async def _mark_stopped(self, desired: InstanceSpec, observed: GuestInfo | None) -> Outcome:
        """The guest stopped by itself (killed, crashed, or gone): Nova's power sync calls
        the stop API, so the server shows SHUTOFF rather than an ACTIVE that is not."""
        power = observed_power(observed)
        log.warning("instance %s: guest is %s while the server is ACTIVE; marking it SHUTOFF",
                    desired["uuid"], "gone" if observed is None else power.name)
        await self._report(desired, vm_state=states.STOPPED, power_state=power)
        return None

    async def _stop_guest(self, desired: InstanceSpec, observed: GuestInfo | None) -> Outcome:
        """The guest runs while the server is SHUTOFF: power it off, as Nova's sync does."""
        log.warning("instance %s: guest runs while the server is SHUTOFF; powering it off",
                    desired["uuid"])
        try:
            await self.driver.power_off(desired["uuid"], self.shutdown_timeout)
        except DriverError as exc:
            return Fatal(f"could not power off: {exc}")
        await self._report(desired, power_state=PowerState.SHUTDOWN)
        return None


def _without_wait(desired: InstanceSpec) -> dict[str, Any]:
    return {key: value for key, value in desired["task_args"].items() if key != PLUG_WAIT}


def _images_in_use(desired: Iterable[InstanceSpec], guests: Iterable[GuestInfo]) -> set[str]:
    """Every image a guest of this node booted from or may boot from next."""
    used = {spec["image_ref"] for spec in desired if spec["image_ref"]}
    used |= {str(spec["task_args"]["image_ref"]) for spec in desired
             if spec["task_args"].get("image_ref")}
    used |= {str(spec["task_args"]["rescue_image_ref"]) for spec in desired
             if spec["task_args"].get("rescue_image_ref")}
    for guest in guests:
        for key in ("image_id", "rescue_image_id"):
            if guest.details.get(key):
                used.add(str(guest.details[key]))
    return used
