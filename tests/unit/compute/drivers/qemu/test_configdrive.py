"""The config drive ISO, read back by pycdlib, xorriso, blkid and the kernel's isofs."""

from __future__ import annotations

import io
import os
import re
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pycdlib
import pytest

from ownstack.compute.drivers.base import GuestSpec, ImageRef, NicSpec
from ownstack.compute.drivers.metadata import config_drive_files
from ownstack.compute.drivers.qemu.configdrive import VOLUME_LABEL, write_config_drive

SPEC = GuestSpec(
    uuid="6a1c1f52-2b8e-4d3c-9a57-3f0e9c1d2b4a", name="db", hostname="db-0", vcpus=1,
    memory_mb=128, root_gb=1, image=ImageRef("img", Path("/nonexistent"), "qcow2"),
    nics=(NicSpec("port-1", "fa:16:3e:aa:bb:cc", "tapport-1", "brq1"),),
    config_drive=True, project_id="p", availability_zone="nova", key_name="k",
    key_data="ssh-ed25519 AAAA k@h", user_data=b"#!/bin/sh\necho hi\n", admin_pass="pw",
    metadata={"a": "b"})

# Names a plain 8.3 mangling would collide on, or that no reader accepts as they are.
AWKWARD = {
    "a/FOO": b"1", "a/foo": b"2", "a/foo.": b"3", "a/foo.bar.baz": b"4",
    "a/" + "x" * 200 + ".json": b"5", "a/" + "x" * 199 + ".json": b"6",
    "a/we:ird?*;name.txt": b"7", "a/.hidden": b"8", "a/caf\u00e9 \u2603.txt": b"9",
    "deep/1/2/3/4/5/6/7/8/9/10/leaf": b"10", "empty": b"",
    "openstack/latest/vendor_data.json": b"{}",
    "openstack/latest/vendor_data2.json": b'{"static": {}}',
}
ISO9660_FILE = re.compile(r"^[A-Z0-9_]{1,8}\.[A-Z0-9_]{0,3};1$")
ISO9660_DIR = re.compile(r"^[A-Z0-9_]{1,8}$")


@contextmanager
def read_iso(path: Path) -> Iterator[pycdlib.PyCdlib]:
    iso = pycdlib.PyCdlib()
    iso.open(str(path))
    try:
        yield iso
    finally:
        iso.close()


def extract(iso: pycdlib.PyCdlib, **where: str) -> bytes:
    out = io.BytesIO()
    iso.get_file_from_iso_fp(out, **where)
    return out.getvalue()


def xorriso(*args: str) -> str:
    return subprocess.run(["xorriso", *args], check=True, capture_output=True,
                          text=True).stdout


@pytest.fixture
def drive(tmp_path: Path) -> tuple[Path, dict[str, bytes]]:
    files = config_drive_files(SPEC)
    path = tmp_path / "disk.config"
    size = write_config_drive(path, files)
    assert size == path.stat().st_size and size % 2048 == 0
    return path, files


def test_every_file_reads_back_by_rock_ridge_and_joliet(
        drive: tuple[Path, dict[str, bytes]]) -> None:
    path, files = drive
    with read_iso(path) as iso:
        for name, content in files.items():
            assert extract(iso, rr_path=f"/{name}") == content, name
            assert extract(iso, joliet_path=f"/{name}") == content, name


def test_awkward_names_keep_their_rock_ridge_names_and_get_valid_short_names(
        tmp_path: Path) -> None:
    path = tmp_path / "awkward.iso"
    write_config_drive(path, AWKWARD)
    with read_iso(path) as iso:
        for name, content in AWKWARD.items():
            assert extract(iso, rr_path=f"/{name}") == content, name
        seen = 0
        for dirpath, dirnames, filenames in iso.walk(iso_path="/"):
            assert all(ISO9660_DIR.match(d) for d in dirnames), dirnames
            assert all(ISO9660_FILE.match(f) for f in filenames), filenames
            plain = [f.removesuffix(";1").rstrip(".") for f in filenames] + dirnames
            assert len(plain) == len(set(plain)), f"{dirpath}: {plain}"
            for name in filenames:
                extract(iso, iso_path=f"{dirpath.rstrip('/')}/{name}")
                seen += 1
        assert seen == len(AWKWARD)
        joliet = [f for _, _, names in iso.walk(joliet_path="/a") for f in names]
        assert len(joliet) == len({f.casefold() for f in joliet}) == 9
        assert all(len(f) <= 64 and not set(f) & set("*/:;?\\") for f in joliet)
        assert "caf\u00e9 \u2603.txt" in joliet


def test_xorriso_sees_the_label_and_the_long_names(
        drive: tuple[Path, dict[str, bytes]]) -> None:
    path, files = drive
    assert re.search(r"^Volume Id\s*:\s*config-2$", xorriso("-indev", str(path),
                                                            "-pvd_info"), re.M)
    listed = {line.strip("'") for line in xorriso("-indev", str(path), "-find", "/",
                                                  "-type", "f").split()}
    assert listed == {f"/{name}" for name in files}
    joliet = {line.strip("'") for line in xorriso("-read_fs", "norock", "-indev", str(path),
                                                  "-find", "/", "-type", "f").split()}
    assert joliet == listed


def test_xorriso_extracts_identical_files(drive: tuple[Path, dict[str, bytes]],
                                          tmp_path: Path) -> None:
    path, files = drive
    out = tmp_path / "out"
    xorriso("-osirrox", "on", "-indev", str(path), "-extract", "/", str(out))
    extracted = {str(p.relative_to(out)): p.read_bytes()
                 for p in out.rglob("*") if p.is_file()}
    assert extracted == files


def test_blkid_finds_it_as_cloud_init_does(drive: tuple[Path, dict[str, bytes]]) -> None:
    path, _ = drive
    probe = subprocess.run(["blkid", "-p", "-o", "export", str(path)], check=True,
                           capture_output=True, text=True).stdout.splitlines()
    assert f"LABEL={VOLUME_LABEL}" in probe
    assert "TYPE=iso9660" in probe


# A Linux kernel mounting the drive is tested where one really does: the guest of the
# driver contract suite (qemu) and of tests/e2e/test_qemu_cloud.py reads its hostname
# and key from it. (The CI machines' own kernel has no iso9660, so a loop mount here could
# only ever be skipped.)


def test_rewrite_replaces_the_file_by_rename(drive: tuple[Path, dict[str, bytes]]) -> None:
    path, _ = drive
    before = path.stat().st_ino
    write_config_drive(path, {"openstack/latest/meta_data.json": b"{}"})
    assert path.stat().st_ino != before
    assert sorted(p.name for p in path.parent.iterdir()) == ["disk.config"]
    with read_iso(path) as iso:
        assert extract(iso, rr_path="/openstack/latest/meta_data.json") == b"{}"


def test_a_failed_write_leaves_neither_a_half_iso_nor_a_temp_file(tmp_path: Path) -> None:
    """ENOSPC half way through, on a real 64 KiB tmpfs: the old drive stays as it was."""
    small = tmp_path / "small"
    small.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(small)],
                   check=True)
    try:
        path = small / "disk.config"
        path.write_bytes(b"old drive")
        with pytest.raises(OSError) as caught:
            write_config_drive(path, {"big": os.urandom(256 * 1024)})
        assert "No space left" in str(caught.value)
        assert [p.name for p in small.iterdir()] == ["disk.config"]
        assert path.read_bytes() == b"old drive"
    finally:
        subprocess.run(["umount", str(small)], check=True)


@pytest.mark.parametrize("bad", [
    {"": b""}, {"/abs": b""}, {"a//b": b""}, {"a/../b": b""}, {"./a": b""},
    {"a/": b""}, {"nul\x00": b""}, {"x" * 256: b""}, {"a": b"", "a/b": b""},
])
def test_invalid_paths_are_refused_before_anything_is_written(
        tmp_path: Path, bad: dict[str, bytes]) -> None:
    with pytest.raises(ValueError):
        write_config_drive(tmp_path / "disk.config", bad)
    assert list(tmp_path.iterdir()) == []
