"""A cold migration's destination takes the source's overlay over (QemuImg.adopt_overlay,
real qemu-img): moved into place, backed by this host's base with the guest's data
unchanged; a file that is not such an overlay is refused before anything is moved."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from ownstack.compute.drivers.base import SpawnFailed
from ownstack.compute.drivers.qemu.images import BaseImage, QemuImg

MIB = 1024 ** 2


def qemu_img(*args: str) -> str:
    return subprocess.run(["qemu-img", *args], capture_output=True, text=True, check=True,
                          timeout=60).stdout


def holds(path: Path, pattern: int, offset: int, length: int) -> bool:
    """Whether the guest reads ``length`` bytes of ``pattern`` at ``offset`` of its disk
    (through overlay and backing chain)."""
    result = subprocess.run(["qemu-io", "-r", "-f", "qcow2", "-c",
                             f"read -P {pattern:#x} {offset} {length}", str(path)],
                            capture_output=True, text=True, timeout=60, check=False)
    return result.returncode == 0 and "fail" not in result.stdout + result.stderr


@pytest.fixture
def hosts(tmp_path: Path) -> tuple[Path, Path, Path]:
    """The same image as two hosts' bases, and a guest's overlay on the first one with
    data of its own (64 KiB of 0x5a at 1 MiB)."""
    source_base = tmp_path / "source" / "base.qcow2"
    source_base.parent.mkdir()
    qemu_img("create", "-q", "-f", "qcow2", str(source_base), "8M")
    subprocess.run(["qemu-io", "-f", "qcow2", "-c", "write -P 0x11 0 64k", str(source_base)],
                   check=True, capture_output=True, timeout=60)
    dest_base = tmp_path / "dest" / "base.qcow2"
    dest_base.parent.mkdir()
    shutil.copyfile(source_base, dest_base)
    overlay = tmp_path / "source" / "disk.qcow2"
    qemu_img("create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", str(source_base),
             str(overlay), "16M")
    subprocess.run(["qemu-io", "-f", "qcow2", "-c", f"write -P 0x5a {MIB} 64k",
                    str(overlay)], check=True, capture_output=True, timeout=60)
    received = tmp_path / "incoming.qcow2"
    shutil.copyfile(overlay, received)
    return received, dest_base, tmp_path / "dest" / "disk.qcow2"


async def test_the_overlay_is_moved_and_backed_by_this_hosts_base(
        hosts: tuple[Path, Path, Path]) -> None:
    received, base, disk = hosts
    size = await QemuImg().adopt_overlay(BaseImage(base, 8 * MIB), received, disk)
    assert size == 16 * MIB and not received.exists()
    info = json.loads(qemu_img("info", "--output=json", str(disk)))
    assert info["backing-filename"] == str(base)
    assert holds(disk, 0x5A, MIB, 65536)        # the guest's own data
    assert holds(disk, 0x11, 0, 65536)          # the image's, from this host's base
    assert not holds(disk, 0x5A, 0, 65536)      # (the check can fail)


async def test_a_file_that_is_not_qcow2_is_refused(tmp_path: Path,
                                                   hosts: tuple[Path, Path, Path]) -> None:
    _, base, disk = hosts
    raw = tmp_path / "raw.img"
    raw.write_bytes(b"\0" * MIB)
    with pytest.raises(SpawnFailed, match="not a valid qcow2 overlay") as caught:
        await QemuImg().adopt_overlay(BaseImage(base, 8 * MIB), raw, disk)
    assert not caught.value.retryable and raw.exists() and not disk.exists()


async def test_an_overlay_smaller_than_the_image_is_refused(
        hosts: tuple[Path, Path, Path]) -> None:
    received, base, disk = hosts
    with pytest.raises(SpawnFailed, match="smaller than its image"):
        await QemuImg().adopt_overlay(BaseImage(base, 32 * MIB), received, disk)
    assert received.exists() and not disk.exists()
