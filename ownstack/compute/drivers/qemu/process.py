"""One QEMU process per guest: its files, its recipe, starting it and making sure it is gone.

A guest is a directory, ``<instances>/<uuid>/``, which is the truth a restarted agent
adopts:

* ``guest.json``: the **recipe**: the QEMU command line and the QMP commands that add the
  devices, written before QEMU first starts, plus ``spawned`` (false until the first
  ``cont``: a guest still ``false`` after a crash is half-made, listed ``NOSTATE`` for the
  agent to destroy). Powering on again replays the recipe, so a stopped guest comes back
  with the same disks, NICs and identity.
* ``disk.qcow2`` (the overlay), ``config.iso`` (the config drive), ``console.log`` (the
  serial console, size-capped by the driver).
* ``memory.state``: a suspended guest's memory and device state (QEMU's migration stream),
  present only once complete: it is written as ``.memory.state.partial`` and renamed when
  QEMU reports the save completed, so a crash never leaves a half-saved guest that looks
  saved.
* ``rescue.json`` and ``rescue.qcow2``: a rescued guest's recipe (a rescue disk first, its
  own disk second) and the rescue disk, an overlay on the rescue image. The recipe is
  written once the old process is gone and before the rescue boot starts, so a live QEMU
  beside it is the rescue boot.

The QMP socket, the pid file and the console sockets (``<uuid>.vnc``, the guest's screen,
and ``<uuid>.serial``, its first serial port, which QEMU also copies to ``console.log``)
live in a short runtime directory (``/run/ownstack/<id>``, mode 0700): a Unix socket path
must fit in 108 bytes, and a state directory may be long. No console opens a TCP port.

QEMU runs with ``-daemonize``: it forks, the child calls ``setsid``, and the parent exits
only when the child is ready (its QMP socket listening) or failed. So the guest is never
the agent's child, keeps running when the agent is killed, and a start failure comes back
as the parent's exit status with QEMU's own message.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import shutil
import signal
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ownstack.compute.drivers.base import DriverError

__all__ = ["GuestFiles", "Recipe", "leftovers", "opt", "pid_alive", "read_pid",
           "remove_files", "runtime_dir", "start_qemu", "wait_gone"]

LOG = logging.getLogger(__name__)
RECIPE_VERSION = 1


def opt(path: Path) -> str:
    """A path inside a QEMU option value: commas are doubled."""
    return str(path).replace(",", ",,")


def runtime_dir(driver_dir: Path) -> Path:
    """A short directory for sockets and pid files, unique to ``driver_dir``."""
    digest = hashlib.sha256(str(driver_dir.resolve()).encode()).hexdigest()[:12]
    for root in (Path("/run/ownstack"), Path(tempfile.gettempdir()) / "ownstack-run"):
        try:
            path = root / digest
            path.mkdir(parents=True, exist_ok=True, mode=0o700)
            return path
        except OSError:
            continue
    raise DriverError("no writable runtime directory for QMP sockets (/run or $TMPDIR)")


@dataclass(slots=True)
class GuestFiles:
    """Where one guest's files are: in its ``directory`` (see above) and, for the QMP
    socket and the pid file, in the short runtime directory ``run``."""

    uuid: str
    directory: Path
    run: Path
    recipe: Path = field(init=False)
    disk: Path = field(init=False)
    config_drive: Path = field(init=False)
    console: Path = field(init=False)
    memory: Path = field(init=False)
    memory_partial: Path = field(init=False)
    rescue_recipe: Path = field(init=False)
    rescue_disk: Path = field(init=False)
    qmp: Path = field(init=False)
    pidfile: Path = field(init=False)
    vnc: Path = field(init=False)
    serial: Path = field(init=False)

    def __post_init__(self) -> None:
        self.recipe = self.directory / "guest.json"
        self.disk = self.directory / "disk.qcow2"
        self.config_drive = self.directory / "config.iso"
        self.console = self.directory / "console.log"
        self.memory = self.directory / "memory.state"
        self.memory_partial = self.directory / ".memory.state.partial"
        self.rescue_recipe = self.directory / "rescue.json"
        self.rescue_disk = self.directory / "rescue.qcow2"
        self.qmp = self.run / f"{self.uuid}.qmp"
        self.pidfile = self.run / f"{self.uuid}.pid"
        self.vnc = self.run / f"{self.uuid}.vnc"
        self.serial = self.run / f"{self.uuid}.serial"

    @property
    def sockets(self) -> tuple[Path, ...]:
        """The Unix sockets QEMU makes for this guest."""
        return (self.qmp, self.vnc, self.serial)


@dataclass(slots=True)
class Recipe:
    """How to (re)start one guest: what ``guest.json`` holds."""

    uuid: str
    name: str
    argv: list[str]
    devices: list[tuple[str, dict[str, Any]]]      # QMP (command, arguments), in order
    image_id: str
    base: str                                      # the backing file of the overlay
    accel: str
    taps: list[str] = field(default_factory=list)
    config_drive: bool = False
    spawned: bool = False
    version: int = RECIPE_VERSION

    def save(self, path: Path) -> None:
        """Write atomically: a crash leaves the old recipe or the new one, never half."""
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(json.dumps(asdict(self), indent=1))
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path) -> Recipe | None:
        """The recipe, or ``None`` when it is missing or unreadable (a half-made guest)."""
        try:
            data = json.loads(path.read_text())
            data["devices"] = [(str(cmd), dict(args)) for cmd, args in data["devices"]]
            return cls(**data)
        except (OSError, ValueError, TypeError, KeyError):
            return None


# --- processes ----------------------------------------------------------------------------

def read_pid(files: GuestFiles) -> int | None:
    try:
        return int(files.pidfile.read_text().strip())
    except (OSError, ValueError):
        return None


def pid_alive(pid: int | None, uuid: str) -> bool:
    """Is ``pid`` a live (not zombie) QEMU process of this guest?

    The command line must name the uuid, so a pid reused by another process after a host
    restart, or a zombie (whose command line is empty), counts as gone.
    """
    if pid is None or pid <= 0:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    state = stat.rpartition(")")[2].split()[0] if ")" in stat else "?"
    return state not in ("Z", "X") and uuid.encode() in cmdline.split(b"\0")


async def wait_gone(pid: int | None, uuid: str, timeout: float) -> bool:
    """Wait until the guest's process is gone; ``True`` if it went in time."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while pid_alive(pid, uuid):
        if loop.time() >= deadline:
            return False
        await asyncio.sleep(0.05)
    return True


async def kill(pid: int | None, uuid: str, *, timeout: float = 10.0) -> None:
    """SIGKILL the guest's process and wait for it to go; only if it is that guest's."""
    if not pid_alive(pid, uuid):
        return
    assert pid is not None
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    if not await wait_gone(pid, uuid, timeout):
        raise DriverError(f"QEMU process {pid} of guest {uuid} did not die after SIGKILL")


async def start_qemu(argv: list[str], files: GuestFiles, *, timeout: float = 60.0) -> int:
    """Start a daemonized QEMU and return its pid, or raise :class:`DriverError`.

    QEMU's stderr goes to a file, not a pipe: the daemon keeps whatever it inherited, and
    under some event loops (uvloop) a pipe it inherited never reads as closed. Only the
    exit of the parent, which means "ready" or "failed", is awaited.
    """
    files.run.mkdir(parents=True, exist_ok=True, mode=0o700)
    files.pidfile.unlink(missing_ok=True)
    for path in files.sockets:
        path.unlink(missing_ok=True)
    errors = files.directory / "qemu-start.err"
    with errors.open("wb") as stderr:
        try:
            process = await asyncio.create_subprocess_exec(
                *argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
                stderr=stderr, start_new_session=True)
        except FileNotFoundError:
            raise DriverError(f"{argv[0]} is not installed (Debian package qemu-system-x86)"
                              ) from None
    try:
        async with asyncio.timeout(timeout):
            await process.wait()
    except BaseException:
        if process.returncode is None:
            process.kill()
            await process.wait()
        await kill(read_pid(files), files.uuid)
        raise
    finally:
        message = errors.read_text(errors="replace") if errors.exists() else ""
        errors.unlink(missing_ok=True)
    if process.returncode != 0:
        lines = [line for line in message.splitlines() if line.strip()]
        raise DriverError("QEMU failed to start: " + ("; ".join(lines[-3:]) or
                                                      f"exit {process.returncode}"))
    pid = read_pid(files)
    if not pid_alive(pid, files.uuid):
        raise DriverError("QEMU exited right after starting (see the console log)")
    assert pid is not None
    return pid


def remove_files(files: GuestFiles) -> None:
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


def leftovers(files: GuestFiles) -> list[str]:
    """What of a guest still exists on the host. Blocking."""
    left = [str(path) for path in (files.directory, *files.sockets, files.pidfile)
            if path.exists()]
    pid = read_pid(files)
    if pid_alive(pid, files.uuid):
        left.append(f"QEMU pid {pid}")
    return left
