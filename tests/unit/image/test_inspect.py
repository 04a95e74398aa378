"""Format inspection against crafted images: the attacks behind OSSA-2024-001 and friends.

Every image here is made by ``qemu-img create`` (or written by hand, for VMDK descriptors)
in the test's tmp_path, 1 MiB virtual, a few hundred KiB on disk.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from ownstack.image.errors import BadImageData, InspectorUnavailable
from ownstack.image.inspect import check_info, inspect_image

LIMITS = {"timeout": 30, "memory_mb": 512}


def qemu_img(*args: str) -> str:
    return subprocess.run(["qemu-img", *args], check=True, capture_output=True,
                          text=True).stdout


def create(tmp_path: Path, fmt: str, name: str, *options: str, size: str = "1M") -> Path:
    path = tmp_path / name
    qemu_img("create", "-q", "-f", fmt, *options, str(path), size)
    return path


def info_of(path: Path) -> dict[str, Any]:
    """qemu-img's own description, to test the second layer without the header pre-check."""
    return dict(json.loads(qemu_img("info", "--output=json", "--force-share", str(path))))


async def rejected(path: Path, declared: str) -> str:
    with pytest.raises(BadImageData) as caught:
        await inspect_image(path, declared_format=declared, **LIMITS)
    assert caught.value.status == 400
    return caught.value.message


def descriptor(tmp_path: Path, name: str, create_type: str, extent: str) -> Path:
    """A hand-written VMDK descriptor: a text file naming its extents, wherever they are."""
    path = tmp_path / name
    path.write_text(
        "# Disk DescriptorFile\nversion=1\nCID=12345678\nparentCID=ffffffff\n"
        f'createType="{create_type}"\n\n# Extent description\n{extent}\n\n'
        '# The Disk Data Base\nddb.virtualHWVersion = "4"\n')
    return path


@pytest.mark.parametrize(("declared", "fmt", "options", "detected"), [
    ("qcow2", "qcow2", (), "qcow2"),
    ("raw", "raw", (), "raw"),
    ("vmdk", "vmdk", (), "vmdk"),
    ("vmdk", "vmdk", ("-o", "subformat=streamOptimized"), "vmdk"),
    ("vdi", "vdi", (), "vdi"),
    ("vhd", "vpc", (), "vpc"),
    ("vhdx", "vhdx", (), "vhdx"),
    ("ploop", "parallels", (), "parallels"),
    ("iso", "raw", (), "raw"),
    ("ami", "raw", (), "raw"),
    ("ari", "raw", (), "raw"),
    ("aki", "raw", (), "raw"),
])
async def test_each_disk_format_accepts_its_own_data(
        tmp_path: Path, declared: str, fmt: str, options: tuple[str, ...], detected: str
) -> None:
    path = create(tmp_path, fmt, f"disk.{fmt}", *options)
    found = await inspect_image(path, declared_format=declared, **LIMITS)
    assert found.format == detected
    assert found.virtual_size >= 1024 * 1024     # vpc rounds up to its geometry


@pytest.mark.parametrize(("declared", "fmt", "detected"), [
    ("raw", "qcow2", "qcow2"),
    ("raw", "vmdk", "vmdk"),
    ("raw", "vhdx", "vhdx"),
    ("iso", "qcow2", "qcow2"),
    ("qcow2", "raw", "raw"),
    ("qcow2", "vmdk", "vmdk"),
    ("vhd", "vhdx", "vhdx"),
    ("vmdk", "qcow2", "qcow2"),
])
async def test_declared_format_must_match_the_data(
        tmp_path: Path, declared: str, fmt: str, detected: str) -> None:
    path = create(tmp_path, fmt, "disk")
    message = await rejected(path, declared)
    assert message == (f"disk_format {declared} does not match the data "
                       f"(qemu-img found {detected}).")


async def test_unknown_disk_format_matches_nothing(tmp_path: Path) -> None:
    path = create(tmp_path, "raw", "disk")
    assert "disk_format luks does not match" in await rejected(path, "luks")


@pytest.mark.parametrize("declared", ["raw", "qcow2"])
async def test_qcow2_with_a_host_file_as_backing_file_is_refused(
        tmp_path: Path, declared: str) -> None:
    # The classic exploit: "raw" bytes that are a qcow2 whose backing file is a host file.
    path = create(tmp_path, "qcow2", "evil", "-b", "/etc/passwd", "-F", "raw", "-u")
    assert "backing file" in await rejected(path, declared)


async def test_qcow2_with_an_external_data_file_is_refused(tmp_path: Path) -> None:
    path = create(tmp_path, "qcow2", "evil", "-o", f"data_file={tmp_path / 'host.raw'}")
    assert "external data file" in await rejected(path, "qcow2")


def encrypted_qcow2(tmp_path: Path) -> Path:
    """A qcow2 whose header says AES encryption (qemu-img's LUKS key set-up is slow)."""
    path = create(tmp_path, "qcow2", "secret")
    with path.open("r+b") as file:
        file.seek(32)                          # crypt_method = 1 (AES)
        file.write((1).to_bytes(4, "big"))
    return path


async def test_encrypted_qcow2_is_refused(tmp_path: Path) -> None:
    assert "encrypted" in await rejected(encrypted_qcow2(tmp_path), "qcow2")


async def test_luks_data_declared_raw_is_refused(tmp_path: Path) -> None:
    # qemu-img's PBKDF benchmark now and then fails with "Unable to get accurate CPU usage".
    for attempt in range(5):
        try:
            path = create(tmp_path, "luks", f"secret{attempt}", "--object",
                          "secret,id=s0,data=pw", "-o", "key-secret=s0,iter-time=10")
            break
        except subprocess.CalledProcessError:
            continue
    else:
        pytest.fail("qemu-img could not create a LUKS image")
    assert "(qemu-img found luks)" in await rejected(path, "raw")


@pytest.mark.parametrize("declared", ["vmdk", "raw"])
async def test_vmdk_descriptor_pointing_at_a_host_file_is_refused(
        tmp_path: Path, declared: str) -> None:
    path = descriptor(tmp_path, "evil.vmdk", "monolithicFlat", 'RW 1 FLAT "/etc/passwd" 0')
    assert "VMDK descriptor" in await rejected(path, declared)


async def test_multi_file_vmdk_is_refused(tmp_path: Path) -> None:
    path = create(tmp_path, "vmdk", "split.vmdk", "-o", "subformat=twoGbMaxExtentSparse")
    assert "VMDK descriptor" in await rejected(path, "vmdk")


async def test_qemu_img_failure_is_a_400_with_its_message(tmp_path: Path) -> None:
    path = create(tmp_path, "qcow2", "broken")
    with path.open("r+b") as file:           # cluster_bits = 99
        file.seek(20)
        file.write((99).to_bytes(4, "big"))
    message = await rejected(path, "qcow2")
    assert "Unsupported cluster size" in message
    assert str(tmp_path) not in message      # the store's path is not the client's business


async def test_junk_declared_qcow2_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "junk"
    path.write_bytes(os.urandom(4096))
    assert "(qemu-img found raw)" in await rejected(path, "qcow2")


# The second layer alone: qemu-img's JSON for crafted images, as check_info sees it.

def test_info_rule_refuses_a_backing_file(tmp_path: Path) -> None:
    path = create(tmp_path, "qcow2", "child", "-b", "/etc/passwd", "-F", "raw", "-u")
    with pytest.raises(BadImageData, match="backing file"):
        check_info(info_of(path), path=str(path), declared_format="qcow2")


def test_info_rule_refuses_an_external_data_file(tmp_path: Path) -> None:
    path = create(tmp_path, "qcow2", "df", "-o", f"data_file={tmp_path / 'host.raw'}")
    with pytest.raises(BadImageData, match="external data file"):
        check_info(info_of(path), path=str(path), declared_format="qcow2")


def test_info_rule_refuses_encryption(tmp_path: Path) -> None:
    path = encrypted_qcow2(tmp_path)
    with pytest.raises(BadImageData, match="encrypted"):
        check_info(info_of(path), path=str(path), declared_format="qcow2")


def test_info_rule_refuses_a_flat_vmdk_reading_a_host_file(tmp_path: Path) -> None:
    path = descriptor(tmp_path, "evil.vmdk", "monolithicFlat", 'RW 1 FLAT "/etc/passwd" 0')
    with pytest.raises(BadImageData, match="create-type monolithicFlat is not allowed"):
        check_info(info_of(path), path=str(path), declared_format="vmdk")


def test_info_rule_refuses_a_vmdk_extent_in_another_file(tmp_path: Path) -> None:
    path = create(tmp_path, "vmdk", "disk.vmdk")
    info = info_of(path)
    assert check_info(info, path=str(path), declared_format="vmdk").format == "vmdk"
    info["format-specific"]["data"]["extents"][0]["filename"] = "/etc/passwd"
    with pytest.raises(BadImageData, match="extent in another file"):
        check_info(info, path=str(path), declared_format="vmdk")


def test_info_rule_refuses_an_unusable_answer() -> None:
    with pytest.raises(BadImageData, match="no usable description"):
        check_info({"format": "raw"}, path="/x", declared_format="raw")


# Resource limits and failures of the tool itself, with a stand-in qemu-img on PATH.

def fake_qemu_img(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, script: str) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    tool = bin_dir / "qemu-img"
    tool.write_text("#!/bin/sh\n" + script)
    tool.chmod(0o755)
    (bin_dir / "prlimit").symlink_to("/usr/bin/prlimit")
    monkeypatch.setenv("PATH", str(bin_dir))
    return bin_dir


async def test_qemu_img_runs_under_memory_and_cpu_limits(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    limits = tmp_path / "limits"
    fake_qemu_img(tmp_path, monkeypatch, f"/usr/bin/cat /proc/$$/limits > {limits}\n"
                  'echo \'{"format": "raw", "virtual-size": 5}\'\n')
    data = tmp_path / "data"
    data.write_bytes(b"hello")
    found = await inspect_image(data, declared_format="raw", timeout=7, memory_mb=300)
    assert (found.format, found.virtual_size) == ("raw", 5)
    text = limits.read_text()
    assert any(line.split()[:4] == ["Max", "cpu", "time", "7"] for line in text.splitlines())
    assert any(line.split()[:4] == ["Max", "address", "space", str(300 * 1024 * 1024)]
               for line in text.splitlines())


async def test_inspection_that_hangs_is_killed_and_refused(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pid_file = tmp_path / "pid"
    fake_qemu_img(tmp_path, monkeypatch, f"echo $$ > {pid_file}\nexec /usr/bin/sleep 60\n")
    data = tmp_path / "data"
    data.write_bytes(b"hello")
    with pytest.raises(BadImageData, match="inspection timed out"):
        await inspect_image(data, declared_format="raw", timeout=1, memory_mb=300)
    pid = int(pid_file.read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)                       # killed and reaped, not left running


async def test_missing_qemu_img_is_an_operator_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = fake_qemu_img(tmp_path, monkeypatch, "exit 0\n")
    (bin_dir / "qemu-img").unlink()
    data = tmp_path / "data"
    data.write_bytes(b"hello")
    with pytest.raises(InspectorUnavailable) as caught:
        await inspect_image(data, declared_format="raw", **LIMITS)
    assert caught.value.status == 503
