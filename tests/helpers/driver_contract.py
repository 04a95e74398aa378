"""The compute driver contract: every driver passes this same suite.

Each entry of ``HARNESSES`` is a factory ``(tmp_path) -> async context manager of Harness``
that builds a driver on a clean host, a bootable cached image, and the two things only a
driver's own test harness can do: restart the agent (a new driver on the same host) and
stop a guest behind the agent's back.

Adding a driver is one line. The QEMU harness (``qemu_harness.py``) boots real guests of
the ``ownstack-tiny`` test image under TCG; it fails, never skips, when QEMU or the image is
missing (CI installs both); its ``stop_behind_back`` SIGKILLs the QEMU process, and its
timeouts allow a TCG boot.

``fake-minimal`` is the fake with every capability turned off, so the "unsupported
operations raise Unsupported and change nothing" half of the contract is exercised too.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid as uuidlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from qemu_harness import qemu_harness

from ownstack.compute.drivers.base import (
    PHASE_ORDER,
    Capability,
    ComputeDriver,
    GuestEvent,
    GuestNotFound,
    GuestSpec,
    ImageRef,
    InvalidGuestState,
    Phase,
    PhaseEvent,
    PhaseTimer,
    PowerState,
    SpawnFailed,
    Unsupported,
)
from ownstack.compute.drivers.fake import QCOW2_MAGIC, FakeComputeDriver, FakeHypervisor


@dataclass
class Harness:
    driver: ComputeDriver
    image: ImageRef
    restart: Callable[[], Awaitable[ComputeDriver]]     # close the driver, return a new one
    stop_behind_back: Callable[[str], Awaitable[None]]  # the hypervisor process dies
    boot_timeout: float = 2.0                           # spawn to console login marker
    event_timeout: float = 2.0


HarnessFactory = Callable[[Path], contextlib.AbstractAsyncContextManager[Harness]]


def write_qcow2_stub(path: Path) -> Path:
    """A file the fake accepts as a qcow2 base image."""
    path.write_bytes(QCOW2_MAGIC + bytes(508))
    return path


def _fake_harness(**capabilities: bool) -> HarnessFactory:
    @contextlib.asynccontextmanager
    async def factory(tmp_path: Path) -> AsyncIterator[Harness]:
        hypervisor = FakeHypervisor("contract-host")
        image = ImageRef("img-1", write_qcow2_stub(tmp_path / "base.qcow2"), "qcow2")
        harness = Harness(FakeComputeDriver(hypervisor, capabilities=capabilities), image,
                          restart=_noop_driver, stop_behind_back=_noop)

        async def restart() -> ComputeDriver:
            await harness.driver.close()
            return FakeComputeDriver(hypervisor, capabilities=capabilities)

        async def stop_behind_back(uuid: str) -> None:
            hypervisor.stop_behind_back(uuid)

        harness.restart, harness.stop_behind_back = restart, stop_behind_back
        yield harness

    return factory


async def _noop(uuid: str) -> None:
    raise AssertionError("replaced by the harness")


async def _noop_driver() -> ComputeDriver:
    raise AssertionError("replaced by the harness")


HARNESSES: dict[str, HarnessFactory] = {
    "fake": _fake_harness(),
    "fake-minimal": _fake_harness(**{c.value: False for c in Capability}),
    "qemu": qemu_harness,
}


@pytest.fixture(params=list(HARNESSES))
async def h(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Harness]:
    async with HARNESSES[request.param](tmp_path) as harness:
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


# --- the interface as data ----------------------------------------------------------------

async def test_driver_satisfies_the_protocol(h: Harness) -> None:
    assert isinstance(h.driver, ComputeDriver)
    assert h.driver.name


async def test_capabilities_are_a_dict_of_bools_naming_every_capability(h: Harness) -> None:
    caps = h.driver.capabilities
    assert set(caps) == {c.value for c in Capability}
    assert all(isinstance(value, bool) for value in caps.values())


async def test_host_resources_are_positive_totals(h: Harness) -> None:
    resources = await h.driver.host_resources()
    assert resources.vcpus > 0 and resources.memory_mb > 0 and resources.disk_gb > 0
    assert resources.hypervisor_type and resources.hypervisor_version > 0


# --- spawn ----------------------------------------------------------------------------------

async def test_spawn_makes_a_running_guest_listed_and_described(h: Harness) -> None:
    spec = await spawn(h)
    info = await h.driver.get_info(spec.uuid)
    assert info.power_state == PowerState.RUNNING
    assert info.uuid == spec.uuid
    listed = {g.uuid: g.power_state for g in await h.driver.list_guests()}
    assert listed == {spec.uuid: PowerState.RUNNING}


async def test_spawn_reports_phases_in_order_without_errors(h: Harness) -> None:
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


async def test_spawn_of_an_existing_uuid_changes_nothing(h: Harness) -> None:
    spec = await spawn(h)
    with pytest.raises(InvalidGuestState):
        await h.driver.spawn(spec, PhaseTimer())
    assert await state(h, spec.uuid) == PowerState.RUNNING


async def test_spawn_with_a_missing_image_fails_and_leaves_nothing(h: Harness) -> None:
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
        h: Harness, tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.qcow2"
    garbage.write_bytes(b"this is not a disk image" * 40)
    before = await uuids(h)
    with pytest.raises(SpawnFailed) as failure:
        await spawn(h, image=ImageRef("img-bad", garbage, "qcow2"))
    assert not failure.value.retryable and failure.value.reason
    assert await uuids(h) == before


# --- destroy --------------------------------------------------------------------------------

async def test_destroy_removes_the_guest_and_is_idempotent(h: Harness) -> None:
    spec = await spawn(h)
    await h.driver.destroy(spec.uuid)
    await h.driver.destroy(spec.uuid)
    assert spec.uuid not in await uuids(h)
    with pytest.raises(GuestNotFound):
        await h.driver.get_info(spec.uuid)


async def test_destroy_of_an_unknown_guest_succeeds(h: Harness) -> None:
    await h.driver.destroy(str(uuidlib.uuid4()))


async def test_destroy_of_a_stopped_guest_removes_it(h: Harness) -> None:
    spec = await spawn(h)
    await h.driver.power_off(spec.uuid, timeout=5)
    await h.driver.destroy(spec.uuid)
    assert await uuids(h) == set()


# --- power ----------------------------------------------------------------------------------

async def test_power_off_and_on_are_idempotent_transitions(h: Harness) -> None:
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


async def test_hard_reboot_runs_the_guest_from_any_state(h: Harness) -> None:
    spec = await spawn(h)
    await h.driver.reboot(spec.uuid, hard=True)
    assert await state(h, spec.uuid) == PowerState.RUNNING
    await h.driver.power_off(spec.uuid, timeout=5)
    await h.driver.reboot(spec.uuid, hard=True)
    assert await state(h, spec.uuid) == PowerState.RUNNING


async def test_soft_reboot_needs_a_running_guest_or_the_capability(h: Harness) -> None:
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


async def test_operations_on_an_unknown_guest_raise_guest_not_found(h: Harness) -> None:
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


# --- console and snapshot -------------------------------------------------------------------

async def test_console_shows_the_hostname_marker_across_reboots(h: Harness) -> None:
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
        h: Harness, tmp_path: Path) -> None:
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


async def test_config_drive_follows_the_capability(h: Harness) -> None:
    before = await uuids(h)
    if supports(h, Capability.CONFIG_DRIVE):
        guest = await spawn(h, config_drive=True)
        assert await state(h, guest.uuid) == PowerState.RUNNING
        return
    with pytest.raises(Unsupported):
        await spawn(h, config_drive=True)
    assert await uuids(h) == before


# --- the agent's view: events, resync, adoption --------------------------------------------

async def next_event(h: Harness, events: AsyncIterator[GuestEvent], uuid: str,
                     wanted: PowerState) -> None:
    async with asyncio.timeout(h.event_timeout):
        async for event in events:
            if event.uuid == uuid and event.power_state == wanted:
                return


async def test_a_guest_stopped_behind_the_agents_back_is_seen(h: Harness) -> None:
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


async def test_power_changes_made_by_the_agent_are_events_too(h: Harness) -> None:
    spec = await spawn(h)
    events = aiter(h.driver.events())
    pending = asyncio.ensure_future(next_event(h, events, spec.uuid, PowerState.SHUTDOWN))
    await asyncio.sleep(0)
    await h.driver.power_off(spec.uuid, timeout=5)
    await pending
    await events.aclose()


async def test_a_restarted_driver_adopts_running_and_stopped_guests(h: Harness) -> None:
    running, stopped = await spawn(h), await spawn(h)
    await h.driver.power_off(stopped.uuid, timeout=5)
    h.driver = await h.restart()
    await h.driver.init_host()
    listed = {g.uuid: g.power_state for g in await h.driver.list_guests()}
    assert listed == {running.uuid: PowerState.RUNNING, stopped.uuid: PowerState.SHUTDOWN}
    await h.driver.power_on(stopped.uuid)
    await h.driver.destroy(running.uuid)
    assert await uuids(h) == {stopped.uuid}
