"""Suspend and resume of a QEMU guest: its memory saved to and restored from
``memory.state``, the work behind :meth:`QemuDriver.suspend` and ``resume``.

The memory and device state travel through QEMU's migration stream into or out of a file
descriptor passed over QMP (``getfd``, then ``migrate fd:`` or ``migrate-incoming fd:``;
QEMU 7.2 has no ``file:`` migration). A save is written as ``.memory.state.partial`` and
made durable under its final name only once QEMU reports it complete, so a crash never
leaves a half-saved guest that looks saved.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path

from ownstack.compute.drivers.base import DriverError
from ownstack.compute.drivers.qemu.monitor import Monitor, pass_fd
from ownstack.compute.drivers.qemu.process import GuestFiles

MIGRATION_TIMEOUT = 300.0        # seconds a suspend or resume may take to (re)store memory
MIGRATION_POLL = 0.02


async def save(monitor: Monitor, files: GuestFiles) -> None:
    """Stop the vCPUs and save the guest's memory into ``memory.state``, unless a complete
    one is there already. A save that fails leaves no partial file and lets a guest that
    was running run on."""
    if await asyncio.to_thread(files.memory.exists):
        return
    was_paused = monitor.paused
    monitor.quiet |= {"STOP", "RESUME"}
    try:
        await _save_memory(monitor, files)
    except BaseException:
        await asyncio.to_thread(files.memory_partial.unlink, missing_ok=True)
        if not was_paused:
            with contextlib.suppress(DriverError):
                await monitor.execute("cont")
        raise
    finally:
        monitor.quiet -= {"STOP", "RESUME"}


async def _save_memory(monitor: Monitor, files: GuestFiles) -> None:
    await monitor.execute("stop")
    monitor.paused = True
    with contextlib.suppress(DriverError):      # an earlier attempt, cut short
        await monitor.execute("migrate_cancel")
    await _wait_migration(monitor, settle_only=True)
    if await _after_earlier_save(monitor, files):
        return
    # The stream is mostly zero pages and the guest is stopped: no reason to throttle.
    await monitor.execute("migrate-set-parameters", {"max-bandwidth": 1 << 40})
    await _pass_file(monitor, files.memory_partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
                     "suspend")
    await monitor.execute("migrate", {"uri": "fd:suspend"})
    await _wait_migration(monitor)
    await asyncio.to_thread(_commit_file, files.memory_partial, files.memory)


async def _after_earlier_save(monitor: Monitor, files: GuestFiles) -> bool:
    """Finish what an earlier save left, once no migration runs: ``True`` if that left the
    guest saved.

    An agent killed mid-save leaves QEMU to carry the save on alone. Once it ends, QEMU is
    in ``postmigrate`` (the vCPUs stopped, as a save leaves them whether it completed or
    failed) and refuses to migrate again from there. If it completed, the partial file
    holds the whole stream (QEMU reports completion after its last write): it is made
    durable under its final name. If it failed, ``cont`` then ``stop`` leave
    ``postmigrate`` for a new save (the guest runs for the moment between the two).
    Only a save migrates out of a guest's QEMU (a resume's restore is an incoming
    migration, and leaves QEMU ``paused``), so ``postmigrate`` means a save.
    """
    runstate = await monitor.execute("query-status")
    if not isinstance(runstate, dict) or runstate.get("status") != "postmigrate":
        return False
    info = await monitor.execute("query-migrate")
    completed = isinstance(info, dict) and info.get("status") == "completed"
    if completed and await asyncio.to_thread(files.memory_partial.exists):
        await asyncio.to_thread(_commit_file, files.memory_partial, files.memory)
        return True
    await monitor.execute("cont")
    await monitor.execute("stop")
    return False


async def restore(monitor: Monitor, files: GuestFiles) -> None:
    """Load ``memory.state`` into a QEMU started with ``-incoming defer`` whose devices
    are added; the guest stays stopped."""
    await _pass_file(monitor, files.memory, os.O_RDONLY, "resume")
    await monitor.execute("migrate-incoming", {"uri": "fd:resume"})
    await _wait_migration(monitor)


async def _pass_file(monitor: Monitor, path: Path, flags: int, name: str) -> None:
    """Open ``path`` (a new file: mode 0600) and give QEMU the descriptor as ``name``;
    ours is closed once QEMU holds its own."""
    fd = await asyncio.to_thread(os.open, path, flags | os.O_CLOEXEC, 0o600)
    try:
        await pass_fd(monitor, fd, name)
    finally:
        os.close(fd)


async def _wait_migration(monitor: Monitor, *, settle_only: bool = False) -> None:
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
