"""Starting, adopting and stopping the metadata proxy of one namespace.

A proxy (:mod:`ownstack.network.metadata_proxy`) runs per ``qdhcp-<network>`` or
``qrouter-<router>`` namespace, started as
``ip netns exec <namespace> <python> -m ownstack.network.metadata_proxy --socket <path>
--network-id <id>`` (or ``--router-id``) in a session of its own, so it outlives an agent
that is killed. Its pid is kept in ``<state_dir>/network/metadata-proxy/<id>.pid`` and its
standard error in ``<id>.log`` beside it.

An agent that starts again adopts what it finds (:func:`running_proxy`): the pid file's
process counts only while it is alive, runs the proxy module for the same id (its command
line), and sits in the expected namespace (``/proc/<pid>/ns/net`` against
``/run/netns/<namespace>``); anything else is a stale pid file, removed. Every call is
idempotent: :func:`ensure_proxy` starts only what is not running, :func:`stop_proxy` of a
proxy that is gone succeeds.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import re
import signal
import sys
from pathlib import Path
from typing import Final

from ownstack.network.metadata_proxy import agent_socket_path

PROXY_MODULE: Final = "ownstack.network.metadata_proxy"
METADATA_ADDRESS: Final = "169.254.169.254"
METADATA_PORT: Final = 80
NETNS_DIR: Final = Path("/run/netns")
START_TIMEOUT: Final = 10.0
STOP_TIMEOUT: Final = 5.0
_ID = re.compile(r"[A-Za-z0-9-]{1,64}")
_NAMESPACE = re.compile(r"[A-Za-z0-9_.\-]{1,64}")
# The processes this one started, so that asyncio reaps them and their pipes close.
_children: dict[int, asyncio.subprocess.Process] = {}


class ProxyError(Exception):
    """A proxy did not start; the message carries what it wrote on standard error."""


def proxy_dir(state_dir: Path) -> Path:
    return state_dir / "network" / "metadata-proxy"


def pid_file(state_dir: Path, owner_id: str) -> Path:
    return proxy_dir(state_dir) / f"{_checked(owner_id)}.pid"


def _checked(owner_id: str) -> str:
    if not _ID.fullmatch(owner_id):
        raise ValueError(f"not a network or router id: {owner_id!r}")
    return owner_id


def proxy_command(namespace: str, socket: Path, *, network_id: str | None = None,
                  router_id: str | None = None, bind: str = METADATA_ADDRESS,
                  port: int = METADATA_PORT, python: str = sys.executable) -> list[str]:
    """The argument list that runs a proxy in ``namespace``: exactly one owner id."""
    if (network_id is None) == (router_id is None):
        raise ValueError("give exactly one of network_id and router_id")
    if not _NAMESPACE.fullmatch(namespace):
        raise ValueError(f"not a namespace name: {namespace!r}")
    owner = ["--network-id", _checked(network_id)] if network_id is not None \
        else ["--router-id", _checked(router_id or "")]
    return ["ip", "netns", "exec", namespace, python, "-m", PROXY_MODULE,
            "--socket", str(socket), *owner, "--bind", bind, "--port", str(int(port))]


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"     # a zombie has exited


def _same_namespace(pid: int, namespace: str) -> bool:
    try:
        return os.stat(f"/proc/{pid}/ns/net").st_ino == os.stat(NETNS_DIR / namespace).st_ino
    except OSError:
        return False


def _runs_proxy_for(pid: int, owner_id: str) -> bool:
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    owner = owner_id.encode()
    return PROXY_MODULE.encode() in argv and any(
        flag in (b"--network-id", b"--router-id") and value == owner
        for flag, value in itertools.pairwise(argv))


def _proxies_of(state_dir: Path) -> dict[str, int]:
    """Every live proxy that serves this state directory's agent socket, by owner id, as
    the process table has them: also one whose pid file was never written (the agent
    killed between its start and its record)."""
    socket = str(agent_socket_path(state_dir)).encode()
    found: dict[str, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            argv = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if PROXY_MODULE.encode() not in argv or socket not in argv or not _alive(int(entry)):
            continue
        for flag, value in itertools.pairwise(argv):
            if flag in (b"--network-id", b"--router-id") and _ID.fullmatch(value.decode()):
                found[value.decode()] = int(entry)
    return found


def running_proxy(state_dir: Path, owner_id: str, namespace: str | None = None) -> int | None:
    """The pid of the proxy of ``owner_id`` (in ``namespace``, when given) if one runs;
    a pid file that names anything else is removed, and a proxy that runs without its pid
    file is recorded again."""
    path = pid_file(state_dir, owner_id)
    try:
        pid = int(path.read_text().strip())
    except (OSError, ValueError):
        path.unlink(missing_ok=True)
        orphan = _proxies_of(state_dir).get(owner_id)
        if orphan is None or (namespace is not None and not _same_namespace(orphan, namespace)):
            return None
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o750)
        path.write_text(f"{orphan}\n")
        return orphan
    if _alive(pid) and _runs_proxy_for(pid, owner_id) and (
            namespace is None or _same_namespace(pid, namespace)):
        return pid
    path.unlink(missing_ok=True)
    return None


def running_proxies(state_dir: Path) -> dict[str, int]:
    """Every proxy of this state directory's agent, by owner id, with a pid file or
    without (for pruning what nobody wants)."""
    found: dict[str, int] = {}
    for path in sorted(proxy_dir(state_dir).glob("*.pid")):
        if _ID.fullmatch(path.stem):
            pid = running_proxy(state_dir, path.stem)
            if pid is not None:
                found[path.stem] = pid
    for owner_id in _proxies_of(state_dir).keys() - found.keys():
        pid = running_proxy(state_dir, owner_id)
        if pid is not None:
            found[owner_id] = pid
    return found


async def ensure_proxy(state_dir: Path, namespace: str, *, network_id: str | None = None,
                       router_id: str | None = None, socket: Path | None = None,
                       bind: str = METADATA_ADDRESS, port: int = METADATA_PORT,
                       timeout: float = START_TIMEOUT) -> int:
    """The pid of the running proxy for ``network_id`` or ``router_id`` in ``namespace``,
    started if none runs. Returns once it listens; :class:`ProxyError` when it does not
    within ``timeout`` (nothing is left running then)."""
    owner_id = network_id if network_id is not None else router_id or ""
    command = proxy_command(namespace, socket or agent_socket_path(state_dir),
                            network_id=network_id, router_id=router_id, bind=bind, port=port)
    pid = running_proxy(state_dir, owner_id)
    if pid is not None:
        if _same_namespace(pid, namespace):
            return pid
        await _end(pid, timeout=STOP_TIMEOUT)     # ours, but in a namespace since remade
    directory = proxy_dir(state_dir)
    directory.mkdir(parents=True, exist_ok=True, mode=0o750)
    log_path = directory / f"{owner_id}.log"
    log = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        process = await asyncio.create_subprocess_exec(
            *command, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=log, start_new_session=True)
    finally:
        os.close(log)
    _children[process.pid] = process
    line = b""
    if process.stdout is not None:
        with contextlib.suppress(TimeoutError):
            line = await asyncio.wait_for(process.stdout.readline(), timeout)
    if line.strip() != b"ready":
        await _end(process.pid, timeout=STOP_TIMEOUT)
        tail = log_path.read_bytes()[-2000:].decode("utf-8", "replace").strip()
        raise ProxyError(f"the metadata proxy for {owner_id} in {namespace} did not start: "
                         f"{tail or 'no output'}")
    tmp = pid_file(state_dir, owner_id).with_suffix(".tmp")
    tmp.write_text(f"{process.pid}\n")
    tmp.replace(pid_file(state_dir, owner_id))
    return process.pid


async def stop_proxy(state_dir: Path, owner_id: str, *, timeout: float = STOP_TIMEOUT
                     ) -> bool:
    """Stop the proxy of ``owner_id``; False when none was running. Its pid file goes."""
    pid = running_proxy(state_dir, owner_id)
    pid_file(state_dir, owner_id).unlink(missing_ok=True)
    if pid is None:
        return False
    await _end(pid, timeout=timeout)
    return True


async def _exited(pid: int, timeout: float) -> bool:
    """Whether ``pid`` exits within ``timeout``: its pidfd turns readable when it does,
    whoever its parent is."""
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


async def _end(pid: int, *, timeout: float) -> None:
    """SIGTERM, then SIGKILL after ``timeout``; returns once the process is gone."""
    for signum in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)
        if await _exited(pid, timeout):
            break
    child = _children.pop(pid, None)
    if child is not None:
        try:
            await child.wait()      # reaped, so no zombie stays
        except RuntimeError:
            # started under another event loop (an earlier asyncio.run in this process):
            # it exited above, so reap it directly
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)      # noqa: ASYNC222 (WNOHANG never blocks)
