""""The host" of the Linux driver: a network namespace, and one thread that lives in it.

The driver's ``host_namespace`` option names the namespace it treats as the host: empty
for the process's own (the real host), a name under ``/run/netns``, or a path such as
``/proc/<pid>/ns/net``. Tests always give one they made, so no test touches the real
host's links.

A network namespace belongs to a thread, not to a process (``setns(2)`` moves only the
caller), and a netlink socket or a tap belongs to the namespace of the thread that made
it. So :class:`HostNamespace` keeps one worker thread that enters the namespace once and
makes every netlink socket and every tap there: the driver's pyroute2 calls all run on it
(off the event loop, one at a time), and the link monitor's socket is made on it too.
Programs (``nft``, ``dnsmasq``) run in the namespace through :meth:`HostNamespace.argv`.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar, cast

from ownstack.network.drivers.base import DriverError

if TYPE_CHECKING:
    from pyroute2 import IPRoute

__all__ = ["HostNamespace", "create_namespace", "namespace_argv", "run_in"]

_T = TypeVar("_T")

RTMGRP_LINK = 1                 # the rtnetlink multicast group of link changes
MONITOR_BUFFER = 4 * 1024 * 1024


def namespace_argv(namespace: str, argv: Sequence[str]) -> list[str]:
    """``argv`` run inside ``namespace`` (by name or path), or as it is for the real host."""
    if not namespace:
        return list(argv)
    if "/" in namespace:
        return ["nsenter", f"--net={namespace}", "--", *argv]
    return ["ip", "netns", "exec", namespace, *argv]


class HostNamespace:
    """The namespace the driver works in, and the thread that works there."""

    def __init__(self, namespace: str = "") -> None:
        self.namespace = namespace
        self._executor: ThreadPoolExecutor | None = None
        self._ipr: IPRoute | None = None

    @property
    def label(self) -> str:
        return self.namespace or "the host namespace"

    async def start(self) -> None:
        """Enter the namespace on the worker thread and open the netlink socket there.
        :class:`DriverError` if the namespace does not exist or cannot be entered."""
        if self._ipr is not None:
            return
        executor = ThreadPoolExecutor(1, thread_name_prefix="netns")
        try:
            self._ipr = await asyncio.get_running_loop().run_in_executor(
                executor, self._enter)
        except Exception as exc:
            executor.shutdown(wait=False)
            raise DriverError(f"cannot enter network namespace {self.label}: {exc}") from exc
        self._executor = executor

    def _enter(self) -> IPRoute:
        from pyroute2 import IPRoute, netns

        if self.namespace:
            netns.setns(self.namespace, flags=0)     # flags=0: never create it
        return IPRoute()

    async def run(self, call: Callable[[IPRoute], _T], what: str) -> _T:
        """``call(ipr)`` on the namespace's thread; a netlink or OS error becomes a
        :class:`DriverError` that says ``what`` failed."""
        if self._executor is None or self._ipr is None:
            raise DriverError("the Linux network driver has not been started (init_host)")
        ipr = self._ipr
        try:
            return await asyncio.get_running_loop().run_in_executor(
                self._executor, lambda: call(ipr))
        except DriverError:
            raise
        except (OSError, ValueError) as exc:          # NetlinkError is an OSError
            raise DriverError(f"{what} in {self.label}: {exc}") from exc

    async def open_monitor(self) -> socket.socket:
        """A non-blocking rtnetlink socket in the namespace, subscribed to link changes."""
        def monitor(ipr: IPRoute) -> socket.socket:
            sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, MONITOR_BUFFER)
                sock.bind((0, RTMGRP_LINK))
                sock.setblocking(False)
            except BaseException:
                sock.close()
                raise
            return sock
        return await self.run(monitor, "cannot watch links")

    def argv(self, argv: Sequence[str]) -> list[str]:
        """``argv`` as a program run inside this namespace."""
        return namespace_argv(self.namespace, argv)

    async def close(self) -> None:
        executor, ipr = self._executor, self._ipr
        self._executor = self._ipr = None
        if executor is None:
            return
        if ipr is not None:
            await asyncio.get_running_loop().run_in_executor(executor, ipr.close)
        executor.shutdown(wait=False)


def run_in(namespace: str | None, call: Callable[[IPRoute], _T]) -> _T:
    """Blocking: ``call(ipr)`` with a netlink socket made in ``namespace`` (empty or None:
    the calling thread's own), on a short-lived thread that enters it.

    Never pyroute2's ``netns=`` argument: that forks the process to make the socket and
    stops the child with SIGTERM, and in a process with an event loop the child's
    inherited signal handler writes to the loop's wake-up descriptor, which it shares with
    the parent, so the parent believes it got the SIGTERM (seen as ``ownstack up`` shutting
    down when a router was made). A thread that enters the namespace with ``setns(2)``
    makes the socket there without a fork.
    """
    from pyroute2 import IPRoute, netns

    if not namespace:
        with IPRoute() as ipr:
            return call(ipr)
    outcome: dict[str, Any] = {}

    def enter_and_call() -> None:
        try:
            netns.setns(namespace, flags=0)      # flags=0: never create it
            with IPRoute() as ipr:
                outcome["value"] = call(ipr)
        except BaseException as exc:             # re-raised in the caller's thread
            outcome["error"] = exc

    thread = threading.Thread(target=enter_and_call, name=f"netns {namespace}", daemon=True)
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return cast(_T, outcome["value"])


def create_namespace(name: str) -> None:
    """Blocking: the named network namespace exists (``ip netns add``; pyroute2's
    ``netns.create`` forks the process, see :func:`run_in`)."""
    from pyroute2 import netns

    if name in netns.listnetns():
        return
    done = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True,
                          timeout=10, check=False)
    if done.returncode != 0 and name not in netns.listnetns():
        raise DriverError(f"cannot make network namespace {name}: {done.stderr.strip()}")
