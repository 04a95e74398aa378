"""Boot from volume through the compute API, with the volume service and its agent (fake
driver), the conductor and a compute agent (fake driver) in process: Nova's
``block_device_mapping_v2`` checks (each a 400 in Nova's words), the volumes made and
attached before the guest spawns, the root disk claimed from no host, and what a delete
leaves (``delete_on_termination``) or a failed build releases."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import select

from helpers.compute import boot, fault, make_flavor, version, wait_status
from helpers.inprocess import CloudClient, cloud_config, make_cloud
from helpers.names import unique
from helpers.volume import VolumeCloud, upload_raw_image
from ownstack.compute.objects.models import BlockDeviceMapping

pytestmark = pytest.mark.asyncio(loop_scope="module")

MISSING = "5f2d6e8a-8e4c-4c33-9f49-7f0c5a8e1f03"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def cloud(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[CloudClient]:
    config = cloud_config(tmp_path_factory.mktemp("bfv"),
                          "roles=api,conductor,compute,volume", "volume.report_interval=0.2",
                          "volume.resync_interval=600", "volume.quota.volumes=1000",
                          "volume.quota.gigabytes=100000", "volume.quota.snapshots=1000")
    async for client in make_cloud(config):
        yield client


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def vc(cloud: CloudClient) -> VolumeCloud:
    return VolumeCloud(cloud)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def setup(cloud: CloudClient, vc: VolumeCloud) -> dict[str, str]:
    image = await upload_raw_image(vc, b"\0" * 4096, visibility="public")
    flavor = await make_flavor(cloud, disk=1, ram=256)
    zero = await make_flavor(cloud, disk=0, ram=256)
    return {"image": image, "flavor": str(flavor["id"]), "zero": str(zero["id"])}


async def create(cloud: CloudClient, flavor: str, mappings: list[dict[str, Any]], *,
                 token: str | None = None, image: str = "", expect: int = 202,
                 **server: Any) -> Any:
    r = await boot(cloud, token, image, flavor, v="2.67", expect=expect, networks="none",
                   block_device_mapping_v2=mappings, **server)
    return r


def volume_root(volume_id: str, **extra: Any) -> dict[str, Any]:
    return {"source_type": "volume", "destination_type": "volume", "boot_index": 0,
            "uuid": volume_id, **extra}


def image_root(image_id: str, size: int = 1, **extra: Any) -> dict[str, Any]:
    return {"source_type": "image", "destination_type": "volume", "boot_index": 0,
            "uuid": image_id, "volume_size": size, **extra}


async def bootable(vc: VolumeCloud, token: str | None = None, **fields: Any
                   ) -> dict[str, Any]:
    volume = await vc.volume(token, **fields)
    await vc.action(volume["id"], {"os-set_bootable": {"bootable": True}}, token=token,
                    expect=200)
    return volume


async def until(read: Callable[[], Awaitable[Any]], wanted: Any, timeout: float = 10.0
                ) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while (got := await read()) != wanted:
        assert asyncio.get_running_loop().time() < deadline, got
        await asyncio.sleep(0.05)


async def volume_status(vc: VolumeCloud, volume_id: str) -> str:
    r = await vc.call("GET", f"/v3/volumes/{volume_id}")
    return "gone" if r.status_code == 404 else str(r.json()["volume"]["status"])


async def mappings(cloud: CloudClient, server_id: str) -> list[BlockDeviceMapping]:
    async with cloud.svc.read() as db:
        return list((await db.execute(select(BlockDeviceMapping).where(
            BlockDeviceMapping.instance_uuid == server_id,
            BlockDeviceMapping.deleted.is_(False)))).scalars())


async def allocation(cloud: CloudClient, server_id: str) -> dict[str, int]:
    r = await cloud.on("placement", "GET", f"/allocations/{server_id}", expect=200,
                       headers={"OpenStack-API-Version": "placement 1.28"})
    resources: dict[str, int] = {}
    for held in r.json()["allocations"].values():
        resources.update(held["resources"])
    return resources


# --- the checks: Nova's 400s ---------------------------------------------------------------

BAD: list[tuple[list[dict[str, Any]], str]] = [
    ([{**image_root(MISSING), "boot_index": 1}],
     "Boot sequence for the instance and image/block device mapping combination is not "
     "valid."),
    ([image_root(MISSING), {**image_root(MISSING), "boot_index": 2}],
     "Boot sequence for the instance"),
    ([{"source_type": "volume", "destination_type": "volume", "boot_index": 0}],
     "Block Device Mapping is Invalid: Missing device UUID."),
    ([{"source_type": "blank", "destination_type": "volume", "boot_index": 0,
       "uuid": MISSING, "volume_size": 1}], "Block Device Mapping is Invalid: Invalid device "
     "UUID."),
    ([{k: v for k, v in image_root(MISSING).items() if k != "volume_size"}],
     "Images with destination_type 'volume' need to have a non-zero size specified"),
    ([{"source_type": "blank", "destination_type": "volume", "boot_index": 0}],
     "Blank volumes (source: 'blank', dest: 'volume') need to have non-zero size"),
    ([image_root(MISSING), {"source_type": "image", "destination_type": "local",
                            "uuid": MISSING, "boot_index": 1}],
     "Mapping image to local is not supported."),
    ([image_root(MISSING), {"source_type": "blank", "destination_type": "local",
                            "boot_index": -1}], "ephemeral and swap disks come from the flavor"),
    ([image_root(MISSING)] + [{"source_type": "blank", "destination_type": "local"}] * 4,
     "You specified more local devices than the limit allows"),
    ([volume_root(MISSING, volume_type="fast")],
     "Specifying volume type to existing volume is not supported."),
    ([volume_root(MISSING, disk_bus="floppy-ish")], "The provided disk bus floppy-ish is not "
     "valid."),
    ([volume_root(MISSING)], f"Block Device Mapping is Invalid: failed to get volume "
     f"{MISSING}."),
    ([{"source_type": "snapshot", "destination_type": "volume", "boot_index": 0,
       "uuid": MISSING}], f"Block Device Mapping is Invalid: failed to get snapshot "
     f"{MISSING}."),
    ([image_root(MISSING)], f"Block Device Mapping is Invalid: failed to get image "
     f"{MISSING}."),
]


@pytest.mark.parametrize(("bdms", "message"), BAD)
async def test_bad_mappings_are_nova_400s(cloud: CloudClient, setup: dict[str, str],
                                          bdms: list[dict[str, Any]], message: str) -> None:
    r = await create(cloud, setup["flavor"], bdms, expect=400)
    assert message in fault(r, "badRequest")


async def test_a_volume_for_many_servers_and_a_missing_image_ref(
        cloud: CloudClient, vc: VolumeCloud, setup: dict[str, str]) -> None:
    volume = await bootable(vc)
    r = await create(cloud, setup["flavor"], [volume_root(volume["id"])], expect=400,
                     max_count=2)
    assert fault(r, "badRequest") == "Cannot attach one or more volumes to multiple instances"
    r = await create(cloud, setup["flavor"], [], expect=400)
    assert fault(r, "badRequest") == "Missing imageRef attribute"
    r = await create(cloud, setup["flavor"], [
        {"source_type": "volume", "destination_type": "volume", "uuid": volume["id"],
         "boot_index": None}], expect=400)
    assert "Boot sequence" in fault(r, "badRequest")


async def test_volumes_that_cannot_boot_are_400s(cloud: CloudClient, vc: VolumeCloud,
                                                 setup: dict[str, str]) -> None:
    plain = await vc.volume()
    r = await create(cloud, setup["flavor"], [volume_root(plain["id"])], expect=400)
    assert fault(r, "badRequest") == f"Block Device {plain['id']} is not bootable."
    # Another project's volume is not found for the caller: Nova's 400.
    me, other = await vc.caller(), await vc.caller()
    theirs = await bootable(vc, other.token)
    r = await create(cloud, setup["flavor"], [volume_root(theirs["id"])], expect=400,
                     token=me.token)
    assert fault(r, "badRequest") == (f"Block Device Mapping is Invalid: failed to get "
                                      f"volume {theirs['id']}.")
    used = await bootable(vc)
    r = await create(cloud, setup["flavor"], [volume_root(used["id"])])
    server = r.json()["server"]["id"]
    await wait_status(cloud, None, server, "ACTIVE")
    r = await create(cloud, setup["flavor"], [volume_root(used["id"])], expect=400)
    assert fault(r, "badRequest") == (f"Invalid volume: volume '{used['id']}' status must "
                                      f"be 'available'. Currently in 'in-use'")
    await cloud.call("DELETE", f"/v2.1/servers/{server}", expect=204)


async def test_an_image_larger_than_its_volume_is_a_400(cloud: CloudClient,
                                                        vc: VolumeCloud,
                                                        setup: dict[str, str]) -> None:
    needs_two = await upload_raw_image(vc, b"\0" * 512, min_disk=2)
    r = await create(cloud, setup["flavor"], [image_root(needs_two, 1)], expect=400)
    assert fault(r, "badRequest") == (
        "Volume is smaller than the minimum size specified in image metadata. Volume size "
        "is 1073741824 bytes, minimum size is 2147483648 bytes.")
    big = await upload_raw_image(vc, b"\0" * 512, visibility="public")
    async with cloud.apps["image"].svc.write() as db:
        from ownstack.image.objects.models import Image
        await db.execute(Image.__table__.update().where(Image.__table__.c.id == big)
                         .values(virtual_size=3 * 1024 ** 3))
    r = await create(cloud, setup["flavor"], [image_root(big, 2)], expect=400)
    assert "Volume is smaller than the image" in fault(r, "badRequest")


# --- booting ----------------------------------------------------------------------------------

async def test_boot_from_an_existing_volume_and_delete_keeps_it(
        cloud: CloudClient, vc: VolumeCloud, setup: dict[str, str]) -> None:
    volume = await bootable(vc, size=2)
    r = await create(cloud, setup["zero"], [volume_root(volume["id"])])
    server_id = r.json()["server"]["id"]
    server = await wait_status(cloud, None, server_id, "ACTIVE")
    assert server["image"] == ""
    assert server["os-extended-volumes:volumes_attached"] == [{"id": volume["id"]}]
    shown = (await vc.call("GET", f"/v3/volumes/{volume['id']}")).json()["volume"]
    assert shown["status"] == "in-use"
    assert [(a["server_id"], a["device"]) for a in shown["attachments"]] == [
        (server_id, "/dev/vda")]
    (bdm,) = await mappings(cloud, server_id)
    assert (bdm.boot_index, bdm.attach_state, bdm.device_name) == (0, "attached", "/dev/vda")
    assert bdm.connection_info["data"]["host"] == "test-node"
    guest = cloud.agents.hypervisors["test-node"].guests[server_id]
    assert guest.spec.image is None
    assert [(v.volume_id, v.boot_index) for v in guest.spec.volumes] == [(volume["id"], 0)]
    assert "DISK_GB" not in await allocation(cloud, server_id)
    await cloud.call("DELETE", f"/v2.1/servers/{server_id}", expect=204)
    await vc.wait(f"/v3/volumes/{volume['id']}", "volume", "available")


async def test_boot_from_an_image_into_a_new_volume_deleted_on_termination(
        cloud: CloudClient, vc: VolumeCloud, setup: dict[str, str]) -> None:
    r = await create(cloud, setup["flavor"],
                     [image_root(setup["image"], 1, delete_on_termination=True)])
    server_id = r.json()["server"]["id"]
    await wait_status(cloud, None, server_id, "ACTIVE")
    (bdm,) = await mappings(cloud, server_id)
    assert bdm.volume_id and bdm.image_id == setup["image"]
    volume = (await vc.call("GET", f"/v3/volumes/{bdm.volume_id}")).json()["volume"]
    assert (volume["status"], volume["size"], volume["bootable"]) == ("in-use", 1, "true")
    assert volume["volume_image_metadata"]["image_id"] == setup["image"]
    # The flavor's 1 GiB root is not claimed from the host: the volume is the root.
    assert "DISK_GB" not in await allocation(cloud, server_id)
    await cloud.call("DELETE", f"/v2.1/servers/{server_id}", expect=204)
    await vc.wait(f"/v3/volumes/{bdm.volume_id}", "volume", "gone")


async def test_an_image_boot_still_claims_its_root_disk(cloud: CloudClient,
                                                        setup: dict[str, str]) -> None:
    r = await boot(cloud, None, setup["image"], setup["flavor"], v="2.67", networks="none")
    server_id = r.json()["server"]["id"]
    await wait_status(cloud, None, server_id, "ACTIVE")
    assert (await allocation(cloud, server_id))["DISK_GB"] == 1
    await cloud.call("DELETE", f"/v2.1/servers/{server_id}", expect=204)


async def test_a_volume_that_fails_to_be_made_is_a_server_error_and_nothing_leaks(
        cloud: CloudClient, vc: VolumeCloud, setup: dict[str, str]) -> None:
    # More than the volume host has room for (the fake backend's 1000 GiB): the volume
    # agent fails it, the volume ends in error.
    data = await vc.volume()
    r = await create(cloud, setup["flavor"], [
        image_root(setup["image"], 5000, delete_on_termination=True),
        {"source_type": "volume", "destination_type": "volume", "uuid": data["id"]}])
    server_id = r.json()["server"]["id"]
    server = await wait_status(cloud, None, server_id, "ERROR")
    assert "did not finish being created" in server["fault"]["message"]
    assert "its status is error" in server["fault"]["message"]
    await until(lambda: mappings(cloud, server_id), [])
    await vc.wait(f"/v3/volumes/{data['id']}", "volume", "available")
    r = await vc.call("GET", "/v3/volumes/detail?all_tenants=1")
    assert not [v for v in r.json()["volumes"]
                if any(a["server_id"] == server_id for a in v["attachments"])]


async def test_the_project_volume_quota_refuses_the_create_and_leaves_nothing(
        cloud: CloudClient, vc: VolumeCloud, setup: dict[str, str]) -> None:
    caller = await vc.caller()
    await vc.call("PUT", f"/v3/os-quota-sets/{caller.project_id}", expect=200,
                  json={"quota_set": {"gigabytes": 2}})
    name = unique("vm")
    r = await create(cloud, setup["flavor"], [image_root(setup["image"], 1),
                                              {"source_type": "blank",
                                               "destination_type": "volume",
                                               "volume_size": 2}],
                     token=caller.token, expect=403, name=name)
    assert fault(r, "forbidden").startswith("Volume resource quota exceeded: ")
    r = await cloud.call("GET", f"/v2.1/servers?name={name}", token=caller.token,
                         expect=200)
    assert r.json()["servers"] == []

    async def listed() -> Any:
        return (await vc.call("GET", "/v3/volumes", token=caller.token)).json()["volumes"]
    await until(listed, [])


async def test_a_root_and_a_data_volume_with_their_device_names(
        cloud: CloudClient, vc: VolumeCloud, setup: dict[str, str]) -> None:
    volume, data = await bootable(vc), await vc.volume()
    r = await create(cloud, setup["flavor"], [
        volume_root(volume["id"]),
        {"source_type": "volume", "destination_type": "volume", "uuid": data["id"],
         "device_name": "/dev/vdq"}], config_drive=True)
    server_id = r.json()["server"]["id"]
    await wait_status(cloud, None, server_id, "ACTIVE")
    r = await cloud.call("GET", "/v2.1/servers/detail", headers=version("2.67"), expect=200)
    (listed,) = [s for s in r.json()["servers"] if s["id"] == server_id]
    assert listed["image"] == ""
    bdms = await mappings(cloud, server_id)
    assert sorted((b.volume_id, b.device_name, b.boot_index) for b in bdms) == sorted([
        (volume["id"], "/dev/vda", 0), (data["id"], "/dev/vdc", None)])
    guest = cloud.agents.hypervisors["test-node"].guests[server_id]
    assert [v.volume_id for v in guest.spec.volumes] == [volume["id"], data["id"]]
    assert await volume_status(vc, data["id"]) == "in-use"
    await cloud.call("DELETE", f"/v2.1/servers/{server_id}", expect=204)
    for held in (volume, data):
        await vc.wait(f"/v3/volumes/{held['id']}", "volume", "available")


# --- snapshots ----------------------------------------------------------------------------

async def test_a_snapshot_of_a_volume_backed_server_boots_a_new_volume(
        cloud: CloudClient, vc: VolumeCloud, setup: dict[str, str]) -> None:
    r = await create(cloud, setup["flavor"],
                     [image_root(setup["image"], 1, delete_on_termination=True)])
    server_id = r.json()["server"]["id"]
    await wait_status(cloud, None, server_id, "ACTIVE")
    (root,) = await mappings(cloud, server_id)
    r = await cloud.call("POST", f"/v2.1/servers/{server_id}/action", expect=202,
                         headers=version("2.45"), json={"createImage": {"name": "snap"}})
    image_id = r.json()["image_id"]
    image = (await cloud.on("image", "GET", f"/v2/images/{image_id}", expect=200)).json()
    assert (image["status"], image["size"], image["bdm_v2"]) == ("active", 0, "True")
    assert image["root_device_name"] == "/dev/vda"
    (entry,) = json.loads(image["block_device_mapping"])
    assert (entry["source_type"], entry["destination_type"], entry["boot_index"],
            entry["volume_size"], entry["delete_on_termination"]) == (
        "snapshot", "volume", 0, 1, True)
    snapshot = await vc.wait(f"/v3/snapshots/{entry['snapshot_id']}", "snapshot",
                             "available")
    assert snapshot["volume_id"] == root.volume_id
    # Booting the image makes a new volume from the snapshot (the image itself has no
    # data): OSC sends its image-to-local root mapping, which the image's replaces.
    r = await boot(cloud, None, image_id, setup["flavor"], v="2.67", networks="none",
                   block_device_mapping_v2=[{"uuid": image_id, "source_type": "image",
                                             "destination_type": "local", "boot_index": 0,
                                             "delete_on_termination": True}])
    second = r.json()["server"]["id"]
    await wait_status(cloud, None, second, "ACTIVE")
    (new_root,) = await mappings(cloud, second)
    assert new_root.snapshot_id == entry["snapshot_id"] and new_root.volume_id != root.volume_id
    volume = (await vc.call("GET", f"/v3/volumes/{new_root.volume_id}")).json()["volume"]
    assert (volume["snapshot_id"], volume["status"]) == (entry["snapshot_id"], "in-use")
    assert "DISK_GB" not in await allocation(cloud, second)


async def test_a_volume_backed_server_is_not_rebuilt(cloud: CloudClient, vc: VolumeCloud,
                                                      setup: dict[str, str]) -> None:
    volume = await bootable(vc)
    r = await create(cloud, setup["flavor"], [volume_root(volume["id"])])
    server_id = r.json()["server"]["id"]
    await wait_status(cloud, None, server_id, "ACTIVE")
    r = await cloud.call("POST", f"/v2.1/servers/{server_id}/action", expect=400,
                         json={"rebuild": {"imageRef": setup["image"]}})
    assert fault(r, "badRequest").startswith(
        f"Image {setup['image']} is unacceptable: Unable to rebuild a volume-backed server")
