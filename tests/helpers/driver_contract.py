"""The compute driver contract: every driver passes this same suite.

:class:`DriverContract` holds the suite; a driver's test module subclasses it and gives it
a fixture ``h``: a :class:`Harness` over that driver on a clean host (see
:func:`initialised`). tests/unit/compute/drivers/test_driver_contract.py runs it over the
fake drivers, tests/e2e/test_qemu_driver_contract.py over the QEMU driver.

A harness holds a driver, a bootable cached image, and the two things only a driver's own
test harness can do: restart the agent (a new driver on the same host) and stop a guest
behind the agent's back. The QEMU harness (:func:`helpers.qemu.qemu_harness`) boots real
guests of the ``ownstack-tiny`` test image under TCG; it fails, never skips, when QEMU or
the image is missing (CI installs both); its ``stop_behind_back`` SIGKILLs the QEMU
process, and its timeouts allow a TCG boot.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import uuid as uuidlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from ownstack.compute.drivers.base import (
    PHASE_ORDER,
    Capability,
    ComputeDriver,
    GuestEvent,
    GuestNotFound,
    GuestSize,
    GuestSpec,
    ImageRef,
    InvalidGuestState,
    Phase,
    PhaseEvent,
    PhaseTimer,
    PowerState,
    SpawnFailed,
    Unsupported,
    VolumeSpec,
)


@dataclass
class Harness:
    driver: ComputeDriver
    image: ImageRef
    restart: Callable[[], Awaitable[ComputeDriver]]     # close the driver, return a new one
    stop_behind_back: Callable[[str], Awaitable[None]]  # the hypervisor process dies
    boot_timeout: float = 2.0                           # spawn to console login marker
    event_timeout: float = 2.0


async def unset(*args: object) -> Any:
    """What a harness's ``restart`` and ``stop_behind_back`` are until the harness, once
    made, sets its own (they close over it)."""
    raise AssertionError("replaced by the harness")


HarnessFactory = Callable[[Path], contextlib.AbstractAsyncContextManager[Harness]]


@contextlib.asynccontextmanager
async def initialised(factory: HarnessFactory, tmp_path: Path) -> AsyncIterator[Harness]:
    """The harness ``factory`` makes, its host initialised; every guest destroyed after."""
    async with factory(tmp_path) as harness:
        await harness.driver.init_host()
        yield harness
        for guest in await harness.driver.list_guests():
            await harness.driver.destroy(guest.uuid)
        await harness.driver.close()


def supports(h: Harness, capability: Capability) -> bool:
    return h.driver.capabilities[capability.value]


def make_spec(h: Harness, **overrides: Any) -> GuestSpec:
    uuid = str(uuidlib.uuid4())
    spec = GuestSpec(uuid=uuid, name=f"vm-{uuid[:8]}", hostname=f"host-{uuid[:8]}", vcpus=1,
                     memory_mb=128, root_gb=1, image=h.image,
                     config_drive=supports(h, Capability.CONFIG_DRIVE), project_id="p1",
                     key_name="mykey", key_data="ssh-ed25519 AAAAC3Nza contract@test")
    return replace(spec, **overrides)


def volume(tmp_path: Path, fmt: str, size: int = 1 << 20) -> VolumeSpec:
    """A volume file as the volume service's file driver makes one (raw or qcow2)."""
    volume_id = str(uuidlib.uuid4())
    path = tmp_path / f"volume-{volume_id}.{fmt}"
    subprocess.run(["qemu-img", "create", "-q", "-f", fmt, str(path), str(size)], check=True)
    return VolumeSpec(volume_id=volume_id, path=path, format=fmt)


async def spawn(h: Harness, **overrides: Any) -> GuestSpec:
    spec = make_spec(h, **overrides)
    await h.driver.spawn(spec, PhaseTimer())
    return spec


async def state(h: Harness, uuid: str) -> PowerState:
    return (await h.driver.get_info(uuid)).power_state


async def uuids(h: Harness) -> set[str]:
    return {guest.uuid for guest in await h.driver.list_guests()}


async def wait_console(h: Harness, uuid: str, text: str, *, count: int = 1) -> str:
    deadline = asyncio.get_running_loop().time() + h.boot_timeout
    while True:
        output = await h.driver.console_output(uuid)
        if output.count(text) >= count:
            return output
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{text!r} x{count} not on the console: {output[-2000:]}")
        await asyncio.sleep(0.05)


async def next_event(h: Harness, events: AsyncIterator[GuestEvent], uuid: str,
                     wanted: PowerState) -> None:
    async with asyncio.timeout(h.event_timeout):
        async for event in events:
            if event.uuid == uuid and event.power_state == wanted:
                return


class DriverContract:
    """The suite. Subclasses named ``Test...`` are collected, with a fixture ``h``."""

    # --- the interface as data --------------------------------------------------------------------

    async def test_driver_satisfies_the_protocol(self, h: Harness) -> None:
        assert isinstance(h.driver, ComputeDriver)
        assert h.driver.name

    async def test_capabilities_are_a_dict_of_bools_naming_every_capability(
            self, h: Harness) -> None:
        caps = h.driver.capabilities
        assert set(caps) == {c.value for c in Capability}
        assert all(isinstance(value, bool) for value in caps.values())

    async def test_host_resources_are_positive_totals(self, h: Harness) -> None:
        resources = await h.driver.host_resources()
        assert resources.vcpus > 0 and resources.memory_mb > 0 and resources.disk_gb > 0
        assert resources.hypervisor_type and resources.hypervisor_version > 0

    # --- spawn ------------------------------------------------------------------------------------

    async def test_spawn_makes_a_running_guest_listed_and_described(self, h: Harness) -> None:
        spec = await spawn(h)
        info = await h.driver.get_info(spec.uuid)
        assert info.power_state == PowerState.RUNNING
        assert info.uuid == spec.uuid
        listed = {g.uuid: g.power_state for g in await h.driver.list_guests()}
        assert listed == {spec.uuid: PowerState.RUNNING}

    async def test_spawn_reports_phases_in_order_without_errors(self, h: Harness) -> None:
        seen: list[PhaseEvent] = []

        async def record(event: PhaseEvent) -> None:
            seen.append(event)

        phases = PhaseTimer(record)
        await h.driver.spawn(make_spec(h), phases)
        assert phases.events == seen
        assert Phase.DISKS in phases.names and phases.names[-1] == Phase.START
        assert phases.names == [p for p in PHASE_ORDER if p in phases.names]   # order, no repeats
        for earlier, later in zip(phases.events, phases.events[1:], strict=False):
            assert earlier.finished_at <= later.started_at + 1e-3
        assert all(event.error is None and event.duration >= 0 for event in phases.events)

    async def test_a_paused_spawn_runs_nothing_until_power_on_even_across_a_restart(
            self, h: Harness) -> None:
        """A boot that waits for its ports: the guest is complete but paused, a new driver
        adopts it paused, and power_on lets it boot."""
        spec = make_spec(h)
        phases = PhaseTimer()
        await h.driver.spawn(spec, phases, paused=True)
        assert phases.names[-1] == Phase.START
        assert await state(h, spec.uuid) == PowerState.PAUSED
        marker = f"{spec.hostname if spec.config_drive else 'login'} login:"
        if supports(h, Capability.CONSOLE_LOG):
            assert marker not in await h.driver.console_output(spec.uuid)
        h.driver = await h.restart()
        await h.driver.init_host()
        listed = {g.uuid: g.power_state for g in await h.driver.list_guests()}
        assert listed == {spec.uuid: PowerState.PAUSED}
        events = aiter(h.driver.events())
        pending = asyncio.ensure_future(next_event(h, events, spec.uuid, PowerState.RUNNING))
        await asyncio.sleep(0)
        await h.driver.power_on(spec.uuid)
        assert await state(h, spec.uuid) == PowerState.RUNNING     # at once, event or not
        await pending
        await events.aclose()
        if supports(h, Capability.CONSOLE_LOG):
            await wait_console(h, spec.uuid, marker)

    async def test_spawn_of_an_existing_uuid_changes_nothing(self, h: Harness) -> None:
        spec = await spawn(h)
        with pytest.raises(InvalidGuestState):
            await h.driver.spawn(spec, PhaseTimer())
        assert await state(h, spec.uuid) == PowerState.RUNNING

    async def test_spawn_with_a_missing_image_fails_and_leaves_nothing(self, h: Harness) -> None:
        before = await uuids(h)
        image = replace(h.image, path=h.image.path.with_name("missing.qcow2"))
        spec = make_spec(h, image=image)
        phases = PhaseTimer()
        with pytest.raises(SpawnFailed):
            await h.driver.spawn(spec, phases)
        assert await uuids(h) == before
        with pytest.raises(GuestNotFound):
            await h.driver.get_info(spec.uuid)
        assert phases.events and phases.events[-1].error is not None

    async def test_spawn_of_garbage_bytes_is_a_non_retryable_failure(
            self, h: Harness, tmp_path: Path) -> None:
        garbage = tmp_path / "garbage.qcow2"
        garbage.write_bytes(b"this is not a disk image" * 40)
        before = await uuids(h)
        with pytest.raises(SpawnFailed) as failure:
            await spawn(h, image=ImageRef("img-bad", garbage, "qcow2"))
        assert not failure.value.retryable and failure.value.reason
        assert await uuids(h) == before

    # --- destroy ----------------------------------------------------------------------------------

    async def test_destroy_removes_the_guest_and_is_idempotent(self, h: Harness) -> None:
        spec = await spawn(h)
        await h.driver.destroy(spec.uuid)
        await h.driver.destroy(spec.uuid)
        assert spec.uuid not in await uuids(h)
        with pytest.raises(GuestNotFound):
            await h.driver.get_info(spec.uuid)

    async def test_destroy_of_an_unknown_guest_succeeds(self, h: Harness) -> None:
        await h.driver.destroy(str(uuidlib.uuid4()))

    async def test_destroy_of_a_stopped_guest_removes_it(self, h: Harness) -> None:
        spec = await spawn(h)
        await h.driver.power_off(spec.uuid, timeout=5)
        await h.driver.destroy(spec.uuid)
        assert await uuids(h) == set()

    # --- power ------------------------------------------------------------------------------------

    async def test_power_off_and_on_are_idempotent_transitions(self, h: Harness) -> None:
        spec = await spawn(h)
        await h.driver.power_off(spec.uuid, timeout=5)
        assert await state(h, spec.uuid) == PowerState.SHUTDOWN
        await h.driver.power_off(spec.uuid, timeout=5)
        assert await state(h, spec.uuid) == PowerState.SHUTDOWN
        assert {g.uuid: g.power_state for g in await h.driver.list_guests()} == {
            spec.uuid: PowerState.SHUTDOWN}                     # stopped guests stay listed
        await h.driver.power_on(spec.uuid)
        assert await state(h, spec.uuid) == PowerState.RUNNING
        await h.driver.power_on(spec.uuid)
        assert await state(h, spec.uuid) == PowerState.RUNNING

    async def test_hard_reboot_runs_the_guest_from_any_state(self, h: Harness) -> None:
        spec = await spawn(h)
        await h.driver.reboot(spec.uuid, hard=True)
        assert await state(h, spec.uuid) == PowerState.RUNNING
        await h.driver.power_off(spec.uuid, timeout=5)
        await h.driver.reboot(spec.uuid, hard=True)
        assert await state(h, spec.uuid) == PowerState.RUNNING

    async def test_soft_reboot_needs_a_running_guest_or_the_capability(self, h: Harness) -> None:
        spec = await spawn(h)
        if not supports(h, Capability.REBOOT_SOFT):
            with pytest.raises(Unsupported):
                await h.driver.reboot(spec.uuid, hard=False)
            assert await state(h, spec.uuid) == PowerState.RUNNING
            return
        await h.driver.reboot(spec.uuid, hard=False, timeout=5)
        assert await state(h, spec.uuid) == PowerState.RUNNING
        await h.driver.power_off(spec.uuid, timeout=5)
        with pytest.raises(InvalidGuestState):
            await h.driver.reboot(spec.uuid, hard=False)
        assert await state(h, spec.uuid) == PowerState.SHUTDOWN

    async def test_operations_on_an_unknown_guest_raise_guest_not_found(self, h: Harness) -> None:
        unknown = str(uuidlib.uuid4())
        calls: list[Callable[[], Awaitable[object]]] = [
            lambda: h.driver.get_info(unknown),
            lambda: h.driver.power_off(unknown, timeout=1),
            lambda: h.driver.power_on(unknown),
            lambda: h.driver.reboot(unknown, hard=True),
        ]
        for call in calls:
            with pytest.raises(GuestNotFound):
                await call()

    # --- pause and suspend ------------------------------------------------------------------------

    async def test_pause_and_unpause_keep_the_guest_where_it_was(self, h: Harness) -> None:
        spec = await spawn(h)
        if not supports(h, Capability.PAUSE):
            for call in (h.driver.pause, h.driver.unpause):
                with pytest.raises(Unsupported):
                    await call(spec.uuid)
            assert await state(h, spec.uuid) == PowerState.RUNNING
            return
        marker = f"{spec.hostname if spec.config_drive else 'login'} login:"
        if supports(h, Capability.CONSOLE_LOG):
            await wait_console(h, spec.uuid, marker)
        await h.driver.pause(spec.uuid)
        await h.driver.pause(spec.uuid)
        assert await state(h, spec.uuid) == PowerState.PAUSED
        h.driver = await h.restart()
        await h.driver.init_host()
        assert {g.uuid: g.power_state for g in await h.driver.list_guests()} == {
            spec.uuid: PowerState.PAUSED}
        await h.driver.unpause(spec.uuid)
        await h.driver.unpause(spec.uuid)
        assert await state(h, spec.uuid) == PowerState.RUNNING
        if supports(h, Capability.CONSOLE_LOG):     # no new boot
            assert (await h.driver.console_output(spec.uuid)).count(marker) == 1
        await h.driver.power_off(spec.uuid, timeout=5)
        for call in (h.driver.pause, h.driver.unpause):
            with pytest.raises(InvalidGuestState):
                await call(spec.uuid)
        assert await state(h, spec.uuid) == PowerState.SHUTDOWN

    async def test_suspend_and_resume_keep_the_guest_where_it_was_across_a_restart(
            self, h: Harness) -> None:
        spec = await spawn(h)
        if not supports(h, Capability.SUSPEND):
            for call in (h.driver.suspend, h.driver.resume):
                with pytest.raises(Unsupported):
                    await call(spec.uuid)
            assert await state(h, spec.uuid) == PowerState.RUNNING
            return
        marker = f"{spec.hostname if spec.config_drive else 'login'} login:"
        if supports(h, Capability.CONSOLE_LOG):
            await wait_console(h, spec.uuid, marker)
        await h.driver.suspend(spec.uuid)
        await h.driver.suspend(spec.uuid)
        assert await state(h, spec.uuid) == PowerState.SUSPENDED
        h.driver = await h.restart()
        await h.driver.init_host()
        assert {g.uuid: g.power_state for g in await h.driver.list_guests()} == {
            spec.uuid: PowerState.SUSPENDED}
        for call in (h.driver.pause, h.driver.unpause):
            with pytest.raises(InvalidGuestState):
                await call(spec.uuid)
        await h.driver.resume(spec.uuid)
        await h.driver.resume(spec.uuid)
        assert await state(h, spec.uuid) == PowerState.RUNNING
        if supports(h, Capability.CONSOLE_LOG):     # no new boot
            assert (await h.driver.console_output(spec.uuid)).count(marker) == 1
        if supports(h, Capability.PAUSE):           # a paused guest suspends too
            await h.driver.pause(spec.uuid)
            await h.driver.suspend(spec.uuid)
            assert await state(h, spec.uuid) == PowerState.SUSPENDED
            await h.driver.resume(spec.uuid)
            assert await state(h, spec.uuid) == PowerState.RUNNING

    async def test_a_suspended_guest_powered_off_forgets_its_memory(self, h: Harness) -> None:
        if not supports(h, Capability.SUSPEND):
            return
        spec = await spawn(h)
        await h.driver.suspend(spec.uuid)
        await h.driver.power_off(spec.uuid, timeout=5)
        assert await state(h, spec.uuid) == PowerState.SHUTDOWN
        with pytest.raises(InvalidGuestState):
            await h.driver.resume(spec.uuid)
        await h.driver.power_on(spec.uuid)              # a fresh boot from the disks
        assert await state(h, spec.uuid) == PowerState.RUNNING
        await h.driver.suspend(spec.uuid)
        await h.driver.reboot(spec.uuid, hard=True)     # so does a hard reboot
        assert await state(h, spec.uuid) == PowerState.RUNNING
        await h.driver.suspend(spec.uuid)
        await h.driver.destroy(spec.uuid)
        assert spec.uuid not in await uuids(h)

    # --- rescue -----------------------------------------------------------------------------------

    async def test_rescue_boots_the_rescue_image_and_unrescue_the_guests_own(
            self, h: Harness) -> None:
        spec = await spawn(h)
        if not supports(h, Capability.RESCUE):
            for call in (lambda: h.driver.rescue(spec.uuid, h.image),
                         lambda: h.driver.unrescue(spec.uuid)):
                with pytest.raises(Unsupported):
                    await call()
            assert await state(h, spec.uuid) == PowerState.RUNNING
            return
        marker = f"{spec.hostname if spec.config_drive else 'login'} login:"
        if supports(h, Capability.CONSOLE_LOG):
            await wait_console(h, spec.uuid, marker)
        rescue_image = replace(h.image, id="img-rescue")
        await h.driver.rescue(spec.uuid, rescue_image)
        await h.driver.rescue(spec.uuid, rescue_image)          # no-op: a second boot?
        info = await h.driver.get_info(spec.uuid)
        assert info.power_state == PowerState.RUNNING
        assert info.details["rescue_image_id"] == "img-rescue"
        if supports(h, Capability.CONSOLE_LOG):                 # the rescue boot, once
            await wait_console(h, spec.uuid, marker, count=2)
        h.driver = await h.restart()
        await h.driver.init_host()
        info = await h.driver.get_info(spec.uuid)
        assert (info.power_state, info.details["rescue_image_id"]) == (
            PowerState.RUNNING, "img-rescue")
        await h.driver.unrescue(spec.uuid)
        await h.driver.unrescue(spec.uuid)
        info = await h.driver.get_info(spec.uuid)
        assert (info.power_state, info.details["rescue_image_id"]) == (
            PowerState.RUNNING, None)
        # (Which disk each boot came from is the end-to-end test's: a harness's console
        # cap may trim three boots.)
        await h.driver.rescue(spec.uuid, rescue_image)
        await h.driver.destroy(spec.uuid)
        assert spec.uuid not in await uuids(h)

    # --- console and snapshot ---------------------------------------------------------------------

    async def test_console_shows_the_hostname_marker_across_reboots(self, h: Harness) -> None:
        spec = await spawn(h)
        if not supports(h, Capability.CONSOLE_LOG):
            with pytest.raises(Unsupported):
                await h.driver.console_output(spec.uuid)
            return
        marker = spec.hostname if spec.config_drive else "login"
        await wait_console(h, spec.uuid, f"{marker} login:")    # the first boot has ended
        await h.driver.reboot(spec.uuid, hard=True)
        await wait_console(h, spec.uuid, f"{marker} login:", count=2)
        tail = await h.driver.console_output(spec.uuid, max_bytes=64)
        assert 0 < len(tail.encode()) <= 64
        with pytest.raises(GuestNotFound):
            await h.driver.console_output(str(uuidlib.uuid4()))

    async def test_snapshot_writes_a_bootable_file_and_keeps_the_power_state(
            self, h: Harness, tmp_path: Path) -> None:
        spec = await spawn(h)
        dest = tmp_path / "snap.img"
        if not supports(h, Capability.SNAPSHOT):
            with pytest.raises(Unsupported):
                await h.driver.snapshot(spec.uuid, dest)
            assert not dest.exists()
            return
        snap = await h.driver.snapshot(spec.uuid, dest)
        assert snap.path == dest and dest.stat().st_size == snap.size > 0
        assert await state(h, spec.uuid) == PowerState.RUNNING
        await h.driver.power_off(spec.uuid, timeout=5)
        await h.driver.snapshot(spec.uuid, tmp_path / "snap2.img")
        assert await state(h, spec.uuid) == PowerState.SHUTDOWN
        again = await spawn(h, image=ImageRef("img-snap", dest, snap.disk_format))
        assert await state(h, again.uuid) == PowerState.RUNNING
        with pytest.raises(GuestNotFound):
            await h.driver.snapshot(str(uuidlib.uuid4()), tmp_path / "x.img")

    async def test_config_drive_follows_the_capability(self, h: Harness) -> None:
        before = await uuids(h)
        if supports(h, Capability.CONFIG_DRIVE):
            guest = await spawn(h, config_drive=True)
            assert await state(h, guest.uuid) == PowerState.RUNNING
            return
        with pytest.raises(Unsupported):
            await spawn(h, config_drive=True)
        assert await uuids(h) == before

    # --- volumes ---------------------------------------------------------------------------------

    async def test_volumes_are_plugged_unplugged_and_kept_across_power_and_restart(
            self, h: Harness, tmp_path: Path) -> None:
        first, second = volume(tmp_path, "raw"), volume(tmp_path, "qcow2")
        if not supports(h, Capability.VOLUME_ATTACH):
            spec = await spawn(h)
            with pytest.raises(Unsupported):
                await h.driver.plug_volumes(spec.uuid, [first])
            with pytest.raises(Unsupported):
                await spawn(h, volumes=(first,))
            assert (await h.driver.get_info(spec.uuid)).volumes is None
            return
        spec = await spawn(h, volumes=(first,))
        assert (await h.driver.get_info(spec.uuid)).volumes == (first.volume_id,)
        await h.driver.plug_volumes(spec.uuid, [first, second])      # hot-plugged
        await h.driver.plug_volumes(spec.uuid, [first, second])      # idempotent
        assert (await h.driver.get_info(spec.uuid)).volumes == (first.volume_id,
                                                                 second.volume_id)
        assert await state(h, spec.uuid) == PowerState.RUNNING
        await h.driver.power_off(spec.uuid, timeout=5)
        marker = f"{spec.hostname if spec.config_drive else 'login'} login:"
        boots = (await h.driver.console_output(spec.uuid)).count(marker) \
            if supports(h, Capability.CONSOLE_LOG) else 0
        await h.driver.power_on(spec.uuid)
        h.driver = await h.restart()
        await h.driver.init_host()
        assert (await h.driver.get_info(spec.uuid)).volumes == (first.volume_id,
                                                                 second.volume_id)
        if supports(h, Capability.CONSOLE_LOG):     # booted: the guest answers ACPI
            await wait_console(h, spec.uuid, marker, count=boots + 1)
        await h.driver.plug_volumes(spec.uuid, [second])             # first unplugged
        assert (await h.driver.get_info(spec.uuid)).volumes == (second.volume_id,)
        assert await state(h, spec.uuid) == PowerState.RUNNING
        await h.driver.power_off(spec.uuid, timeout=5)
        await h.driver.plug_volumes(spec.uuid, [first])              # stopped: recorded
        await h.driver.power_on(spec.uuid)
        assert (await h.driver.get_info(spec.uuid)).volumes == (first.volume_id,)
        with pytest.raises(GuestNotFound):
            await h.driver.plug_volumes(str(uuidlib.uuid4()), [first])

    # --- the agent's view: events, resync, adoption -----------------------------------------------

    async def test_a_guest_stopped_behind_the_agents_back_is_seen(self, h: Harness) -> None:
        spec = await spawn(h)
        events = aiter(h.driver.events())
        pending = asyncio.ensure_future(next_event(h, events, spec.uuid, PowerState.SHUTDOWN))
        await asyncio.sleep(0)                  # the iterator subscribes before the stop
        await h.stop_behind_back(spec.uuid)
        await pending
        assert await state(h, spec.uuid) == PowerState.SHUTDOWN
        await h.driver.power_on(spec.uuid)
        assert await state(h, spec.uuid) == PowerState.RUNNING
        await events.aclose()

    async def test_power_changes_made_by_the_agent_are_events_too(self, h: Harness) -> None:
        spec = await spawn(h)
        events = aiter(h.driver.events())
        pending = asyncio.ensure_future(next_event(h, events, spec.uuid, PowerState.SHUTDOWN))
        await asyncio.sleep(0)
        await h.driver.power_off(spec.uuid, timeout=5)
        await pending
        await events.aclose()

    async def test_a_restarted_driver_adopts_running_and_stopped_guests(self, h: Harness) -> None:
        running, stopped = await spawn(h), await spawn(h)
        await h.driver.power_off(stopped.uuid, timeout=5)
        h.driver = await h.restart()
        await h.driver.init_host()
        listed = {g.uuid: g.power_state for g in await h.driver.list_guests()}
        assert listed == {running.uuid: PowerState.RUNNING, stopped.uuid: PowerState.SHUTDOWN}
        await h.driver.power_on(stopped.uuid)
        await h.driver.destroy(running.uuid)
        assert await uuids(h) == {stopped.uuid}

    # --- resize -----------------------------------------------------------------------------

    async def test_resize_keeps_the_old_disk_until_confirm_and_revert_restores_it(
            self, h: Harness) -> None:
        spec = await spawn(h)
        if not supports(h, Capability.RESIZE):
            with pytest.raises(Unsupported):
                await h.driver.resize(spec.uuid, GuestSize(2, 256, 2), timeout=30)
            return
        await wait_console(h, spec.uuid, "login ready")
        await h.driver.resize(spec.uuid, GuestSize(2, 256, 2), timeout=30)
        assert await state(h, spec.uuid) == PowerState.SHUTDOWN
        # Idempotent: a second call (an agent killed halfway) changes nothing more.
        await h.driver.resize(spec.uuid, GuestSize(2, 256, 2), timeout=30)
        await h.driver.power_on(spec.uuid)
        output = await wait_console(h, spec.uuid, "login ready", count=2)
        assert "smp: Brought up 1 node, 2 CPUs" in output.rsplit("Linux version", 1)[1]
        # Revert: the old size again, from the kept disk; a second revert is harmless.
        await h.driver.revert_resize(spec.uuid, GuestSize(1, 128, 1), timeout=30)
        await h.driver.revert_resize(spec.uuid, GuestSize(1, 128, 1), timeout=30)
        assert await state(h, spec.uuid) == PowerState.SHUTDOWN
        await h.driver.power_on(spec.uuid)
        assert await state(h, spec.uuid) == PowerState.RUNNING
        # (What the reverted guest's kernel sees is checked end to end, through the cloud:
        # tests/e2e/test_qemu_resize.py.)
        await h.driver.power_off(spec.uuid, timeout=30)
        # Confirm drops the kept disk and keeps the power state; twice is harmless, and so
        # is a confirm of a guest that is gone.
        await h.driver.resize(spec.uuid, GuestSize(2, 256, 2), timeout=30)
        await h.driver.confirm_resize(spec.uuid)
        await h.driver.confirm_resize(spec.uuid)
        assert await state(h, spec.uuid) == PowerState.SHUTDOWN
        details = (await h.driver.get_info(spec.uuid)).details
        assert not details.get("resize_kept")
        await h.driver.confirm_resize(str(uuidlib.uuid4()))
        with pytest.raises(GuestNotFound):
            await h.driver.resize(str(uuidlib.uuid4()), GuestSize(2, 256, 2), timeout=30)
        with pytest.raises(GuestNotFound):
            await h.driver.revert_resize(str(uuidlib.uuid4()), GuestSize(1, 128, 1),
                                         timeout=30)
