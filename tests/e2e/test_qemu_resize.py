"""Resize and shelve of a real guest under TCG, end to end through the `openstack` CLI: one
cloud and one guest for the module, resized, reverted, resized again through a SIGKILL of
the whole cloud, confirmed, then shelved through another SIGKILL and unshelved.

What the guest sees is read from its own kernel on the serial console: each boot prints
``smp: Brought up 1 node, N CPU(s)`` and ``Memory: <available>K/<total>K``. Beside it the
host: QEMU's ``-m``/``-smp``, the kept pre-resize disk, the root disk's virtual size, and
the allocations in Placement (the server's and the migration's).
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest

from helpers.names import unique
from helpers.qemu import tiny_image
from helpers.qemu_cloud import QemuCloud, qemu_pids, stop_and_reap, wait_until

pytestmark = pytest.mark.functional

BIG = "m1.resize-big"       # 2 vCPUs, 192 MiB, 2 GiB: beside m1.nano (1, 128, 1)


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[QemuCloud]:
    env = QemuCloud(tmp_path_factory.mktemp("qemu-resize"))
    try:
        env.ownstack("seed", "--image", str(tiny_image()))
        env.cloud.osc("flavor", "create", "--vcpus", "2", "--ram", "192", "--disk", "2", BIG)
        yield env
    finally:
        for server in env.cloud.osc_json("server", "list", "--all-projects"):
            env.cloud.osc("server", "delete", "--wait", server["ID"], expect_ok=False)
        stop_and_reap(env.cloud)
    leaked = [p.name for p in env.instances.iterdir()] if env.instances.exists() else []
    assert leaked == [], f"guest directories left behind: {leaked}"


@pytest.fixture(scope="module")
def guest(env: QemuCloud) -> dict[str, Any]:
    vm = unique("vm")
    server: dict[str, Any] = env.cloud.osc_json(
        "server", "create", "--image", "ownstack-tiny", "--flavor", "m1.nano", "--nic",
        "none", "--wait", vm)
    env.wait_console(vm, "login ready on")
    return server


def last_boot(env: QemuCloud, vm: str, boots: int) -> str:
    out = env.wait_console(vm, "login ready on", count=boots)
    return out.rsplit("Linux version", 1)[1]


def cpus_and_memory(boot: str) -> tuple[int, int]:
    """What the guest's kernel says: vCPUs brought up, total memory in KiB."""
    cpus = re.search(r"smp: Brought up \d+ nodes?, (\d+) CPUs?", boot)
    memory = re.search(r"Memory: \d+K/(\d+)K available", boot)
    assert cpus and memory, boot[:3000]
    return int(cpus.group(1)), int(memory.group(1))


def migration_of(env: QemuCloud, server_id: str) -> dict[str, Any]:
    listed: list[dict[str, Any]] = env.cloud.osc_json(
        "server", "migration", "list", "--server", server_id, "--os-compute-api-version",
        "2.80")
    return listed[0]


def host_view(env: QemuCloud, vm: str) -> dict[str, Any]:
    objects: dict[str, Any] = json.loads(env.ownstack("show", "server", vm, "--json").stdout
                                         )["host_objects"]
    return objects


def virtual_size(path: str) -> int:
    out = subprocess.run(["qemu-img", "info", "--force-share", "--output=json", path],
                         capture_output=True, text=True, check=True).stdout
    return int(json.loads(out)["virtual-size"])


def resources_of(allocations: dict[str, Any]) -> dict[str, Any]:
    return {rp: alloc["resources"] for rp, alloc in allocations.items()}


def timed(what: str, action: Any) -> float:
    start = time.monotonic()
    action()
    took = time.monotonic() - start
    print(f"{what}: {took:.1f} s")
    return took


def test_resize_gives_the_guest_its_new_cpus_and_memory(env: QemuCloud,
                                                        guest: dict[str, Any]) -> None:
    vm, uuid = guest["name"], guest["id"]
    old_cpus, old_memory = cpus_and_memory(last_boot(env, vm, 1))
    assert old_cpus == 1
    before = env.allocations(uuid)
    timed("resize", lambda: env.cloud.osc("server", "resize", "--flavor", BIG, "--wait", vm))
    assert env.status(vm) == "VERIFY_RESIZE"
    cpus, memory = cpus_and_memory(last_boot(env, vm, 2))
    assert cpus == 2 and memory > old_memory + 32 * 1024
    objects = host_view(env, vm)
    assert "-smp 2" in objects["command_line"] and "-m 192M" in objects["command_line"]
    assert (env.instances / uuid / "disk.pre-resize.qcow2").is_file()
    assert virtual_size(objects["disk"]) == 2 * 1024 ** 3
    migration = migration_of(env, uuid)
    assert migration["Status"] == "finished"
    assert resources_of(env.allocations(migration["UUID"])) == resources_of(before)
    [(_, resources)] = env.allocations(uuid).items()
    assert resources["resources"] == {"VCPU": 2, "MEMORY_MB": 192, "DISK_GB": 2}


def test_revert_gives_back_the_old_cpus_memory_and_disk(env: QemuCloud,
                                                        guest: dict[str, Any]) -> None:
    vm, uuid = guest["name"], guest["id"]
    migration = migration_of(env, uuid)
    timed("revert", lambda: (env.cloud.osc("server", "resize", "revert", vm), wait_until(
        "ACTIVE after revert", lambda: env.status(vm) == "ACTIVE")))
    cpus, _ = cpus_and_memory(last_boot(env, vm, 3))
    assert cpus == 1
    objects = host_view(env, vm)
    assert "-smp 1" in objects["command_line"] and "-m 128M" in objects["command_line"]
    assert virtual_size(objects["disk"]) == 1024 ** 3
    assert not (env.instances / uuid / "disk.pre-resize.qcow2").exists()
    wait_until("the migration holds nothing", lambda: env.allocations(migration["UUID"]) == {},
               30)
    [(_, resources)] = env.allocations(uuid).items()
    assert resources["resources"] == {"VCPU": 1, "MEMORY_MB": 128, "DISK_GB": 1}


def test_sigkill_during_resize_converges_then_confirm(env: QemuCloud,
                                                      guest: dict[str, Any]) -> None:
    vm, uuid = guest["name"], guest["id"]
    env.cloud.osc("server", "resize", "--flavor", BIG, vm)
    wait_until("the resize under way", lambda: env.cloud.osc_json("server", "show", vm)[
        "OS-EXT-STS:task_state"] in ("resize_migrating", "resize_migrated", "resize_finish"),
        30)
    env.kill_and_restart()
    wait_until("VERIFY_RESIZE after the restart", lambda: env.status(vm) == "VERIFY_RESIZE")
    cpus, _ = cpus_and_memory(last_boot(env, vm, 4))
    assert cpus == 2 and len(qemu_pids(uuid)) == 1
    assert sorted(p.name for p in (env.instances / uuid).iterdir()
                  if p.name.startswith(("disk", ".disk"))) == ["disk.pre-resize.qcow2",
                                                                "disk.qcow2"]
    migration = migration_of(env, uuid)
    assert migration["Status"] == "finished"
    timed("confirm", lambda: (env.cloud.osc("server", "resize", "confirm", vm), wait_until(
        "ACTIVE after confirm", lambda: env.status(vm) == "ACTIVE")))
    assert not (env.instances / uuid / "disk.pre-resize.qcow2").exists()
    wait_until("the migration holds nothing", lambda: env.allocations(migration["UUID"]) == {},
               30)
    [(_, resources)] = env.allocations(uuid).items()
    assert resources["resources"] == {"VCPU": 2, "MEMORY_MB": 192, "DISK_GB": 2}
    assert len(qemu_pids(uuid)) == 1     # confirm does not restart the guest


def test_shelve_frees_the_host_through_a_sigkill_and_unshelve_boots_again(
        env: QemuCloud, guest: dict[str, Any]) -> None:
    vm, uuid = guest["name"], guest["id"]
    start = time.monotonic()
    env.cloud.osc("server", "shelve", vm)
    wait_until("shelving", lambda: env.cloud.osc_json("server", "show", vm)[
        "OS-EXT-STS:task_state"] == "shelving", 30)
    env.kill_and_restart()
    wait_until("SHELVED_OFFLOADED after the restart",
               lambda: env.status(vm) == "SHELVED_OFFLOADED")
    print(f"shelve (through a SIGKILL and restart): {time.monotonic() - start:.1f} s")
    assert qemu_pids(uuid) == [] and not (env.instances / uuid).exists()
    assert env.allocations(uuid) == {}
    assert env.cloud.osc_json("server", "show", vm)["OS-EXT-SRV-ATTR:host"] is None
    images = [i["Name"] for i in env.cloud.osc_json("image", "list")]
    assert images.count(f"{vm}-shelved") == 1
    timed("unshelve", lambda: (env.cloud.osc("server", "unshelve", vm), wait_until(
        "ACTIVE after unshelve", lambda: env.status(vm) == "ACTIVE")))
    cpus, _ = cpus_and_memory(last_boot(env, vm, 1))    # a new console: the new guest
    assert cpus == 2 and len(qemu_pids(uuid)) == 1
    [(_, resources)] = env.allocations(uuid).items()
    assert resources["resources"] == {"VCPU": 2, "MEMORY_MB": 192, "DISK_GB": 2}
    wait_until("the shelve image deleted", lambda: f"{vm}-shelved" not in [
        i["Name"] for i in env.cloud.osc_json("image", "list")], 30)
    env.cloud.osc("server", "delete", "--wait", vm)
    assert qemu_pids(uuid) == [] and not (env.instances / uuid).exists()
    assert env.allocations(uuid) == {}
