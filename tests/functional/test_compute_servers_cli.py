"""Servers through the real `openstack` CLI, openstacksdk and osc-placement: the user story
of the compute control plane, on the fake driver.

OSC negotiates servers at this cloud's maximum microversion; every command here is one a
user types.
"""

from __future__ import annotations

import subprocess
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

pytestmark = pytest.mark.functional


def make_key(cloud: Cloud, tmp_path: Path, cloud_name: str = "ownstack-admin") -> str:
    key_file = tmp_path / unique("id")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key_file)],
                   check=True)
    name = unique("mykey")
    cloud.osc("keypair", "create", "--public-key", f"{key_file}.pub", name, cloud=cloud_name)
    return name


def status_of(cloud: Cloud, server: str, cloud_name: str = "ownstack-admin") -> str:
    return str(cloud.osc_json("server", "show", server, cloud=cloud_name)["status"])


@pytest.fixture
def ready(cloud: Cloud) -> Cloud:
    wait_for_compute(cloud)
    wait_for_image_service(cloud)
    # The compute agent registers its node shortly after start-up.
    wait_until("a compute node", lambda: cloud.osc_json("hypervisor", "list"))
    return cloud


def test_user_story(ready: Cloud, tmp_path: Path) -> None:
    cloud = ready
    image = make_image(cloud, tmp_path)
    flavor = unique("m1.tiny")
    cloud.osc("flavor", "create", "--vcpus", "1", "--ram", "256", "--disk", "1", flavor)
    key = make_key(cloud, tmp_path)
    vm = unique("vm1")

    created = cloud.osc_json("server", "create", "--image", image, "--flavor", flavor,
                             "--key-name", key, "--nic", "none", "--wait", vm)
    assert created["status"] == "ACTIVE"
    assert created["key_name"] == key
    assert vm in [s["Name"] for s in cloud.osc_json("server", "list")]
    shown = cloud.osc_json("server", "show", vm)
    assert shown["OS-EXT-STS:power_state"] in ("Running", 1)
    assert shown["flavor"]   # embedded flavor description at the negotiated version

    cloud.osc("server", "stop", vm)
    wait_until("SHUTOFF", lambda: status_of(cloud, vm) == "SHUTOFF")
    cloud.osc("server", "start", vm)
    wait_until("ACTIVE after start", lambda: status_of(cloud, vm) == "ACTIVE")
    cloud.osc("server", "reboot", "--wait", vm)
    assert status_of(cloud, vm) == "ACTIVE"
    # An admin forces a state (os-resetState) and back; the guest runs on, so it stays.
    cloud.osc("server", "set", "--auto-approve", "--state", "error", vm)
    assert status_of(cloud, vm) == "ERROR"
    cloud.osc("server", "set", "--auto-approve", "--state", "active", vm)
    assert status_of(cloud, vm) == "ACTIVE"

    events = cloud.osc_json("server", "event", "list", vm)
    actions = [e["Action"] for e in events]
    for action in ("create", "stop", "start", "reboot", "resetState"):
        assert action in actions, actions
    create_request = next(e["Request ID"] for e in events if e["Action"] == "create")
    detail = cloud.osc_json("server", "event", "show", vm, create_request)
    names = {event["event"] for event in detail["events"]}
    # The conductor's scheduling and the agent's build, each with its timing.
    assert {"conductor_schedule_and_build_instances",
            "compute_build_and_run_instance"} <= names, detail
    assert all(event["finish_time"] for event in detail["events"]), detail

    providers = cloud.osc_json("resource", "provider", "list")
    assert providers
    inventory = cloud.osc_json("resource", "provider", "inventory", "list",
                               providers[0]["uuid"])
    assert {row["resource_class"] for row in inventory} >= {"VCPU", "MEMORY_MB", "DISK_GB"}

    hypervisors = cloud.osc_json("hypervisor", "list")
    assert hypervisors and hypervisors[0]["State"] == "up"
    services = cloud.osc_json("compute", "service", "list")
    assert any(s["Binary"] == "nova-compute" and s["State"] == "up" for s in services)
    zones = cloud.osc_json("availability", "zone", "list", "--compute")
    assert any(z["Zone Name"] == "nova" for z in zones)
    quota = cloud.osc_json("quota", "show")
    assert any(row.get("Resource") == "instances" for row in quota) \
        if isinstance(quota, list) else "instances" in quota
    limits = cloud.osc_json("limits", "show", "--absolute")
    used = {row["Name"]: row["Value"] for row in limits}   # openstacksdk's names
    assert used["total_instances_used"] >= 1

    cloud.osc("server", "delete", "--wait", vm)
    assert vm not in [s["Name"] for s in cloud.osc_json("server", "list")]


def test_two_projects_never_see_each_other(ready: Cloud, tmp_path: Path) -> None:
    cloud = ready
    _, alice = member_cloud(cloud, "alice")
    _, bob = member_cloud(cloud, "bob")
    image = make_image(cloud, tmp_path)
    flavor = unique("m1.iso")
    cloud.osc("flavor", "create", "--vcpus", "1", "--ram", "128", "--disk", "1", flavor)
    key = make_key(cloud, tmp_path, alice)
    vm = unique("alice-vm")
    cloud.osc("server", "create", "--image", image, "--flavor", flavor, "--key-name", key,
              "--nic", "none", "--wait", vm, cloud=alice)
    assert vm in [s["Name"] for s in cloud.osc_json("server", "list", cloud=alice)]
    assert vm not in [s["Name"] for s in cloud.osc_json("server", "list", cloud=bob)]
    assert key not in [k["Name"] for k in cloud.osc_json("keypair", "list", cloud=bob)]
    denied = cloud.osc("server", "show", vm, cloud=bob, expect_ok=False)
    assert denied.returncode != 0 and "No Server found" in denied.stderr
    bob_limits = {row["Name"]: row["Value"]
                  for row in cloud.osc_json("limits", "show", "--absolute", cloud=bob)}
    assert bob_limits["total_instances_used"] == 0
    cloud.osc("server", "delete", "--wait", vm, cloud=alice)


def test_no_valid_host_fault_is_shown(ready: Cloud, tmp_path: Path) -> None:
    cloud = ready
    image = make_image(cloud, tmp_path)
    flavor = unique("m1.huge")
    # Within the RAM quota (51200 MiB), beyond any fake node (16384 MiB).
    cloud.osc("flavor", "create", "--vcpus", "1", "--ram", "40000", "--disk", "1", flavor)
    vm = unique("too-big")
    result = cloud.osc("server", "create", "--image", image, "--flavor", flavor, "--nic",
                       "none", "--wait", vm, expect_ok=False)
    assert result.returncode != 0
    shown = cloud.osc_json("server", "show", vm)
    assert shown["status"] == "ERROR"
    assert "No valid host" in shown["fault"]["message"]
    cloud.osc("server", "delete", "--wait", vm)


def test_bad_input_gets_a_clear_error(ready: Cloud, tmp_path: Path) -> None:
    cloud = ready
    image = make_image(cloud, tmp_path)
    missing_flavor = cloud.osc("server", "create", "--image", image, "--flavor",
                               "no-such-flavor", "--nic", "none", unique("x"),
                               expect_ok=False)
    assert missing_flavor.returncode != 0 and "no-such-flavor" in missing_flavor.stderr
    flavor = unique("m1.bad")
    cloud.osc("flavor", "create", "--vcpus", "1", "--ram", "128", "--disk", "1", flavor)
    long_name = cloud.osc("server", "create", "--image", image, "--flavor", flavor,
                          "--nic", "none", "x" * 256, expect_ok=False)
    assert long_name.returncode != 0 and "400" in long_name.stderr
    assert "is too long" in long_name.stderr


def test_sdk_boot_and_delete(ready: Cloud, tmp_path: Path) -> None:
    cloud = ready
    conn = cloud.sdk()
    image = conn.image.find_image(make_image(cloud, tmp_path))
    flavor = conn.compute.create_flavor(name=unique("m1.sdk"), ram=128, vcpus=1, disk=1)
    server = conn.compute.create_server(name=unique("sdk-vm"), image_id=image.id,
                                        flavor_id=flavor.id, networks="none")
    server = conn.compute.wait_for_server(server, status="ACTIVE", wait=60)
    assert server.status == "ACTIVE"
    assert server.id in {s.id for s in conn.compute.servers()}
    conn.compute.delete_server(server)
    conn.compute.wait_for_delete(server, wait=60)
