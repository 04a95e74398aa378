"""The daemons the Linux driver starts and adopts (radvd here; dnsmasq and the metadata
proxy keep their own copies of these few lines): what ``/proc`` says of a process, and how
one that is not our child is waited for and ended."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from pathlib import Path
from typing import Final

NETNS_DIR: Final = Path("/run/netns")


def cmdline(pid: int) -> list[str] | None:
    """The process's arguments; None when it is gone or a zombie (which has none)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part] or None


def parent(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rpartition(")")[2].split()[1])


def same_namespace(pid: int, namespace: str) -> bool:
    """Whether the process runs in the named network namespace (``/run/netns/<name>``)."""
    try:
        return os.stat(f"/proc/{pid}/ns/net").st_ino == os.stat(NETNS_DIR / namespace).st_ino
    except OSError:
        return False


def pids() -> list[int]:
    return [int(entry) for entry in os.listdir("/proc") if entry.isdigit()]


async def exited(pid: int, timeout: float) -> bool:
    """Whether ``pid`` exits within ``timeout``: its pidfd turns readable when it does,
    whoever its parent is (a daemon's is init, which may reap it late)."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    loop = asyncio.get_running_loop()
    gone = asyncio.Event()
    loop.add_reader(fd, gone.set)
    try:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(gone.wait(), timeout)
        return gone.is_set()
    finally:
        loop.remove_reader(fd)
        os.close(fd)


async def end(pid: int, timeout: float) -> None:
    """SIGTERM, then SIGKILL after ``timeout``; returns once the process has exited."""
    for signum in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)
        if await exited(pid, timeout):
            return
