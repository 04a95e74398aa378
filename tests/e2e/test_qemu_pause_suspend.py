"""Pause, suspend, resume and rescue on real guests, end to end: the all-in-one cloud with the
QEMU driver under TCG, driven through the `openstack` CLI, one ``ownstack-tiny`` guest for
the whole module.

The guest prints a counter on its console every second (the image's heartbeat, asked for
with the ``ownstack_heartbeat`` server property), so a test sees what the guest does: no
tick while it is paused, and after a resume the next tick follows the last one (no new
boot). Rescue is seen from inside too: the kernel's list of disks at each boot. Each
check looks at the host too: the QEMU process (none while suspended: its
memory is free), the save file, and no leftovers after a SIGKILL of the cloud.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

import pytest

from helpers.names import unique
from helpers.qemu import tiny_image
from helpers.qemu_cloud import QemuCloud, qemu_pids, stop_and_reap, wait_until

pytestmark = pytest.mark.functional

# Not anchored: getty's login prompt may share a line with a tick.
_TICK = re.compile(r"ownstack: tick (\d+)\b")


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[QemuCloud]:
    image = tiny_image()
    env = QemuCloud(tmp_path_factory.mktemp("qemu-actions"))
    try:
        env.ownstack("seed", "--image", str(image))
        yield env
    finally:
        for server in env.cloud.osc_json("server", "list", "--all-projects"):
            env.cloud.osc("server", "delete", "--wait", server["ID"], expect_ok=False)
        stop_and_reap(env.cloud)
    leaked = [p.name for p in env.instances.iterdir()] if env.instances.exists() else []
    assert leaked == [], f"guest directories left behind: {leaked}"


@pytest.fixture(scope="module")
def vm(env: QemuCloud) -> Iterator[str]:
    """The module's guest, counting on its console."""
    name = unique("vm")
    server = env.cloud.osc_json(
        "server", "create", "--image", "ownstack-tiny", "--flavor", "m1.nano", "--nic",
        "none", "--config-drive", "true", "--property", "ownstack_heartbeat=1", "--wait",
        name)
    assert server["status"] == "ACTIVE", server
    env.wait_console(name, "ownstack: tick 2")
    yield name


def server_id(env: QemuCloud, vm: str) -> str:
    return str(env.cloud.osc_json("server", "show", vm)["id"])


def ticks(env: QemuCloud, vm: str) -> list[int]:
    return [int(n) for n in _TICK.findall(env.console(vm))]


def wait_ticks_after(env: QemuCloud, vm: str, last: int) -> list[int]:
    return wait_until(f"a tick after {last}", lambda: (t := ticks(env, vm))[-1] > last and t,
                      timeout=60)


def rests(env: QemuCloud, vm: str, status: str, timeout: float = 120) -> None:
    def probe() -> bool:
        shown = env.cloud.osc_json("server", "show", vm)
        return shown["status"] == status and shown["OS-EXT-STS:task_state"] is None
    wait_until(status, probe, timeout)


def assert_runs_on(env: QemuCloud, vm: str, before: list[int]) -> None:
    """The guest carries on from ``before``: the counter goes on from its last value with
    no restart (a new boot would count from 1 again), and it booted once."""
    after = wait_ticks_after(env, vm, before[-1])
    assert after[:len(before)] == before
    assert all(a < b for a, b in pairwise(after)), after
    assert env.console(vm).count("ownstack: login ready on") == 1


def guest_files(env: QemuCloud, uuid: str) -> set[str]:
    return {p.name for p in (env.instances / uuid).iterdir()}


def test_pause_stops_the_guest_and_unpause_lets_it_run_on(env: QemuCloud, vm: str) -> None:
    uuid = server_id(env, vm)
    env.cloud.osc("server", "pause", vm)
    rests(env, vm, "PAUSED")
    assert env.cloud.osc_json("server", "show", vm)["OS-EXT-STS:power_state"] in (
        "Paused", 3)
    paused = ticks(env, vm)
    time.sleep(3)                                   # three ticks' time: not one comes
    assert ticks(env, vm) == paused
    assert len(qemu_pids(uuid)) == 1                # paused in memory, the process stays
    env.cloud.osc("server", "unpause", vm)
    rests(env, vm, "ACTIVE")
    assert_runs_on(env, vm, paused)


def test_suspend_frees_the_process_and_resume_carries_on(env: QemuCloud, vm: str) -> None:
    uuid = server_id(env, vm)
    env.cloud.osc("server", "suspend", vm)
    rests(env, vm, "SUSPENDED")
    assert env.cloud.osc_json("server", "show", vm)["OS-EXT-STS:power_state"] in (
        "Suspended", 7)
    assert qemu_pids(uuid) == []                    # the host's memory is free
    assert "memory.state" in guest_files(env, uuid)
    saved = ticks(env, vm)
    env.cloud.osc("server", "resume", vm)
    rests(env, vm, "ACTIVE")
    assert len(qemu_pids(uuid)) == 1
    assert "memory.state" not in guest_files(env, uuid)
    assert_runs_on(env, vm, saved)


def wait_for_any(*paths: Path, timeout: float = 60) -> str:
    """The name of the first of ``paths`` to appear (polled every millisecond: a 128 MiB
    guest's memory, mostly zero pages, is saved in a fraction of a second)."""
    deadline = time.monotonic() + timeout
    while True:
        for path in paths:
            if path.exists():
                return path.name
        assert time.monotonic() < deadline, f"none of {paths} appeared"
        time.sleep(0.001)


def test_sigkill_mid_suspend_and_mid_resume_converge(env: QemuCloud, vm: str) -> None:
    """The cloud killed while the memory is being saved, then while it is restored: after
    each restart the server settles (never stuck in a task), with one QEMU or none, no
    partial save file, and a guest that still counts on from where it was."""
    uuid = server_id(env, vm)
    directory = env.instances / uuid
    before = ticks(env, vm)
    env.cloud.osc("server", "suspend", vm)
    # Killed as soon as the save shows: mid-write, or saved but (maybe) not yet quit.
    seen = wait_for_any(directory / ".memory.state.partial", directory / "memory.state")
    env.kill_and_restart()
    rests(env, vm, "SUSPENDED")     # the reconciler finishes the suspend it was asked for
    assert qemu_pids(uuid) == [], f"killed after {seen} appeared"
    assert guest_files(env, uuid) >= {"memory.state"}
    assert ".memory.state.partial" not in guest_files(env, uuid)

    env.cloud.osc("server", "resume", vm)
    wait_until("the restore's QEMU", lambda: qemu_pids(uuid), timeout=60)
    env.kill_and_restart()
    rests(env, vm, "ACTIVE")
    assert len(qemu_pids(uuid)) == 1
    assert not {"memory.state", ".memory.state.partial"} & guest_files(env, uuid)
    assert_runs_on(env, vm, before)


_DISK = re.compile(r"\[(vd[a-z])\] (\d+) 512-byte logical blocks")


def disks_of_last_boot(env: QemuCloud, vm: str) -> dict[str, int]:
    """The guest's virtio disks and their sizes in sectors, as its kernel saw them at its
    last boot: the guest's own view of which disk is first."""
    last = env.console(vm).rsplit("Linux version", 1)[-1]
    return {name: int(sectors) for name, sectors in _DISK.findall(last)}


def test_rescue_boots_the_rescue_image_with_the_disk_second_and_unrescue_undoes_it(
        env: QemuCloud, vm: str) -> None:
    uuid = server_id(env, vm)
    own = disks_of_last_boot(env, vm)["vda"]         # the flavor's 1 GiB root disk
    assert own == 2097152
    env.cloud.osc("server", "rescue", "--image", "ownstack-tiny", "--password", "rescue-pw",
                  vm)
    rests(env, vm, "RESCUE")
    env.wait_console(vm, "ownstack: login ready on", count=2)
    disks = disks_of_last_boot(env, vm)
    # The rescue disk first (the image's own size), the server's disk second.
    assert disks["vda"] != own and disks["vdb"] == own, disks
    assert {"rescue.json", "rescue.qcow2"} <= guest_files(env, uuid)
    assert len(qemu_pids(uuid)) == 1
    refused = env.cloud.osc("server", "rescue", vm, expect_ok=False)
    assert "while it is in vm_state rescued" in refused.stderr, refused.stderr
    env.cloud.osc("server", "unrescue", vm)
    rests(env, vm, "ACTIVE")
    env.wait_console(vm, "ownstack: login ready on", count=3)
    assert disks_of_last_boot(env, vm)["vda"] == own
    assert not {"rescue.json", "rescue.qcow2"} & guest_files(env, uuid)
    assert len(qemu_pids(uuid)) == 1


def test_deleting_a_suspended_server_leaves_nothing(env: QemuCloud, vm: str) -> None:
    uuid = server_id(env, vm)
    env.cloud.osc("server", "suspend", vm)
    rests(env, vm, "SUSPENDED")
    refused = env.cloud.osc("server", "stop", vm, expect_ok=False)
    assert "while it is in vm_state suspended" in refused.stderr, refused.stderr
    env.cloud.osc("server", "delete", "--wait", vm)
    assert qemu_pids(uuid) == [] and not (env.instances / uuid).exists()
    assert env.allocations(uuid) == {}
