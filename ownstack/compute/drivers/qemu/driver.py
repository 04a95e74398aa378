"""The QEMU compute driver: one QEMU process per guest, controlled over QMP.

This module is the driver's outline: :class:`QemuDriver`'s methods check the guest's state
and call the module that does the work, with explicit arguments (the QMP
:class:`~.monitor.Monitor`, the :class:`~.process.GuestFiles`, the
:class:`~.process.Recipe`):

* :mod:`.spawn`: the base, the overlay and the recipe; :mod:`.process`: the guest's
  files, its recipe on disk, starting QEMU and making sure it is gone;
* :mod:`.monitor`: the QMP connection and its events; :mod:`.observe`: power state and
  details read from the host;
* :mod:`.suspend`: memory saved and restored; :mod:`.rescue`: the rescue boot's disk and
  recipe; :mod:`.resize`: the kept disk and the new size;
* :mod:`.hotplug`: NICs (:mod:`.nics`) and volumes (:mod:`.volumes`) plugged and unplugged;
* :mod:`.consoles`: the console log and the console sockets.

How a guest is made (:meth:`QemuDriver.spawn`), one timed phase each:

1. ``image_convert`` (only for a non-qcow2 image): the cached base into qcow2, once per host.
2. ``disks``: the base is checked (no backing or data file, a BIOS boot signature) and a
   qcow2 overlay sized to the flavor is made on it; on a cold migration's destination
   the source's overlay (``GuestSpec.disk``) is moved in instead and rebased onto it.
3. ``config_drive``: the ISO9660 ``config-2`` disk cloud-init reads, when asked for or
   forced by ``compute.force_config_drive``.
4. ``start``: QEMU starts paused (``-S``) with only CPU, memory, serial console, screen
   (VNC on a Unix socket) and QMP on its command line; the disks and NICs are added over
   QMP under our own ids (``disk-root``, ``disk-config``, ``nic-<port>``), then ``cont``;
   a paused spawn stops short of ``cont`` (``PAUSED``: QMP says ``prelaunch``) until ``power_on``.

What it keeps: :mod:`ownstack.compute.drivers.qemu.process` describes the guest directory and
its recipe. Power state is read from the process table and QMP, never remembered
(:mod:`.observe`).

Every running guest has a QMP connection with a watcher task: QMP events (``STOP``,
``RESUME``, ``GUEST_PANICKED``) and the connection closing (QEMU exited: powered off from
inside, killed, or quit by us) become :class:`GuestEvent` nudges for the agent.

Soft power off is ACPI (``system_powerdown``), then ``quit`` and at last SIGKILL once the
timeout passes. A soft reboot is an ACPI power off and a start from the same recipe (as
Nova's libvirt driver does), falling back to a reset; a hard reboot is ``system_reset``, or a
start when the guest is off. A snapshot pauses a running guest (``stop`` flushes its disks),
flattens overlay and backing file into one qcow2 with ``qemu-img convert -U``, and resumes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncGenerator, Mapping, Sequence
from pathlib import Path
from typing import Any

from ownstack.compute.drivers.base import (
    Capability,
    ConsoleKind,
    ConsoleUnavailable,
    DriverError,
    GuestEvent,
    GuestInfo,
    GuestNotFound,
    GuestSize,
    GuestSpec,
    HostResources,
    ImageRef,
    InvalidGuestState,
    NicSpec,
    Phase,
    PhaseTimer,
    SnapshotFile,
    SpawnFailed,
    VolumeSpec,
    check_capability,
)
from ownstack.compute.drivers.metadata import config_drive_files
from ownstack.compute.drivers.qemu import consoles as qemu_consoles
from ownstack.compute.drivers.qemu import host as qemu_host
from ownstack.compute.drivers.qemu import hotplug as qemu_hotplug
from ownstack.compute.drivers.qemu import monitor as qemu_monitor
from ownstack.compute.drivers.qemu import nics as qemu_nics
from ownstack.compute.drivers.qemu import observe as qemu_observe
from ownstack.compute.drivers.qemu import process as proc
from ownstack.compute.drivers.qemu import rescue as qemu_rescue
from ownstack.compute.drivers.qemu import resize as qemu_resize
from ownstack.compute.drivers.qemu import spawn as qemu_spawn
from ownstack.compute.drivers.qemu import suspend as qemu_suspend
from ownstack.compute.drivers.qemu import volumes as qemu_volumes
from ownstack.compute.drivers.qemu.configdrive import write_config_drive
from ownstack.compute.drivers.qemu.hotplug import DEVICE_DEL_TIMEOUT
from ownstack.compute.drivers.qemu.images import QemuImg
from ownstack.compute.drivers.qemu.monitor import Monitor
from ownstack.compute.drivers.qemu.observe import HostView
from ownstack.compute.drivers.qemu.process import GuestFiles, Recipe
from ownstack.compute.states import PowerState

__all__ = ["QemuDriver", "from_config"]

LOG = logging.getLogger(__name__)
EVENT_QUEUE_SIZE = 1024
CONSOLE_MAX_BYTES = 1048576
QUIT_TIMEOUT = 5.0
ACPI_RETRY_INTERVAL = 3.0        # seconds between ACPI power-button presses
BASE_PRUNE_INTERVAL = 600.0


class QemuDriver:
    """A :class:`~ownstack.compute.drivers.base.ComputeDriver` running real QEMU guests."""

    name = "qemu"

    def __init__(self, host: str, state_dir: Path, *, qemu_binary: str = "qemu-system-x86_64",
                 qemu_img: str = "qemu-img", virt_type: str = "auto",
                 console_max_bytes: int = CONSOLE_MAX_BYTES, force_config_drive: bool = False,
                 base_max_age: float = 86400.0) -> None:
        if virt_type not in ("auto", "kvm", "qemu"):
            raise ValueError(f"compute.virt_type must be auto, kvm or qemu, not {virt_type!r}")
        self.host = host
        self.directory = state_dir / "compute" / "qemu" / host
        self.instances = self.directory / "instances"
        self.bases = self.directory / "bases"
        self.qemu_binary = qemu_binary
        self.virt_type = virt_type
        self.console_max_bytes = console_max_bytes
        self.force_config_drive = force_config_drive
        self.base_max_age = base_max_age
        self.images = QemuImg(qemu_img)
        self.accel: qemu_host.Accel | None = None
        self._run: Path | None = None
        self._monitors: dict[str, Monitor] = {}
        self._queues: set[asyncio.Queue[GuestEvent | None]] = set()
        self._last_base_prune = 0.0

    @property
    def capabilities(self) -> Mapping[str, bool]:
        # NICs are fixed by the command line written at spawn: an interface attached to a
        # running server is plugged when the guest is next spawned (a rebuild).
        return {c.value: True for c in Capability}

    # -- lifecycle -----------------------------------------------------------------------

    async def init_host(self) -> None:
        """Choose KVM or TCG, then adopt the guests a previous agent left running."""
        self.instances.mkdir(parents=True, exist_ok=True)
        self._run = proc.runtime_dir(self.directory)
        self.accel = await qemu_host.choose_accel(
            self.virt_type, self.qemu_binary, cache_path=self.directory / "accel.json")
        LOG.info("qemu driver on %s: accelerator %s, guests in %s", self.host,
                 self.accel.value, self.instances)
        for uuid, view in await asyncio.to_thread(self._look_all):
            pid = view.pid
            if view.recipe is not None and view.recipe.spawned and view.alive:
                assert pid is not None
                try:
                    await self._attach(uuid, self._files(uuid), pid)
                    LOG.info("adopted running guest %s (QEMU pid %d)", uuid, pid)
                except DriverError as exc:
                    LOG.warning("guest %s: cannot adopt QEMU pid %d: %s", uuid, pid, exc)

    async def close(self) -> None:
        """Drop the QMP connections; every guest keeps running."""
        monitors, self._monitors = list(self._monitors.values()), {}
        for monitor in monitors:
            await qemu_monitor.disconnect(monitor)
        for queue in self._queues:
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(None)
        self._queues.clear()

    async def host_resources(self) -> HostResources:
        self.instances.mkdir(parents=True, exist_ok=True)
        return await qemu_host.host_resources(self.instances, self.qemu_binary)

    # -- observation ---------------------------------------------------------------------

    def _uuids(self) -> list[str]:
        try:
            return sorted(p.name for p in self.instances.iterdir()
                          if p.is_dir() and not p.name.startswith("."))
        except FileNotFoundError:
            return []

    def _files(self, uuid: str) -> GuestFiles:
        if self._run is None:
            raise DriverError("init_host() was not called")
        if "/" in uuid or uuid.startswith("."):
            raise GuestNotFound(uuid)
        return GuestFiles(uuid, self.instances / uuid, self._run)

    # Reading the host (directory, recipe, pid file, /proc) blocks: it runs in a worker
    # thread, and the event loop only combines what it read with the QMP state it holds.

    def _look(self, uuid: str) -> HostView | None:
        """What the host shows of the guest; ``None`` if it has no files. Blocking."""
        return qemu_observe.look(self._files(uuid))

    def _look_all(self) -> list[tuple[str, HostView]]:
        """:meth:`_look` of every guest, consoles trimmed on the way. Blocking."""
        found = []
        for uuid in self._uuids():
            view = self._look(uuid)
            if view is not None:
                qemu_consoles.trim(self._files(uuid), self.console_max_bytes)
                found.append((uuid, view))
        return found

    def _state(self, uuid: str, view: HostView | None) -> PowerState | None:
        monitor = self._monitors.get(uuid)
        return qemu_observe.power_state(view, paused=bool(monitor and monitor.paused))

    async def _observe(self, uuid: str) -> PowerState | None:
        return self._state(uuid, await asyncio.to_thread(self._look, uuid))

    async def _require(self, uuid: str) -> PowerState:
        state = await self._observe(uuid)
        if state is None:
            raise GuestNotFound(uuid)
        return state

    async def _recipe_of(self, uuid: str) -> Recipe | None:
        return await asyncio.to_thread(Recipe.load, self._files(uuid).recipe)

    def _info(self, uuid: str, state: PowerState, view: HostView) -> GuestInfo:
        return qemu_observe.guest_info(self.host, self._files(uuid), state, view)

    async def list_guests(self) -> list[GuestInfo]:
        guests = []
        for uuid, view in await asyncio.to_thread(self._look_all):
            state = self._state(uuid, view)
            if state is not None:
                guests.append(self._info(uuid, state, view))
        if time.monotonic() - self._last_base_prune > BASE_PRUNE_INTERVAL:
            self._last_base_prune = time.monotonic()
            await asyncio.to_thread(self.prune_bases)
        return guests

    async def get_info(self, uuid: str) -> GuestInfo:
        view = await asyncio.to_thread(self._look, uuid)
        state = self._state(uuid, view)
        if state is None or view is None:
            raise GuestNotFound(uuid)
        return self._info(uuid, state, view)

    async def events(self) -> AsyncGenerator[GuestEvent, None]:
        queue: asyncio.Queue[GuestEvent | None] = asyncio.Queue(EVENT_QUEUE_SIZE)
        self._queues.add(queue)
        try:
            while (event := await queue.get()) is not None:
                yield event
        finally:
            self._queues.discard(queue)

    def _notify(self, uuid: str, state: PowerState) -> None:
        event = GuestEvent(uuid, state)
        for queue in self._queues:
            if not queue.full():        # a nudge: a missed one is repaired by the resync
                queue.put_nowait(event)

    # -- QMP connections -----------------------------------------------------------------

    async def _attach(self, uuid: str, files: GuestFiles, pid: int) -> Monitor:
        """Connect to the guest's QMP socket and watch it."""
        if (old := self._monitors.pop(uuid, None)) is not None:
            await qemu_monitor.disconnect(old)
        monitor = await qemu_monitor.connect(uuid, files, pid)
        monitor.task = asyncio.create_task(self._watch(monitor), name=f"qmp-watch-{uuid[:8]}")
        self._monitors[uuid] = monitor
        return monitor

    async def _monitor(self, uuid: str) -> Monitor:
        """The running guest's QMP connection, reconnecting if it was lost."""
        monitor = self._monitors.get(uuid)
        if monitor is not None and qemu_monitor.connected(monitor):
            return monitor
        files = self._files(uuid)
        pid = proc.read_pid(files)
        if not proc.pid_alive(pid, uuid):
            raise InvalidGuestState(uuid, await self._require(uuid), "talk to")
        assert pid is not None
        return await self._attach(uuid, files, pid)

    async def _watch(self, monitor: Monitor) -> None:
        """Turn QMP events and the end of the connection into power-state nudges."""
        await qemu_monitor.watch(monitor, self._notify)
        # The connection ended on QEMU's side: it exited, or is about to.
        await proc.wait_gone(monitor.pid, monitor.uuid, QUIT_TIMEOUT)
        if self._monitors.get(monitor.uuid) is monitor:
            del self._monitors[monitor.uuid]
        state = await self._observe(monitor.uuid)
        self._notify(monitor.uuid, PowerState.NOSTATE if state is None else state)

    async def _remove_process(self, uuid: str, files: GuestFiles) -> None:
        """End the guest's QEMU process (its files stay)."""
        if (monitor := self._monitors.pop(uuid, None)) is not None:
            await qemu_monitor.disconnect(monitor)
        await proc.kill(proc.read_pid(files), uuid)

    # -- spawn and destroy ---------------------------------------------------------------

    async def spawn(self, spec: GuestSpec, phases: PhaseTimer, *, paused: bool = False
                    ) -> None:
        config_drive = spec.config_drive or self.force_config_drive
        if config_drive:
            check_capability(self, Capability.CONFIG_DRIVE)
        files = self._files(spec.uuid)
        if (state := await self._observe(spec.uuid)) is not None:
            raise InvalidGuestState(spec.uuid, state, "spawn")
        if self.accel is None:
            raise DriverError("init_host() was not called")
        files.directory.mkdir(parents=True)
        try:
            base = await qemu_spawn.prepare_base(spec, files, phases, self.images, self.bases)
            if config_drive:
                async with phases.phase(Phase.CONFIG_DRIVE):
                    documents = config_drive_files(spec)
                    await asyncio.to_thread(write_config_drive, files.config_drive, documents)
            recipe = qemu_spawn.recipe_for(spec, files, base, config_drive, self.accel,
                                           self.qemu_binary)
            await asyncio.to_thread(recipe.save, files.recipe)
            async with phases.phase(Phase.START):
                await self._start(recipe, files, paused=paused)
                recipe.spawned = True
                await asyncio.to_thread(recipe.save, files.recipe)
        except BaseException as exc:
            await self._clean_up_failed_spawn(spec.uuid)
            if isinstance(exc, SpawnFailed) or not isinstance(exc, Exception):
                raise
            raise SpawnFailed(str(exc) if isinstance(exc, DriverError)
                              else f"{type(exc).__name__}: {exc}") from exc
        LOG.info("guest %s started (QEMU pid %s, %s)", spec.uuid, proc.read_pid(files),
                 recipe.accel)

    async def _start(self, recipe: Recipe, files: GuestFiles, *, paused: bool = False,
                     restore: bool = False) -> None:
        """Start QEMU paused, add the devices over QMP, ``restore`` the saved memory if
        asked (QEMU then starts with ``-incoming defer``), then let the guest run
        (``cont``) unless it is to stay ``paused`` (its ports are not plugged yet)."""
        await asyncio.to_thread(qemu_consoles.trim, files, self.console_max_bytes)
        try:
            argv = [*recipe.argv, "-incoming", "defer"] if restore else recipe.argv
            pid = await proc.start_qemu(argv, files)
            monitor = await self._attach(recipe.uuid, files, pid)
            for command, arguments in recipe.devices:
                await monitor.add_device(command, arguments)
            if restore:
                await qemu_suspend.restore(monitor, files)
            if not paused:
                await monitor.execute("cont")
            monitor.paused = paused
        except BaseException:
            await self._remove_process(recipe.uuid, files)
            raise

    async def _clean_up_failed_spawn(self, uuid: str) -> None:
        """Remove what a failed spawn made. Should that fail too, say what is left behind
        (the destroy of the next attempt, or of the delete, tries again)."""
        try:
            await self._remove(uuid, notify=False)
        except Exception as exc:
            left = await asyncio.to_thread(proc.leftovers, self._files(uuid))
            LOG.error("guest %s: spawn failed, and removing what it made failed too (%s); "
                      "left behind: %s", uuid, exc, ", ".join(left) or "nothing")

    async def destroy(self, uuid: str) -> None:
        await self._remove(uuid, notify=True)

    async def _remove(self, uuid: str, *, notify: bool) -> None:
        files = self._files(uuid)
        await self._remove_process(uuid, files)
        existed = files.directory.exists()
        await asyncio.to_thread(proc.remove_files, files)
        if existed and notify:
            self._notify(uuid, PowerState.NOSTATE)
            LOG.info("guest %s destroyed", uuid)

    # -- power ---------------------------------------------------------------------------

    async def power_off(self, uuid: str, timeout: float = 60.0) -> None:
        state = await self._require(uuid)
        if state == PowerState.SUSPENDED:       # the saved memory is discarded
            await asyncio.to_thread(self._files(uuid).memory.unlink, missing_ok=True)
            self._notify(uuid, PowerState.SHUTDOWN)
            return
        if state in (PowerState.SHUTDOWN, PowerState.NOSTATE):
            return
        await self._stop(uuid, timeout)

    async def _stop(self, uuid: str, timeout: float) -> bool:
        """ACPI power off, forced after ``timeout``; ``True`` if the guest obeyed ACPI."""
        files = self._files(uuid)
        pid = proc.read_pid(files)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            # Pressed again every few seconds, as Nova retries: a press before the guest
            # listens for it (early in a boot) is lost.
            with contextlib.suppress(DriverError):
                monitor = await self._monitor(uuid)
                if monitor.paused:
                    await monitor.execute("cont")
                await monitor.execute("system_powerdown")
            wait = min(ACPI_RETRY_INTERVAL, deadline - loop.time())
            if await proc.wait_gone(pid, uuid, max(wait, 0.0)):
                return True
            if loop.time() >= deadline:
                break
        LOG.warning("guest %s ignored ACPI power off for %.0fs; forcing it", uuid, timeout)
        with contextlib.suppress(DriverError):
            await (await self._monitor(uuid)).execute("quit")
        if not await proc.wait_gone(pid, uuid, QUIT_TIMEOUT):
            await proc.kill(pid, uuid)
        return False

    async def power_on(self, uuid: str) -> None:
        state = await self._require(uuid)
        if state == PowerState.RUNNING:
            return
        if state == PowerState.PAUSED:
            monitor = await self._monitor(uuid)
            await monitor.execute("cont")
            monitor.paused = False      # now, not when the RESUME event is read
            return
        files = self._files(uuid)
        recipe = await self._recipe_of(uuid)
        if state == PowerState.NOSTATE or recipe is None:
            raise InvalidGuestState(uuid, state, "power on")
        # A suspended guest boots afresh from its disks: its saved memory is discarded; a
        # rescued one boots its own disk again.
        await asyncio.to_thread(files.memory.unlink, missing_ok=True)
        await asyncio.to_thread(qemu_rescue.remove, files)
        await self._start(recipe, files)

    async def reboot(self, uuid: str, hard: bool, timeout: float = 60.0) -> None:
        state = await self._require(uuid)
        if hard:
            if state == PowerState.NOSTATE:
                raise InvalidGuestState(uuid, state, "hard reboot")
            if state in (PowerState.RUNNING, PowerState.PAUSED):
                monitor = await self._monitor(uuid)
                await monitor.execute("system_reset")
                if monitor.paused:
                    await monitor.execute("cont")
            else:
                await self.power_on(uuid)
            return
        check_capability(self, Capability.REBOOT_SOFT)
        if state != PowerState.RUNNING:
            raise InvalidGuestState(uuid, state, "soft reboot")
        await self._stop(uuid, timeout)
        await self.power_on(uuid)

    # -- pause and suspend ---------------------------------------------------------------

    async def pause(self, uuid: str) -> None:
        """QMP ``stop``: the vCPUs stop where they are."""
        check_capability(self, Capability.PAUSE)
        state = await self._require(uuid)
        if state not in (PowerState.RUNNING, PowerState.PAUSED):
            raise InvalidGuestState(uuid, state, "pause")
        monitor = await self._monitor(uuid)
        await monitor.execute("stop")
        monitor.paused = True           # now, not when the STOP event is read

    async def unpause(self, uuid: str) -> None:
        """QMP ``cont``: the vCPUs run on from where they stopped."""
        check_capability(self, Capability.PAUSE)
        state = await self._require(uuid)
        if state not in (PowerState.RUNNING, PowerState.PAUSED):
            raise InvalidGuestState(uuid, state, "unpause")
        monitor = await self._monitor(uuid)
        await monitor.execute("cont")
        monitor.paused = False

    async def suspend(self, uuid: str) -> None:
        """Stop the vCPUs, save memory and devices through QEMU's migration stream into a
        file descriptor passed over QMP (``getfd``, then ``migrate fd:``; QEMU 7.2 has no
        ``file:`` migration), rename the file once QEMU reports it complete, then quit.

        Each step is safe to repeat: a complete ``memory.state`` beside a live QEMU (the
        agent died before the quit) only needs the quit; without it, any earlier attempt is
        cancelled and the save starts over. The guest runs not one instruction after the
        ``stop``, so whichever save completes holds its state.
        """
        check_capability(self, Capability.SUSPEND)
        state = await self._require(uuid)
        if state == PowerState.SUSPENDED:
            return
        if state not in (PowerState.RUNNING, PowerState.PAUSED):
            raise InvalidGuestState(uuid, state, "suspend")
        files = self._files(uuid)
        monitor = await self._monitor(uuid)
        await qemu_suspend.save(monitor, files)
        pid = monitor.pid
        with contextlib.suppress(DriverError):
            await monitor.execute("quit")
        if not await proc.wait_gone(pid, uuid, QUIT_TIMEOUT):
            await proc.kill(pid, uuid)
        if (gone := self._monitors.pop(uuid, None)) is not None:
            await qemu_monitor.disconnect(gone)
        self._notify(uuid, PowerState.SUSPENDED)
        LOG.info("guest %s suspended to %s", uuid, files.memory)

    async def resume(self, uuid: str) -> None:
        """Start QEMU from the recipe with ``-incoming defer``, add the devices, restore the
        memory from ``memory.state`` (``migrate-incoming fd:``), ``cont``, then remove the
        file. Repeatable: a restore cut short (QEMU alive but never let run) is killed and
        done again from the file, which stays until the guest runs."""
        check_capability(self, Capability.SUSPEND)
        state = await self._require(uuid)
        files = self._files(uuid)
        if state in (PowerState.RUNNING, PowerState.PAUSED):
            monitor = await self._monitor(uuid)
            status = await monitor.execute("query-status")
            if await asyncio.to_thread(files.memory.exists) and \
                    status.get("status") != "running":
                await self._remove_process(uuid, files)     # a restore cut short
                state = await self._require(uuid)
            else:
                await asyncio.to_thread(files.memory.unlink, missing_ok=True)
                return
        recipe = await self._recipe_of(uuid)
        if state != PowerState.SUSPENDED or recipe is None:
            raise InvalidGuestState(uuid, state, "resume")
        await self._start(recipe, files, restore=True)
        await asyncio.to_thread(files.memory.unlink, missing_ok=True)
        LOG.info("guest %s resumed from its saved memory", uuid)

    # -- rescue --------------------------------------------------------------------------

    async def rescue(self, uuid: str, image: ImageRef) -> None:
        """Kill the guest's QEMU (Nova's rescue destroys the guest too), make
        ``rescue.qcow2`` on the rescue image's base, write ``rescue.json`` (the recipe with
        the rescue disk first and the guest's own disk second) and start that."""
        check_capability(self, Capability.RESCUE)
        state = await self._require(uuid)
        files = self._files(uuid)
        recipe = await self._recipe_of(uuid)
        if state == PowerState.NOSTATE or recipe is None:
            raise InvalidGuestState(uuid, state, "rescue")
        rescued = await asyncio.to_thread(Recipe.load, files.rescue_recipe)
        if rescued is not None and rescued.image_id == image.id and \
                state in (PowerState.RUNNING, PowerState.PAUSED):
            return
        await self._remove_process(uuid, files)
        rescue = await qemu_rescue.prepare(files, recipe, self.images, self.bases, image)
        await self._start(rescue, files)
        self._notify(uuid, PowerState.RUNNING)
        LOG.info("guest %s rescued: booting image %s, its own disk second", uuid, image.id)

    async def unrescue(self, uuid: str) -> None:
        """Kill the rescue boot, remove ``rescue.json`` (first: without it the guest is
        not rescued) and the rescue disk, and start the guest from its own recipe."""
        check_capability(self, Capability.RESCUE)
        state = await self._require(uuid)
        files = self._files(uuid)
        rescued = await asyncio.to_thread(files.rescue_recipe.exists)
        if not rescued and state in (PowerState.RUNNING, PowerState.PAUSED):
            return
        await self._remove_process(uuid, files)
        await asyncio.to_thread(qemu_rescue.remove, files)
        await self.power_on(uuid)
        LOG.info("guest %s unrescued: booting its own disk", uuid)

    # -- resize (the files: qemu/resize.py) -----------------------------------------------

    async def _stopped_recipe(self, uuid: str, timeout: float, operation: str) -> Recipe:
        state = await self._require(uuid)
        recipe = await self._recipe_of(uuid)
        if recipe is None or state == PowerState.NOSTATE:
            raise InvalidGuestState(uuid, state, operation)
        if state != PowerState.SHUTDOWN:
            await self._stop(uuid, timeout)
        return recipe

    async def resize(self, uuid: str, size: GuestSize, timeout: float = 60.0) -> None:
        recipe = await self._stopped_recipe(uuid, timeout, "resize")
        await qemu_resize.apply(self._files(uuid), recipe, self.images, size)

    async def confirm_resize(self, uuid: str) -> None:
        await qemu_resize.confirm(self._files(uuid))

    async def revert_resize(self, uuid: str, size: GuestSize, timeout: float = 60.0
                            ) -> None:
        recipe = await self._stopped_recipe(uuid, timeout, "revert resize")
        await qemu_resize.revert(self._files(uuid), recipe, size)

    # -- cold migration -------------------------------------------------------------------

    async def disk_to_move(self, uuid: str) -> Path | None:
        """The stopped guest's overlay, ``disk.qcow2`` (its base is the image, which the
        destination fetches itself); ``None`` for a guest booted from volume."""
        state = await self._require(uuid)
        if state != PowerState.SHUTDOWN:
            raise InvalidGuestState(uuid, state, "move the disk of")
        disk = self._files(uuid).disk
        return disk if await asyncio.to_thread(disk.is_file) else None

    # -- NICs and volumes (the work: qemu/hotplug.py) ------------------------------

    async def plug_nics(self, uuid: str, nics: Sequence[NicSpec]) -> None:
        """The recipe's NICs become ``nics`` (a later start has them), and a running or
        paused guest gets them at once: gone ones unplugged first (``device_del``, then
        ``netdev_del`` once the guest let the device go, as Nova's detach waits for
        libvirt's DEVICE_DELETED), new ones hot-plugged after (``netdev_add`` on the tap
        the network side made, ``device_add`` of a virtio NIC with the port's MAC)."""
        check_capability(self, Capability.NIC_HOTPLUG)
        state = await self._require(uuid)
        recipe = await self._recipe_of(uuid)
        if recipe is None:
            raise GuestNotFound(uuid)
        changes = qemu_nics.changes(recipe, nics)
        if not changes:
            return
        live = state in (PowerState.RUNNING, PowerState.PAUSED)
        monitor = await self._monitor(uuid) if live else None
        await qemu_hotplug.plug_nics(monitor, self._files(uuid), recipe, changes)
        LOG.info("guest %s: NICs now %s (%s)", uuid, [n.tap_name for n in nics],
                 "hot-plugged" if monitor is not None else "at its next start")

    async def plug_volumes(self, uuid: str, volumes: Sequence[VolumeSpec],
                           timeout: float = DEVICE_DEL_TIMEOUT) -> None:
        """The recipe's volumes become ``volumes`` (a later start has them), and a
        running or paused guest gets them at once (see :mod:`.volumes`): what the guest
        has is read from QEMU itself, so a volume half plugged or half unplugged by a
        killed agent is finished, never added twice nor left behind."""
        check_capability(self, Capability.VOLUME_ATTACH)
        for volume in volumes:
            qemu_volumes.check(volume)
        state = await self._require(uuid)
        recipe = await self._recipe_of(uuid)
        if recipe is None:
            raise GuestNotFound(uuid)
        live = state in (PowerState.RUNNING, PowerState.PAUSED)
        monitor = await self._monitor(uuid) if live else None
        changed, stuck = await qemu_hotplug.plug_volumes(monitor, self._files(uuid), recipe,
                                                         volumes, timeout)
        if changed:
            LOG.info("guest %s: volumes now %s (%s)", uuid,
                     list(dict.fromkeys(volume.volume_id for volume in volumes)),
                     "hot-plugged" if monitor is not None else "at its next start")
        if stuck is not None:
            raise stuck

    async def extend_volume(self, uuid: str, volume: VolumeSpec, new_size: int) -> None:
        """A running guest's QEMU grows the file and tells the guest (``block_resize``);
        a stopped guest's file is grown with ``qemu-img resize``."""
        check_capability(self, Capability.VOLUME_EXTEND)
        qemu_volumes.check(volume)
        state = await self._require(uuid)
        recipe = await self._recipe_of(uuid)
        if recipe is None or volume.volume_id not in qemu_volumes.in_recipe(recipe.devices):
            raise DriverError(f"volume {volume.volume_id} is not plugged into {uuid}")
        if state in (PowerState.RUNNING, PowerState.PAUSED):
            monitor = await self._monitor(uuid)
            await monitor.execute("block_resize", {
                "node-name": qemu_volumes.node_name(volume.volume_id), "size": new_size})
        else:
            await self.images.run("resize", "-f", volume.format, str(volume.path),
                                  str(new_size))
        LOG.info("guest %s: volume %s grown to %d bytes", uuid, volume.volume_id, new_size)

    # -- console and snapshot ------------------------------------------------------------

    async def console_output(self, uuid: str, max_bytes: int | None = None) -> str:
        check_capability(self, Capability.CONSOLE_LOG)
        await self._require(uuid)
        files = self._files(uuid)
        return await asyncio.to_thread(qemu_consoles.read, files, self.console_max_bytes,
                                       max_bytes)

    async def console_socket(self, uuid: str, kind: ConsoleKind) -> Path:
        check_capability(self, kind.capability)
        state = await self._require(uuid)
        if state not in (PowerState.RUNNING, PowerState.PAUSED):
            raise InvalidGuestState(uuid, state, f"open the {kind} console of")
        files = self._files(uuid)
        path = qemu_consoles.socket_path(files, kind, await self._recipe_of(uuid))
        if path is None:
            raise ConsoleUnavailable(uuid, kind, "the guest was started before its driver "
                                     "gave guests this console; rebuild the server to give "
                                     "it one")
        if not await asyncio.to_thread(Path(path).is_socket):
            raise ConsoleUnavailable(uuid, kind, f"its socket {path} is missing")
        return Path(path)

    async def snapshot(self, uuid: str, dest_path: Path) -> SnapshotFile:
        check_capability(self, Capability.SNAPSHOT)
        state = await self._require(uuid)
        if state == PowerState.NOSTATE:
            raise InvalidGuestState(uuid, state, "snapshot")
        files = self._files(uuid)
        if not files.disk.exists():     # booted from volume: its root is the volume's
            raise DriverError(f"guest {uuid} boots from a volume; snapshot the volume")
        if state not in (PowerState.RUNNING, PowerState.PAUSED):
            size = await self.images.flatten(files.disk, dest_path, force_share=False)
            return SnapshotFile(dest_path, "qcow2", size)
        monitor = await self._monitor(uuid)
        was_paused = monitor.paused
        monitor.quiet |= {"STOP", "RESUME"}
        try:
            if not was_paused:
                await monitor.execute("stop")       # flushes the guest's disks
            size = await self.images.flatten(files.disk, dest_path, force_share=True)
        finally:
            try:
                if not was_paused:
                    await monitor.execute("cont")
            finally:
                monitor.quiet -= {"STOP", "RESUME"}
        return SnapshotFile(dest_path, "qcow2", size)

    # -- housekeeping --------------------------------------------------------------------

    def prune_bases(self, *, now: float | None = None) -> list[str]:
        """Remove converted bases no guest uses and nobody touched for ``base_max_age``."""
        now = time.time() if now is None else now
        used = {recipe.base for uuid in self._uuids()
                for path in (self._files(uuid).recipe, self._files(uuid).rescue_recipe)
                if (recipe := Recipe.load(path)) is not None}
        removed = []
        for path in self.bases.glob("*.qcow2") if self.bases.is_dir() else []:
            with contextlib.suppress(OSError):
                if str(path) not in used and now - path.stat().st_mtime > self.base_max_age:
                    path.unlink()
                    removed.append(path.name)
        return removed


def from_config(host: str, state_dir: Path, options: Mapping[str, Any]) -> QemuDriver:
    """The agent's factory. Options (``compute.*``): ``virt_type``, ``qemu_binary``,
    ``console_max_bytes``, ``force_config_drive``, ``image_cache_max_age``."""
    return QemuDriver(
        host, state_dir, qemu_binary=str(options.get("qemu_binary") or "qemu-system-x86_64"),
        virt_type=str(options.get("virt_type") or "auto"),
        console_max_bytes=int(options.get("console_max_bytes") or CONSOLE_MAX_BYTES),
        force_config_drive=bool(options.get("force_config_drive", False)),
        base_max_age=float(options.get("image_cache_max_age") or 86400))


async def destroy_all_guests(state_dir: Path) -> list[str]:
    """Destroy every QEMU guest kept under ``state_dir`` (for ``ownstack reset``, which
    wipes the state the guests' processes and files belong to). Returns their uuids."""
    root = state_dir / "compute" / "qemu"
    destroyed: list[str] = []
    for host_dir in sorted(root.iterdir()) if root.is_dir() else []:
        driver = QemuDriver(host_dir.name, state_dir, virt_type="qemu")
        await driver.init_host()
        try:
            for guest in await driver.list_guests():
                await driver.destroy(guest.uuid)
                destroyed.append(guest.uuid)
        finally:
            await driver.close()
    return destroyed
