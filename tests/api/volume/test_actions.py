"""``POST /volumes/{id}/action``: extend (available; in-use from 3.42, confirmed by
compute), the flags, upload to an image, revert, the admin's actions, and the refusals."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from helpers.volume import VolumeCloud, fault, random_id, volume_cloud

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def vc(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[VolumeCloud]:
    async for cloud in volume_cloud(tmp_path_factory.mktemp("actions")):
        yield cloud


async def test_extend_grows_the_volume_and_counts_quota(vc: VolumeCloud) -> None:
    caller = await vc.caller()
    volume = await vc.volume(caller.token, size=1)
    vc.agent.driver.host.write(volume["id"], 0x44)
    await vc.action(volume["id"], {"os-extend": {"new_size": 2}}, token=caller.token)
    grown = await vc.wait(f"/v3/volumes/{volume['id']}", "volume", "available",
                          token=caller.token)
    assert grown["size"] == 2
    assert vc.agent.driver.host.volumes[volume["id"]].size_gb == 2
    assert vc.agent.driver.host.pattern(volume["id"]) == 0x44
    r = await vc.call("GET", f"/v3/os-quota-sets/{caller.project_id}?usage=true",
                      token=caller.token, expect=200)
    assert r.json()["quota_set"]["gigabytes"]["in_use"] == 2


@pytest.mark.parametrize(("body", "text"), [
    ({"os-extend": {"new_size": 1}}, "must be greater than current size"),
    ({"os-extend": {"new_size": 0}}, "less than the minimum"),
    ({"os-extend": {}}, "required"),
    ({"os-extend": {"new_size": "x"}}, "does not match"),
    ({"os-set_bootable": {"bootable": "perhaps"}}, "is not one of"),
    ({"os-nothing": {}}, "There is no such action: os-nothing"),
    ({"os-migrate_volume": {"host": "x"}}, "not supported"),
    ({"os-extend": {"new_size": 2}, "os-set_bootable": {"bootable": True}}, "exactly one"),
    ({"revert": {"snapshot_id": "not-a-uuid"}}, "uuid"),
])
async def test_action_refusals(vc: VolumeCloud, body: dict[str, object], text: str) -> None:
    volume = await vc.volume(size=1)
    r = await vc.action(volume["id"], body, expect=400)
    assert text in fault(r)[1]


async def test_actions_appear_at_their_microversion(vc: VolumeCloud) -> None:
    volume = await vc.volume()
    snapshot = await vc.snapshot(volume["id"])
    r = await vc.action(volume["id"], {"revert": {"snapshot_id": snapshot["id"]}},
                        version="3.39", expect=400)
    assert "no such action" in fault(r)[1]


async def test_bootable_and_read_only(vc: VolumeCloud) -> None:
    volume = await vc.volume()
    assert "readonly" not in volume["metadata"]             # never set: no key
    await vc.action(volume["id"], {"os-update_readonly_flag": {"readonly": False}})
    shown = (await vc.call("GET", f"/v3/volumes/{volume['id']}", expect=200)).json()["volume"]
    assert shown["metadata"]["readonly"] == "False"          # Cinder's, once set
    await vc.action(volume["id"], {"os-set_bootable": {"bootable": "True"}}, expect=200)
    await vc.action(volume["id"], {"os-update_readonly_flag": {"readonly": True}})
    shown = (await vc.call("GET", f"/v3/volumes/{volume['id']}", expect=200)).json()["volume"]
    assert shown["bootable"] == "true" and shown["metadata"]["readonly"] == "True"
    r = await vc.action(volume["id"], {"os-attach": {"instance_uuid": random_id(),
                                                     "mountpoint": "/dev/vdb"}}, expect=400)
    assert "read-only" in fault(r)[1]
    await vc.action(volume["id"], {"os-attach": {"instance_uuid": random_id(),
                                                 "mountpoint": "/dev/vdb", "mode": "ro"}})
    r = await vc.action(volume["id"], {"os-update_readonly_flag": {"readonly": False}},
                        expect=400)
    assert "must be available" in fault(r)[1]


async def test_in_use_extend_waits_for_compute_and_its_confirmation(vc: VolumeCloud) -> None:
    volume = await vc.volume(size=1)
    await vc.action(volume["id"], {"os-attach": {"instance_uuid": random_id(),
                                                 "mountpoint": "/dev/vdb"}})
    r = await vc.action(volume["id"], {"os-extend": {"new_size": 2}}, version="3.41",
                        expect=400)
    assert "must be available" in fault(r)[1]
    await vc.action(volume["id"], {"os-extend": {"new_size": 2}}, version="3.42")
    shown = (await vc.call("GET", f"/v3/volumes/{volume['id']}", expect=200)).json()["volume"]
    assert (shown["status"], shown["size"]) == ("extending", 2)
    await vc.agent.reconcile(volume["id"])            # the agent leaves it to compute
    assert vc.agent.driver.host.volumes[volume["id"]].size_gb == 1
    await vc.action(volume["id"], {"os-extend_volume_completion": {"error": False}},
                    version="3.70", expect=400)
    await vc.action(volume["id"], {"os-extend_volume_completion": {"error": False}})
    shown = (await vc.call("GET", f"/v3/volumes/{volume['id']}", expect=200)).json()["volume"]
    assert (shown["status"], shown["size"]) == ("in-use", 2)
    # A failed one: error_extending, at the old size.
    await vc.action(volume["id"], {"os-extend": {"new_size": 3}})
    await vc.action(volume["id"], {"os-extend_volume_completion": {"error": True}})
    shown = (await vc.call("GET", f"/v3/volumes/{volume['id']}", expect=200)).json()["volume"]
    assert (shown["status"], shown["size"]) == ("error_extending", 2)
    r = await vc.action(volume["id"], {"os-extend_volume_completion": {"error": False}},
                        expect=400)
    assert "not waiting" in fault(r)[1]


async def test_an_extend_compute_never_confirms_is_failed_by_the_sweep(
        vc: VolumeCloud) -> None:
    volume = await vc.volume(size=1)
    await vc.action(volume["id"], {"os-attach": {"instance_uuid": random_id(),
                                                 "mountpoint": "/dev/vdb"}})
    await vc.action(volume["id"], {"os-extend": {"new_size": 2}})
    rpc = vc.svc.rpc
    settings = rpc.settings
    rpc.settings = type(settings)(**{**settings.__dict__, "attach_timeout": 0.0})
    try:
        await asyncio.sleep(0.01)
        assert volume["id"] in await rpc.sweep()
    finally:
        rpc.settings = settings
    shown = (await vc.call("GET", f"/v3/volumes/{volume['id']}", expect=200)).json()["volume"]
    assert (shown["status"], shown["size"]) == ("error_extending", 1)


async def test_upload_to_image_makes_an_active_image_of_the_data(vc: VolumeCloud) -> None:
    caller = await vc.caller()
    volume = await vc.volume(caller.token, size=1)
    vc.agent.driver.host.write(volume["id"], 0x66)
    r = await vc.action(volume["id"], {"os-volume_upload_image": {
        "image_name": "from-volume", "disk_format": "qcow2", "container_format": "bare",
        "visibility": "private", "protected": False}}, token=caller.token)
    answer = r.json()["os-volume_upload_image"]
    assert (answer["status"], answer["image_name"], answer["disk_format"]) == \
        ("uploading", "from-volume", "qcow2")
    assert answer["volume_type"]["name"] == "__DEFAULT__"
    await vc.wait(f"/v3/volumes/{volume['id']}", "volume", "available", token=caller.token)
    image = (await vc.cloud.on("image", "GET", f"/v2/images/{answer['image_id']}",
                               token=caller.token, expect=200)).json()
    assert (image["status"], image["disk_format"], image["min_disk"]) == ("active", "qcow2", 1)
    assert image["owner"] == caller.project_id


async def test_upload_refusals_leave_no_image(vc: VolumeCloud) -> None:
    caller = await vc.caller()
    volume = await vc.volume(caller.token)
    for body, status in (({"image_name": "x", "disk_format": "iso"}, 400),
                         ({"image_name": "x", "container_format": "ovf"}, 400),
                         ({"image_name": "x", "visibility": "public"}, 403),
                         ({"disk_format": "raw"}, 400)):
        await vc.action(volume["id"], {"os-volume_upload_image": body}, token=caller.token,
                        expect=status)
    images = (await vc.cloud.on("image", "GET", "/v2/images?owner=" + caller.project_id,
                                token=caller.token, expect=200)).json()["images"]
    assert images == []
    await vc.action(volume["id"], {"os-attach": {"instance_uuid": random_id(),
                                                 "mountpoint": "/dev/vdb"}})
    r = await vc.action(volume["id"], {"os-volume_upload_image": {"image_name": "x"}},
                        token=caller.token, expect=400)
    assert "force=true" in fault(r)[1]


async def test_revert_to_the_latest_snapshot(vc: VolumeCloud) -> None:
    volume = await vc.volume(size=1)
    vc.agent.driver.host.write(volume["id"], 0x10)
    first = await vc.snapshot(volume["id"])
    vc.agent.driver.host.write(volume["id"], 0x20)
    latest = await vc.snapshot(volume["id"])
    vc.agent.driver.host.write(volume["id"], 0x30)
    r = await vc.action(volume["id"], {"revert": {"snapshot_id": first["id"]}}, expect=400)
    assert "latest snapshot" in fault(r)[1]
    await vc.action(volume["id"], {"revert": {"snapshot_id": latest["id"]}})
    await vc.wait(f"/v3/volumes/{volume['id']}", "volume", "available")
    await vc.wait(f"/v3/snapshots/{latest['id']}", "snapshot", "available")
    assert vc.agent.driver.host.pattern(volume["id"]) == 0x20
    await vc.action(volume["id"], {"os-extend": {"new_size": 2}})
    await vc.wait(f"/v3/volumes/{volume['id']}", "volume", "available")
    r = await vc.action(volume["id"], {"revert": {"snapshot_id": latest["id"]}}, expect=400)
    assert "must be the same" in fault(r)[1]


async def test_reset_status_and_force_delete_are_the_admins(vc: VolumeCloud) -> None:
    caller = await vc.caller()
    volume = await vc.volume(caller.token)
    r = await vc.action(volume["id"], {"os-reset_status": {"status": "error"}},
                        token=caller.token, expect=403)
    assert fault(r)[0] == "forbidden"
    await vc.action(volume["id"], {"os-reset_status": {"status": "nonsense"}}, expect=400)
    await vc.action(volume["id"], {"os-reset_status": {"status": "error"}})
    assert (await vc.call("GET", f"/v3/volumes/{volume['id']}", expect=200)).json()[
        "volume"]["status"] == "error"
    await vc.action(volume["id"], {"os-force_delete": {}}, token=caller.token, expect=403)
    await vc.action(volume["id"], {"os-force_delete": {}})
    await vc.wait(f"/v3/volumes/{volume['id']}", "volume", "gone")


async def test_reset_attach_status_drops_attachments(vc: VolumeCloud) -> None:
    volume = await vc.volume()
    await vc.action(volume["id"], {"os-attach": {"instance_uuid": random_id(),
                                                 "mountpoint": "/dev/vdb"}})
    await vc.action(volume["id"], {"os-reset_status": {"status": "available",
                                                       "attach_status": "detached"}})
    shown = (await vc.call("GET", f"/v3/volumes/{volume['id']}", expect=200)).json()["volume"]
    assert (shown["status"], shown["attachments"]) == ("available", [])
    await vc.call("DELETE", f"/v3/volumes/{volume['id']}", expect=202)


async def test_image_metadata_set_show_unset(vc: VolumeCloud) -> None:
    # Cinder's image-metadata actions (Tempest's test_update_show_delete_image_metadata):
    # set merges and answers the whole, unset of a missing key is a 404.
    caller = await vc.caller()
    volume = await vc.volume(caller.token, size=1)
    r = await vc.action(volume["id"], {"os-set_image_metadata": {"metadata": {
        "image_id": "5137a025", "os_distro": "debian"}}}, token=caller.token, expect=200)
    assert r.json() == {"metadata": {"image_id": "5137a025", "os_distro": "debian"}}
    r = await vc.action(volume["id"], {"os-set_image_metadata": {"metadata": {
        "os_distro": "ubuntu"}}}, token=caller.token, expect=200)
    assert r.json()["metadata"] == {"image_id": "5137a025", "os_distro": "ubuntu"}
    shown = (await vc.call("GET", f"/v3/volumes/{volume['id']}", token=caller.token,
                           expect=200)).json()["volume"]
    assert shown["volume_image_metadata"] == {"image_id": "5137a025", "os_distro": "ubuntu"}
    await vc.action(volume["id"], {"os-unset_image_metadata": {"key": "image_id"}},
                    token=caller.token, expect=200)
    r = await vc.action(volume["id"], {"os-unset_image_metadata": {"key": "image_id"}},
                        token=caller.token, expect=404)
    assert "image_id" in fault(r)[1]
    r = await vc.action(volume["id"], {"os-show_image_metadata": None}, token=caller.token,
                        expect=200)
    assert r.json() == {"metadata": {"os_distro": "ubuntu"}}
    for bad in ({"os-set_image_metadata": {}}, {"os-set_image_metadata": {"metadata": 1}},
                {"os-unset_image_metadata": {"key": ""}}):
        await vc.action(volume["id"], bad, token=caller.token, expect=400)
    await vc.action(volume["id"], {"os-set_image_metadata": {"metadata": {"a": "b"}}},
                    token=(await vc.caller()).token, expect=404)      # another project
