"""The fake driver's own knobs; the contract it shares with QEMU is test_driver_contract."""

from __future__ import annotations

import asyncio
import time
import uuid as uuidlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ownstack.compute.drivers import driver_factory
from ownstack.compute.drivers.base import (
    ConsoleKind,
    DetachTimeout,
    GuestEvent,
    GuestNotFound,
    GuestSpec,
    HostResources,
    ImageRef,
    NicSpec,
    Phase,
    PhaseTimer,
    PowerState,
    SpawnFailed,
    Unsupported,
    VolumeSpec,
)
from ownstack.compute.drivers.fake import (
    QCOW2_MAGIC,
    FakeComputeDriver,
    FakeHypervisor,
)


@pytest.fixture
def image(tmp_path: Path) -> ImageRef:
    path = tmp_path / "base.qcow2"
    path.write_bytes(QCOW2_MAGIC + bytes(60))
    return ImageRef("img-1", path, "qcow2")


def spec(image: ImageRef, **kw: object) -> GuestSpec:
    uuid = str(uuidlib.uuid4())
    base: dict[str, object] = dict(uuid=uuid, name="vm", hostname=f"h-{uuid[:6]}", vcpus=1,
                                   memory_mb=64, root_gb=1, image=image, config_drive=True)
    base.update(kw)
    return GuestSpec(**base)  # type: ignore[arg-type]


async def test_host_resources_are_configurable() -> None:
    resources = HostResources(2, 1024, 10, "fake", 1)
    driver = FakeComputeDriver(FakeHypervisor("h", resources))
    assert await driver.host_resources() == resources


async def test_factory_keeps_one_hypervisor_per_host_for_restarts(
        tmp_path: Path, image: ImageRef) -> None:
    factory = driver_factory("fake")
    first = factory("node-1", tmp_path, {"vcpus": "4", "memory_mb": 2048, "disk_gb": 20})
    assert (await first.host_resources()).vcpus == 4
    s = spec(image)
    await first.spawn(s, PhaseTimer())
    await first.close()
    again = factory("node-1", tmp_path, {})
    assert [g.uuid for g in await again.list_guests()] == [s.uuid]
    other = factory("node-2", tmp_path, {})
    assert await other.list_guests() == []


def test_unknown_driver_and_capability_are_refused() -> None:
    with pytest.raises(ValueError, match="fake"):
        driver_factory("xen")
    with pytest.raises(ValueError):
        FakeComputeDriver(capabilities={"supports_teleport": True})


async def test_spawn_delay_is_spent_in_the_start_phase(image: ImageRef) -> None:
    driver = FakeComputeDriver(spawn_delay=0.05)
    phases = PhaseTimer()
    await driver.spawn(spec(image), phases)
    start = next(e for e in phases.events if e.name == Phase.START)
    assert start.duration >= 0.04


async def test_a_guest_is_listed_as_nostate_while_it_spawns(image: ImageRef) -> None:
    driver = FakeComputeDriver(spawn_delay=0.2)
    s = spec(image)
    task = asyncio.ensure_future(driver.spawn(s, PhaseTimer()))
    await asyncio.sleep(0.05)
    assert (await driver.get_info(s.uuid)).power_state == PowerState.NOSTATE
    task.cancel()                           # an agent killed mid-boot
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await driver.list_guests() == []


@pytest.mark.parametrize("phase", [Phase.DISKS, Phase.START])
async def test_fail_next_spawn_fails_once_in_the_chosen_phase(
        image: ImageRef, phase: Phase) -> None:
    driver = FakeComputeDriver()
    driver.fail_next_spawn("no luck", phase=phase, retryable=False)
    phases = PhaseTimer()
    with pytest.raises(SpawnFailed) as failure:
        await driver.spawn(spec(image, nics=(NicSpec("p1", "fa:16:3e:00:00:01", "tap1", "br"),)),
                           phases)
    assert (failure.value.reason, failure.value.retryable) == ("no luck", False)
    assert phases.names[-1] == phase and phases.events[-1].error
    assert await driver.list_guests() == []
    await driver.spawn(spec(image), PhaseTimer())    # only the next one fails
    assert len(await driver.list_guests()) == 1


def test_fail_next_spawn_only_in_phases_the_fake_always_runs() -> None:
    with pytest.raises(ValueError):
        FakeComputeDriver().fail_next_spawn(phase=Phase.CONFIG_DRIVE)


async def test_phases_follow_the_spec(image: ImageRef) -> None:
    driver = FakeComputeDriver()
    bare, full = PhaseTimer(), PhaseTimer()
    await driver.spawn(spec(image, config_drive=False), bare)
    nic = NicSpec("p1", "fa:16:3e:00:00:01", "tap-p1", "brq1", 1450)
    await driver.spawn(spec(image, nics=(nic,)), full)
    assert bare.names == [Phase.DISKS, Phase.START]
    assert full.names == [Phase.DISKS, Phase.CONFIG_DRIVE, Phase.PLUG_VIFS, Phase.START]


async def test_crash_is_seen_and_power_on_recovers(image: ImageRef) -> None:
    driver = FakeComputeDriver()
    s = spec(image)
    await driver.spawn(s, PhaseTimer())
    events = aiter(driver.events())
    pending = asyncio.ensure_future(anext(events))
    await asyncio.sleep(0)
    driver.crash(s.uuid)
    event = await asyncio.wait_for(pending, 1)
    assert (event.uuid, event.power_state) == (s.uuid, PowerState.CRASHED)
    assert "Kernel panic" in await driver.console_output(s.uuid)
    await driver.power_on(s.uuid)
    assert (await driver.get_info(s.uuid)).power_state == PowerState.RUNNING
    await driver.close()                    # ends the iterator after what is queued
    rest = await asyncio.wait_for(_drain(events), 1)
    assert [e.power_state for e in rest] == [PowerState.RUNNING]


async def _drain(events: AsyncIterator[GuestEvent]) -> list[GuestEvent]:
    return [event async for event in events]


async def test_a_guest_ignoring_acpi_is_forced_after_the_timeout(image: ImageRef) -> None:
    driver = FakeComputeDriver()
    s = spec(image)
    await driver.spawn(s, PhaseTimer())
    driver.hypervisor.ignore_acpi(s.uuid)
    t0 = time.perf_counter()
    await driver.power_off(s.uuid, timeout=0.05)
    assert time.perf_counter() - t0 >= 0.04
    info = await driver.get_info(s.uuid)
    assert (info.power_state, info.details["last_stop"]) == (PowerState.SHUTDOWN, "forced")
    await driver.power_on(s.uuid)
    await driver.reboot(s.uuid, hard=False, timeout=0.01)     # falls back to hard
    info = await driver.get_info(s.uuid)
    assert info.power_state == PowerState.RUNNING and info.details["boots"] == 3


async def test_acpi_power_off_is_graceful(image: ImageRef) -> None:
    driver = FakeComputeDriver()
    s = spec(image)
    await driver.spawn(s, PhaseTimer())
    await driver.power_off(s.uuid, timeout=30)
    assert (await driver.get_info(s.uuid)).details["last_stop"] == "acpi"
    assert "Power down" in await driver.console_output(s.uuid)


async def test_console_prints_hostname_and_key_and_is_capped(image: ImageRef) -> None:
    driver = FakeComputeDriver(FakeHypervisor(console_max_bytes=600))
    s = spec(image, key_name="mykey", key_data="ssh-ed25519 AAAA me")
    await driver.spawn(s, PhaseTimer())
    console = await driver.console_output(s.uuid)
    assert f"ownstack: hostname {s.hostname}" in console and "mykey installed" in console
    for _ in range(10):
        await driver.reboot(s.uuid, hard=True)
    assert len((await driver.console_output(s.uuid)).encode()) <= 600
    no_drive = spec(image, config_drive=False)
    await driver.spawn(no_drive, PhaseTimer())
    assert no_drive.hostname not in await driver.console_output(no_drive.uuid)


async def test_image_checks_can_be_turned_off(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.qcow2"
    garbage.write_bytes(b"nope")
    driver = FakeComputeDriver(check_image_files=False)
    s = spec(ImageRef("bad", garbage, "qcow2"))
    await driver.spawn(s, PhaseTimer())
    assert (await driver.get_info(s.uuid)).power_state == PowerState.RUNNING


async def test_details_describe_host_objects(image: ImageRef) -> None:
    driver = FakeComputeDriver(FakeHypervisor("node-9"))
    s = spec(image, nics=(NicSpec("p1", "fa:16:3e:00:00:01", "tap-p1", "br"),))
    await driver.spawn(s, PhaseTimer())
    details = (await driver.get_info(s.uuid)).details
    assert details["host"] == "node-9" and details["taps"] == ["tap-p1"]
    assert details["image_id"] == "img-1" and details["boots"] == 1


async def test_a_hundred_hosts_with_a_thousand_guests_are_cheap(image: ImageRef) -> None:
    drivers = [FakeComputeDriver(FakeHypervisor(f"node-{i}")) for i in range(100)]
    t0 = time.perf_counter()
    await asyncio.gather(*(drivers[i % 100].spawn(spec(image), PhaseTimer())
                           for i in range(1000)))
    listed = [len(await d.list_guests()) for d in drivers]
    assert sum(listed) == 1000 and set(listed) == {10}
    assert time.perf_counter() - t0 < 5


async def test_plug_nics_changes_the_taps_and_keeps_power(image: ImageRef) -> None:
    driver = FakeComputeDriver()
    first = NicSpec("p1", "fa:16:3e:00:00:01", "tap-p1", "brq1")
    second = NicSpec("p2", "fa:16:3e:00:00:02", "tap-p2", "brq2")
    guest = spec(image, nics=(first,))
    await driver.spawn(guest, PhaseTimer())
    assert (await driver.get_info(guest.uuid)).nics == ("p1",)
    await driver.plug_nics(guest.uuid, [first, second])
    info = await driver.get_info(guest.uuid)
    assert info.nics == ("p1", "p2") and info.details["taps"] == ["tap-p1", "tap-p2"]
    assert info.power_state == PowerState.RUNNING
    await driver.plug_nics(guest.uuid, [second])
    assert (await driver.get_info(guest.uuid)).nics == ("p2",)


async def test_without_hotplug_nics_are_not_reported_nor_changed(image: ImageRef) -> None:
    driver = FakeComputeDriver(capabilities={"supports_nic_hotplug": False})
    guest = spec(image)
    await driver.spawn(guest, PhaseTimer())
    assert (await driver.get_info(guest.uuid)).nics is None
    with pytest.raises(Unsupported):
        await driver.plug_nics(guest.uuid, [])


async def test_a_volume_the_guest_holds_stays_plugged_after_the_timeout(
        tmp_path: Path, image: ImageRef) -> None:
    driver = FakeComputeDriver(FakeHypervisor())
    kept, held = (VolumeSpec(str(uuidlib.uuid4()), tmp_path / f"v{i}") for i in range(2))
    spec = GuestSpec(uuid=str(uuidlib.uuid4()), name="vm", hostname="vm", vcpus=1,
                     memory_mb=64, root_gb=1, image=image, volumes=(kept, held))
    await driver.spawn(spec, PhaseTimer())
    driver.hypervisor.hold_volume(spec.uuid, held.volume_id)
    with pytest.raises(DetachTimeout) as caught:
        await driver.plug_volumes(spec.uuid, [kept], timeout=0.01)
    assert caught.value.volume_id == held.volume_id
    assert (await driver.get_info(spec.uuid)).volumes == (kept.volume_id, held.volume_id)
    driver.hypervisor.hold_volume(spec.uuid, held.volume_id, hold=False)
    await driver.plug_volumes(spec.uuid, [kept], timeout=0.01)
    assert (await driver.get_info(spec.uuid)).volumes == (kept.volume_id,)
async def test_fake_guests_have_no_console_sockets(image: ImageRef) -> None:
    """Interactive consoles need a socket a proxy joins: the fake reports neither flag,
    refuses to be told otherwise, and says Unsupported (GuestNotFound for no guest)."""
    driver = FakeComputeDriver()
    assert driver.capabilities["supports_vnc_console"] is False
    assert driver.capabilities["supports_serial_console"] is False
    with pytest.raises(ValueError, match="no console sockets"):
        FakeComputeDriver(capabilities={"supports_vnc_console": True})
    assert FakeComputeDriver(capabilities={"supports_serial_console": False})
    guest = spec(image)
    await driver.spawn(guest, PhaseTimer())
    for kind in ConsoleKind:
        with pytest.raises(Unsupported) as refused:
            await driver.console_socket(guest.uuid, kind)
        assert refused.value.capability == kind.capability.value
        with pytest.raises(GuestNotFound):
            await driver.console_socket(str(uuidlib.uuid4()), kind)
