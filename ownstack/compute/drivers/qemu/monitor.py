"""The QMP connection of a running guest: :class:`Monitor`, connecting to the guest's QMP
socket, the events it turns into power-state nudges, and passing a file descriptor to QEMU.

The driver keeps one :class:`Monitor` per running guest and a watcher task on it
(:func:`watch`): QMP events (``STOP``, ``RESUME``, ``GUEST_PANICKED``) become nudges through
the ``notify`` callback the driver gives, ``DEVICE_DELETED`` wakes whoever waits for the
guest to let a device go (:attr:`Monitor.deleted`), and :func:`watch` returns once the
connection ends on QEMU's side.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from qemu.qmp import QMPClient, QMPError
from qemu.qmp.protocol import Runstate

from ownstack.compute.drivers.base import DriverError
from ownstack.compute.drivers.qemu import process as proc
from ownstack.compute.drivers.qemu.process import GuestFiles
from ownstack.compute.states import PowerState

QMP_CONNECT_TIMEOUT = 10.0
# QEMU's run states in which the guest's vCPUs do not run.
STOPPED_RUNSTATES = frozenset({"paused", "prelaunch", "postmigrate", "finish-migrate",
                               "inmigrate"})

Notify = Callable[[str, PowerState], None]


# QEMU's message when the tap it opens is held by another file (errno EBUSY).
TAP_BUSY = "Device or resource busy"
TAP_BUSY_TIMEOUT = 2.0


@dataclass(eq=False)
class Monitor:
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

    async def add_device(self, command: str, arguments: Mapping[str, Any]) -> Any:
        """:meth:`execute` one command of a guest's devices. A ``netdev_add`` whose tap is
        busy is tried again for up to :data:`TAP_BUSY_TIMEOUT` seconds: the network side
        makes a port's persistent tap by opening ``/dev/net/tun`` (pyroute2's ``tuntap``
        add), and QEMU opening the tap by name in that moment gets EBUSY. The failed
        ``netdev_add`` made nothing, so trying it again is safe."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + TAP_BUSY_TIMEOUT
        while True:
            try:
                return await self.execute(command, arguments)
            except DriverError as exc:
                if (command != "netdev_add" or TAP_BUSY not in str(exc)
                        or loop.time() >= deadline):
                    raise
            await asyncio.sleep(0.05)


async def connect(uuid: str, files: GuestFiles, pid: int) -> Monitor:
    """Connect to the guest's QMP socket (retried while QEMU ``pid`` lives, for up to
    :data:`QMP_CONNECT_TIMEOUT` seconds) and read whether its vCPUs run."""
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
    monitor = Monitor(uuid, pid, qmp)
    status = await monitor.execute("query-status")
    # "prelaunch": started with -S and never let run (a paused spawn, plugging);
    # the migration states: a suspend or a resume cut short with the agent.
    monitor.paused = status.get("status") in STOPPED_RUNSTATES
    return monitor


async def disconnect(monitor: Monitor) -> None:
    """Stop watching the guest and drop the connection; the guest keeps running."""
    if monitor.task is not None:
        monitor.task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await monitor.task
    with contextlib.suppress(Exception):
        await monitor.qmp.disconnect()


def connected(monitor: Monitor | None) -> bool:
    return monitor is not None and monitor.qmp.runstate == Runstate.RUNNING


async def watch(monitor: Monitor, notify: Notify) -> None:
    """Turn QMP events into power-state nudges until the connection ends on QEMU's side
    (it exited, or is about to), then drop it."""
    pump = asyncio.create_task(_pump_events(monitor, notify))
    try:
        while monitor.qmp.runstate == Runstate.RUNNING:
            await monitor.qmp.runstate_changed()
    finally:
        pump.cancel()
    with contextlib.suppress(Exception):
        await monitor.qmp.disconnect()


async def _pump_events(monitor: Monitor, notify: Notify) -> None:
    async for event in monitor.qmp.events:
        name = event["event"]
        if name in monitor.quiet:
            continue
        if name == "STOP":
            monitor.paused = True
            notify(monitor.uuid, PowerState.PAUSED)
        elif name == "RESUME":
            monitor.paused = False
            notify(monitor.uuid, PowerState.RUNNING)
        elif name == "GUEST_PANICKED":
            notify(monitor.uuid, PowerState.CRASHED)
        elif name == "DEVICE_DELETED":
            data = event.get("data")
            device = str(data.get("device") or "") if isinstance(data, dict) else ""
            if device in monitor.deleted:
                monitor.deleted[device].set()


async def pass_fd(monitor: Monitor, fd: int, name: str) -> None:
    """Give QEMU our ``fd`` under ``name`` (SCM_RIGHTS, then ``getfd``)."""
    with contextlib.suppress(DriverError):      # a name left by an earlier attempt
        await monitor.execute("closefd", {"fdname": name})
    try:
        _send_fd(monitor.qmp, fd)
    except (QMPError, OSError, AttributeError) as exc:
        raise DriverError(f"cannot pass a file to guest {monitor.uuid}: {exc}") from exc
    await monitor.execute("getfd", {"fdname": name})


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
