"""The QEMU compute driver: one QEMU process per guest, controlled over QMP.

How a guest is made (:meth:`QemuDriver.spawn`), one timed phase each:

1. ``image_convert`` (only for a non-qcow2 image): the cached base into qcow2, once per host.
2. ``disks``: the base is checked (no backing or data file, a BIOS boot signature) and a
   qcow2 overlay sized to the flavor is made on it.
3. ``config_drive``: the ISO9660 ``config-2`` disk cloud-init reads, when asked for or
   forced by ``compute.force_config_drive``.
4. ``start``: QEMU starts paused (``-S``) with only CPU, memory, serial console, screen
   (VNC on a Unix socket) and QMP on its command line; the disks and NICs are added over
   QMP under our own ids (``disk-root``, ``disk-config``, ``nic-<port>``), then ``cont``;
   a paused spawn stops short of ``cont`` (``PAUSED``: QMP says ``prelaunch``) until ``power_on``.

What it keeps: :mod:`ownstack.compute.drivers.qemu.process` describes the guest directory and
its recipe. Power state is read from the process table and QMP, never remembered: a live
process of the guest is ``RUNNING`` (``PAUSED`` while QMP says stopped, not by us), a guest
whose process is gone is ``SHUTDOWN`` (as Nova reports a killed QEMU), a recipe not yet
``spawned`` is ``NOSTATE``.

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
import os
import shlex
import shutil
import socket
import struct
import time
from collections.abc import AsyncGenerator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from importlib import metadata
from pathlib import Path
from typing import Any

from qemu.qmp import QMPClient, QMPError
from qemu.qmp.protocol import Runstate

from ownstack.compute.drivers.base import (
    Capability,
    ConsoleKind,
    ConsoleUnavailable,
    DetachTimeout,
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
    root_volume,
)
from ownstack.compute.drivers.metadata import config_drive_files
from ownstack.compute.drivers.qemu import host as qemu_host
from ownstack.compute.drivers.qemu import process as proc
from ownstack.compute.drivers.qemu import resize as qemu_resize
from ownstack.compute.drivers.qemu import volumes as qemu_volumes
from ownstack.compute.drivers.qemu.configdrive import write_config_drive
from ownstack.compute.drivers.qemu.images import BaseImage, QemuImg
from ownstack.compute.drivers.qemu.process import GuestFiles, Recipe
from ownstack.compute.states import PowerState

__all__ = ["QemuDriver", "from_config"]

LOG = logging.getLogger(__name__)
EVENT_QUEUE_SIZE = 1024
CONSOLE_MAX_BYTES = 1048576
QMP_CONNECT_TIMEOUT = 10.0
QUIT_TIMEOUT = 5.0
ACPI_RETRY_INTERVAL = 3.0        # seconds between ACPI power-button presses
DEVICE_DEL_TIMEOUT = 30.0        # seconds a guest has to release an unplugged NIC
BASE_PRUNE_INTERVAL = 600.0
MIGRATION_TIMEOUT = 300.0        # seconds a suspend or resume may take to (re)store memory
MIGRATION_POLL = 0.02
# QEMU's run states in which the guest's vCPUs do not run.
_STOPPED_RUNSTATES = frozenset({"paused", "prelaunch", "postmigrate", "finish-migrate",
                                "inmigrate"})


@dataclass(eq=False)
class _Monitor:
    """The QMP connection of one running guest and the task that watches it."""

    uuid: str
    pid: int
    qmp: QMPClient
    paused: bool = False
    task: asyncio.Task[None] | None = None
    quiet: set[str] = field(default_factory=set)   # events we cause ourselves and hide
    # device id -> set when QEMU reports it gone (DEVICE_DELETED: the guest let it go)
    deleted: dict[str, asyncio.Event] = field(default_factory=dict)

    async def execute(self, command: str, arguments: Mapping[str, Any] | None = None) -> Any:
        try:
            return await self.qmp.execute(command, arguments)
        except QMPError as exc:
            raise DriverError(f"QMP {command} on guest {self.uuid} failed: {exc}") from exc


@dataclass(frozen=True)
class _HostView:
    """What the host's files and process table show of one guest."""

    recipe: Recipe | None          # None: not written yet, or half-written by a crash
    pid: int | None
    alive: bool                    # pid is a live QEMU of this guest
    saved: bool = False            # a complete memory.state: suspended once QEMU is gone
    rescue_image: str | None = None     # the image of the rescue boot, if rescued


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
        self._monitors: dict[str, _Monitor] = {}
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
            await self._detach(monitor)
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

    def _look(self, uuid: str) -> _HostView | None:
        """What the host shows of the guest; ``None`` if it has no files. Blocking."""
        files = self._files(uuid)
        if not files.directory.is_dir():
            return None
        pid = proc.read_pid(files)
        rescue = Recipe.load(files.rescue_recipe)
        return _HostView(Recipe.load(files.recipe), pid, proc.pid_alive(pid, uuid),
                         files.memory.exists(), rescue.image_id if rescue else None)

    def _look_all(self) -> list[tuple[str, _HostView]]:
        """:meth:`_look` of every guest, consoles trimmed on the way. Blocking."""
        found = []
        for uuid in self._uuids():
            view = self._look(uuid)
            if view is not None:
                self._trim_console(self._files(uuid))
                found.append((uuid, view))
        return found

    def _state(self, uuid: str, view: _HostView | None) -> PowerState | None:
        """The guest's power state from what the host shows: a recipe not yet spawned is
        ``NOSTATE``, a live QEMU ``RUNNING`` (or ``PAUSED``), a dead one ``SHUTDOWN``."""
        if view is None:
            return None
        if view.recipe is None or not view.recipe.spawned:
            return PowerState.NOSTATE
        if view.alive:
            monitor = self._monitors.get(uuid)
            return PowerState.PAUSED if monitor and monitor.paused else PowerState.RUNNING
        return PowerState.SUSPENDED if view.saved else PowerState.SHUTDOWN

    async def _observe(self, uuid: str) -> PowerState | None:
        return self._state(uuid, await asyncio.to_thread(self._look, uuid))

    async def _require(self, uuid: str) -> PowerState:
        state = await self._observe(uuid)
        if state is None:
            raise GuestNotFound(uuid)
        return state

    async def _recipe_of(self, uuid: str) -> Recipe | None:
        return await asyncio.to_thread(Recipe.load, self._files(uuid).recipe)

    def _info(self, uuid: str, state: PowerState, view: _HostView) -> GuestInfo:
        files = self._files(uuid)
        recipe = view.recipe
        details: dict[str, Any] = {
            "driver": "qemu", "host": self.host, "instance_dir": str(files.directory),
            "pid": view.pid if view.alive else None,
            "qmp_socket": str(files.qmp) if view.alive else None,
            "vnc_socket": _console_path(files, ConsoleKind.VNC, recipe) if view.alive else None,
            "serial_socket": (_console_path(files, ConsoleKind.SERIAL, recipe)
                              if view.alive else None),
            "console_log": str(files.console), "disk": str(files.disk),
            "rescue_image_id": view.rescue_image,
        }
        if recipe is not None:
            details |= {
                "accel": recipe.accel, "backing_file": recipe.base, "image_id": recipe.image_id,
                "config_drive": str(files.config_drive) if recipe.config_drive else None,
                "taps": list(recipe.taps), "command_line": shlex.join(recipe.argv),
                "qmp_devices": [{"execute": cmd, "arguments": args}
                                for cmd, args in recipe.devices],
            }
            details["volumes"] = qemu_volumes.describe(recipe.devices)
        return GuestInfo(uuid, state, details,
                         nics=tuple(_recipe_nics(recipe)) if recipe is not None else None,
                         volumes=tuple(qemu_volumes.in_recipe(recipe.devices))
                         if recipe is not None else None)

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

    async def _attach(self, uuid: str, files: GuestFiles, pid: int) -> _Monitor:
        """Connect to the guest's QMP socket and watch it."""
        if (old := self._monitors.pop(uuid, None)) is not None:
            await self._detach(old)
        qmp = QMPClient(f"guest-{uuid[:8]}")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + QMP_CONNECT_TIMEOUT
        while True:
            try:
                await qmp.connect(str(files.qmp))
                break
            except QMPError as exc:
                if loop.time() >= deadline or not proc.pid_alive(pid, uuid):
                    raise DriverError(f"cannot reach the QMP socket {files.qmp}: {exc}"
                                      ) from exc
                await asyncio.sleep(0.05)
        monitor = _Monitor(uuid, pid, qmp)
        status = await monitor.execute("query-status")
        # "prelaunch": started with -S and never let run (a paused spawn, plugging);
        # the migration states: a suspend or a resume cut short with the agent.
        monitor.paused = status.get("status") in _STOPPED_RUNSTATES
        monitor.task = asyncio.create_task(self._watch(monitor), name=f"qmp-watch-{uuid[:8]}")
        self._monitors[uuid] = monitor
        return monitor

    async def _detach(self, monitor: _Monitor) -> None:
        if monitor.task is not None:
            monitor.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await monitor.task
        with contextlib.suppress(Exception):
            await monitor.qmp.disconnect()

    async def _monitor(self, uuid: str) -> _Monitor:
        """The running guest's QMP connection, reconnecting if it was lost."""
        monitor = self._monitors.get(uuid)
        if monitor is not None and monitor.qmp.runstate == Runstate.RUNNING:
            return monitor
        files = self._files(uuid)
        pid = proc.read_pid(files)
        if not proc.pid_alive(pid, uuid):
            raise InvalidGuestState(uuid, await self._require(uuid), "talk to")
        assert pid is not None
        return await self._attach(uuid, files, pid)

    async def _watch(self, monitor: _Monitor) -> None:
        """Turn QMP events and the end of the connection into power-state nudges."""
        pump = asyncio.create_task(self._pump_events(monitor))
        try:
            while monitor.qmp.runstate == Runstate.RUNNING:
                await monitor.qmp.runstate_changed()
        finally:
            pump.cancel()
        with contextlib.suppress(Exception):
            await monitor.qmp.disconnect()
        # The connection ended on QEMU's side: it exited, or is about to.
        await proc.wait_gone(monitor.pid, monitor.uuid, QUIT_TIMEOUT)
        if self._monitors.get(monitor.uuid) is monitor:
            del self._monitors[monitor.uuid]
        state = await self._observe(monitor.uuid)
        self._notify(monitor.uuid, PowerState.NOSTATE if state is None else state)

    async def _pump_events(self, monitor: _Monitor) -> None:
        async for event in monitor.qmp.events:
            name = event["event"]
            if name in monitor.quiet:
                continue
            if name == "STOP":
                monitor.paused = True
                self._notify(monitor.uuid, PowerState.PAUSED)
            elif name == "RESUME":
                monitor.paused = False
                self._notify(monitor.uuid, PowerState.RUNNING)
            elif name == "GUEST_PANICKED":
                self._notify(monitor.uuid, PowerState.CRASHED)
            elif name == "DEVICE_DELETED":
                data = event.get("data")
                device = str(data.get("device") or "") if isinstance(data, dict) else ""
                if device in monitor.deleted:
                    monitor.deleted[device].set()

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
            base = await self._prepare_base(spec, files, phases)
            if config_drive:
                async with phases.phase(Phase.CONFIG_DRIVE):
                    documents = config_drive_files(spec)
                    await asyncio.to_thread(write_config_drive, files.config_drive, documents)
            recipe = self._recipe(spec, files, base, config_drive)
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

    async def _prepare_base(self, spec: GuestSpec, files: GuestFiles,
                            phases: PhaseTimer) -> BaseImage | None:
        """The image's base and the guest's overlay on it; ``None`` for a guest booted
        from volume (its root disk is the volume's file, plugged with the volumes)."""
        image = spec.image
        if image is None:
            if root_volume(spec) is None:
                raise SpawnFailed("no image and no root volume to boot from",
                                  retryable=False)
            return None
        if image.disk_format != "qcow2":
            async with phases.phase(Phase.IMAGE_CONVERT):
                base, _ = await self.images.base_for(image, self.bases)
        async with phases.phase(Phase.DISKS):
            if image.disk_format == "qcow2":
                base, _ = await self.images.base_for(image, self.bases)
            await self.images.check_bootable(base, image.id, files.directory)
            await self.images.create_overlay(base, files.disk, spec.root_gb, image.id)
        return base

    def _recipe(self, spec: GuestSpec, files: GuestFiles, base: BaseImage | None,
                config_drive: bool) -> Recipe:
        assert self.accel is not None
        uuid = spec.uuid
        kvm = self.accel == qemu_host.Accel.KVM
        smbios = ("type=1,manufacturer=OpenStack Foundation,product=OpenStack Nova,"
                  f"version={_version()},serial={uuid},uuid={uuid},family=Virtual Machine")
        argv = [
            self.qemu_binary, "-name", f"guest=instance-{uuid},debug-threads=on",
            "-uuid", uuid, "-machine", f"pc,accel={self.accel.value},usb=off",
            "-cpu", "host" if kvm else "max", "-m", f"{spec.memory_mb}M",
            "-smp", str(spec.vcpus), "-nodefaults", "-no-user-config", "-display", "none",
            "-smbios", smbios, "-rtc", "base=utc",
            # The serial port is a socket the console proxy joins, and QEMU copies all it
            # writes to console.log, joined or not (the console log keeps working).
            "-chardev", f"socket,id=serial0,path={_opt(files.serial)},server=on,wait=off,"
                        f"logfile={_opt(files.console)},logappend=on",
            "-serial", "chardev:serial0",
            # A screen, served as VNC on a Unix socket only (noVNC's proxy joins it).
            "-vga", "std", "-vnc", f"unix:{_opt(files.vnc)}",
            "-qmp", f"unix:{_opt(files.qmp)},server=on,wait=off",
            "-pidfile", str(files.pidfile), "-daemonize", "-S", "-msg", "timestamp=on",
        ]
        # The root disk first, so the guest names it vda: the image's overlay, or for a
        # guest booted from volume the root volume (its other volumes follow).
        root = root_volume(spec) if base is None else None
        devices: list[tuple[str, dict[str, Any]]] = [
            ("blockdev-add", {"node-name": "root", "driver": "qcow2",
                              "file": {"driver": "file", "filename": str(files.disk)}}),
            ("device_add", {"driver": "virtio-blk-pci", "id": "disk-root", "drive": "root",
                            "bootindex": 0}),
        ] if root is None else []
        if root is not None:
            qemu_volumes.check(root)
            devices += qemu_volumes.commands(root)
        if config_drive:
            devices += [
                ("blockdev-add", {"node-name": "config", "driver": "raw", "read-only": True,
                                  "file": {"driver": "file", "read-only": True,
                                           "filename": str(files.config_drive)}}),
                ("device_add", {"driver": "virtio-blk-pci", "id": "disk-config",
                                "drive": "config"}),
            ]
        for volume in spec.volumes:
            if volume is not root:
                qemu_volumes.check(volume)
                devices += qemu_volumes.commands(volume)
        for index, nic in enumerate(spec.nics):
            devices += _nic_devices(nic, f"net{index}")
        return Recipe(uuid=uuid, name=spec.name, argv=argv, devices=devices,
                      image_id=spec.image.id if spec.image is not None else "",
                      base=str(base.path) if base is not None else "",
                      accel=self.accel.value,
                      taps=[nic.tap_name for nic in spec.nics], config_drive=config_drive)

    async def _start(self, recipe: Recipe, files: GuestFiles, *, paused: bool = False
                     ) -> None:
        """Start QEMU paused, add the devices over QMP, then let the guest run (``cont``)
        unless it is to stay ``paused`` (its ports are not plugged yet)."""
        await asyncio.to_thread(self._trim_console, files)
        try:
            pid = await proc.start_qemu(recipe.argv, files)
            monitor = await self._attach(recipe.uuid, files, pid)
            for command, arguments in recipe.devices:
                await monitor.execute(command, arguments)
            if not paused:
                await monitor.execute("cont")
            monitor.paused = paused
        except BaseException:
            if (monitor_ := self._monitors.pop(recipe.uuid, None)) is not None:
                await self._detach(monitor_)
            await proc.kill(proc.read_pid(files), recipe.uuid)
            raise

    async def _clean_up_failed_spawn(self, uuid: str) -> None:
        """Remove what a failed spawn made. Should that fail too, say what is left behind
        (the destroy of the next attempt, or of the delete, tries again)."""
        try:
            await self._remove(uuid, notify=False)
        except Exception as exc:
            left = await asyncio.to_thread(self._leftovers, uuid)
            LOG.error("guest %s: spawn failed, and removing what it made failed too (%s); "
                      "left behind: %s", uuid, exc, ", ".join(left) or "nothing")

    def _leftovers(self, uuid: str) -> list[str]:
        """What of a guest still exists on the host. Blocking."""
        files = self._files(uuid)
        left = [str(path) for path in (files.directory, *files.sockets, files.pidfile)
                if path.exists()]
        pid = proc.read_pid(files)
        if proc.pid_alive(pid, uuid):
            left.append(f"QEMU pid {pid}")
        return left

    async def destroy(self, uuid: str) -> None:
        await self._remove(uuid, notify=True)

    async def _remove(self, uuid: str, *, notify: bool) -> None:
        files = self._files(uuid)
        if (monitor := self._monitors.pop(uuid, None)) is not None:
            await self._detach(monitor)
        await proc.kill(proc.read_pid(files), uuid)
        existed = files.directory.exists()
        await asyncio.to_thread(_remove_files, files)
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
        await asyncio.to_thread(_remove_rescue, files)
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
        if not await asyncio.to_thread(files.memory.exists):
            was_paused = monitor.paused
            monitor.quiet |= {"STOP", "RESUME"}
            try:
                await self._save_memory(monitor, files)
            except BaseException:
                await asyncio.to_thread(files.memory_partial.unlink, missing_ok=True)
                if not was_paused:
                    with contextlib.suppress(DriverError):
                        await monitor.execute("cont")
                raise
            finally:
                monitor.quiet -= {"STOP", "RESUME"}
        pid = monitor.pid
        with contextlib.suppress(DriverError):
            await monitor.execute("quit")
        if not await proc.wait_gone(pid, uuid, QUIT_TIMEOUT):
            await proc.kill(pid, uuid)
        if (gone := self._monitors.pop(uuid, None)) is not None:
            await self._detach(gone)
        self._notify(uuid, PowerState.SUSPENDED)
        LOG.info("guest %s suspended to %s", uuid, files.memory)

    async def _save_memory(self, monitor: _Monitor, files: GuestFiles) -> None:
        await monitor.execute("stop")
        monitor.paused = True
        with contextlib.suppress(DriverError):      # an earlier attempt, cut short
            await monitor.execute("migrate_cancel")
        await self._wait_migration(monitor, settle_only=True)
        # The stream is mostly zero pages and the guest is stopped: no reason to throttle.
        await monitor.execute("migrate-set-parameters", {"max-bandwidth": 1 << 40})
        fd = await asyncio.to_thread(os.open, files.memory_partial,
                                     os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC,
                                     0o600)
        try:
            await self._pass_fd(monitor, fd, "suspend")
        finally:
            os.close(fd)
        await monitor.execute("migrate", {"uri": "fd:suspend"})
        await self._wait_migration(monitor)
        await asyncio.to_thread(_commit_file, files.memory_partial, files.memory)

    async def _pass_fd(self, monitor: _Monitor, fd: int, name: str) -> None:
        """Give QEMU our ``fd`` under ``name`` (SCM_RIGHTS, then ``getfd``)."""
        with contextlib.suppress(DriverError):      # a name left by an earlier attempt
            await monitor.execute("closefd", {"fdname": name})
        try:
            _send_fd(monitor.qmp, fd)
        except (QMPError, OSError, AttributeError) as exc:
            raise DriverError(f"cannot pass a file to guest {monitor.uuid}: {exc}") from exc
        await monitor.execute("getfd", {"fdname": name})

    async def _wait_migration(self, monitor: _Monitor, *, settle_only: bool = False) -> None:
        """Wait for the migration (a save or a restore) to end; raise unless it completed.
        ``settle_only``: just wait until none is in progress, however it ended."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + MIGRATION_TIMEOUT
        while True:
            info = await monitor.execute("query-migrate")
            status = str(info.get("status") or "none") if isinstance(info, dict) else "none"
            if status in ("completed", "failed", "cancelled", "none"):
                if settle_only or status == "completed":
                    return
                detail = info.get("error-desc") or status
                raise DriverError(f"saving or restoring the memory of guest {monitor.uuid} "
                                  f"failed: {detail}")
            if loop.time() >= deadline:
                raise DriverError(f"saving or restoring the memory of guest {monitor.uuid} "
                                  f"took longer than {MIGRATION_TIMEOUT:g} s ({status})")
            await asyncio.sleep(MIGRATION_POLL)

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
        await self._restore(recipe, files)
        await asyncio.to_thread(files.memory.unlink, missing_ok=True)
        LOG.info("guest %s resumed from its saved memory", uuid)

    async def _restore(self, recipe: Recipe, files: GuestFiles) -> None:
        await asyncio.to_thread(self._trim_console, files)
        try:
            pid = await proc.start_qemu([*recipe.argv, "-incoming", "defer"], files)
            monitor = await self._attach(recipe.uuid, files, pid)
            for command, arguments in recipe.devices:
                await monitor.execute(command, arguments)
            fd = await asyncio.to_thread(os.open, files.memory, os.O_RDONLY | os.O_CLOEXEC)
            try:
                await self._pass_fd(monitor, fd, "resume")
            finally:
                os.close(fd)
            await monitor.execute("migrate-incoming", {"uri": "fd:resume"})
            await self._wait_migration(monitor)
            await monitor.execute("cont")
            monitor.paused = False
        except BaseException:
            await self._remove_process(recipe.uuid, files)
            raise

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
        await asyncio.to_thread(files.memory.unlink, missing_ok=True)
        await asyncio.to_thread(_remove_rescue, files)
        base, _ = await self.images.base_for(image, self.bases)
        await self.images.create_overlay(base, files.rescue_disk, 0, image.id)
        rescue = _rescue_recipe(recipe, files, base, image.id)
        await asyncio.to_thread(rescue.save, files.rescue_recipe)
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
        await asyncio.to_thread(_remove_rescue, files)
        await self.power_on(uuid)
        LOG.info("guest %s unrescued: booting its own disk", uuid)

    async def _remove_process(self, uuid: str, files: GuestFiles) -> None:
        """End the guest's QEMU process (its files stay)."""
        if (monitor := self._monitors.pop(uuid, None)) is not None:
            await self._detach(monitor)
        await proc.kill(proc.read_pid(files), uuid)
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

    # -- console and snapshot ------------------------------------------------------------

    def _trim_console(self, files: GuestFiles) -> None:
        """Keep the console log under its cap: the newest half of the cap stays.

        QEMU appends (``append=on`` opens it ``O_APPEND``), so its next write lands at the
        new end after the rewrite.
        """
        try:
            if files.console.stat().st_size <= self.console_max_bytes:
                return
            with files.console.open("r+b") as f:
                keep = self.console_max_bytes // 2
                f.seek(-keep, 2)
                tail = f.read()
                f.seek(0)
                f.write(tail)
                f.truncate(len(tail))
        except OSError:
            return

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
        wanted = {nic.port_id: nic for nic in nics}
        have = _recipe_nics(recipe)
        gone = [port_id for port_id in have if port_id not in wanted]
        new = [nic for nic in nics if nic.port_id not in have]
        if not gone and not new:
            return
        live = state in (PowerState.RUNNING, PowerState.PAUSED)
        monitor = await self._monitor(uuid) if live else None
        for port_id in gone:
            device = f"nic-{port_id}"
            netdev = _netdev_of(recipe, device)
            if monitor is not None:
                await self._unplug_device(monitor, device)
                if netdev is not None:
                    with contextlib.suppress(DriverError):    # gone with its device
                        await monitor.execute("netdev_del", {"id": netdev})
            recipe.devices = [(cmd, args) for cmd, args in recipe.devices
                              if args.get("id") not in (device, netdev)]
            await asyncio.to_thread(recipe.save, self._files(uuid).recipe)
        for nic in new:
            added = _nic_devices(nic, f"net-{nic.port_id}")
            if monitor is not None:
                for command, arguments in added:
                    await monitor.execute(command, arguments)
            recipe.devices += added
            await asyncio.to_thread(recipe.save, self._files(uuid).recipe)
        recipe.taps = [wanted[port_id].tap_name for port_id in _recipe_nics(recipe)]
        await asyncio.to_thread(recipe.save, self._files(uuid).recipe)
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
        wanted = {volume.volume_id: volume for volume in volumes}
        live = state in (PowerState.RUNNING, PowerState.PAUSED)
        monitor = await self._monitor(uuid) if live else None
        present = await qemu_volumes.present(monitor.execute) if monitor else None
        have = qemu_volumes.in_recipe(recipe.devices)
        gone = [v for v in dict.fromkeys([*have, *(present.volume_ids if present else ())])
                if v not in wanted]
        stuck: DetachTimeout | None = None
        save = self._files(uuid).recipe
        for volume_id in gone:
            if monitor is not None and present is not None:
                device, node = qemu_volumes.device_id(volume_id), present.node_of(volume_id)
                if device in present.devices and not await self._release(
                        monitor, device, timeout):
                    stuck = stuck or DetachTimeout(uuid, volume_id, timeout)
                    continue
                if node is not None:
                    await monitor.execute("blockdev-del", {"node-name": node})
            recipe.devices = qemu_volumes.without(recipe.devices, volume_id)
            await asyncio.to_thread(recipe.save, save)
        if monitor is not None and present is not None:
            await self._drop_stray_nodes(monitor, present, wanted, stuck)
        for volume in volumes:
            added = qemu_volumes.commands(volume)
            if monitor is not None and present is not None:
                for command, arguments in added:
                    if not present.has(command, arguments):
                        await monitor.execute(command, arguments)
            if volume.volume_id not in have:
                recipe.devices += added
                await asyncio.to_thread(recipe.save, save)
        if gone or any(v not in have for v in wanted):
            LOG.info("guest %s: volumes now %s (%s)", uuid, list(wanted),
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

    async def _drop_stray_nodes(self, monitor: _Monitor, present: qemu_volumes.Present,
                                wanted: Mapping[str, VolumeSpec],
                                stuck: DetachTimeout | None) -> None:
        """Volume nodes with no device that no volume wants: an agent killed between
        ``blockdev-add`` and ``device_add`` of an attach that then failed."""
        keep = {qemu_volumes.node_name(v) for v in wanted}
        keep |= {qemu_volumes.node_name(v) for v in present.volume_ids}
        if stuck is not None:
            keep.add(qemu_volumes.node_name(stuck.volume_id))
        for node in sorted(present.nodes - keep):
            with contextlib.suppress(DriverError):
                await monitor.execute("blockdev-del", {"node-name": node})

    async def _unplug_device(self, monitor: _Monitor, device: str) -> None:
        """``device_del``, and wait for the guest to let the device go."""
        if not await self._release(monitor, device, DEVICE_DEL_TIMEOUT):
            raise DriverError(f"guest {monitor.uuid} did not release {device} within "
                              f"{DEVICE_DEL_TIMEOUT:g} s")

    async def _release(self, monitor: _Monitor, device: str, timeout: float) -> bool:
        """``device_del``, and wait up to ``timeout`` seconds for the guest to let the
        device go (QEMU's ``DEVICE_DELETED``); whether it did (or it was gone already)."""
        gone = monitor.deleted.setdefault(device, asyncio.Event())
        try:
            try:
                await monitor.execute("device_del", {"id": device})
            except DriverError as exc:
                if "not found" in str(exc).lower():
                    return True                          # already gone
                raise
            try:
                await asyncio.wait_for(gone.wait(), timeout)
            except TimeoutError:
                return False
            return True
        finally:
            monitor.deleted.pop(device, None)

    async def console_output(self, uuid: str, max_bytes: int | None = None) -> str:
        check_capability(self, Capability.CONSOLE_LOG)
        await self._require(uuid)
        files = self._files(uuid)
        return await asyncio.to_thread(self._read_console, files, max_bytes)

    def _read_console(self, files: GuestFiles, max_bytes: int | None) -> str:
        """Blocking (up to ``console_max_bytes`` of file): run in a thread."""
        self._trim_console(files)
        try:
            with files.console.open("rb") as f:
                size = f.seek(0, 2)
                f.seek(max(0, size - max_bytes) if max_bytes is not None else 0)
                data = f.read()
        except FileNotFoundError:
            data = b""
        return data.decode(errors="replace")

    async def console_socket(self, uuid: str, kind: ConsoleKind) -> Path:
        check_capability(self, kind.capability)
        state = await self._require(uuid)
        if state not in (PowerState.RUNNING, PowerState.PAUSED):
            raise InvalidGuestState(uuid, state, f"open the {kind} console of")
        files = self._files(uuid)
        path = _console_path(files, kind, await self._recipe_of(uuid))
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


def _remove_files(files: GuestFiles) -> None:
    """Remove a guest's directory and run-time files; what cannot be removed is logged,
    and the rest is removed all the same. Blocking."""
    def failed(_function: Any, path: str, exc_info: Any) -> None:
        LOG.error("guest %s: cannot remove %s: %s", files.uuid, path, exc_info[1])

    if files.directory.exists():
        shutil.rmtree(files.directory, onerror=failed)
    for path in (*files.sockets, files.pidfile):
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            LOG.error("guest %s: cannot remove %s: %s", files.uuid, path, exc)


def _remove_rescue(files: GuestFiles) -> None:
    """The rescue's recipe first (the mark of a rescued guest), then its disk. Blocking."""
    files.rescue_recipe.unlink(missing_ok=True)
    files.rescue_disk.unlink(missing_ok=True)


def _rescue_recipe(recipe: Recipe, files: GuestFiles, base: BaseImage, image_id: str
                   ) -> Recipe:
    """``recipe`` booting the rescue disk: added first (so the guest sees it as its first
    disk) with boot index 0, the guest's own root disk moved to boot index 1."""
    devices: list[tuple[str, dict[str, Any]]] = [
        ("blockdev-add", {"node-name": "rescue", "driver": "qcow2",
                          "file": {"driver": "file", "filename": str(files.rescue_disk)}}),
        ("device_add", {"driver": "virtio-blk-pci", "id": "disk-rescue", "drive": "rescue",
                        "bootindex": 0}),
    ]
    for command, arguments in recipe.devices:
        if command == "device_add" and arguments.get("id") == "disk-root":
            arguments = {**arguments, "bootindex": 1}
        devices.append((command, arguments))
    return replace(recipe, devices=devices, image_id=image_id, base=str(base.path),
                   spawned=True)


def _send_fd(qmp: QMPClient, fd: int) -> None:
    """Send ``fd`` to QEMU over the QMP socket (SCM_RIGHTS, with one byte of whitespace),
    for the next ``getfd``. ``QMPClient.send_fd_scm`` reaches for the asyncio socket's
    private ``_sock``, which uvloop's transports do not have: a duplicate of the socket's
    descriptor sends it instead, between two commands, when nothing else is in flight."""
    writer = qmp._writer        # private, as qemu.qmp's own send_fd_scm reads it
    if writer is None:
        raise DriverError("the QMP connection is closed")
    transport_socket = writer.transport.get_extra_info("socket")
    with socket.socket(fileno=os.dup(transport_socket.fileno())) as sock:
        sock.sendmsg([b" "], [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                               struct.pack("@i", fd))])


def _commit_file(partial: Path, final: Path) -> None:
    """Make ``partial`` durable, then ``final``, atomically. Blocking."""
    fd = os.open(partial, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(partial, final)
    directory = os.open(final.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
def _console_path(files: GuestFiles, kind: ConsoleKind, recipe: Recipe | None) -> str | None:
    """Where the guest's ``kind`` console listens, if its command line made one (a guest
    adopted from before consoles has none until it is rebuilt)."""
    path = files.vnc if kind is ConsoleKind.VNC else files.serial
    if recipe is None or not any(_opt(path) in arg for arg in recipe.argv):
        return None
    return str(path)


def _version() -> str:
    try:
        return metadata.version("ownstack")
    except metadata.PackageNotFoundError:
        return "0"


def _opt(path: Path) -> str:
    """A path inside a QEMU option value: commas are doubled."""
    return str(path).replace(",", ",,")


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


def _nic_devices(nic: NicSpec, netdev: str) -> list[tuple[str, dict[str, Any]]]:
    """The QMP commands that give a guest ``nic``: QEMU opens the port's tap (the network
    side made it, on its bridge) and a virtio NIC with the port's MAC uses it."""
    return [
        ("netdev_add", {"type": "tap", "id": netdev, "ifname": nic.tap_name,
                        "script": "no", "downscript": "no"}),
        ("device_add", {"driver": "virtio-net-pci", "id": f"nic-{nic.port_id}",
                        "netdev": netdev, "mac": nic.mac}
         | ({"host_mtu": nic.mtu} if nic.mtu != 1500 else {})),
    ]


def _recipe_nics(recipe: Recipe) -> list[str]:
    """The port ids of the recipe's NICs, in order."""
    return [str(args["id"]).removeprefix("nic-") for command, args in recipe.devices
            if command == "device_add" and str(args.get("id", "")).startswith("nic-")]


def _netdev_of(recipe: Recipe, device: str) -> str | None:
    return next((str(args["netdev"]) for command, args in recipe.devices
                 if command == "device_add" and args.get("id") == device), None)
