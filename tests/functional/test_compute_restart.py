"""Kill the whole all-in-one process with SIGKILL in the middle of a boot, start it again,
and check that the cloud converges: nothing stays in BUILD, nothing is allocated twice.

With the fake driver the simulated hypervisor lives in the process, so a SIGKILL is also a
host crash: the restarted agent finds the half-built server with no guest and builds it
again, as a restarted nova-compute does for an instance still ``spawning`` on its host.
"""

from __future__ import annotations

import signal
from pathlib import Path

import httpx
import pytest

from helpers.names import unique
from helpers.process import make_image, start_cloud, stop_cloud, wait_for_compute, wait_until

pytestmark = pytest.mark.functional


def test_sigkill_mid_boot_converges(tmp_path: Path) -> None:
    extra = ("compute.fake_spawn_delay=3", "compute.report_interval=0.5",
             "compute.resync_interval=1")
    cloud = start_cloud(tmp_path, "sqlite", None, extra)
    try:
        wait_for_compute(cloud)
        wait_until("a compute node", lambda: cloud.osc_json("hypervisor", "list"))
        image = make_image(cloud, tmp_path)
        flavor = unique("m1.kill")
        cloud.osc("flavor", "create", "--vcpus", "1", "--ram", "128", "--disk", "1", flavor)
        vm = unique("vm")
        server_id = cloud.osc_json("server", "create", "--image", image, "--flavor", flavor,
                                   "--nic", "none", vm)["id"]
        wait_until("spawning", lambda: cloud.osc_json("server", "show", vm)[
            "OS-EXT-STS:task_state"] == "spawning", timeout=30)
    except BaseException:
        stop_cloud(cloud)
        raise
    cloud.process.send_signal(signal.SIGKILL)
    cloud.process.wait(timeout=30)

    cloud = start_cloud(tmp_path, "sqlite", None, extra)
    try:
        wait_for_compute(cloud)
        shown = wait_until("ACTIVE after the restart", lambda: (
            s := cloud.osc_json("server", "show", vm))["status"] == "ACTIVE" and s,
            timeout=60)
        assert shown["id"] == server_id
        token = cloud.admin_token()
        allocations = httpx.get(f"{cloud.placement_url}/allocations/{server_id}",
                                headers={"X-Auth-Token": token}).json()["allocations"]
        assert len(allocations) == 1    # one claim, on one host
        cloud.osc("server", "delete", "--wait", vm)
        gone = httpx.get(f"{cloud.placement_url}/allocations/{server_id}",
                         headers={"X-Auth-Token": token}).json()["allocations"]
        assert gone == {}
    finally:
        stop_cloud(cloud)
    assert "Traceback" not in cloud.log.read_text()
