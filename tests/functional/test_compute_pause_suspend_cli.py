"""Pause, unpause, suspend, resume, rescue and unrescue through the real `openstack` CLI,
on the fake driver: the states a user sees, Nova's 409s, another project's server, and
the events."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers.names import unique
from helpers.process import (
    Cloud,
    make_image,
    member_cloud,
    wait_for_compute,
    wait_for_image_service,
    wait_until,
)

pytestmark = [pytest.mark.functional, pytest.mark.one_database]


def shown(cloud: Cloud, server: str, cloud_name: str = "ownstack-admin") -> dict[str, str]:
    s = cloud.osc_json("server", "show", server, cloud=cloud_name)
    return {"status": s["status"], "power": str(s["OS-EXT-STS:power_state"]),
            "task": str(s["OS-EXT-STS:task_state"])}


def test_pause_and_suspend_a_server_as_its_user(cloud: Cloud, tmp_path: Path) -> None:
    wait_for_compute(cloud)
    wait_for_image_service(cloud)
    wait_until("a compute node", lambda: cloud.osc_json("hypervisor", "list"))
    _, alice = member_cloud(cloud, "alice")
    _, bob = member_cloud(cloud, "bob")
    image = make_image(cloud, tmp_path)
    flavor = unique("m1.tiny")
    cloud.osc("flavor", "create", "--vcpus", "1", "--ram", "128", "--disk", "1", flavor)
    vm = unique("vm")
    cloud.osc_json("server", "create", "--image", image, "--flavor", flavor, "--nic", "none",
                   "--wait", vm, cloud=alice)

    numbers = {"Paused": "3", "Running": "1", "Suspended": "7"}
    seen: list[dict[str, str]] = []

    def rests(status: str, power: str) -> None:
        def probe() -> bool:
            seen.append(shown(cloud, vm, alice))
            return seen[-1]["status"] == status and seen[-1]["task"] == "None" and \
                seen[-1]["power"] in (power, numbers[power])
        try:
            wait_until(status, probe, timeout=20)
        except AssertionError:
            raise AssertionError(f"not {status}/{power}: last seen {seen[-1]}") from None

    cloud.osc("server", "pause", vm, cloud=alice)
    rests("PAUSED", "Paused")
    refused = cloud.osc("server", "suspend", vm, cloud=alice, expect_ok=False)
    assert refused.returncode != 0
    assert "409" in refused.stderr, refused.stderr
    assert "Cannot 'suspend' instance" in refused.stderr
    assert "while it is in vm_state paused" in refused.stderr
    cloud.osc("server", "unpause", vm, cloud=alice)
    rests("ACTIVE", "Running")

    cloud.osc("server", "suspend", vm, cloud=alice)
    rests("SUSPENDED", "Suspended")
    refused = cloud.osc("server", "start", vm, cloud=alice, expect_ok=False)
    assert "Cannot 'start' instance" in refused.stderr, refused.stderr
    assert "while it is in vm_state suspended" in refused.stderr and "409" in refused.stderr
    hidden = cloud.osc("server", "resume", vm, cloud=bob, expect_ok=False)
    assert hidden.returncode != 0 and "No Server found" in hidden.stderr, hidden.stderr
    cloud.osc("server", "resume", vm, cloud=alice)
    rests("ACTIVE", "Running")

    cloud.osc("server", "rescue", "--password", "rescue-pw", vm, cloud=alice)
    rests("RESCUE", "Running")
    refused = cloud.osc("server", "rescue", vm, cloud=alice, expect_ok=False)
    assert "while it is in vm_state rescued" in refused.stderr, refused.stderr
    cloud.osc("server", "unrescue", vm, cloud=alice)
    rests("ACTIVE", "Running")

    events = cloud.osc_json("server", "event", "list", vm, cloud=alice)
    actions = [e["Action"] for e in events]
    assert actions[:6] == ["unrescue", "rescue", "resume", "suspend", "unpause", "pause"], \
        actions
    request = events[3]["Request ID"]
    detail = cloud.osc_json("server", "event", "show", vm, request, cloud=alice)
    assert [e["event"] for e in detail["events"]] == ["compute_suspend_instance"]
    cloud.osc("server", "delete", "--wait", vm, cloud=alice)
