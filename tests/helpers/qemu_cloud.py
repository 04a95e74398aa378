"""The all-in-one cloud with the QEMU driver under TCG, for the end-to-end tests: started
on a state directory of its own, driven through the `openstack` CLI, with the host objects
behind its servers (QEMU processes in /proc, guest files, Placement allocations)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx
from qemu.qmp import QMPClient

from helpers.process import Cloud, port_overrides, start_cloud, stop_cloud
from helpers.process import wait_until as wait_for

BOOT_TIMEOUT = 120.0          # POST to the login marker under TCG, with margin for a busy CI
EXTRA = ("compute.driver=qemu", "compute.virt_type=qemu", "compute.host=e2e-node",
         "compute.shutdown_timeout=20", "compute.report_interval=1",
         "compute.resync_interval=5")
T = TypeVar("T")


def wait_until(what: str, probe: Callable[[], T], timeout: float = BOOT_TIMEOUT) -> T:
    result: T = wait_for(what, probe, timeout)
    return result


class QemuCloud:
    """The cloud, its state directory, and the host objects behind its servers."""

    def __init__(self, tmp: Path, extra: tuple[str, ...] = ()) -> None:
        self.tmp = tmp
        self.extra = (*EXTRA, *extra)
        self.cloud = self._start()

    def _start(self) -> Cloud:
        cloud = start_cloud(self.tmp, "sqlite", None, self.extra)
        try:
            wait_until("the compute node", lambda: cloud.osc_json("hypervisor", "list"), 60)
        except BaseException:
            stop_cloud(cloud)
            raise
        return cloud

    def ownstack(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "ownstack", "--state-dir",
                   str(self.cloud.state_dir)]
        for item in port_overrides(self.cloud.port):
            command += ["--set", item]
        result = subprocess.run([*command, *args], capture_output=True, text=True,
                                timeout=300, check=False)
        if check:
            assert result.returncode == 0, f"ownstack {args} failed:\n{result.stderr}"
        return result

    def kill(self) -> None:
        """SIGKILL the cloud (its guests and dnsmasq carry on); :meth:`restart` it."""
        self.cloud.process.send_signal(signal.SIGKILL)
        self.cloud.process.wait(timeout=30)

    def restart(self) -> None:
        self.cloud = self._start()

    def kill_and_restart(self) -> None:
        self.kill()
        self.restart()

    @property
    def instances(self) -> Path:
        return self.cloud.state_dir / "compute" / "qemu" / "e2e-node" / "instances"

    def console(self, server: str) -> str:
        return str(self.cloud.osc("console", "log", "show", server).stdout)

    def wait_console(self, server: str, text: str, count: int = 1) -> str:
        return wait_until(f"{text!r} x{count} on the console of {server}", lambda: (
            out := self.console(server)).count(text) >= count and out)

    def status(self, server: str) -> str:
        return str(self.cloud.osc_json("server", "show", server)["status"])

    def allocations(self, server_id: str) -> dict[str, Any]:
        response = httpx.get(f"{self.cloud.placement_url}/allocations/{server_id}",
                             headers={"X-Auth-Token": self.cloud.admin_token()})
        return dict(response.json()["allocations"])


def qmp_status(pid: int) -> str:
    """The run state QEMU ``pid`` reports over its QMP socket (``prelaunch``: started with
    ``-S`` and never continued; ``running``...). Only while no one else holds the socket
    (QEMU serves one client at a time): the cloud killed, say. Waits for a QEMU just
    started to make its socket."""
    argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    option = argv[argv.index(b"-qmp") + 1].decode()
    path = option.removeprefix("unix:").split(",server")[0].replace(",,", ",")

    async def ask() -> str:
        client = QMPClient("e2e")
        while not Path(path).exists():      # QEMU makes it early in its start
            await asyncio.sleep(0.01)
        await client.connect(path)
        try:
            return str((await client.execute("query-status"))["status"])  # type: ignore[index]
        finally:
            await client.disconnect()

    return asyncio.run(asyncio.wait_for(ask(), 10))


def qemu_pids(uuid: str) -> list[int]:
    """Live QEMU processes whose command line names ``uuid``."""
    return _pids(lambda argv: argv[0].endswith(b"qemu-system-x86_64") and uuid.encode() in argv)


def _pids(match: Callable[[list[bytes]], bool]) -> list[int]:
    """Live processes whose command line (split at its NULs) ``match`` takes."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv and argv[0] and match(argv):
            pids.append(int(entry.name))
    return pids


def stop_and_reap(cloud: Cloud) -> None:
    """A fixture's last word: the cloud stopped, and every process of its state directory
    killed (QEMU guests, dnsmasq, metadata proxies). They outlive their control plane by
    design (a restarted agent adopts them), so a fixture whose setup failed before it
    deleted its servers and networks would otherwise leave them running, on the CPU the
    next tests need."""
    try:
        stop_cloud(cloud)
    finally:
        marker = str(cloud.state_dir).encode()
        for pid in _pids(lambda argv: any(marker in arg for arg in argv)):
            if pid != os.getpid():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
