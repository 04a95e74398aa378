"""The console test's screen reader (helpers/vga_text.py) against a real QEMU screen: SeaBIOS
prints the machine's UUID in VGA text mode, in the font its VGA BIOS loaded; QEMU's own
screendump of it must read back as exactly that UUID, for UUIDs chosen at random (their
7s and 8s are what OCR misread)."""

from __future__ import annotations

import asyncio
import subprocess
import time
import uuid
from pathlib import Path

from qemu.qmp import QMPClient

from helpers.vga_text import read_screen


def read_ppm(path: Path) -> tuple[int, int, bytes]:
    """A binary PPM (P6, 8 bits) as width, height and RGB bytes: QEMU's screendump."""
    data = path.read_bytes()
    magic, width, height, depth, pixels = data.split(maxsplit=4)
    assert (magic, depth) == (b"P6", b"255"), data[:20]
    return int(width), int(height), pixels


async def screendump(socket_path: Path, target: Path) -> None:
    client = QMPClient("vga-text-test")
    await client.connect(str(socket_path))
    try:
        await client.execute("screendump", {"filename": str(target)})
    finally:
        await client.disconnect()


def test_a_real_bios_screen_reads_back_with_its_uuid(tmp_path: Path) -> None:
    for _ in range(3):
        machine = str(uuid.uuid4())
        qmp = tmp_path / "qmp.sock"
        qemu = subprocess.Popen(
            ["qemu-system-x86_64", "-machine", "accel=tcg", "-m", "64", "-uuid", machine,
             "-display", "none", "-nic", "none", "-vga", "std", "-no-reboot",
             "-qmp", f"unix:{qmp},server=on,wait=off"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            deadline, text = time.monotonic() + 60, ""
            while time.monotonic() < deadline and "Booting from" not in text:
                time.sleep(0.5)
                if not qmp.exists():
                    continue
                asyncio.run(screendump(qmp, tmp_path / "screen.ppm"))
                text = read_screen(*read_ppm(tmp_path / "screen.ppm"))
            assert f"\nMachine UUID {machine}\n" in text, text
            assert text.startswith("SeaBIOS (version "), text
        finally:
            qemu.kill()
            qemu.wait()
            qmp.unlink(missing_ok=True)
