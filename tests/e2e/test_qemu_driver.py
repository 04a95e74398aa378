"""What the QEMU driver does beyond the shared contract: disks from any image format, refusals
before QEMU opens anything, half-made guests, the console cap, base pruning, opening taps.

Real QEMU and qemu-img throughout (TCG); the contract suite covers the lifecycle.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
import uuid as uuidlib
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from helpers.qemu import make_driver, tiny_image
from ownstack.compute.drivers.base import (
    GuestSpec,
    ImageRef,
    NicSpec,
    Phase,
    PhaseTimer,
    PowerState,
    SpawnFailed,
)
from ownstack.compute.drivers.qemu import monitor as qemu_monitor
from ownstack.compute.drivers.qemu import process as proc
from ownstack.compute.drivers.qemu.driver import QemuDriver, destroy_all_guests


@pytest.fixture
async def driver(tmp_path: Path) -> AsyncIterator[QemuDriver]:
    driver = make_driver(tmp_path / "state")
    await driver.init_host()
    yield driver
    for guest in await driver.list_guests():
        await driver.destroy(guest.uuid)
    await driver.close()


def spec(image: ImageRef, **overrides: Any) -> GuestSpec:
    uuid = str(uuidlib.uuid4())
    base = GuestSpec(uuid=uuid, name="vm", hostname=f"h-{uuid[:6]}", vcpus=1, memory_mb=128,
                     root_gb=1, image=image)
    return replace(base, **overrides)


def tiny() -> ImageRef:
    return ImageRef("img-tiny", tiny_image(), "qcow2")


async def test_a_raw_image_is_converted_once_and_boots(driver: QemuDriver,
                                                       tmp_path: Path) -> None:
    raw = tmp_path / "tiny.raw"
    subprocess.run(["qemu-img", "convert", "-f", "qcow2", "-O", "raw", str(tiny_image()),
                    str(raw)], check=True)
    image = ImageRef("img-raw", raw, "raw")
    phases = PhaseTimer()
    first = spec(image)
    await driver.spawn(first, phases)
    assert phases.names[:2] == [Phase.IMAGE_CONVERT, Phase.DISKS]
    base = driver.bases / "img-raw.qcow2"
    info = json.loads(subprocess.run(["qemu-img", "info", "-U", "--output=json",
                                      str(driver.instances / first.uuid / "disk.qcow2")],
                                     check=True, capture_output=True, text=True).stdout)
    assert info["backing-filename"] == str(base) and info["virtual-size"] == 1024 ** 3
    mtime = base.stat().st_mtime_ns
    await driver.spawn(spec(image), PhaseTimer())       # the converted base is reused
    assert base.stat().st_mtime_ns >= mtime and len(list(driver.bases.iterdir())) == 1
    assert (await driver.get_info(first.uuid)).power_state == PowerState.RUNNING


async def test_refusals_happen_before_qemu_starts(driver: QemuDriver, tmp_path: Path) -> None:
    backed = tmp_path / "backed.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b",
                    str(tiny_image()), str(backed)], check=True)
    blank = tmp_path / "blank.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(blank), "64M"], check=True)
    cases = {
        "names a backing file": spec(ImageRef("img-b", backed, "qcow2")),
        "not a bootable disk": spec(ImageRef("img-blank", blank, "qcow2")),
        "does not boot as a disk": spec(ImageRef("img-iso", blank, "iso")),
    }
    for reason, guest in cases.items():
        with pytest.raises(SpawnFailed) as failure:
            await driver.spawn(guest, PhaseTimer())
        assert reason in failure.value.reason and not failure.value.retryable
        assert not (driver.instances / guest.uuid).exists()


async def test_a_flavor_disk_smaller_than_the_image_is_refused(driver: QemuDriver,
                                                               tmp_path: Path) -> None:
    big = tmp_path / "big.qcow2"
    subprocess.run(["qemu-img", "convert", "-q", "-f", "qcow2", "-O", "qcow2",
                    str(tiny_image()), str(big)], check=True)
    subprocess.run(["qemu-img", "resize", "-q", str(big), "2G"], check=True)
    guest = spec(ImageRef("img-big", big, "qcow2"), root_gb=1)
    with pytest.raises(SpawnFailed, match="disk is too small"):
        await driver.spawn(guest, PhaseTimer())
    assert await driver.list_guests() == []


async def test_a_half_made_guest_is_listed_nostate_and_destroyed_whole(
        driver: QemuDriver) -> None:
    guest = spec(tiny())
    await driver.spawn(guest, PhaseTimer())
    files = proc.GuestFiles(guest.uuid, driver.instances / guest.uuid,
                            proc.runtime_dir(driver.directory))
    recipe = proc.Recipe.load(files.recipe)
    assert recipe is not None
    recipe.spawned = False           # as if the agent died between the start and `cont`
    recipe.save(files.recipe)
    pid = proc.read_pid(files)
    listed = {g.uuid: g.power_state for g in await driver.list_guests()}
    assert listed == {guest.uuid: PowerState.NOSTATE}
    await driver.destroy(guest.uuid)
    assert not proc.pid_alive(pid, guest.uuid) and not files.directory.exists()
    assert not files.qmp.exists() and not files.pidfile.exists()


async def test_a_reused_pid_is_not_taken_for_the_guest(driver: QemuDriver) -> None:
    guest = spec(tiny())
    await driver.spawn(guest, PhaseTimer())
    await driver.power_off(guest.uuid, timeout=0.1)
    files = proc.GuestFiles(guest.uuid, driver.instances / guest.uuid,
                            proc.runtime_dir(driver.directory))
    files.pidfile.write_text(f"{os.getpid()}\n")     # a live process, not this guest's QEMU
    assert (await driver.get_info(guest.uuid)).power_state == PowerState.SHUTDOWN
    await driver.destroy(guest.uuid)                  # and it is not killed
    assert not files.directory.exists()


async def test_the_console_log_is_capped_keeping_the_newest_half(driver: QemuDriver) -> None:
    driver.console_max_bytes = 4096
    guest = spec(tiny())
    await driver.spawn(guest, PhaseTimer())
    console = driver.instances / guest.uuid / "console.log"
    deadline = time.monotonic() + 60
    while console.stat().st_size <= 4096:
        assert time.monotonic() < deadline, "the guest printed less than 4 KiB"
        await asyncio.sleep(0.1)
    output = await driver.console_output(guest.uuid)
    assert 0 < len(output.encode()) <= 4096
    assert console.stat().st_size <= 4096
    await driver.reboot(guest.uuid, hard=True)      # QEMU's next writes land after the tail
    await asyncio.sleep(1)
    while not (again := await driver.console_output(guest.uuid)).endswith("login: ") \
            or again == output:
        assert time.monotonic() < deadline + 60, "no new boot on the trimmed console"
        await asyncio.sleep(0.2)
    assert "\0" not in again and len(again.encode()) <= 4096


async def test_unused_converted_bases_are_pruned_after_their_age(driver: QemuDriver) -> None:
    driver.bases.mkdir(parents=True)
    old, fresh = driver.bases / "img-old.qcow2", driver.bases / "img-new.qcow2"
    for path in (old, fresh):
        path.write_bytes(b"x")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    driver.base_max_age = 3600
    assert driver.prune_bases() == ["img-old.qcow2"]
    assert not old.exists() and fresh.exists()


async def test_a_nic_opens_the_tap_the_network_side_made_and_leaves_it(
        driver: QemuDriver) -> None:
    """The network driver makes a port's tap; QEMU only opens it by name, and the tap
    outlives the guest. A NIC whose tap is missing gets a passing one from QEMU, which goes
    with the guest. The taps are on no bridge and carry no address: nothing reaches them."""
    suffix = uuidlib.uuid4().hex[:6]
    made, missing = f"tapt{suffix}", f"tapu{suffix}"
    subprocess.run(["ip", "tuntap", "add", "dev", made, "mode", "tap"], check=True)
    try:
        subprocess.run(["ip", "link", "set", made, "up"], check=True)
        nics = tuple(NicSpec(port_id=str(uuidlib.uuid4()), mac=f"fa:16:3e:00:00:0{index}",
                             tap_name=tap, bridge="brq-unused")
                     for index, tap in enumerate((made, missing), 1))
        guest = spec(tiny(), nics=nics)
        await driver.spawn(guest, PhaseTimer())
        assert "NO-CARRIER" not in _link(made)["flags"]       # QEMU holds it
        assert _link(missing)["linkinfo"]["info_data"]["persist"] is False
        info = await driver.get_info(guest.uuid)
        assert info.details["taps"] == [made, missing]
        assert {nic.mac for nic in nics} <= {d["arguments"].get("mac")
                                             for d in info.details["qmp_devices"]}
        await driver.destroy(guest.uuid)
        deadline = time.monotonic() + 5     # the killed QEMU's descriptors close soon after
        while "NO-CARRIER" not in _link(made)["flags"]:     # the network side's: it stays
            assert time.monotonic() < deadline, "QEMU still holds the tap"
            await asyncio.sleep(0.05)
        gone = subprocess.run(["ip", "link", "show", missing], capture_output=True)
        assert gone.returncode != 0
    finally:
        subprocess.run(["ip", "link", "del", made], check=False)
        subprocess.run(["ip", "link", "del", missing], check=False, capture_output=True)


def _link(name: str) -> Any:
    return json.loads(subprocess.run(["ip", "-d", "-j", "link", "show", name], check=True,
                                     capture_output=True, text=True).stdout)[0]


async def test_force_config_drive_attaches_one_to_every_guest(tmp_path: Path) -> None:
    driver = make_driver(tmp_path / "state", force_config_drive=True)
    await driver.init_host()
    try:
        guest = spec(tiny(), config_drive=False)
        phases = PhaseTimer()
        await driver.spawn(guest, phases)
        assert Phase.CONFIG_DRIVE in phases.names
        info = await driver.get_info(guest.uuid)
        assert info.details["config_drive"] and Path(info.details["config_drive"]).is_file()
        assert "disk-config" in {d["arguments"].get("id") for d in info.details["qmp_devices"]}
    finally:
        for listed in await driver.list_guests():
            await driver.destroy(listed.uuid)
        await driver.close()


async def test_reset_destroys_every_guest_of_the_state_dir(tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    driver = make_driver(state_dir)
    await driver.init_host()
    guest = spec(tiny())
    await driver.spawn(guest, PhaseTimer())
    pid = (await driver.get_info(guest.uuid)).details["pid"]
    await driver.close()                                  # ownstack down: the guest runs on
    assert proc.pid_alive(pid, guest.uuid)
    assert await destroy_all_guests(state_dir) == [guest.uuid]
    assert not proc.pid_alive(pid, guest.uuid)
    assert not (driver.instances / guest.uuid).exists()



async def _save_behind_the_driver(driver: QemuDriver, uuid: str, *, complete: bool) -> str:
    """What a suspend leaves when its agent dies mid-save: QEMU stopped and migrating into
    ``.memory.state.partial`` on its own, the file never renamed; the save either
    completes or is cut short at its very end (paused before the switchover, then
    cancelled). Returns QEMU's run state once the migration has ended."""
    await driver.close()                      # the agent gone: QMP is free
    files = proc.GuestFiles(uuid, driver.instances / uuid, proc.runtime_dir(driver.directory))
    pid = proc.read_pid(files)
    assert pid is not None
    monitor = await qemu_monitor.connect(uuid, files, pid)

    async def until(*statuses: str) -> None:
        for _ in range(500):
            if (await monitor.execute("query-migrate"))["status"] in statuses:
                return
            await asyncio.sleep(0.02)
        raise AssertionError(f"the migration never reached {statuses}")

    switchover = {"capabilities": [{"capability": "pause-before-switchover",
                                    "state": not complete}]}
    try:
        await monitor.execute("migrate-set-capabilities", switchover)
        await monitor.execute("stop")
        fd = os.open(files.memory_partial, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            await qemu_monitor.pass_fd(monitor, fd, "suspend")
        finally:
            os.close(fd)
        await monitor.execute("migrate", {"uri": "fd:suspend"})
        if not complete:
            await until("pre-switchover")
            await monitor.execute("migrate_cancel")
        await until("completed", "cancelled")
        switchover["capabilities"][0]["state"] = False      # QEMU as the agent leaves it
        await monitor.execute("migrate-set-capabilities", switchover)
        return str((await monitor.execute("query-status"))["status"])
    finally:
        await qemu_monitor.disconnect(monitor)


@pytest.mark.parametrize("complete", [True, False], ids=["completed", "cut-short"])
async def test_a_save_the_agent_did_not_see_end_is_finished_on_restart(
        tmp_path: Path, complete: bool) -> None:
    """QEMU refuses a new migration after one ended (``postmigrate``): the restarted agent
    keeps a save that completed and starts over after one that did not."""
    state_dir = tmp_path / "state"
    first = make_driver(state_dir)
    await first.init_host()
    guest = spec(tiny())
    await first.spawn(guest, PhaseTimer())
    assert await _save_behind_the_driver(first, guest.uuid, complete=complete) == "postmigrate"
    directory = first.instances / guest.uuid
    partial = (directory / ".memory.state.partial").stat().st_size
    driver = make_driver(state_dir)
    await driver.init_host()                  # the restart adopts the stopped QEMU
    try:
        await driver.suspend(guest.uuid)
        assert (await driver.get_info(guest.uuid)).power_state == PowerState.SUSPENDED
        names = {p.name for p in directory.iterdir()}
        assert "memory.state" in names and ".memory.state.partial" not in names
        if complete:                          # the completed save was kept, not redone
            assert (directory / "memory.state").stat().st_size == partial
        await driver.resume(guest.uuid)
        assert (await driver.get_info(guest.uuid)).power_state == PowerState.RUNNING
    finally:
        await driver.destroy(guest.uuid)
        await driver.close()
