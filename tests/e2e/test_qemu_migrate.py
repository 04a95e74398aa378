"""Cold migration of a real guest between two compute hosts on this one machine, through
the `openstack` CLI: the control plane runs ``--roles api,conductor`` on PostgreSQL and
RabbitMQ, and two compute agents run as processes of their own (``ownstack up --roles
compute``), each with its own state directory and host name and the QEMU driver under TCG.
The agents reach the control plane and each other only over RabbitMQ and the APIs.

The guest writes a marker onto its own disk (a sector well past the image's data, written
from a root shell on its serial console). It is migrated: it runs on the other host (its
QEMU process is the other agent's, its files are under the other state directory) and
reads the marker back; confirm removes it from the first host. With 48 MiB more on its
disk it is migrated again, and the destination's agent is SIGKILLed in the middle of
pulling the disk and started again: the migration still ends in VERIFY_RESIZE with no
partial file left; revert brings it back to where it ran, marker intact, and the
destination's copy is removed. Migrated a third time, the source's agent is SIGKILLed in
the middle of the pull and started again: the pull goes on, and confirm removes the
source's copy.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from helpers.databases import fresh_database, rabbitmq_bus
from helpers.names import unique
from helpers.process import Cloud, port_overrides, run_ownstack, start_cloud
from helpers.qemu import tiny_image
from helpers.qemu_cloud import qemu_pids, stop_and_reap, wait_until
from ownstack.compute.drivers.qemu import process as proc

pytestmark = pytest.mark.functional

HOSTS = ("mig-a", "mig-b")
SECTOR = 200000             # 100 MB into the 1 GiB root disk: past the image's 64 MiB
BULK_AT = 2400              # 64 KiB blocks: 150 MiB in, past the marker
MARKER = "ownstack-migrated-marker-" + os.urandom(4).hex()


@dataclass
class ComputeHost:
    """One compute host: an agent process with its own state directory."""

    name: str
    state_dir: Path
    settings: list[str]

    def ownstack(self, *args: str) -> subprocess.CompletedProcess[str]:
        return run_ownstack(self.state_dir, self.settings, *args)

    def up(self) -> None:
        started = self.ownstack("up", "--roles", "compute")
        assert started.returncode == 0, started.stderr

    def pid(self) -> int:
        return int((self.state_dir / "ownstack.pid").read_text())

    @property
    def driver_dir(self) -> Path:
        return self.state_dir / "compute" / "qemu" / self.name

    def guest_dir(self, uuid: str) -> Path:
        return self.driver_dir / "instances" / uuid

    @property
    def incoming(self) -> Path:
        return self.state_dir / "compute" / "incoming" / self.name

    def serial(self, uuid: str) -> Path:
        return proc.runtime_dir(self.driver_dir) / f"{uuid}.serial"

    def runs(self, uuid: str) -> bool:
        """A QEMU process of ``uuid`` runs from this host's guest directory."""
        marker = str(self.guest_dir(uuid)).encode()
        return any(marker in Path(f"/proc/{pid}/cmdline").read_bytes()
                   for pid in qemu_pids(uuid))


@dataclass
class Env:
    cloud: Cloud
    hosts: dict[str, ComputeHost]

    def server(self, uuid: str) -> dict[str, Any]:
        token = self.cloud.admin_token()
        r = httpx.get(f"{self.cloud.compute_url}/v2.1/servers/{uuid}",
                      headers={"X-Auth-Token": token}, timeout=30)
        assert r.status_code == 200, r.text
        server: dict[str, Any] = r.json()["server"]
        return server

    def wait_status(self, uuid: str, status: str, timeout: float = 120.0) -> dict[str, Any]:
        def probe() -> dict[str, Any] | None:
            server = self.server(uuid)
            assert server["status"] != "ERROR", server.get("fault")
            done = server["status"] == status and server["OS-EXT-STS:task_state"] is None
            return server if done else None
        result: dict[str, Any] = wait_until(f"{uuid} {status}", probe, timeout)
        return result

    def host_of(self, uuid: str) -> ComputeHost:
        return self.hosts[self.server(uuid)["OS-EXT-SRV-ATTR:host"]]


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    tmp = tmp_path_factory.mktemp("qemu-migrate")
    bus = rabbitmq_bus("ownstack-migrate")
    (tmp / "controller").mkdir()
    with fresh_database("postgresql") as url:
        cloud = start_cloud(tmp / "controller", "postgresql", url,
                            (*bus, "roles=api,conductor", "compute.report_interval=0.5"))
        hosts = {}
        for name in HOSTS:
            state = tmp / name / "state"
            state.mkdir(parents=True)
            shutil.copy(cloud.state_dir / "service-password", state / "service-password")
            hosts[name] = ComputeHost(name, state, [
                *bus, *port_overrides(cloud.port), "roles=compute", "compute.driver=qemu",
                "compute.virt_type=qemu", f"compute.host={name}",
                "compute.shutdown_timeout=20", "compute.report_interval=0.5",
                "compute.resync_interval=2"])
        environment = Env(cloud, hosts)
        try:
            for host in hosts.values():
                host.up()
            wait_until("both compute hosts up", lambda: {
                s["Host"] for s in cloud.osc_json("compute", "service", "list", "--service",
                                                  "nova-compute") if s["State"] == "up"
            } == set(HOSTS), 60)
            cloud.osc("flavor", "create", "--vcpus", "1", "--ram", "128", "--disk", "1",
                      "m1.nano")
            cloud.osc("image", "create", "--disk-format", "qcow2", "--container-format",
                      "bare", "--public", "--file", str(tiny_image()), "ownstack-tiny")
            yield environment
        finally:
            for server in cloud.osc_json("server", "list", "--all-projects"):
                cloud.osc("server", "delete", "--wait", server["ID"], expect_ok=False)
            for host in hosts.values():
                host.ownstack("down")
            stop_and_reap(cloud)
    for host in hosts.values():
        instances = host.driver_dir / "instances"
        leaked = [p.name for p in instances.iterdir()] if instances.exists() else []
        assert leaked == [], f"guest directories left behind on {host.name}: {leaked}"
    for log in (cloud.log, *(h.state_dir / "ownstack.log" for h in hosts.values())):
        assert "Traceback" not in log.read_text(), log.read_text()[-20000:]


class SerialShell:
    """A root shell on the guest's serial console (the test image's getty takes root
    without a password), through the socket QEMU serves the port on."""

    def __init__(self, path: Path) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(0.5)
        self.sock.connect(str(path))
        self.seen = b""

    def __enter__(self) -> SerialShell:
        self.login()
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.sendall(b"exit\r")        # back to the login prompt for the next one
        self.sock.close()

    def expect(self, text: bytes, timeout: float = 60.0, *, poke: bytes = b"") -> bytes:
        deadline = time.monotonic() + timeout
        while text not in self.seen:
            assert time.monotonic() < deadline, \
                f"no {text!r} on the console: {self.seen[-2000:]!r}"
            if poke:
                self.sock.sendall(poke)
            try:
                self.seen += self.sock.recv(65536)
            except TimeoutError:
                continue
        before, _, self.seen = self.seen.partition(text)
        return before

    def login(self) -> None:
        self.expect(b"login: ", poke=b"\r")
        self.sock.sendall(b"root\r")
        self.expect(b"# ")

    def run(self, command: str) -> str:
        """``command``'s output: what comes between two markers the command line itself
        does not spell out (the console echoes what is typed)."""
        self.sock.sendall(f"echo BEGIN-$((6*7)); {command}; echo END-$((6*7))\r".encode())
        self.expect(b"BEGIN-42")
        return self.expect(b"END-42").decode(errors="replace").strip()


def write_marker(host: ComputeHost, uuid: str) -> None:
    with SerialShell(host.serial(uuid)) as shell:
        shell.run(f"echo {MARKER} | dd of=/dev/vda bs=512 seek={SECTOR} conv=sync "
                  f"2>/dev/null; sync")


def read_marker(host: ComputeHost, uuid: str) -> str:
    with SerialShell(host.serial(uuid)) as shell:
        return shell.run(f"dd if=/dev/vda bs=512 skip={SECTOR} count=1 2>/dev/null "
                         f"| head -c {len(MARKER)}")


def wait_login(host: ComputeHost, uuid: str, boots: int) -> None:
    console = host.guest_dir(uuid) / "console.log"
    wait_until(f"the guest booted on {host.name}", lambda: console.is_file() and console.read_text(
        errors="replace").count("ownstack: login ready on") >= boots)


def kill_mid_pull(victim: ComputeHost, dest: ComputeHost, uuid: str) -> int:
    """SIGKILL ``victim``'s agent once ``dest`` has written part of the disk, and
    return how much it had: the pull was cut short, not finished."""
    killed = victim.pid()
    part = dest.incoming / f".{uuid}.part"
    deadline = time.monotonic() + 120
    while not (part.exists() and part.stat().st_size > 0):
        assert time.monotonic() < deadline, "the pull never started"
        time.sleep(0.005)
    os.kill(killed, signal.SIGKILL)
    wait_until("the agent gone", lambda: not Path(f"/proc/{killed}").exists(), 10)
    cut_at = part.stat().st_size if part.exists() else 0
    assert not (dest.incoming / f"{uuid}.qcow2").exists(), "the pull finished first"
    assert 0 < cut_at < 48 * 1024 ** 2 or victim is not dest
    return cut_at


def test_cold_migration_moves_the_guest_and_its_disk(env: Env) -> None:
    start = time.monotonic()
    created = env.cloud.osc_json("server", "create", "--image", "ownstack-tiny", "--flavor",
                                 "m1.nano", "--nic", "none", "--wait", unique("vm"))
    uuid = created["id"]
    source = env.host_of(uuid)
    wait_login(source, uuid, 1)
    write_marker(source, uuid)
    [dest] = [h for h in env.hosts.values() if h is not source]

    env.cloud.osc("server", "migrate", uuid)
    shown = env.wait_status(uuid, "VERIFY_RESIZE")
    assert shown["OS-EXT-SRV-ATTR:host"] == dest.name
    assert dest.runs(uuid) and not source.runs(uuid)
    # The source keeps its powered-off guest and disk until the migration is confirmed.
    assert (source.guest_dir(uuid) / "disk.qcow2").is_file()
    assert dest.incoming.exists() and list(dest.incoming.iterdir()) == []
    wait_login(dest, uuid, 1)
    assert read_marker(dest, uuid) == MARKER
    # The overlay came over the bus and now rests on the destination's own cached image.
    info = json.loads(subprocess.run(
        ["qemu-img", "info", "--force-share", "--output=json",
         str(dest.guest_dir(uuid) / "disk.qcow2")], capture_output=True, text=True,
        check=True).stdout)
    assert info["backing-filename"].startswith(str(dest.state_dir)), info

    env.cloud.osc("server", "resize", "confirm", uuid)
    env.wait_status(uuid, "ACTIVE")
    wait_until("the source's guest removed", lambda: not source.guest_dir(uuid).exists(), 30)
    assert dest.runs(uuid)
    print(f"boot, marker, migrate, confirm: {time.monotonic() - start:.1f} s")


def test_a_killed_destination_converges_and_revert_goes_back(env: Env) -> None:
    start = time.monotonic()
    [server] = env.cloud.osc_json("server", "list")
    uuid = server["ID"]
    source = env.host_of(uuid)
    [dest] = [h for h in env.hosts.values() if h is not source]
    wait_login(source, uuid, 1)

    # 48 MiB more on the guest's disk, so its overlay takes some fifty chunks to move.
    with SerialShell(source.serial(uuid)) as shell:
        shell.run(f"dd if=/dev/zero of=/dev/vda bs=65536 count=768 seek={BULK_AT} "
                  f"2>/dev/null; sync")

    # The destination's agent dies in the middle of the pull: started again, it pulls the
    # disk from its first byte (the partial file is never used) and makes the guest.
    killed = dest.pid()
    env.cloud.osc("server", "migrate", uuid)
    cut_at = kill_mid_pull(dest, dest, uuid)
    dest.up()
    assert dest.pid() != killed
    shown = env.wait_status(uuid, "VERIFY_RESIZE")
    assert shown["OS-EXT-SRV-ATTR:host"] == dest.name and dest.runs(uuid)
    assert list(dest.incoming.iterdir()) == []
    assert (dest.guest_dir(uuid) / "disk.qcow2").stat().st_size > 48 * 1024 ** 2
    print(f"the pull cut at {cut_at} bytes by the SIGKILL")

    env.cloud.osc("server", "resize", "revert", uuid)
    shown = env.wait_status(uuid, "ACTIVE")
    assert shown["OS-EXT-SRV-ATTR:host"] == source.name
    wait_until("the destination's copy removed", lambda: not dest.guest_dir(uuid).exists(),
               30)
    assert source.runs(uuid) and not dest.runs(uuid)
    wait_login(source, uuid, 2)
    assert read_marker(source, uuid) == MARKER
    print(f"migrate through a SIGKILL, revert: {time.monotonic() - start:.1f} s")


def test_a_source_killed_mid_pull_comes_back_and_the_pull_goes_on(env: Env) -> None:
    """The source's agent dies while the destination pulls (the guest's disk is the
    source's, powered off, and stays): started again, it answers the chunk requests
    RabbitMQ kept or redelivered, the migration ends in VERIFY_RESIZE, and confirm
    removes the source's copy."""
    start = time.monotonic()
    [server] = env.cloud.osc_json("server", "list")
    uuid = server["ID"]
    source = env.host_of(uuid)
    [dest] = [h for h in env.hosts.values() if h is not source]
    wait_login(source, uuid, 2)
    env.cloud.osc("server", "migrate", uuid)
    killed = source.pid()
    kill_mid_pull(source, dest, uuid)
    assert (source.guest_dir(uuid) / "disk.qcow2").is_file()
    source.up()
    assert source.pid() != killed
    shown = env.wait_status(uuid, "VERIFY_RESIZE")
    assert shown["OS-EXT-SRV-ATTR:host"] == dest.name and dest.runs(uuid)
    assert list(dest.incoming.iterdir()) == []
    wait_login(dest, uuid, 1)
    assert read_marker(dest, uuid) == MARKER
    env.cloud.osc("server", "resize", "confirm", uuid)
    env.wait_status(uuid, "ACTIVE")
    wait_until("the source's guest removed", lambda: not source.guest_dir(uuid).exists(), 30)
    print(f"migrate through a SIGKILL of the source, confirm: {time.monotonic() - start:.1f} s")
