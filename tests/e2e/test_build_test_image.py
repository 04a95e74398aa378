"""tools/build-test-image: the image it builds, booted for real under QEMU (TCG).

The build is cached (the first one downloads the Debian packages, about a minute; later
runs check their inputs and return). Each boot runs QEMU as the compute driver does and
reads the guest's serial console, where the test image prints its markers. Nothing here
skips: CI installs QEMU, xorriso and the build's tools (tools/install-system-deps.sh), so
a missing tool is a failure.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import time
import uuid as uuidlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from helpers.paths import REPO

BUILD = REPO / "tools" / "build-test-image"
BOOT_TIMEOUT = 90.0      # the image boots in well under 15 s; TCG on a busy machine is slow
SHUTDOWN_TIMEOUT = 20.0  # ACPI power-off takes about 2 s (busybox init's grace period)
MARKER = re.compile(r"^ownstack: .*$", re.MULTILINE)
KEY = ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMcY9sdMP76msXgfaNbJynHUzhZeoItV/tajdUy2DzgN "
       "learner@laptop\n")


def build() -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BUILD)], capture_output=True, text=True, timeout=1800,
                          check=False)


@pytest.fixture(scope="module")
def image() -> Path:
    result = build()
    assert result.returncode == 0, f"build-test-image failed:\n{result.stderr[-4000:]}"
    path = Path(result.stdout.splitlines()[-1])
    assert path.is_file(), path
    return path


class Guest:
    """One QEMU process with the compute driver's command line, on a throwaway overlay."""

    def __init__(self, workdir: Path, image: Path, *, config_drive: Path | None,
                 nics: int = 0) -> None:
        self.uuid = str(uuidlib.uuid4())
        self.console = workdir / "console.log"
        self.qmp_path = workdir / "qmp.sock"
        disk = workdir / "disk.qcow2"
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b",
                        str(image), str(disk)], check=True)
        smbios = (f"type=1,manufacturer=OpenStack Foundation,product=OpenStack Nova,"
                  f"serial={self.uuid},uuid={self.uuid}")
        argv = ["qemu-system-x86_64", "-machine", "pc,accel=tcg", "-cpu", "max", "-m", "128",
                "-smp", "1", "-nodefaults", "-no-user-config", "-display", "none",
                "-uuid", self.uuid, "-smbios", smbios,
                "-chardev", f"file,id=serial0,path={self.console},append=on",
                "-serial", "chardev:serial0",
                "-drive", f"file={disk},if=none,id=root,format=qcow2",
                "-device", "virtio-blk-pci,drive=root,bootindex=0",
                "-qmp", f"unix:{self.qmp_path},server=on,wait=off"]
        if config_drive is not None:
            argv += ["-drive", f"file={config_drive},if=none,id=cfg,format=raw,readonly=on",
                     "-device", "virtio-blk-pci,drive=cfg"]
        for index in range(nics):
            # QEMU's user-mode network, restricted: its built-in DHCP server answers, and
            # no packet goes anywhere (no host, no outside).
            argv += ["-netdev", f"user,id=nic{index},restrict=on,net=10.0.{2 + index}.0/24",
                     "-device", f"virtio-net-pci,netdev=nic{index}"]
        self.process = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def text(self) -> str:
        return self.console.read_text(errors="replace") if self.console.exists() else ""

    def wait_for(self, needle: str, *, count: int = 1, timeout: float = BOOT_TIMEOUT) -> str:
        """The console once `needle` has appeared `count` times in it."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.text()
            if text.count(needle) >= count:
                return text
            if self.process.poll() is not None:
                stderr = self.process.stderr.read() if self.process.stderr else b""
                raise AssertionError(f"QEMU exited ({self.process.returncode}) before "
                                     f"{needle!r}: {stderr!r}\n{text}")
            if time.monotonic() > deadline:
                raise AssertionError(f"no {needle!r} on the console after {timeout:.0f}s:\n"
                                     f"{text}")
            time.sleep(0.2)

    def qmp(self, command: str, **arguments: Any) -> None:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.connect(str(self.qmp_path))
            stream = sock.makefile("rw")
            stream.readline()  # the greeting
            for request in ({"execute": "qmp_capabilities"},
                            {"execute": command, "arguments": arguments}):
                stream.write(json.dumps(request) + "\n")
                stream.flush()
                while True:  # events may come before the answer
                    answer = json.loads(stream.readline())
                    if "return" in answer or "error" in answer:
                        break
                assert "return" in answer, answer

    def power_button(self) -> float:
        """Press the ACPI power button; seconds until QEMU exited, as the guest powered off."""
        start = time.monotonic()
        self.qmp("system_powerdown")
        self.process.wait(timeout=SHUTDOWN_TIMEOUT)
        return time.monotonic() - start

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        if self.process.stderr:
            self.process.stderr.close()


Boot = Callable[..., Guest]


@pytest.fixture
def boot(tmp_path: Path, image: Path) -> Iterator[Boot]:
    guests: list[Guest] = []

    def start(config_drive: Path | None = None, nics: int = 0) -> Guest:
        guest = Guest(tmp_path, image, config_drive=config_drive, nics=nics)
        guests.append(guest)
        return guest

    yield start
    for guest in guests:  # no QEMU outlives its test, whatever happened
        guest.kill()


def config_drive(tmp_path: Path, meta_data: dict[str, Any]) -> Path:
    """An ISO9660 config drive, labelled config-2, as Nova writes it (Rock Ridge, Joliet)."""
    tree = tmp_path / "config-drive"
    (tree / "openstack" / "latest").mkdir(parents=True)
    (tree / "openstack" / "latest" / "meta_data.json").write_text(json.dumps(meta_data))
    iso = tmp_path / "config.iso"
    subprocess.run(["xorriso", "-as", "mkisofs", "-quiet", "-V", "config-2", "-R", "-J",
                    "-o", str(iso), str(tree)], check=True, capture_output=True)
    return iso


def markers(console: str) -> list[str]:
    """The boot's markers, in order, without the leases (which come when they come)."""
    return [line for line in MARKER.findall(console.replace("\r", ""))
            if not line.startswith("ownstack: lease ")]


def test_build_prints_the_cached_image_path_last(image: Path) -> None:
    again = build()
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines()[-1] == str(image)
    assert "up to date" in again.stderr  # the inputs did not change: nothing rebuilt
    assert (image.parent / (image.name + ".key")).read_text().strip()
    info = json.loads(subprocess.run(["qemu-img", "info", "--output=json", str(image)],
                                     capture_output=True, text=True, check=True).stdout)
    assert info["format"] == "qcow2"
    assert info["virtual-size"] <= 256 * 2**20  # so that the smallest flavors fit
    assert image.stat().st_size <= 32 * 2**20


def test_guest_takes_hostname_and_key_from_config_drive_leases_every_nic_and_powers_off(
        tmp_path: Path, boot: Boot) -> None:
    guest_uuid = str(uuidlib.uuid4())
    drive = config_drive(tmp_path, {
        "uuid": guest_uuid, "name": "web 1", "hostname": "web-1", "launch_index": 0,
        "availability_zone": "nova", "project_id": "p1", "meta": {}, "devices": [],
        "public_keys": {"learner key": KEY},
        "keys": [{"name": "learner key", "type": "ssh", "data": KEY}],
        "random_seed": "c2VlZA==" * 80})
    guest = boot(drive, nics=2)

    console = guest.wait_for("web-1 login: ")

    # The instance uuid is QEMU's (the driver's -uuid), not the metadata's.
    assert markers(console) == [
        f"ownstack: instance {guest.uuid}",
        "ownstack: config drive found (config-2)",
        "ownstack: ssh key learner key installed for root",
        "ownstack: hostname web-1",
        "ownstack: login ready on web-1",
    ]
    # DHCP on both NICs (QEMU's DHCP server hands out .15 first on each network).
    guest.wait_for("ownstack: lease 10.0.2.15/24 on eth0")
    guest.wait_for("ownstack: lease 10.0.3.15/24 on eth1")
    assert guest.power_button() < SHUTDOWN_TIMEOUT
    assert guest.process.returncode == 0
    assert "reboot: Power down" in guest.text()


def test_guest_without_config_drive_or_nic_boots_as_localhost_and_reboots(
        boot: Boot) -> None:
    guest = boot()

    console = guest.wait_for("localhost login: ")
    expected = [f"ownstack: instance {guest.uuid}",
                "ownstack: no config drive, no metadata service",
                "ownstack: hostname localhost",
                "ownstack: login ready on localhost"]
    assert markers(console) == expected

    # Ctrl-Alt-Del reaches busybox init, which runs `reboot`: a whole new boot follows.
    guest.qmp("send-key", keys=[{"type": "qcode", "data": key}
                                for key in ("ctrl", "alt", "delete")])
    console = guest.wait_for("localhost login: ", count=2)
    assert "reboot: Restarting system" in console
    assert markers(console) == expected * 2
