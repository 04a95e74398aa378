"""Volumes attached to servers through the real `openstack` CLI, on every database: the
compute half of the block-storage user story (`server add volume`, `server volume list`,
`server show`, `server remove volume`), on the fake compute driver and the file volume
driver. The real guest's side is tests/e2e/test_volume_attach.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers.names import unique
from helpers.process import (
    Cloud,
    make_image,
    member_cloud,
    wait_for_compute,
    wait_for_image_service,
    wait_for_volume,
    wait_until,
)

pytestmark = pytest.mark.functional


def volume_status(cloud: Cloud, name: str, member: str) -> str:
    conn = cloud.sdk(member)
    return str(conn.block_storage.find_volume(name, ignore_missing=False).status)


def test_server_add_and_remove_volume(cloud: Cloud, tmp_path: Path) -> None:
    wait_for_compute(cloud)
    wait_for_image_service(cloud)
    wait_for_volume(cloud)
    wait_until("a compute node", lambda: cloud.osc_json("hypervisor", "list"))
    _, member = member_cloud(cloud, "att")
    image = make_image(cloud, tmp_path)
    flavor = unique("m1")
    cloud.osc("flavor", "create", "--vcpus", "1", "--ram", "256", "--disk", "1", flavor)
    vm1, vm2, data1 = unique("vm1"), unique("vm2"), unique("data1")
    for vm in (vm1, vm2):
        cloud.osc("server", "create", "--image", image, "--flavor", flavor, "--nic", "none",
                  "--wait", vm, cloud=member)
    volume = cloud.osc_json("volume", "create", "--size", "1", data1, cloud=member)
    wait_until(f"{data1} available",
               lambda: volume_status(cloud, data1, member) == "available")

    cloud.osc("server", "add", "volume", vm1, data1, cloud=member)
    wait_until(f"{data1} in-use", lambda: volume_status(cloud, data1, member) == "in-use")
    listed = cloud.osc_json("server", "volume", "list", vm1, cloud=member)
    assert [(v["Volume ID"], v["Device"]) for v in listed] == [(volume["id"], "/dev/vdb")]
    shown = cloud.osc_json("server", "show", vm1, cloud=member)
    assert volume["id"] in json.dumps(shown["volumes_attached"])
    attachments = cloud.osc_json("volume", "show", data1, cloud=member)["attachments"]
    assert [a["server_id"] for a in attachments] == [shown["id"]]

    # An attached volume cannot go to a second server, nor can a missing one.
    refused = cloud.osc("server", "add", "volume", vm2, data1, cloud=member,
                        expect_ok=False)
    assert refused.returncode != 0 and "already attached" in refused.stderr
    missing = cloud.osc("server", "add", "volume", vm2, "no-such-volume", cloud=member,
                        expect_ok=False)
    assert missing.returncode != 0

    cloud.osc("server", "remove", "volume", vm1, data1, cloud=member)
    wait_until(f"{data1} available",
               lambda: volume_status(cloud, data1, member) == "available")
    assert cloud.osc_json("server", "volume", "list", vm1, cloud=member) == []
    cloud.osc("server", "add", "volume", vm2, data1, cloud=member)
    wait_until(f"{data1} in-use on {vm2}",
               lambda: volume_status(cloud, data1, member) == "in-use")
    # Deleting the server detaches the volume (not deleted on termination).
    cloud.osc("server", "delete", "--wait", vm2, cloud=member)
    wait_until(f"{data1} available again",
               lambda: volume_status(cloud, data1, member) == "available")
    cloud.osc("server", "delete", "--wait", vm1, cloud=member)
    cloud.osc("volume", "delete", data1, cloud=member)
