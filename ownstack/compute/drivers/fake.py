"""The fake compute driver: guests in memory, the same contract as QEMU.

Cheap enough for a hundred simulated hosts with a thousand guests in one process: a guest
is a small object and a capped console buffer; nothing runs per guest.

The *machine* and the *driver* are separate, as a QEMU host and its agent are: a
:class:`FakeHypervisor` holds the guests, and a :class:`FakeComputeDriver` drives one. A new
driver on the same hypervisor (an agent restart) adopts the guests, and the hypervisor's
knobs change guests behind the agent's back.

Knobs for tests:

* host resources, capabilities (any flag may be turned off), ``spawn_delay``;
* :meth:`FakeComputeDriver.fail_next_spawn`: the next spawn fails in a given phase, after
  making its partial guest, so the cleanup postcondition is exercised;
* :meth:`FakeHypervisor.stop_behind_back` (the QEMU process was killed: ``SHUTDOWN``, as
  Nova reports it), :meth:`FakeHypervisor.crash` (the guest panicked: ``CRASHED``);
* :meth:`FakeHypervisor.ignore_acpi`: the guest ignores ACPI, so soft operations wait their
  timeout and fall back to force;
* :meth:`FakeHypervisor.hold_volume`: the guest does not release a volume's device, so
  unplugging it waits its timeout and raises :class:`DetachTimeout`.

The console prints boot markers, with the hostname the config drive carries.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncGenerator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ownstack.common.booleans import bool_from_string
from ownstack.compute.drivers.base import (
    Capability,
    ComputeDriver,
    ConsoleKind,
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
    Unsupported,
    VolumeSpec,
    check_capability,
    root_volume,
)
from ownstack.compute.states import PowerState

__all__ = ["FakeComputeDriver", "FakeGuest", "FakeHypervisor", "from_config"]

QCOW2_MAGIC = b"QFI\xfb"
# Interactive consoles need a socket a proxy can join: a fake guest has none, so these flags
# are always off (the console API answers 400 "Unavailable console type").
_NO_SOCKETS = frozenset({Capability.CONSOLE_VNC, Capability.CONSOLE_SERIAL})
DEFAULT_RESOURCES = HostResources(
    vcpus=8, memory_mb=16384, disk_gb=200, hypervisor_type="fake", hypervisor_version=1000,
    traits=frozenset({"COMPUTE_IMAGE_TYPE_QCOW2", "COMPUTE_IMAGE_TYPE_RAW"}))
EVENT_QUEUE_SIZE = 1024
CONSOLE_MAX_BYTES = 16384


@dataclass(slots=True)
class FakeGuest:
    spec: GuestSpec
    power_state: PowerState = PowerState.NOSTATE
    boots: int = 0
    ignores_acpi: bool = False
    last_stop: str = ""
    rescue_image: ImageRef | None = None
    console: bytearray = field(default_factory=bytearray)
    held_volumes: set[str] = field(default_factory=set)    # hold_volume(): not released
    # hold_volume(requests=N): the unplug requests a held volume still ignores
    hold_requests: dict[str, int] = field(default_factory=dict)
    volume_sizes: dict[str, int] = field(default_factory=dict)     # extend_volume()'s
    kept: GuestSpec | None = None      # the pre-resize guest, until confirm or revert


class FakeHypervisor:
    """The simulated machine: its guests outlive any one driver (agent) attached to it."""

    def __init__(self, host: str = "fake-host", resources: HostResources = DEFAULT_RESOURCES,
                 *, console_max_bytes: int = CONSOLE_MAX_BYTES) -> None:
        self.host = host
        self.resources = resources
        self.console_max_bytes = console_max_bytes
        self.guests: dict[str, FakeGuest] = {}
        self.subscribers: set[asyncio.Queue[GuestEvent | None]] = set()

    # -- behind the agent's back ---------------------------------------------------------

    def stop_behind_back(self, uuid: str) -> None:
        """The hypervisor process died (killed, OOM): the guest is ``SHUTDOWN``."""
        guest = self.get(uuid)
        self.write_console(guest, "qemu-system-x86_64: terminating on signal 9\n")
        guest.last_stop = "killed"
        self.set_state(guest, PowerState.SHUTDOWN)

    def crash(self, uuid: str) -> None:
        """The guest kernel panicked: ``CRASHED``."""
        guest = self.get(uuid)
        self.write_console(guest, "Kernel panic - not syncing: ownstack fake crash\n")
        guest.last_stop = "crashed"
        self.set_state(guest, PowerState.CRASHED)

    def ignore_acpi(self, uuid: str, ignore: bool = True) -> None:
        """Make the guest ignore ACPI power-button and reboot requests."""
        self.get(uuid).ignores_acpi = ignore

    def hold_volume(self, uuid: str, volume_id: str, hold: bool = True, *,
                    requests: int | None = None) -> None:
        """Make the guest keep (or release again) the device of ``volume_id``; with
        ``requests``, for that many unplug requests only, as a guest still booting misses
        the first ones and answers a later one."""
        guest = self.get(uuid)
        guest.hold_requests.pop(volume_id, None)
        if hold:
            guest.held_volumes.add(volume_id)
            if requests is not None:
                guest.hold_requests[volume_id] = requests
        else:
            guest.held_volumes.discard(volume_id)

    # -- shared with the driver ----------------------------------------------------------

    def get(self, uuid: str) -> FakeGuest:
        try:
            return self.guests[uuid]
        except KeyError:
            raise GuestNotFound(uuid) from None

    def set_state(self, guest: FakeGuest, state: PowerState) -> None:
        if guest.power_state != state:
            guest.power_state = state
            self.notify(guest.spec.uuid, state)

    def notify(self, uuid: str, state: PowerState) -> None:
        event = GuestEvent(uuid, state)
        for queue in self.subscribers:
            if not queue.full():    # a nudge: a missed one is repaired by the resync
                queue.put_nowait(event)

    def write_console(self, guest: FakeGuest, text: str) -> None:
        guest.console += text.encode()
        excess = len(guest.console) - self.console_max_bytes
        if excess > 0:
            del guest.console[:excess]

    def boot(self, guest: FakeGuest) -> None:
        """Start the guest, printing the boot markers the test image prints."""
        guest.boots += 1
        spec = guest.spec
        lines = [f"[    0.000000] Linux version 6.1.0-fake (ownstack fake driver) boot "
                 f"{guest.boots}",
                 f"[    0.000000] Memory: {spec.memory_mb * 1024}K/{spec.memory_mb * 1024}K "
                 f"available", f"[    0.100000] smp: Brought up 1 node, {spec.vcpus} CPUs",
                 f"ownstack: instance {spec.uuid}"]
        if spec.config_drive:
            lines.append("ownstack: config drive found (config-2)")
            hostname = spec.hostname
            if spec.key_data:
                lines.append(f"ownstack: ssh key {spec.key_name or ''} installed for root")
        else:
            lines.append("ownstack: no config drive, no metadata service")
            hostname = "localhost"
        lines += [f"ownstack: hostname {hostname}", f"ownstack: login ready on {hostname}",
                  f"{hostname} login: "]
        self.write_console(guest, "\n".join(lines) + "\n")
        self.set_state(guest, PowerState.RUNNING)


_HYPERVISORS: dict[tuple[str, str], FakeHypervisor] = {}


@dataclass(frozen=True, slots=True)
class _SpawnFault:
    reason: str
    phase: Phase
    retryable: bool


class FakeComputeDriver:
    """A :class:`~ownstack.compute.drivers.base.ComputeDriver` over a :class:`FakeHypervisor`."""

    name = "fake"

    def __init__(self, hypervisor: FakeHypervisor | None = None, *,
                 capabilities: Mapping[str, bool] | None = None, spawn_delay: float = 0.0,
                 check_image_files: bool = True) -> None:
        self.hypervisor = hypervisor or FakeHypervisor()
        caps = {c.value: c not in _NO_SOCKETS for c in Capability}
        for key, value in (capabilities or {}).items():
            if key not in caps:
                raise ValueError(f"unknown capability {key!r}")
            if value and key in _NO_SOCKETS:
                raise ValueError(f"the fake hypervisor has no console sockets: {key}")
            caps[key] = bool(value)
        self._capabilities: Mapping[str, bool] = caps
        self.spawn_delay = spawn_delay
        self.check_image_files = check_image_files
        self._faults: list[_SpawnFault] = []
        self._queues: set[asyncio.Queue[GuestEvent | None]] = set()

    @property
    def capabilities(self) -> Mapping[str, bool]:
        return self._capabilities

    # -- knobs ---------------------------------------------------------------------------

    def fail_next_spawn(self, reason: str = "injected spawn failure", *,
                        phase: Phase = Phase.START, retryable: bool = True) -> None:
        """Make the next spawn fail in ``phase`` (``DISKS`` or ``START``, always performed).

        Calls queue up: two calls fail the next two spawns.
        """
        if phase not in (Phase.DISKS, Phase.START):
            raise ValueError("a fake spawn always performs only the disks and start phases")
        self._faults.append(_SpawnFault(reason, phase, retryable))

    def stop_behind_back(self, uuid: str) -> None:
        self.hypervisor.stop_behind_back(uuid)

    def crash(self, uuid: str) -> None:
        self.hypervisor.crash(uuid)

    # -- lifecycle -----------------------------------------------------------------------

    async def init_host(self) -> None:
        """Nothing to probe: the hypervisor's guests are adopted as they are."""

    async def close(self) -> None:
        for queue in self._queues:
            self.hypervisor.subscribers.discard(queue)
            if queue.full():        # the consumer lags: make room for the end marker
                queue.get_nowait()
            queue.put_nowait(None)
        self._queues.clear()

    async def host_resources(self) -> HostResources:
        return self.hypervisor.resources

    # -- observation ---------------------------------------------------------------------

    def _info(self, guest: FakeGuest) -> GuestInfo:
        spec = guest.spec
        return GuestInfo(spec.uuid, guest.power_state, {
            "driver": "fake", "host": self.hypervisor.host, "name": spec.name,
            "vcpus": spec.vcpus, "memory_mb": spec.memory_mb, "root_gb": spec.root_gb,
            "image_id": spec.image.id if spec.image else "",
            "root_volume": root.volume_id if (root := root_volume(spec)) else None,
            "config_drive": spec.config_drive,
            "taps": [nic.tap_name for nic in spec.nics], "boots": guest.boots,
            "last_stop": guest.last_stop, "console_bytes": len(guest.console),
            "volumes": [{"volume_id": v.volume_id, "path": str(v.path), "format": v.format,
                         "serial": v.serial, "read_only": v.read_only,
                         "size": guest.volume_sizes.get(v.volume_id)}
                        for v in spec.volumes],
            "resize_kept": guest.kept is not None,
            "rescue_image_id": guest.rescue_image.id if guest.rescue_image else None},
            nics=tuple(nic.port_id for nic in spec.nics)
            if self._capabilities[Capability.NIC_HOTPLUG.value] else None,
            volumes=tuple(v.volume_id for v in spec.volumes)
            if self._capabilities[Capability.VOLUME_ATTACH.value] else None)

    async def list_guests(self) -> list[GuestInfo]:
        return [self._info(guest) for guest in self.hypervisor.guests.values()]

    async def get_info(self, uuid: str) -> GuestInfo:
        return self._info(self.hypervisor.get(uuid))

    async def events(self) -> AsyncGenerator[GuestEvent, None]:
        queue: asyncio.Queue[GuestEvent | None] = asyncio.Queue(EVENT_QUEUE_SIZE)
        self._queues.add(queue)
        self.hypervisor.subscribers.add(queue)
        try:
            while (event := await queue.get()) is not None:
                yield event
        finally:
            self._queues.discard(queue)
            self.hypervisor.subscribers.discard(queue)

    # -- spawn and destroy ---------------------------------------------------------------

    async def spawn(self, spec: GuestSpec, phases: PhaseTimer, *, paused: bool = False
                    ) -> None:
        if spec.config_drive:
            check_capability(self, Capability.CONFIG_DRIVE)
        if spec.volumes:
            check_capability(self, Capability.VOLUME_ATTACH)
        guests = self.hypervisor.guests
        if spec.uuid in guests:
            raise InvalidGuestState(spec.uuid, guests[spec.uuid].power_state, "spawn")
        fault = self._faults.pop(0) if self._faults else None
        guest = guests[spec.uuid] = FakeGuest(spec)     # listed as NOSTATE while half-made
        try:
            async with phases.phase(Phase.DISKS):
                if spec.image is None and root_volume(spec) is None:
                    raise SpawnFailed("no image and no root volume to boot from",
                                      retryable=False)
                if self.check_image_files and spec.image is not None \
                        and (problem := _image_problem(spec.image)):
                    raise SpawnFailed(problem, retryable=False)
                _inject(fault, Phase.DISKS)
            if spec.config_drive:
                async with phases.phase(Phase.CONFIG_DRIVE):
                    pass
            if spec.nics:
                async with phases.phase(Phase.PLUG_VIFS):
                    pass
            async with phases.phase(Phase.START):
                if self.spawn_delay:
                    await asyncio.sleep(self.spawn_delay)
                _inject(fault, Phase.START)
                if paused:
                    self.hypervisor.set_state(guest, PowerState.PAUSED)
                else:
                    self.hypervisor.boot(guest)
        except BaseException as exc:
            if guests.get(spec.uuid) is guest:
                del guests[spec.uuid]
                self.hypervisor.notify(spec.uuid, PowerState.NOSTATE)
            if isinstance(exc, SpawnFailed) or not isinstance(exc, Exception):
                raise       # SpawnFailed, or a cancellation: cleaned up, passed on
            raise SpawnFailed(f"{type(exc).__name__}: {exc}") from exc

    async def destroy(self, uuid: str) -> None:
        if self.hypervisor.guests.pop(uuid, None) is not None:
            self.hypervisor.notify(uuid, PowerState.NOSTATE)

    async def plug_nics(self, uuid: str, nics: Sequence[NicSpec]) -> None:
        """The guest's taps become ``nics`` (its spec records them); power unchanged."""
        check_capability(self, Capability.NIC_HOTPLUG)
        guest = self.hypervisor.get(uuid)
        guest.spec = replace(guest.spec, nics=tuple(nics))

    async def plug_volumes(self, uuid: str, volumes: Sequence[VolumeSpec],
                           timeout: float = 30.0) -> None:
        """The guest's volumes become ``volumes`` (its spec records them); power unchanged.
        A running guest holding a device to be unplugged keeps it after ``timeout``."""
        check_capability(self, Capability.VOLUME_ATTACH)
        guest = self.hypervisor.get(uuid)
        wanted = {v.volume_id for v in volumes}
        stuck = [v for v in guest.spec.volumes if v.volume_id not in wanted
                 and v.volume_id in guest.held_volumes
                 and guest.power_state == PowerState.RUNNING]
        if stuck:
            await asyncio.sleep(timeout)
            for volume in stuck:        # one more request ignored
                left = guest.hold_requests.get(volume.volume_id)
                if left is not None and left <= 1:
                    self.hypervisor.hold_volume(uuid, volume.volume_id, hold=False)
                elif left is not None:
                    guest.hold_requests[volume.volume_id] = left - 1
        guest.spec = replace(guest.spec, volumes=(*volumes, *stuck))
        if stuck:
            raise DetachTimeout(uuid, stuck[0].volume_id, timeout)

    async def extend_volume(self, uuid: str, volume: VolumeSpec, new_size: int) -> None:
        """The guest's volume is ``new_size`` bytes (details show it)."""
        check_capability(self, Capability.VOLUME_EXTEND)
        guest = self.hypervisor.get(uuid)
        if volume.volume_id not in {v.volume_id for v in guest.spec.volumes}:
            raise DriverError(f"volume {volume.volume_id} is not plugged into {uuid}")
        guest.volume_sizes[volume.volume_id] = new_size

    # -- power ---------------------------------------------------------------------------

    async def power_off(self, uuid: str, timeout: float = 60.0) -> None:
        guest = self.hypervisor.get(uuid)
        if guest.power_state == PowerState.SHUTDOWN:
            return
        if guest.power_state == PowerState.SUSPENDED:
            guest.last_stop = "saved state discarded"
        elif guest.power_state == PowerState.RUNNING and not guest.ignores_acpi:
            self.hypervisor.write_console(guest, "reboot: Power down\n")
            guest.last_stop = "acpi"
        else:
            if guest.power_state == PowerState.RUNNING:
                await asyncio.sleep(timeout)
            guest.last_stop = "forced"
        self.hypervisor.set_state(guest, PowerState.SHUTDOWN)

    async def power_on(self, uuid: str) -> None:
        guest = self.hypervisor.get(uuid)
        if guest.power_state == PowerState.RUNNING:
            return
        if guest.power_state == PowerState.NOSTATE:
            raise InvalidGuestState(uuid, guest.power_state, "power on")
        guest.rescue_image = None       # a rescued guest started again boots its own disk
        self.hypervisor.boot(guest)

    async def reboot(self, uuid: str, hard: bool, timeout: float = 60.0) -> None:
        guest = self.hypervisor.get(uuid)
        if not hard:
            check_capability(self, Capability.REBOOT_SOFT)
            if guest.power_state != PowerState.RUNNING:
                raise InvalidGuestState(uuid, guest.power_state, "soft reboot")
            if guest.ignores_acpi:
                await asyncio.sleep(timeout)
            else:
                self.hypervisor.write_console(guest, "reboot: Restarting system\n")
        elif guest.power_state == PowerState.NOSTATE:
            raise InvalidGuestState(uuid, guest.power_state, "hard reboot")
        guest.power_state = PowerState.SHUTDOWN     # a reset: no event for the blink
        self.hypervisor.boot(guest)

    # -- pause and suspend ---------------------------------------------------------------

    async def pause(self, uuid: str) -> None:
        check_capability(self, Capability.PAUSE)
        guest = self._in_state(uuid, "pause", PowerState.RUNNING, PowerState.PAUSED)
        self.hypervisor.set_state(guest, PowerState.PAUSED)

    async def unpause(self, uuid: str) -> None:
        check_capability(self, Capability.PAUSE)
        guest = self._in_state(uuid, "unpause", PowerState.RUNNING, PowerState.PAUSED)
        self.hypervisor.set_state(guest, PowerState.RUNNING)    # on where it was: no boot

    async def suspend(self, uuid: str) -> None:
        """The memory "saved" is the guest object itself: its console and boot count stay."""
        check_capability(self, Capability.SUSPEND)
        guest = self._in_state(uuid, "suspend", PowerState.RUNNING, PowerState.PAUSED,
                               PowerState.SUSPENDED)
        self.hypervisor.set_state(guest, PowerState.SUSPENDED)

    async def resume(self, uuid: str) -> None:
        check_capability(self, Capability.SUSPEND)
        guest = self._in_state(uuid, "resume", PowerState.RUNNING, PowerState.SUSPENDED)
        self.hypervisor.set_state(guest, PowerState.RUNNING)    # on where it was: no boot

    async def rescue(self, uuid: str, image: ImageRef) -> None:
        check_capability(self, Capability.RESCUE)
        guest = self.hypervisor.get(uuid)
        if guest.power_state == PowerState.NOSTATE:
            raise InvalidGuestState(uuid, guest.power_state, "rescue")
        if guest.rescue_image == image and guest.power_state == PowerState.RUNNING:
            return
        guest.rescue_image = image
        guest.power_state = PowerState.SHUTDOWN     # destroyed at once: no event
        self.hypervisor.boot(guest)

    async def unrescue(self, uuid: str) -> None:
        check_capability(self, Capability.RESCUE)
        guest = self.hypervisor.get(uuid)
        if guest.rescue_image is None and guest.power_state == PowerState.RUNNING:
            return
        guest.rescue_image = None
        guest.power_state = PowerState.SHUTDOWN
        self.hypervisor.boot(guest)

    def _in_state(self, uuid: str, operation: str, *allowed: PowerState) -> FakeGuest:
        guest = self.hypervisor.get(uuid)
        if guest.power_state not in allowed:
            raise InvalidGuestState(uuid, guest.power_state, operation)
        return guest
    # -- resize --------------------------------------------------------------------------

    async def resize(self, uuid: str, size: GuestSize, timeout: float = 60.0) -> None:
        check_capability(self, Capability.RESIZE)
        guest = self.hypervisor.get(uuid)
        await self.power_off(uuid, timeout)
        if guest.kept is None:
            guest.kept = guest.spec
        guest.spec = replace(guest.spec, vcpus=size.vcpus, memory_mb=size.memory_mb,
                             root_gb=max(guest.spec.root_gb, size.root_gb))

    async def confirm_resize(self, uuid: str) -> None:
        guest = self.hypervisor.guests.get(uuid)
        if guest is not None:
            guest.kept = None

    async def revert_resize(self, uuid: str, size: GuestSize, timeout: float = 60.0
                            ) -> None:
        guest = self.hypervisor.get(uuid)
        await self.power_off(uuid, timeout)
        base = guest.kept or guest.spec
        guest.spec = replace(base, vcpus=size.vcpus, memory_mb=size.memory_mb,
                             nics=guest.spec.nics)
        guest.kept = None

    async def disk_to_move(self, uuid: str) -> Path | None:
        """A fake guest has no disk file, so there is never one to move (not even for a
        guest lost with its fake node's process): its destination spawns from the image,
        as before disks moved."""
        return None

    # -- console and snapshot ------------------------------------------------------------

    async def console_output(self, uuid: str, max_bytes: int | None = None) -> str:
        check_capability(self, Capability.CONSOLE_LOG)
        console = self.hypervisor.get(uuid).console
        data = console if max_bytes is None else console[max(0, len(console) - max_bytes):]
        return bytes(data).decode(errors="replace")

    async def console_socket(self, uuid: str, kind: ConsoleKind) -> Path:
        """Never: a fake guest has no screen and no serial port to connect to."""
        self.hypervisor.get(uuid)
        raise Unsupported(kind.capability.value)

    async def snapshot(self, uuid: str, dest_path: Path) -> SnapshotFile:
        check_capability(self, Capability.SNAPSHOT)
        spec = self.hypervisor.get(uuid).spec
        if spec.image is None:      # booted from volume: its root is the volume's
            raise DriverError(f"guest {uuid} boots from a volume; snapshot the volume")
        size = await asyncio.to_thread(_copy, spec.image.path, dest_path)
        return SnapshotFile(dest_path, spec.image.disk_format, size)


def _copy(source: Path, dest: Path) -> int:
    shutil.copyfile(source, dest)
    return dest.stat().st_size


def _inject(fault: _SpawnFault | None, phase: Phase) -> None:
    if fault is not None and fault.phase == phase:
        raise SpawnFailed(fault.reason, retryable=fault.retryable)


def _image_problem(image: ImageRef) -> str | None:
    """Why the base file cannot boot, checked as cheaply as QEMU would find out."""
    try:
        with image.path.open("rb") as f:
            head = f.read(4)
    except OSError as exc:
        return f"image {image.id} is not readable in the cache: {exc.strerror}"
    if image.disk_format == "qcow2" and head != QCOW2_MAGIC:
        return f"image {image.id} is not a qcow2 disk"
    return None


def from_config(host: str, state_dir: Path, options: Mapping[str, Any]) -> ComputeDriver:
    """The agent's factory. Options: ``vcpus``, ``memory_mb``, ``disk_gb``, ``spawn_delay``,
    ``check_image_files``, ``console_max_bytes``.

    The hypervisor is kept per ``(state_dir, host)`` for the life of the process, so an agent
    restarted in the same process adopts its guests, as one restarted on a QEMU host does.
    """
    key = (str(state_dir), host)
    if key not in _HYPERVISORS:
        resources = HostResources(
            vcpus=int(options.get("vcpus", DEFAULT_RESOURCES.vcpus)),
            memory_mb=int(options.get("memory_mb", DEFAULT_RESOURCES.memory_mb)),
            disk_gb=int(options.get("disk_gb", DEFAULT_RESOURCES.disk_gb)),
            hypervisor_type=DEFAULT_RESOURCES.hypervisor_type,
            hypervisor_version=DEFAULT_RESOURCES.hypervisor_version,
            traits=DEFAULT_RESOURCES.traits)
        _HYPERVISORS[key] = FakeHypervisor(
            host, resources,
            console_max_bytes=int(options.get("console_max_bytes", CONSOLE_MAX_BYTES)))
    return FakeComputeDriver(_HYPERVISORS[key],
                             spawn_delay=float(options.get("spawn_delay", 0.0)),
                             check_image_files=bool_from_string(
                                 options.get("check_image_files", True)))

