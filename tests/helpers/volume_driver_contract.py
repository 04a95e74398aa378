"""The volume driver contract: every volume driver passes this same suite.

:class:`VolumeDriverContract` holds the suite; a driver's test module subclasses it and
gives it a fixture ``h``: a :class:`VolumeHarness` over that driver on a clean host.
tests/unit/volume/drivers/test_driver_contract.py runs it over the fake driver and over
the file driver (real qcow2 and raw files, made with qemu-img).

A harness holds a driver and what only a driver's own test harness can do: restart the
agent (a new driver on the same host), act as a guest behind the driver's back (write a
byte pattern into a volume's first 64 KiB, read it back), and leave a half-made volume
as a killed agent would.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from ownstack.volume.drivers.base import (
    GIB,
    Capability,
    DriverError,
    SnapshotMissing,
    VolumeDriver,
    VolumeMissing,
)


@dataclass
class VolumeHarness:
    driver: VolumeDriver
    restart: Callable[[], Awaitable[VolumeDriver]]     # close the driver, return a new one
    write: Callable[[str, int], Awaitable[None]]       # a guest writes a pattern
    read: Callable[[str], Awaitable[int | None]]       # the pattern (None when mixed)
    leave_partial: Callable[[str], Awaitable[None]]    # a killed agent's half-made volume
    work: Path                                         # scratch: images, exports


def new_id() -> str:
    return str(uuid.uuid4())


def qemu_img(*args: str) -> str:
    return subprocess.run(["qemu-img", *args], check=True, capture_output=True,
                          text=True).stdout


def raw_image(path: Path, pattern: int, size: int = 1 << 20) -> Path:
    """A raw image whose first 64 KiB are ``pattern``, ``size`` bytes in all."""
    with open(path, "wb") as handle:
        handle.write(bytes([pattern]) * 65536)
        handle.truncate(size)
    return path


def pattern_of_export(path: Path, fmt: str) -> int | None:
    """The pattern of an exported image's first 64 KiB, read through qemu-img."""
    raw = path.with_name(path.name + ".check")
    qemu_img("dd", "-f", fmt, "-O", "raw", "bs=65536", "count=1", f"if={path}", f"of={raw}")
    data = raw.read_bytes()[:65536]
    raw.unlink()
    return data[0] if data and len(set(data)) == 1 else None


class VolumeDriverContract:
    """The suite. Subclasses named ``Test...`` are collected, with a fixture ``h``."""

    # --- the interface as data ----------------------------------------------------------

    async def test_driver_satisfies_the_protocol(self, h: VolumeHarness) -> None:
        assert isinstance(h.driver, VolumeDriver)
        assert h.driver.name

    async def test_capabilities_are_a_dict_of_bools_naming_every_capability(
            self, h: VolumeHarness) -> None:
        caps = h.driver.capabilities
        assert set(caps) == {c.value for c in Capability}
        assert all(isinstance(value, bool) for value in caps.values())

    async def test_capacity_is_whole_gigabytes(self, h: VolumeHarness) -> None:
        capacity = await h.driver.capacity()
        assert 0 <= capacity.free_gb <= capacity.total_gb

    # --- blank volumes ------------------------------------------------------------------

    async def test_create_makes_a_zeroed_volume_of_its_size_listed_once(
            self, h: VolumeHarness) -> None:
        volume_id = new_id()
        made = await h.driver.create_volume(volume_id, 1)
        assert (made.volume_id, made.size_gb) == (volume_id, 1)
        assert made.format in ("qcow2", "raw") and made.location
        assert [v.volume_id for v in await h.driver.volumes()] == [volume_id]
        assert await h.driver.volume(volume_id) == made
        assert await h.driver.volume(new_id()) is None
        assert await h.read(volume_id) == 0

    async def test_create_again_returns_the_volume_unchanged(self, h: VolumeHarness) -> None:
        volume_id = new_id()
        first = await h.driver.create_volume(volume_id, 1)
        await h.write(volume_id, 0x42)
        again = await h.driver.create_volume(volume_id, 1)
        assert again == first
        assert await h.read(volume_id) == 0x42

    async def test_delete_removes_and_succeeds_when_gone(self, h: VolumeHarness) -> None:
        volume_id = new_id()
        await h.driver.create_volume(volume_id, 1)
        await h.driver.delete_volume(volume_id)
        await h.driver.delete_volume(volume_id)
        assert await h.driver.volumes() == []
        assert await h.driver.describe_volume(volume_id) is None

    async def test_describe_says_what_is_behind_a_volume(self, h: VolumeHarness) -> None:
        volume_id = new_id()
        await h.driver.create_volume(volume_id, 1)
        details = await h.driver.describe_volume(volume_id)
        assert details is not None and details["driver"] == h.driver.name

    # --- extend -------------------------------------------------------------------------

    async def test_extend_grows_keeping_the_data(self, h: VolumeHarness) -> None:
        volume_id = new_id()
        await h.driver.create_volume(volume_id, 1)
        await h.write(volume_id, 0x17)
        grown = await h.driver.extend_volume(volume_id, 3)
        assert grown.size_gb == 3
        assert [v.size_gb for v in await h.driver.volumes()] == [3]
        assert await h.read(volume_id) == 0x17
        assert (await h.driver.extend_volume(volume_id, 3)).size_gb == 3

    async def test_extend_never_shrinks(self, h: VolumeHarness) -> None:
        volume_id = new_id()
        await h.driver.create_volume(volume_id, 2)
        with pytest.raises(DriverError):
            await h.driver.extend_volume(volume_id, 1)
        assert [v.size_gb for v in await h.driver.volumes()] == [2]

    async def test_extend_of_a_missing_volume(self, h: VolumeHarness) -> None:
        with pytest.raises(VolumeMissing):
            await h.driver.extend_volume(new_id(), 2)

    # --- copies -------------------------------------------------------------------------

    async def test_clone_carries_the_source_data_at_its_own_size(
            self, h: VolumeHarness) -> None:
        source, clone = new_id(), new_id()
        await h.driver.create_volume(source, 1)
        await h.write(source, 0x33)
        made = await h.driver.create_from_volume(clone, 2, source)
        assert made.size_gb == 2
        assert await h.read(clone) == 0x33
        await h.write(source, 0x44)
        assert await h.read(clone) == 0x33            # a copy, not a view

    async def test_clone_of_a_missing_volume_makes_nothing(self, h: VolumeHarness) -> None:
        clone = new_id()
        with pytest.raises(VolumeMissing):
            await h.driver.create_from_volume(clone, 1, new_id())
        assert await h.driver.volumes() == []

    async def test_snapshot_is_the_data_at_that_moment(self, h: VolumeHarness) -> None:
        volume_id, snapshot_id, restored = new_id(), new_id(), new_id()
        await h.driver.create_volume(volume_id, 1)
        await h.write(volume_id, 0x11)
        taken = await h.driver.create_snapshot(snapshot_id, volume_id)
        assert taken.snapshot_id == snapshot_id
        assert [s.snapshot_id for s in await h.driver.snapshots()] == [snapshot_id]
        assert await h.driver.create_snapshot(snapshot_id, volume_id) == taken
        await h.write(volume_id, 0x22)
        await h.driver.create_from_snapshot(restored, 1, snapshot_id)
        assert await h.read(restored) == 0x11
        assert await h.read(volume_id) == 0x22

    async def test_revert_puts_the_snapshot_data_back(self, h: VolumeHarness) -> None:
        volume_id, snapshot_id = new_id(), new_id()
        await h.driver.create_volume(volume_id, 1)
        await h.write(volume_id, 0x21)
        await h.driver.create_snapshot(snapshot_id, volume_id)
        await h.write(volume_id, 0x55)
        reverted = await h.driver.revert_to_snapshot(volume_id, snapshot_id)
        assert reverted.size_gb == 1
        assert await h.read(volume_id) == 0x21
        assert [s.snapshot_id for s in await h.driver.snapshots()] == [snapshot_id]

    async def test_snapshots_outlive_their_volume_and_delete_when_gone(
            self, h: VolumeHarness) -> None:
        volume_id, snapshot_id = new_id(), new_id()
        await h.driver.create_volume(volume_id, 1)
        await h.driver.create_snapshot(snapshot_id, volume_id)
        await h.driver.delete_volume(volume_id)
        assert [s.snapshot_id for s in await h.driver.snapshots()] == [snapshot_id]
        await h.driver.delete_snapshot(snapshot_id)
        await h.driver.delete_snapshot(snapshot_id)
        assert await h.driver.snapshots() == []

    async def test_snapshot_and_copies_of_what_is_missing(self, h: VolumeHarness) -> None:
        with pytest.raises(VolumeMissing):
            await h.driver.create_snapshot(new_id(), new_id())
        with pytest.raises(SnapshotMissing):
            await h.driver.create_from_snapshot(new_id(), 1, new_id())
        volume_id = new_id()
        await h.driver.create_volume(volume_id, 1)
        with pytest.raises(SnapshotMissing):
            await h.driver.revert_to_snapshot(volume_id, new_id())
        assert [v.volume_id for v in await h.driver.volumes()] == [volume_id]

    # --- images -------------------------------------------------------------------------

    async def test_a_raw_image_becomes_the_volume_data(self, h: VolumeHarness) -> None:
        image = raw_image(h.work / "image.raw", 0x5A)
        volume_id = new_id()
        made = await h.driver.create_from_image(volume_id, 1, image, "raw")
        assert made.size_gb == 1
        assert await h.read(volume_id) == 0x5A
        assert image.exists()                         # the caller's to remove

    async def test_a_qcow2_image_becomes_a_volume_of_the_asked_size(
            self, h: VolumeHarness) -> None:
        image = h.work / "image.qcow2"
        qemu_img("create", "-q", "-f", "qcow2", str(image), "64M")
        volume_id = new_id()
        made = await h.driver.create_from_image(volume_id, 2, image, "qcow2")
        assert made.size_gb == 2
        assert [v.volume_id for v in await h.driver.volumes()] == [volume_id]

    async def test_an_image_larger_than_the_volume_is_refused(self, h: VolumeHarness) -> None:
        image = raw_image(h.work / "big.raw", 1, size=2 * GIB)
        with pytest.raises(DriverError, match="larger"):
            await h.driver.create_from_image(new_id(), 1, image, "raw")
        assert await h.driver.volumes() == []

    @pytest.mark.parametrize("disk_format", ["raw", "qcow2", "vmdk"])
    async def test_export_writes_the_data_in_the_asked_format(
            self, h: VolumeHarness, disk_format: str) -> None:
        volume_id = new_id()
        await h.driver.create_volume(volume_id, 1)
        await h.write(volume_id, 0x6B)
        dest = h.work / f"export.{disk_format}"
        await h.driver.export_volume(volume_id, disk_format, dest)
        info = json.loads(qemu_img("info", "--output=json", "-f", disk_format, str(dest)))
        assert info["format"] == disk_format
        assert not info.get("backing-filename")
        assert pattern_of_export(dest, disk_format) == 0x6B

    async def test_export_to_an_unknown_format_leaves_nothing(self, h: VolumeHarness) -> None:
        volume_id = new_id()
        await h.driver.create_volume(volume_id, 1)
        dest = h.work / "export.nope"
        with pytest.raises(DriverError):
            await h.driver.export_volume(volume_id, "iso", dest)
        assert not dest.exists()

    # --- restarts -----------------------------------------------------------------------

    async def test_a_restarted_driver_finds_the_volumes_and_snapshots(
            self, h: VolumeHarness) -> None:
        volume_id, snapshot_id = new_id(), new_id()
        await h.driver.create_volume(volume_id, 1)
        await h.write(volume_id, 0x7E)
        await h.driver.create_snapshot(snapshot_id, volume_id)
        driver = await h.restart()
        await driver.init_host()
        assert [v.volume_id for v in await driver.volumes()] == [volume_id]
        assert [s.snapshot_id for s in await driver.snapshots()] == [snapshot_id]
        assert await h.read(volume_id) == 0x7E

    async def test_a_half_made_volume_is_never_listed_and_init_host_clears_it(
            self, h: VolumeHarness) -> None:
        volume_id = new_id()
        await h.leave_partial(volume_id)
        assert await h.driver.volumes() == []
        driver = await h.restart()
        await driver.init_host()
        assert await driver.volumes() == []
        made = await driver.create_volume(volume_id, 1)
        assert made.size_gb == 1 and await h.read(volume_id) == 0

    async def test_a_cancelled_copy_leaves_nothing(self, h: VolumeHarness) -> None:
        source = new_id()
        await h.driver.create_volume(source, 1)
        clone = new_id()
        task = asyncio.ensure_future(h.driver.create_from_volume(clone, 1, source))
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert [v.volume_id for v in await h.driver.volumes()] == [source]
        driver = await h.restart()
        await driver.init_host()
        assert [v.volume_id for v in await driver.volumes()] == [source]
