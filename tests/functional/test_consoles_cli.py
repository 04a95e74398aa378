"""Browser consoles through the real `openstack` CLI, on the fake driver: its guests have no
console sockets, so every console URL is refused with Nova's 400 and a reason, while the
console log keeps working. (The URLs that open a console: tests/e2e/test_qemu_cloud.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers.names import unique
from helpers.process import (
    Cloud,
    make_image,
    wait_for_compute,
    wait_for_image_service,
    wait_until,
)

pytestmark = [pytest.mark.functional, pytest.mark.one_database]


def test_console_urls_on_a_driver_without_consoles(cloud: Cloud, tmp_path: Path) -> None:
    wait_for_compute(cloud)
    wait_for_image_service(cloud)
    wait_until("a compute node", lambda: cloud.osc_json("hypervisor", "list"))
    image = make_image(cloud, tmp_path)
    flavor = unique("m1.console")
    cloud.osc("flavor", "create", "--vcpus", "1", "--ram", "128", "--disk", "1", flavor)
    vm = unique("vm1")
    cloud.osc("server", "create", "--image", image, "--flavor", flavor, "--nic", "none",
              "--wait", vm)
    for option, kind, protocol in (("--novnc", "novnc", "vnc"),
                                   ("--serial", "serial", "serial")):
        result = cloud.osc("console", "url", "show", option, vm, expect_ok=False)
        assert result.returncode != 0
        assert f"Unavailable console type {kind}." in result.stderr, result.stderr
        assert f"gives guests no {protocol} console" in result.stderr, result.stderr
        assert "400: Client Error" in result.stderr, result.stderr
        assert "/remote-consoles" in result.stderr, result.stderr     # OSC speaks 2.6+
    result = cloud.osc("console", "url", "show", "--spice", vm, expect_ok=False)
    assert "Unavailable console type spice-html5." in result.stderr, result.stderr
    result = cloud.osc("console", "url", "show", "--novnc", unique("no-such-vm"),
                       expect_ok=False)
    assert result.returncode != 0 and "No Server found" in result.stderr, result.stderr
    assert "ownstack fake driver" in cloud.osc("console", "log", "show", vm).stdout
    cloud.osc("server", "delete", "--wait", vm)
