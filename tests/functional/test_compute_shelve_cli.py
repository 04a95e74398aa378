"""Shelve, offload and unshelve through the real `openstack` CLI, on the fake driver: the
image `<name>-shelved`, the allocation freed in Placement while the server is offloaded,
the server scheduled again and booted from that image, which is then deleted; a volume
added to the offloaded server (2.20) is `in-use` at once and attached at the unshelve,
and removed from it again while offloaded."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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


def _show(cloud: Cloud, server: str) -> dict[str, Any]:
    shown: dict[str, Any] = cloud.osc_json("server", "show", server)
    return shown


def _allocations(cloud: Cloud, consumer: str) -> list[Any]:
    rows: list[Any] = cloud.osc_json("resource", "provider", "allocation", "show", consumer)
    return rows


def _volume_status(cloud: Cloud, volume: str, user: str) -> str:
    return str(cloud.osc_json("volume", "show", volume, cloud=user)["status"])


def _images(cloud: Cloud, name: str) -> list[dict[str, Any]]:
    return [i for i in cloud.osc_json("image", "list") if i["Name"] == name]


@pytest.fixture
def ready(cloud: Cloud) -> Cloud:
    wait_for_compute(cloud)
    wait_for_image_service(cloud)
    wait_for_volume(cloud)
    wait_until("a compute node", lambda: cloud.osc_json("hypervisor", "list"))
    return cloud


def test_shelve_offload_and_unshelve(ready: Cloud, tmp_path: Path) -> None:
    cloud = ready
    _, alice = member_cloud(cloud, "shelver")
    image = make_image(cloud, tmp_path)
    flavor = unique("m1.shelve")
    cloud.osc("flavor", "create", "--vcpus", "1", "--ram", "128", "--disk", "1", flavor)
    vm = unique("vm")
    server = cloud.osc_json("server", "create", "--image", image, "--flavor", flavor,
                            "--nic", "none", "--wait", vm, cloud=alice)
    server_id = server["id"]
    host = _show(cloud, server_id)["OS-EXT-SRV-ATTR:host"]
    assert host and _allocations(cloud, server_id)
    # (Wrong states are 409s: tests/api/compute/test_server_shelve.py. OSC skips the
    # request itself for a server it sees in the wrong state.)

    # Shelve: with shelved_offload_time 0 (the default) the host is freed at once.
    cloud.osc("server", "shelve", vm, cloud=alice)
    wait_until("SHELVED_OFFLOADED",
               lambda: _show(cloud, server_id)["status"] == "SHELVED_OFFLOADED", 60)
    shown = _show(cloud, server_id)
    assert shown["OS-EXT-SRV-ATTR:host"] is None
    assert _allocations(cloud, server_id) == []
    [shelved] = _images(cloud, f"{vm}-shelved")
    props = cloud.osc_json("image", "show", shelved["ID"])["properties"]
    assert props["image_type"] == "snapshot" and props["instance_uuid"] == server_id

    # A volume added while offloaded (2.20): in-use at once, with no device yet.
    data = unique("data")
    volume = cloud.osc_json("volume", "create", "--size", "1", data, cloud=alice)
    wait_until(f"{data} available", lambda: _volume_status(cloud, data, alice) == "available")
    cloud.osc("--os-compute-api-version", "2.20", "server", "add", "volume", vm, data,
              cloud=alice)
    assert _volume_status(cloud, data, alice) == "in-use"

    # Unshelve: scheduled again, booted from the shelve image, which then goes; the
    # volume is connected on the host and named.
    cloud.osc("server", "unshelve", vm, cloud=alice)
    wait_until("ACTIVE after unshelve", lambda: _show(cloud, server_id)["status"] == "ACTIVE", 60)
    assert _show(cloud, server_id)["OS-EXT-SRV-ATTR:host"] == host
    assert _allocations(cloud, server_id)
    wait_until("the shelve image deleted", lambda: _images(cloud, f"{vm}-shelved") == [], 30)
    console = cloud.osc("console", "log", "show", vm, cloud=alice).stdout
    assert console.count("login ready") == 1     # a new guest, with a console of its own
    events = [e["Action"] for e in cloud.osc_json("server", "event", "list", vm,
                                                  cloud=alice)]
    assert {"shelve", "attach_volume", "unshelve"} <= set(events), events
    listed = cloud.osc_json("server", "volume", "list", vm, cloud=alice)
    assert [(v["Volume ID"], v["Device"]) for v in listed] == [(volume["id"], "/dev/vdb")]

    # A paused server shelves too (as in Nova); deleted shelved, its image goes with it.
    cloud.osc("server", "pause", vm, cloud=alice)
    wait_until("PAUSED", lambda: _show(cloud, server_id)["status"] == "PAUSED", 30)
    cloud.osc("server", "shelve", vm, cloud=alice)
    wait_until("SHELVED_OFFLOADED again",
               lambda: _show(cloud, server_id)["status"] == "SHELVED_OFFLOADED", 60)
    assert _images(cloud, f"{vm}-shelved")
    # Removed while offloaded: available at once.
    cloud.osc("--os-compute-api-version", "2.20", "server", "remove", "volume", vm, data,
              cloud=alice)
    assert _volume_status(cloud, data, alice) == "available"
    assert cloud.osc_json("server", "volume", "list", vm, cloud=alice) == []
    cloud.osc("volume", "delete", data, cloud=alice)
    cloud.osc("server", "delete", "--wait", vm, cloud=alice)
    assert _images(cloud, f"{vm}-shelved") == []
    assert _allocations(cloud, server_id) == []
