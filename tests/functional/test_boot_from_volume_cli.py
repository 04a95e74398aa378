"""Boot from volume through the `openstack` CLI, on every database, against ``ownstack up``
with the fake compute driver and the ``file`` volume driver (real qcow2 files): a server
on an existing volume (``--volume``), one on a new volume made from an image
(``--boot-from-volume``), what a delete leaves with and without
``--delete-on-termination``, and a snapshot image of a volume-backed server, which boots
a new volume from its volume snapshot."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from helpers.names import unique
from helpers.process import Cloud, member_cloud, wait_for_image_service, wait_for_volume, wait_until

pytestmark = pytest.mark.functional


def volume_status(cloud: Cloud, member: str, volume_id: str) -> str | None:
    volume = cloud.sdk(member).block_storage.find_volume(volume_id)
    return None if volume is None else str(volume.status)


def wait_volume(cloud: Cloud, member: str, volume_id: str, status: str | None) -> None:
    wait_until(f"volume {volume_id} {status}",
               lambda: volume_status(cloud, member, volume_id) == status, timeout=60)


def test_boot_from_volume_through_the_cli(cloud: Cloud, tmp_path: Path) -> None:
    wait_for_volume(cloud)
    wait_for_image_service(cloud)
    _, member = member_cloud(cloud, "bfv")
    tiny = unique("tiny")
    disk = tmp_path / "tiny.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(disk), "64M"], check=True)
    cloud.osc("image", "create", "--disk-format", "qcow2", "--container-format", "bare",
              "--file", str(disk), tiny, cloud=member)
    flavor = unique("m1.bfv")
    cloud.osc("flavor", "create", "--vcpus", "1", "--ram", "128", "--disk", "1", flavor)
    root1 = cloud.osc_json("volume", "create", "--image", tiny, "--size", "1", "--bootable",
                           unique("root1"), cloud=member)
    wait_volume(cloud, member, root1["id"], "available")

    # An existing volume: kept, available again, after the delete.
    conn = cloud.sdk(member)
    vm2 = unique("vm2")
    created = cloud.osc_json("server", "create", "--volume", root1["id"], "--flavor", flavor,
                             "--nic", "none", "--wait", vm2, cloud=member)
    assert created["status"] == "ACTIVE"
    assert created["image"] in ("", "N/A (booted from volume)"), created["image"]
    assert volume_status(cloud, member, root1["id"]) == "in-use"

    # A snapshot of the volume-backed server: an image of no data naming a volume
    # snapshot; a server booted from it gets a new volume from that snapshot.
    snap_image = unique("vm2-snap")
    cloud.osc("server", "image", "create", "--name", snap_image, "--wait", vm2, cloud=member)
    image = cloud.osc_json("image", "show", snap_image, cloud=member)
    properties = image["properties"]
    assert image["size"] in (0, None) and str(properties["bdm_v2"]) == "True"
    mapping = properties["block_device_mapping"]
    (entry,) = json.loads(mapping) if isinstance(mapping, str) else mapping
    assert entry["source_type"] == "snapshot" and entry["boot_index"] == 0
    snapshot = conn.block_storage.get_snapshot(entry["snapshot_id"])
    assert snapshot.volume_id == root1["id"]
    vm4 = unique("vm4")
    cloud.osc("server", "create", "--image", snap_image, "--flavor", flavor, "--nic", "none",
              "--wait", vm4, cloud=member)
    server4 = conn.compute.find_server(vm4, ignore_missing=False)
    (root4,) = [a.volume_id for a in conn.compute.volume_attachments(server4)]
    assert root4 != root1["id"]
    assert conn.block_storage.get_volume(root4).snapshot_id == entry["snapshot_id"]
    cloud.osc("server", "delete", "--wait", vm4, cloud=member)
    wait_volume(cloud, member, root4, "available")     # not delete_on_termination
    cloud.osc("server", "delete", "--wait", vm2, cloud=member)
    wait_volume(cloud, member, root1["id"], "available")

    # A new volume from the image, deleted with the server (and its file with it).
    vm3 = unique("vm3")
    cloud.osc("server", "create", "--image", tiny, "--boot-from-volume", "1",
              "--delete-on-termination", "--flavor", flavor, "--nic", "none", "--wait", vm3,
              cloud=member)
    server = conn.compute.find_server(vm3, ignore_missing=False)
    (attached,) = [a.volume_id for a in conn.compute.volume_attachments(server)]
    volume = conn.block_storage.get_volume(attached)
    assert (volume.status, volume.size, volume.is_bootable) == ("in-use", 1, True)
    assert volume.volume_image_metadata["image_name"] == tiny
    files = list((cloud.state_dir / "volumes").rglob(f"volume-{attached}.qcow2"))
    assert len(files) == 1
    cloud.osc("server", "delete", "--wait", vm3, cloud=member)
    wait_volume(cloud, member, attached, None)
    wait_until("vm3's volume file removed", lambda: not files[0].exists(), timeout=30)
