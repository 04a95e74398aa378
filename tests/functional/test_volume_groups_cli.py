"""Generic volume groups through the `openstack` CLI (decision 71), on every database:
a group type, a group holding a volume, a group snapshot (a real snapshot file of the
volume, made by its agent), a group from it (a real volume from that file), and the
deletes that leave no file behind."""

from __future__ import annotations

from typing import Any

import pytest

from helpers.names import unique
from helpers.process import Cloud, wait_for_volume, wait_until

pytestmark = pytest.mark.functional

V314 = ("--os-volume-api-version", "3.14")


def _status(cloud: Cloud, kind: str, item_id: str) -> Any:
    r = cloud.http().get(f"{cloud.volume_url}/v3/{kind}s/{item_id}", headers={
        "X-Auth-Token": cloud.admin_token(), "OpenStack-API-Version": "volume 3.14"})
    return r.json()[kind]["status"] if r.status_code == 200 else r.status_code


def test_the_volume_group_story(cloud: Cloud) -> None:
    wait_for_volume(cloud)
    group_type = unique("gtype")
    cloud.osc(*V314, "volume", "group", "type", "create", group_type)
    group = cloud.osc_json(*V314, "volume", "group", "create", "--volume-group-type",
                           group_type, "--volume-type", "__DEFAULT__", "--name",
                           unique("grp"))
    wait_until("group available",
               lambda: _status(cloud, "group", group["ID"]) == "available")
    conn = cloud.sdk()
    volume = conn.block_storage.create_volume(size=1, name=unique("member"),
                                              group_id=group["ID"])
    wait_until("member available", lambda: conn.block_storage.get_volume(
        volume.id).status == "available")
    assert conn.block_storage.get_volume(volume.id).group_id == group["ID"]

    snapshot = cloud.osc_json(*V314, "volume", "group", "snapshot", "create", group["ID"],
                              "--name", unique("gsnap"))
    wait_until("group snapshot available",
               lambda: _status(cloud, "group_snapshot", snapshot["ID"]) == "available")
    copy = cloud.osc_json(*V314, "volume", "group", "create", "--group-snapshot",
                          snapshot["ID"], "--name", unique("copy"))
    wait_until("group copy available",
               lambda: _status(cloud, "group", copy["ID"]) == "available")
    volumes = cloud.state_dir / "volumes"
    snapshot_ids = [s.id for s in conn.block_storage.snapshots(volume_id=volume.id)]
    assert len(snapshot_ids) == 1
    assert list(volumes.rglob(f"snapshot-{snapshot_ids[0]}.qcow2")), list(volumes.rglob("*"))
    copies = [v for v in conn.block_storage.volumes(details=True)
              if v.group_id == copy["ID"]]
    assert len(copies) == 1 and copies[0].snapshot_id
    assert list(volumes.rglob(f"volume-{copies[0].id}.*"))

    cloud.osc(*V314, "volume", "group", "delete", "--force", copy["ID"])
    cloud.osc(*V314, "volume", "group", "snapshot", "delete", snapshot["ID"])
    cloud.osc(*V314, "volume", "group", "delete", "--force", group["ID"])
    for kind, item_id in (("group", copy["ID"]), ("group_snapshot", snapshot["ID"]),
                          ("group", group["ID"])):
        wait_until(f"{kind} {item_id} gone",
                   lambda k=kind, i=item_id: _status(cloud, k, i) == 404)
    wait_until("member gone", lambda: conn.block_storage.find_volume(volume.id) is None)
    left = [path for path in volumes.rglob("*") if any(
        item in path.name for item in (snapshot_ids[0], volume.id, copies[0].id))]
    assert not left, left
