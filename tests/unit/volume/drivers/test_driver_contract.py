"""The volume driver contract (:class:`helpers.volume_driver_contract.VolumeDriverContract`)
over the fake driver and over the file driver (real files, qemu-img), each in qcow2 and
raw. "Behind its back" is qemu-io and qemu-img dd on the file, as a guest's writes."""

from __future__ import annotations

import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from helpers.volume_driver_contract import VolumeDriverContract, VolumeHarness
from ownstack.volume.drivers.base import VolumeDriver
from ownstack.volume.drivers.fake import FakeVolumeDriver, FakeVolumeHost
from ownstack.volume.drivers.file import FileVolumeDriver


def fake_harness(work: Path) -> VolumeHarness:
    host = FakeVolumeHost("contract-host")
    harness = VolumeHarness(FakeVolumeDriver(host), restart=_unset, write=_unset,
                            read=_unset, leave_partial=_unset, work=work)

    async def restart() -> VolumeDriver:
        await harness.driver.close()
        harness.driver = FakeVolumeDriver(host)
        return harness.driver

    async def write(volume_id: str, pattern: int) -> None:
        host.write(volume_id, pattern)

    async def read(volume_id: str) -> int | None:
        return host.pattern(volume_id)

    async def leave_partial(volume_id: str) -> None:
        host.partial.add(volume_id)

    harness.restart, harness.write, harness.read = restart, write, read
    harness.leave_partial = leave_partial
    return harness


def file_harness(directory: Path, work: Path, volume_format: str) -> VolumeHarness:
    def driver() -> FileVolumeDriver:
        return FileVolumeDriver(directory, volume_format=volume_format)

    harness = VolumeHarness(driver(), restart=_unset, write=_unset, read=_unset,
                            leave_partial=_unset, work=work)

    def path_of(volume_id: str) -> tuple[Path, str]:
        for fmt in ("qcow2", "raw"):
            path = directory / f"volume-{volume_id}.{fmt}"
            if path.exists():
                return path, fmt
        raise AssertionError(f"no file for volume {volume_id}")

    async def restart() -> VolumeDriver:
        await harness.driver.close()
        harness.driver = driver()
        return harness.driver

    async def write(volume_id: str, pattern: int) -> None:
        path, fmt = path_of(volume_id)
        subprocess.run(["qemu-io", "-f", fmt, "-c", f"write -P {pattern} 0 64k", str(path)],
                       check=True, capture_output=True)

    async def read(volume_id: str) -> int | None:
        path, fmt = path_of(volume_id)
        out = work / "read.raw"
        subprocess.run(["qemu-img", "dd", "-U", "-f", fmt, "-O", "raw", "bs=65536",
                        "count=1", f"if={path}", f"of={out}"], check=True, capture_output=True)
        data = out.read_bytes()[:65536]
        out.unlink()
        return data[0] if data and len(set(data)) == 1 else None

    async def leave_partial(volume_id: str) -> None:
        (directory / f".tmp-volume-{volume_id}.{volume_format}").write_bytes(b"half" * 100)

    harness.restart, harness.write, harness.read = restart, write, read
    harness.leave_partial = leave_partial
    return harness


@pytest.fixture(params=["fake", "file-qcow2", "file-raw"])
async def h(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[VolumeHarness]:
    work = tmp_path / "work"
    work.mkdir()
    if request.param == "fake":
        harness = fake_harness(work)
    else:
        harness = file_harness(tmp_path / "volumes", work, request.param.split("-")[1])
    await harness.driver.init_host()
    yield harness
    await harness.driver.close()


async def _unset(*args: object) -> None:
    raise AssertionError("replaced by the fixture")


class TestVolumeDriver(VolumeDriverContract):
    pass
