"""The QEMU driver's console sockets, without QEMU: a guest is its directory, its recipe and
a live process whose command line names it (here a sleeping Python), so each answer of
``console_socket`` can be set up exactly: a guest spawned with consoles, one adopted from
before them, one whose socket is gone, and one that is stopped."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import tempfile
import uuid as uuidlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from ownstack.compute.drivers.base import (
    ConsoleKind,
    ConsoleUnavailable,
    GuestNotFound,
    InvalidGuestState,
)
from ownstack.compute.drivers.qemu.driver import QemuDriver
from ownstack.compute.drivers.qemu.process import GuestFiles, Recipe


@pytest.fixture
def driver(tmp_path: Path) -> Iterator[QemuDriver]:
    driver = QemuDriver("node", tmp_path)
    run = Path(tempfile.mkdtemp(prefix="osq-", dir="/tmp"))     # short: socket paths
    driver._run = run
    yield driver
    shutil.rmtree(run, ignore_errors=True)


def guest(driver: QemuDriver, *, consoles: bool, alive: bool = True
          ) -> tuple[GuestFiles, subprocess.Popen[bytes] | None]:
    """A guest's files and recipe (with the console options the driver writes today, or
    the command line of a guest spawned before them) and, if ``alive``, its process."""
    uuid = str(uuidlib.uuid4())
    files = driver._files(uuid)
    files.directory.mkdir(parents=True)
    argv = ["qemu-system-x86_64", "-uuid", uuid,
            "-chardev", f"file,id=serial0,path={files.console},append=on"]
    if consoles:
        argv = [*argv[:3], "-chardev", f"socket,id=serial0,path={files.serial},server=on,"
                f"wait=off,logfile={files.console},logappend=on", "-vga", "std",
                "-vnc", f"unix:{files.vnc}"]
    Recipe(uuid=uuid, name="vm", argv=argv, devices=[], image_id="img", base="/b",
           accel="tcg", spawned=True).save(files.recipe)
    process = None
    if alive:
        process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)",
                                    uuid])
        files.pidfile.write_text(str(process.pid))
    return files, process


async def test_a_guest_with_consoles_names_its_sockets(driver: QemuDriver) -> None:
    files, process = guest(driver, consoles=True)
    assert process is not None
    servers = [await asyncio.start_unix_server(lambda r, w: None, path)
               for path in (files.vnc, files.serial)]
    try:
        assert await driver.console_socket(files.uuid, ConsoleKind.VNC) == files.vnc
        assert await driver.console_socket(files.uuid, ConsoleKind.SERIAL) == files.serial
        details = (await driver.get_info(files.uuid)).details
        assert (details["vnc_socket"], details["serial_socket"]) == (
            str(files.vnc), str(files.serial))
        for server in servers:
            server.close()
        files.serial.unlink()
        with pytest.raises(ConsoleUnavailable, match=r"socket .* is missing"):
            await driver.console_socket(files.uuid, ConsoleKind.SERIAL)
    finally:
        process.kill()
        process.wait()
    with pytest.raises(InvalidGuestState) as stopped:
        await driver.console_socket(files.uuid, ConsoleKind.VNC)
    assert stopped.value.state.name == "SHUTDOWN"
    assert (await driver.get_info(files.uuid)).details["vnc_socket"] is None


async def test_a_guest_adopted_from_before_consoles_has_none(driver: QemuDriver) -> None:
    files, process = guest(driver, consoles=False)
    assert process is not None
    try:
        for kind in ConsoleKind:
            with pytest.raises(ConsoleUnavailable) as refused:
                await driver.console_socket(files.uuid, kind)
            assert "rebuild the server" in str(refused.value)
        details = (await driver.get_info(files.uuid)).details
        assert (details["vnc_socket"], details["serial_socket"]) == (None, None)
    finally:
        process.kill()
        process.wait()


async def test_no_guest_no_console(driver: QemuDriver) -> None:
    with pytest.raises(GuestNotFound):
        await driver.console_socket(str(uuidlib.uuid4()), ConsoleKind.VNC)


async def test_destroy_removes_the_console_sockets(driver: QemuDriver) -> None:
    files, _ = guest(driver, consoles=True, alive=False)
    for path in files.sockets:
        path.touch()
    await driver.destroy(files.uuid)
    assert [path for path in files.sockets if path.exists()] == []
