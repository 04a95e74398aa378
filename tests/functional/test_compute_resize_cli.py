"""Resize, confirm and revert through the real `openstack` CLI, on the fake driver: the
server's status and flavor, what the guest sees (its console's boot lines), the migration
record (`openstack server migration list`) and the allocations in Placement
(osc-placement), which move to the migration's uuid as Nova holds them."""

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
    wait_until,
)

pytestmark = pytest.mark.functional


def _status(cloud: Cloud, server: str, cloud_name: str) -> str:
    return str(cloud.osc_json("server", "show", server, cloud=cloud_name)["status"])


def _allocations(cloud: Cloud, consumer: str) -> dict[str, dict[str, int]]:
    rows: list[dict[str, Any]] = cloud.osc_json("resource", "provider", "allocation",
                                                "show", consumer)
    return {row["resource_provider"]: row["resources"] for row in rows}


def _migrations(cloud: Cloud, server_id: str) -> list[dict[str, Any]]:
    listed: list[dict[str, Any]] = cloud.osc_json(
        "server", "migration", "list", "--server", server_id,
        "--os-compute-api-version", "2.80")
    return listed


@pytest.fixture
def ready(cloud: Cloud) -> Cloud:
    wait_for_compute(cloud)
    wait_for_image_service(cloud)
    wait_until("a compute node", lambda: cloud.osc_json("hypervisor", "list"))
    return cloud


def test_resize_confirm_and_revert(ready: Cloud, tmp_path: Path) -> None:
    cloud = ready
    _, alice = member_cloud(cloud, "resizer")
    _, bob = member_cloud(cloud, "other")
    image = make_image(cloud, tmp_path)
    small, big, bigger, tiny_disk = (unique(n) for n in ("small", "big", "bigger", "nodisk"))
    cloud.osc("flavor", "create", "--vcpus", "1", "--ram", "128", "--disk", "1", small)
    cloud.osc("flavor", "create", "--vcpus", "2", "--ram", "256", "--disk", "2", big)
    cloud.osc("flavor", "create", "--vcpus", "3", "--ram", "384", "--disk", "3", bigger)
    cloud.osc("flavor", "create", "--vcpus", "1", "--ram", "128", "--disk", "0", tiny_disk)
    vm = unique("vm")
    server = cloud.osc_json("server", "create", "--image", image, "--flavor", small,
                            "--nic", "none", "--wait", vm, cloud=alice)
    server_id = server["id"]
    before = _allocations(cloud, server_id)
    [(provider, resources)] = before.items()
    assert resources == {"VCPU": 1, "MEMORY_MB": 128, "DISK_GB": 1}

    # Refusals: same flavor and a smaller disk (400), another project's server (404),
    # confirm before any resize (409, Nova's state check).
    same = cloud.osc("server", "resize", "--flavor", small, vm, cloud=alice, expect_ok=False)
    assert "When resizing, instances must change flavor!" in same.stderr
    smaller = cloud.osc("server", "resize", "--flavor", tiny_disk, vm, cloud=alice,
                        expect_ok=False)
    assert "Server disk was unable to be resized" in smaller.stderr
    assert cloud.osc("server", "resize", "--flavor", big, server_id, cloud=bob,
                     expect_ok=False).returncode != 0
    early = cloud.osc("server", "resize", "confirm", vm, cloud=alice, expect_ok=False)
    assert f"Cannot 'confirm_resize' instance {server_id} while it is in vm_state active" \
        in early.stderr

    # Resize: VERIFY_RESIZE, the new flavor, the old allocation held by the migration.
    cloud.osc("server", "resize", "--flavor", big, "--wait", vm, cloud=alice)
    shown = cloud.osc_json("server", "show", vm, cloud=alice)
    assert shown["status"] == "VERIFY_RESIZE"
    assert shown["OS-EXT-STS:vm_state"] == "resized"
    [migration] = _migrations(cloud, server_id)
    assert (migration["Status"], migration["Type"]) == ("finished", "resize")
    assert migration["Source Compute"] == migration["Dest Compute"]
    assert _allocations(cloud, server_id) == {provider: {"VCPU": 2, "MEMORY_MB": 256,
                                                         "DISK_GB": 2}}
    assert _allocations(cloud, migration["UUID"]) == before
    console = cloud.osc("console", "log", "show", vm, cloud=alice).stdout
    assert console.rstrip().count("smp: Brought up 1 node, 2 CPUs") == 1
    assert "Memory: 262144K" in console
    busy = cloud.osc("server", "resize", "--flavor", bigger, vm, cloud=alice,
                     expect_ok=False)
    assert "while it is in vm_state resized" in busy.stderr

    # Revert: the old flavor, guest and allocation back; nothing held by the migration.
    cloud.osc("server", "resize", "revert", vm, cloud=alice)
    wait_until("ACTIVE after revert", lambda: _status(cloud, vm, alice) == "ACTIVE")
    flavor = cloud.osc_json("server", "show", vm, cloud=alice)["flavor"]
    assert (flavor["name"], flavor["vcpus"], flavor["ram"]) == (small, 1, 128)
    assert _allocations(cloud, server_id) == before
    wait_until("the migration's allocation gone",
               lambda: _allocations(cloud, migration["UUID"]) == {})
    [reverted] = _migrations(cloud, server_id)
    assert reverted["Status"] == "reverted"
    assert "Memory: 131072K" in cloud.osc("console", "log", "show", vm, cloud=alice
                                          ).stdout.rsplit("Linux version", 1)[1]

    # Resize again and confirm: the new allocation stays, the old one goes.
    cloud.osc("server", "resize", "--flavor", bigger, "--wait", vm, cloud=alice)
    cloud.osc("server", "resize", "confirm", vm, cloud=alice)
    wait_until("ACTIVE after confirm", lambda: _status(cloud, vm, alice) == "ACTIVE")
    statuses = {m["UUID"]: m["Status"] for m in _migrations(cloud, server_id)}
    assert sorted(statuses.values()) == ["confirmed", "reverted"]
    assert _allocations(cloud, server_id) == {provider: {"VCPU": 3, "MEMORY_MB": 384,
                                                         "DISK_GB": 3}}
    for uuid in statuses:
        assert _allocations(cloud, uuid) == {}
    events = [e["Action"] for e in cloud.osc_json("server", "event", "list", vm,
                                                  cloud=alice)]
    for action in ("resize", "revertResize", "confirmResize"):
        assert action in events, events
    cloud.osc("server", "delete", "--wait", vm, cloud=alice)
    assert _allocations(cloud, server_id) == {}
