"""The compute driver boundary: what the compute agent asks of a hypervisor.

The agent is a level-triggered reconciler: it compares what the database wants a node to run
with what :meth:`ComputeDriver.list_guests` says really runs, and closes the gap with the
other methods. So every method is idempotent where it can be, states its postconditions in
its docstring, and fails with a typed :class:`DriverError`.

Conventions every driver keeps:

* **The agent serialises calls per instance uuid.** Calls for different uuids may run
  concurrently; a driver needs no lock of its own per guest.
* **Guests outlive the agent.** :meth:`ComputeDriver.close` never stops a guest, and a new
  driver on the same host adopts what an old one left (:meth:`ComputeDriver.init_host`).
* **Capabilities are data.** :attr:`ComputeDriver.capabilities` is a dict of flags the agent
  and API read before acting. :class:`Unsupported` is raised only for an operation whose
  flag is ``False``, and then before anything changes.
* **Phases are timed by the driver** through the :class:`PhaseTimer` the agent passes in;
  the agent turns each :class:`PhaseEvent` into an instance-action event.

What the boundary leaves out, on purpose:

* *Rebuild* is ``destroy`` then ``spawn`` with the new image, done by the agent. Both are
  idempotent, so an agent killed between the two converges by spawning again.
* *Image fetch* belongs to the agent's image cache, shared by every driver: it downloads
  and verifies the hash once per host, times the ``image_fetch`` phase on the same
  :class:`PhaseTimer`, and hands the driver an :class:`ImageRef` whose ``path`` exists.
  Converting to the format the hypervisor wants is the driver's (``image_convert``).
* *Allocation ratios and reserved amounts* are operator policy, so they live in config and
  the agent applies them when it writes the Placement inventory. The driver reports only
  physical facts, which do not change when an operator decides to overcommit.
* *Volumes* reach the driver as files the volume service made (decision 41): a
  :class:`VolumeSpec` names the file and its format, and the driver opens it with that
  format and no backing file, never probing it, so nothing a user wrote into a volume can
  make the hypervisor read a host file. Talking to the volume service (attachments,
  connectors, completion) is the agent's; the driver only plugs and unplugs
  (:meth:`ComputeDriver.plug_volumes`).
* *Migrate* is not offered by the API yet, so not here either.
* *Resize* is three calls on one host: :meth:`ComputeDriver.resize` keeps the pre-resize
  root disk aside and gives the guest its new size, :meth:`ComputeDriver.confirm_resize`
  drops what was kept, :meth:`ComputeDriver.revert_resize` puts it back. Powering the
  guest on again is the agent's (a stopped server stays stopped).
"""

from __future__ import annotations

import time
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Mapping,
    Sequence,
)
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from ownstack.compute.states import PowerState

# --- errors -------------------------------------------------------------------------------


class DriverError(Exception):
    """Base of every error a driver raises on purpose."""


class GuestNotFound(DriverError):
    """No guest with this uuid exists on this host."""

    def __init__(self, uuid: str) -> None:
        self.uuid = uuid
        super().__init__(f"guest {uuid} not found on this host")


class SpawnFailed(DriverError):
    """A spawn failed and everything it made has been removed.

    ``retryable`` is ``False`` when the request itself is at fault (an unbootable or
    unreadable image, say), so the conductor gives up with the fault instead of trying
    another host.
    """

    def __init__(self, reason: str, *, retryable: bool = True) -> None:
        self.reason = reason
        self.retryable = retryable
        super().__init__(reason)


class InvalidGuestState(DriverError):
    """The operation makes no sense in the guest's current power state."""

    def __init__(self, uuid: str, state: PowerState, operation: str) -> None:
        self.uuid = uuid
        self.state = state
        self.operation = operation
        super().__init__(f"cannot {operation} guest {uuid} in power state {state.name}")


class ConsoleUnavailable(DriverError):
    """The guest has no console of the kind asked for: it was started before its driver
    gave guests that console (an adopted guest), or its socket is gone."""

    def __init__(self, uuid: str, kind: str, reason: str) -> None:
        self.uuid = uuid
        self.kind = kind
        self.reason = reason
        super().__init__(f"guest {uuid} has no {kind} console: {reason}")


class Unsupported(DriverError):
    """The driver reports ``capability`` as ``False``; nothing was changed."""

    def __init__(self, capability: str) -> None:
        self.capability = capability
        super().__init__(f"this driver does not support {capability}")


class DetachTimeout(DriverError):
    """The guest did not release a volume's device in time; it stays plugged."""

    def __init__(self, uuid: str, volume_id: str, timeout: float) -> None:
        self.uuid = uuid
        self.volume_id = volume_id
        self.timeout = timeout
        super().__init__(f"guest {uuid} did not release volume {volume_id} within "
                         f"{timeout:g} s")


# --- data ---------------------------------------------------------------------------------


class Capability(StrEnum):
    """The flags in :attr:`ComputeDriver.capabilities`; every driver reports all of them."""

    CONFIG_DRIVE = "supports_config_drive"      # spawn with GuestSpec.config_drive=True
    SNAPSHOT = "supports_snapshot"              # snapshot()
    CONSOLE_LOG = "supports_console_log"        # console_output()
    REBOOT_SOFT = "supports_reboot_soft"        # reboot(hard=False)
    NIC_HOTPLUG = "supports_nic_hotplug"        # plug_nics() on an existing guest
    VOLUME_ATTACH = "supports_volume_attach"    # GuestSpec.volumes, plug_volumes()
    VOLUME_EXTEND = "supports_volume_extend"    # extend_volume() of a plugged volume
    PAUSE = "supports_pause"                    # pause(), unpause()
    SUSPEND = "supports_suspend"                # suspend(), resume()
    RESIZE = "supports_resize"                  # resize(), confirm_resize(), revert_resize()
    CONSOLE_VNC = "supports_vnc_console"        # console_socket(uuid, ConsoleKind.VNC)
    CONSOLE_SERIAL = "supports_serial_console"  # console_socket(uuid, ConsoleKind.SERIAL)
    RESCUE = "supports_rescue"                  # rescue(), unrescue()


class ConsoleKind(StrEnum):
    """The interactive consoles a guest may have, each a stream socket on its host."""

    VNC = "vnc"                      # the guest's screen, RFB (noVNC speaks it)
    SERIAL = "serial"                # the guest's first serial port, raw bytes

    @property
    def capability(self) -> Capability:
        return Capability.CONSOLE_VNC if self is ConsoleKind.VNC else Capability.CONSOLE_SERIAL


class Phase(StrEnum):
    """Spawn phases, in the order they happen. A driver reports the subset it performs."""

    IMAGE_FETCH = "image_fetch"      # the agent's image cache, before spawn
    IMAGE_CONVERT = "image_convert"  # base file into the hypervisor's format, cached per host
    DISKS = "disks"                  # root overlay resized to root_gb, ephemeral, swap
    CONFIG_DRIVE = "config_drive"    # the ISO9660 metadata disk
    PLUG_VIFS = "plug_vifs"          # taps into their bridges
    START = "start"                  # hypervisor process up, devices added, guest running
    #                                  (or left paused, for the agent's plug phase)
    PLUG = "plug"                    # the agent's: paused until every port is ACTIVE


PHASE_ORDER: tuple[Phase, ...] = tuple(Phase)


@dataclass(frozen=True, slots=True)
class HostResources:
    """Physical facts about the host, for Placement and ``os-hypervisors``.

    Totals, not free amounts: usage is Placement's to count. No ratios and nothing
    reserved: those are config (see the module docstring).
    """

    vcpus: int
    memory_mb: int
    disk_gb: int
    hypervisor_type: str          # "QEMU", "fake": os-hypervisors' hypervisor_type
    hypervisor_version: int       # Nova's encoding: 8.2.1 -> 8002001
    traits: frozenset[str] = frozenset()   # os-traits names, e.g. COMPUTE_IMAGE_TYPE_QCOW2


@dataclass(frozen=True, slots=True)
class ImageRef:
    """An image already in the host's cache, hash verified."""

    id: str
    path: Path                    # the cached base file; exists when spawn is called
    disk_format: str              # Glance's disk_format: "qcow2", "raw", ...
    properties: Mapping[str, str] = field(default_factory=dict)   # Glance's hw_* and os_*


@dataclass(frozen=True, slots=True)
class NicSpec:
    """One port plugged into the guest. The network service made the bridge."""

    port_id: str
    mac: str
    tap_name: str                 # the host device, at most 15 characters
    bridge: str
    mtu: int = 1500
    network_id: str = ""          # the network service's id of the port's network


@dataclass(frozen=True, slots=True)
class VolumeSpec:
    """One volume plugged into the guest: a file the volume service made.

    The driver opens ``path`` as ``format`` with no backing file (never probed), and the
    guest sees a virtio disk whose serial is ``serial`` (the volume id cut to 20 characters,
    as Nova's libvirt driver sets it, so ``/dev/disk/by-id/virtio-<serial>`` names it).
    """

    volume_id: str
    path: Path
    format: str = "raw"           # "raw" or "qcow2": the format driver over the file
    read_only: bool = False       # connection_info's access_mode "ro"
    boot_index: int | None = None  # 0: the guest boots from this volume (its root disk)
    device_name: str | None = None  # the API's "/dev/vdb": a hint, as in Nova

    @property
    def serial(self) -> str:
        return self.volume_id[:20]

    @property
    def is_root(self) -> bool:
        return self.boot_index == 0


def root_volume(spec: GuestSpec) -> VolumeSpec | None:
    """The volume the guest boots from (boot from volume), if any."""
    return next((volume for volume in spec.volumes if volume.is_root), None)


@dataclass(frozen=True, slots=True)
class GuestSpec:
    """Everything a driver needs to make one guest. Sizes come from the flavor."""

    uuid: str
    name: str                     # the server's display name
    hostname: str                 # what the guest sets, via the config drive
    vcpus: int
    memory_mb: int
    root_gb: int                  # 0: the image's virtual size, as in Nova
    # None: booted from volume, the root disk is the volume with boot_index 0 (no image
    # is fetched, no overlay made, and ``root_gb`` is not used).
    image: ImageRef | None
    ephemeral_gb: int = 0
    swap_mb: int = 0
    nics: tuple[NicSpec, ...] = ()          # empty for --nic none
    config_drive: bool = False
    # What the config drive carries (openstack/latest/meta_data.json and user_data).
    project_id: str = ""
    availability_zone: str = ""
    launch_index: int = 0
    key_name: str | None = None
    key_data: str | None = None             # the public key, OpenSSH format
    user_data: bytes | None = None          # already base64-decoded
    admin_pass: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    # Volumes plugged at start, in order (VOLUME_ATTACH); one with boot_index 0 is the
    # root disk (boot from volume), the others follow the image's disks.
    volumes: tuple[VolumeSpec, ...] = ()
    # A cold migration's destination: the guest's own root disk, as another host's
    # :meth:`ComputeDriver.disk_to_move` gave it (complete and checked). The driver takes
    # the file over as the root disk (on ``image``'s base of this host) instead of making
    # a new one; ``None``: a new root disk from ``image``.
    disk: Path | None = None


@dataclass(frozen=True, slots=True)
class GuestSize:
    """What a resize changes: the flavor's vCPUs, memory and root disk."""

    vcpus: int
    memory_mb: int
    root_gb: int                  # 0: keep the disk's size


@dataclass(frozen=True, slots=True)
class GuestInfo:
    """What the driver observes about one guest.

    ``details`` are the host-side objects behind the guest, JSON-serialisable, for
    ``ownstack show server``: for QEMU its pid, command line, QMP socket and disk files.
    """

    uuid: str
    power_state: PowerState
    details: Mapping[str, Any] = field(default_factory=dict)
    # The port ids of the guest's NICs, in order, when the driver can change them
    # (NIC_HOTPLUG); None when it does not report them.
    nics: tuple[str, ...] | None = None
    # The volume ids of the guest's volumes, in order, when the driver can change them
    # (VOLUME_ATTACH); None when it does not report them.
    volumes: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class GuestEvent:
    """A nudge: this guest's power state changed (``NOSTATE`` once it is gone)."""

    uuid: str
    power_state: PowerState


@dataclass(frozen=True, slots=True)
class SnapshotFile:
    """What :meth:`ComputeDriver.snapshot` wrote, for the image upload."""

    path: Path
    disk_format: str
    size: int


@dataclass(frozen=True, slots=True)
class PhaseEvent:
    """One timed phase: wall-clock start, duration, and the error if it failed."""

    name: str
    started_at: float             # time.time()
    duration: float               # seconds, from a monotonic clock
    error: str | None = None

    @property
    def finished_at(self) -> float:
        return self.started_at + self.duration


PhaseCallback = Callable[[PhaseEvent], Awaitable[None]]


class PhaseTimer:
    """Times a driver's phases; the agent records each one as an instance-action event.

    ``async with phases.phase(Phase.DISKS): ...`` records the phase when the block ends,
    with ``error`` set (and the exception re-raised) when it raised. ``on_event``, if
    given, is awaited for every finished phase, so progress is visible during a long boot.
    """

    def __init__(self, on_event: PhaseCallback | None = None) -> None:
        self.events: list[PhaseEvent] = []
        self._on_event = on_event

    @asynccontextmanager
    async def phase(self, name: str) -> AsyncIterator[None]:
        started_at, t0 = time.time(), time.perf_counter()
        error: str | None = None
        try:
            yield
        except BaseException as exc:
            error = f"{type(exc).__name__}: {exc}"
            raise
        finally:
            event = PhaseEvent(name, started_at, time.perf_counter() - t0, error)
            self.events.append(event)
            if self._on_event is not None:
                await self._on_event(event)

    @property
    def names(self) -> list[str]:
        return [event.name for event in self.events]


# --- the interface ------------------------------------------------------------------------


@runtime_checkable
class ComputeDriver(Protocol):
    """One hypervisor on one host, seen by that host's compute agent."""

    @property
    def name(self) -> str:
        """The driver's config name: ``"fake"``, ``"qemu"``."""
        ...

    @property
    def capabilities(self) -> Mapping[str, bool]:
        """Every :class:`Capability` value mapped to a bool. Constant for the driver's life."""
        ...

    async def init_host(self) -> None:
        """Make the driver ready; call once, before anything else.

        Postconditions: guests left by a previous agent are adopted, so
        :meth:`list_guests` reports them with their real power state; no guest was started,
        stopped or removed. Half-made leftovers are listed too, for the agent to destroy.
        """
        ...

    async def close(self) -> None:
        """Release what the driver holds in this process (sockets, tasks).

        Postcondition: every guest keeps running as it was; a new driver adopts it.
        """
        ...

    async def host_resources(self) -> HostResources:
        """Postcondition: the host's physical totals, cheap enough to call every resync."""
        ...

    async def list_guests(self) -> list[GuestInfo]:
        """Every guest this driver has host objects for, running or not.

        This is the truth the agent reconciles against at start-up and on each resync: a
        stopped guest is listed as ``SHUTDOWN``; a guest whose spawn was cut short by a
        crash is listed (``NOSTATE``) until it is destroyed. Guests the database does not
        know are orphans: the agent reports them and calls :meth:`destroy`.
        """
        ...

    async def get_info(self, uuid: str) -> GuestInfo:
        """Postcondition: the guest's current state. Raises :class:`GuestNotFound`."""
        ...

    async def spawn(self, spec: GuestSpec, phases: PhaseTimer, *, paused: bool = False
                    ) -> None:
        """Create the guest and start it.

        Postconditions: on return the guest exists and is ``RUNNING`` (the hypervisor runs
        it; the OS inside may still be booting). With ``paused`` it is ``PAUSED`` instead:
        complete with every device (its NICs' taps exist, for the network side to wire)
        and not one instruction run; :meth:`power_on` lets it run (the agent does once
        every port is ACTIVE), and a new driver adopts it ``PAUSED``. Each phase is timed
        on ``phases``, in
        :data:`PHASE_ORDER`. On failure everything this call made (disks, config drive,
        process, per-guest files) is removed and :class:`SpawnFailed` is raised. A NIC's
        tap is the network side's: the driver opens the tap of ``NicSpec.tap_name``.
        With ``spec.disk`` (a cold migration's destination) that file becomes the root
        disk (moved, not copied; removed with the rest on failure) in place of a new one.

        Raises :class:`InvalidGuestState`, changing nothing, if a guest with ``spec.uuid``
        already exists (the agent destroys leftovers first), and :class:`Unsupported`,
        changing nothing, for ``config_drive=True`` without the capability.
        """
        ...

    async def destroy(self, uuid: str) -> None:
        """Stop the guest at once and remove every host object it had.

        Postconditions: no process, disk, config drive, console log or per-guest file
        remains (the ports' taps are the network side's, and stay until it unwires them);
        :meth:`get_info` raises :class:`GuestNotFound`. Succeeds when the
        guest is already gone, so calling it twice, or for a uuid never seen, is fine.
        """
        ...

    async def power_off(self, uuid: str, timeout: float = 60.0) -> None:
        """Shut the guest down: ACPI first, then forced once ``timeout`` seconds pass.

        Postcondition: the guest is ``SHUTDOWN`` and keeps its disks. A no-op if it is
        already ``SHUTDOWN``. Raises :class:`GuestNotFound`.
        """
        ...

    async def power_on(self, uuid: str) -> None:
        """Start a stopped or crashed guest from its existing disks, or let a ``PAUSED``
        one (a paused spawn) run.

        Postcondition: the guest is ``RUNNING``. A no-op if it already runs.
        Raises :class:`GuestNotFound`.
        """
        ...

    async def reboot(self, uuid: str, hard: bool, timeout: float = 60.0) -> None:
        """Restart the guest.

        Soft: ask the guest (ACPI) and wait up to ``timeout`` seconds; if it does not
        come back, fall back to hard, as Nova does. Hard: reset from any power state.
        Postcondition: the guest is ``RUNNING`` and its console shows a new boot. Raises
        :class:`GuestNotFound`; :class:`InvalidGuestState` for soft unless ``RUNNING``;
        :class:`Unsupported` for soft without the capability.
        """
        ...

    async def pause(self, uuid: str) -> None:
        """Stop the guest's vCPUs; its memory and devices stay where they are.

        Postcondition: the guest is ``PAUSED`` and runs not one more instruction (its
        console stays silent) until :meth:`unpause`. A no-op if it is already ``PAUSED``.
        Raises :class:`GuestNotFound`; :class:`InvalidGuestState` unless ``RUNNING`` or
        ``PAUSED``; :class:`Unsupported` without the capability.
        """
        ...

    async def unpause(self, uuid: str) -> None:
        """Let a ``PAUSED`` guest run on from where it stopped (no new boot).

        Postcondition: the guest is ``RUNNING``. A no-op if it already runs. Raises
        :class:`GuestNotFound`; :class:`InvalidGuestState` unless ``PAUSED`` or
        ``RUNNING``; :class:`Unsupported` without the capability.
        """
        ...

    async def suspend(self, uuid: str) -> None:
        """Save the guest's memory and device state to a file in its directory and end
        its hypervisor process, so the host's memory is free.

        Postconditions: the guest is ``SUSPENDED`` and keeps its disks; a new driver
        lists it ``SUSPENDED``. Killed part way, the guest is still whole: running or
        paused with its process, or suspended (a half-written save file is never taken
        for a saved guest), and calling again finishes the job. A no-op if already
        ``SUSPENDED``. Raises :class:`GuestNotFound`; :class:`InvalidGuestState` unless
        ``RUNNING``, ``PAUSED`` or ``SUSPENDED``; :class:`Unsupported` without the
        capability.
        """
        ...

    async def resume(self, uuid: str) -> None:
        """Restore a ``SUSPENDED`` guest from its save file: it carries on where it was
        (no new boot), and the save file is removed.

        Postcondition: the guest is ``RUNNING``. Killed part way, calling again finishes
        the job; a no-op if it already runs. :meth:`power_on` of a ``SUSPENDED`` guest
        instead discards the saved memory and boots from the disks, and
        :meth:`power_off` discards it (the guest is ``SHUTDOWN``). Raises
        :class:`GuestNotFound`; :class:`InvalidGuestState` unless ``SUSPENDED`` or
        ``RUNNING``; :class:`Unsupported` without the capability.
        """
        ...

    async def rescue(self, uuid: str, image: ImageRef) -> None:
        """Stop the guest at once and boot it from a new disk made from ``image`` (in the
        host's cache), with its own root disk attached second and its config drive and
        NICs as before.

        Postconditions: the guest is ``RUNNING`` from the rescue disk, and
        :meth:`get_info` says so (``details["rescue_image_id"]``), across a restart. A
        no-op if it is already rescued and running; killed part way, calling again
        finishes the job. Raises :class:`GuestNotFound`; :class:`InvalidGuestState` for a
        half-made guest; :class:`Unsupported` without the capability.
        """
        ...

    async def unrescue(self, uuid: str) -> None:
        """Stop the rescue boot, remove the rescue disk and boot the guest from its own
        disk again.

        Postcondition: the guest is ``RUNNING`` from its own disk, nothing of the rescue
        is left. A no-op for a guest that runs and is not rescued. :meth:`power_on` of a
        rescued guest that stopped also boots its own disk and drops the rescue. Raises
        :class:`GuestNotFound`; :class:`Unsupported` without the capability.
        """
        ...

    async def plug_nics(self, uuid: str, nics: Sequence[NicSpec]) -> None:
        """Make the guest's NICs exactly ``nics``, in order: new ones hot-plugged, gone ones
        unplugged, the others untouched (an interface attach or detach).

        Postconditions: :meth:`get_info` reports ``nics``' port ids; the guest keeps its
        power state, and a later start or reboot keeps these NICs. Raises
        :class:`GuestNotFound`; :class:`Unsupported`, changing nothing, without the
        capability.
        """
        ...

    async def plug_volumes(self, uuid: str, volumes: Sequence[VolumeSpec],
                           timeout: float = 30.0) -> None:
        """Make the guest's volumes exactly ``volumes``, in order: new ones hot-plugged into
        a running guest, gone ones unplugged, the others untouched (a volume attach or
        detach); a stopped guest only records them for its next start.

        Postconditions: :meth:`get_info` reports ``volumes``' ids; the guest keeps its power
        state, and a later start, reboot or a new driver (agent restart) keeps these
        volumes. Unplugging waits up to ``timeout`` seconds for the guest to release the
        device; if it does not, the volume stays plugged and :class:`DetachTimeout` is
        raised (the other changes are made). Raises :class:`GuestNotFound`;
        :class:`Unsupported`, changing nothing, without the capability.
        """
        ...

    async def extend_volume(self, uuid: str, volume: VolumeSpec, new_size: int) -> None:
        """Grow the guest's plugged ``volume`` (its file included) to ``new_size`` bytes,
        as Nova's in-use extend: the volume service leaves the file of an attached volume
        to the hypervisor that has it open.

        Postconditions: the file is ``new_size`` bytes of virtual size, and a running
        guest sees its disk that big at once; a size it already has changes nothing.
        Raises :class:`GuestNotFound`; :class:`DriverError` when ``volume`` is not the
        guest's; :class:`Unsupported`, changing nothing, without the capability.
        """
        ...

    async def console_output(self, uuid: str, max_bytes: int | None = None) -> str:
        """The guest's serial console, decoded with replacement characters.

        Postcondition: the last ``max_bytes`` bytes (all of the capped log when ``None``),
        across reboots. Raises :class:`GuestNotFound`; :class:`Unsupported` without the
        capability.
        """
        ...

    async def console_socket(self, uuid: str, kind: ConsoleKind) -> Path:
        """The Unix stream socket on this host where the guest's ``kind`` console listens.

        Postconditions: nothing changes; the path accepts a connection while the guest runs
        (one client at a time: the console proxy's). Raises :class:`GuestNotFound`;
        :class:`Unsupported` without the kind's capability; :class:`InvalidGuestState`
        unless the guest is ``RUNNING`` or ``PAUSED``; :class:`ConsoleUnavailable` when it
        was started without that console (a guest adopted from a driver that gave none
        keeps its command line until it is rebuilt).
        """
        ...

    async def snapshot(self, uuid: str, dest_path: Path) -> SnapshotFile:
        """Write a consistent, self-contained copy of the root disk to ``dest_path``.

        Postconditions: ``dest_path`` is a file that boots as an image (no backing file);
        the guest's power state is what it was before. The agent uploads the file and
        removes it. Raises :class:`GuestNotFound`; :class:`Unsupported` without the
        capability.
        """
        ...

    async def resize(self, uuid: str, size: GuestSize, timeout: float = 60.0) -> None:
        """Give the guest ``size``, keeping its current root disk aside for a revert.

        Powers the guest off (ACPI, forced after ``timeout``), keeps a copy of the root
        disk as it is (the *kept disk*), grows the root disk to ``size.root_gb`` (never
        shrinks it) and makes ``size``'s vCPUs and memory those of every later start.
        Postconditions: the guest is ``SHUTDOWN`` (the agent starts it again); the kept
        disk exists until :meth:`confirm_resize` or :meth:`revert_resize`. Idempotent: a
        second call (an agent killed halfway) keeps the first kept disk, the pre-resize
        one. Raises :class:`GuestNotFound`; :class:`Unsupported` without the capability.
        """
        ...

    async def confirm_resize(self, uuid: str) -> None:
        """Drop the kept disk. Postcondition: nothing of the pre-resize guest remains; the
        guest's power state is unchanged. Succeeds when nothing is kept or the guest is
        gone (a confirm done twice)."""
        ...

    async def revert_resize(self, uuid: str, size: GuestSize, timeout: float = 60.0
                            ) -> None:
        """Undo :meth:`resize`: power off, the kept disk back as the root disk, ``size``
        (the old flavor's) for every later start.

        Postconditions: the guest is ``SHUTDOWN`` with the disk it had before the resize,
        and nothing is kept. Idempotent: with no kept disk (reverted already) only the size
        is set. Raises :class:`GuestNotFound`.
        """
        ...

    async def disk_to_move(self, uuid: str) -> Path | None:
        """The file a cold migration carries to another host: the powered-off guest's
        root disk as that host's spawn takes it (:attr:`GuestSpec.disk`), or ``None`` when
        the guest keeps no disk on this host that another host could not make itself (a
        driver whose guests have no disk files; the destination then spawns from the
        image).

        The file is read, never written, while the guest stays ``SHUTDOWN``. A driver
        whose guests have disk files raises :class:`GuestNotFound`, and
        :class:`InvalidGuestState` unless the guest is ``SHUTDOWN`` (a running guest's
        disk changes while it is read).
        """
        ...

    def events(self) -> AsyncGenerator[GuestEvent, None]:
        """Power-state changes as they happen, including those made behind the agent's back.

        Events are nudges for a level-triggered agent, not a log: a slow consumer may miss
        some, and the periodic :meth:`list_guests` resync repairs that. Each iterator sees
        only events after it started. Closing the iterator unsubscribes it.
        """
        ...


DriverFactory = Callable[[str, Path, Mapping[str, Any]], ComputeDriver]
"""How the agent builds a driver: ``factory(host, state_dir, options)``."""


def check_capability(driver: ComputeDriver, capability: Capability) -> None:
    """Raise :class:`Unsupported` unless ``driver`` reports ``capability``."""
    if not driver.capabilities.get(capability.value, False):
        raise Unsupported(capability.value)
