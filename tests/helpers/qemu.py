"""Real QEMU for the end-to-end tests: the ``ownstack-tiny`` test image and the Debian
cloud-init image, QEMU drivers on TCG, and the QEMU driver's harness for the driver
contract suite.

Nothing here skips when QEMU or an image cannot be had: CI installs QEMU and builds the
images (``tools/build-test-image``, ``tools/build-cloud-init-image``, cached after the
first build), so a missing one is a failure.
"""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

from helpers.driver_contract import Harness, unset
from helpers.paths import REPO
from ownstack.compute.drivers.base import ComputeDriver, ImageRef
from ownstack.compute.drivers.qemu import process as proc
from ownstack.compute.drivers.qemu.driver import QemuDriver


def _built(tool: str) -> Path:
    """The image ``tools/<tool>`` builds (or finds in its cache): the last line it prints."""
    result = subprocess.run([str(REPO / "tools" / tool)], capture_output=True, text=True,
                            check=False, timeout=1800)
    if result.returncode != 0:
        raise AssertionError(f"tools/{tool} failed:\n{result.stderr[-4000:]}")
    path = Path(result.stdout.strip().splitlines()[-1])
    assert path.is_file(), path
    return path


@functools.cache
def tiny_image() -> Path:
    """The ``ownstack-tiny`` test image, built (or found in its cache) once per session."""
    return _built("build-test-image")


@functools.cache
def cloud_init_image() -> Path:
    """The Debian image with Debian's cloud-init (``tools/build-cloud-init-image``), built
    (about a minute and a half the first time) or found in its cache, once per session."""
    return _built("build-cloud-init-image")


def make_driver(state_dir: Path, *, force_config_drive: bool = False) -> QemuDriver:
    # TCG always: /dev/kvm on the CI machines exists but hangs (the probe is tested apart).
    return QemuDriver("contract-host", state_dir, virt_type="qemu",
                      console_max_bytes=65536, force_config_drive=force_config_drive)


def kill_guest(driver: QemuDriver, uuid: str) -> None:
    """SIGKILL the guest's QEMU process, as an OOM killer or an operator would."""
    files = proc.GuestFiles(uuid, driver.instances / uuid, proc.runtime_dir(driver.directory))
    pid = proc.read_pid(files)
    assert proc.pid_alive(pid, uuid), f"guest {uuid} has no QEMU process to kill"
    assert pid is not None
    os.kill(pid, signal.SIGKILL)


@contextlib.asynccontextmanager
async def qemu_harness(tmp_path: Path) -> AsyncIterator[Harness]:
    image = ImageRef("img-tiny", tiny_image(), "qcow2")
    state_dir = tmp_path / "state"
    harness = Harness(make_driver(state_dir), image, restart=unset, stop_behind_back=unset,
                      boot_timeout=90.0, event_timeout=15.0)

    async def restart() -> ComputeDriver:
        await harness.driver.close()
        return make_driver(state_dir)

    async def stop_behind_back(uuid: str) -> None:
        assert isinstance(harness.driver, QemuDriver)
        kill_guest(harness.driver, uuid)

    harness.restart, harness.stop_behind_back = restart, stop_behind_back
    try:
        yield harness
    finally:
        # Whatever a failed test left: no QEMU may outlive the test.
        driver = make_driver(state_dir)
        await driver.init_host()
        for guest in await driver.list_guests():
            await driver.destroy(guest.uuid)
        await driver.close()
