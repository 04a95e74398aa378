"""The servers, volumes and calls the ``os-volume_attachments`` API tests share: a whole
cloud in process (``make_cloud``) with the fake compute driver on :data:`HOST`."""

from __future__ import annotations

import asyncio
from typing import Any

from helpers.compute import boot_setup, wait_status
from helpers.inprocess import CloudClient
from helpers.names import unique
from ownstack.compute.objects import block_devices

HOST = "test-node"
MISSING = "00000000-0000-4000-8000-000000000000"


class Who:
    def __init__(self, token: str, project_id: str, image_id: str, flavor_id: str) -> None:
        self.token, self.project_id = token, project_id
        self.image_id, self.flavor_id = image_id, flavor_id


async def who(cloud: CloudClient) -> Who:
    project, token = await cloud.project_user_token()
    image_id, flavor_id = await boot_setup(cloud)
    return Who(token, str(project["id"]), image_id, flavor_id)


def mv(version: str) -> dict[str, str]:
    return {"OpenStack-API-Version": f"compute {version}"}


async def server(cloud: CloudClient, w: Who) -> dict[str, Any]:
    r = await cloud.call("POST", "/v2.1/servers", token=w.token, expect=202,
                         headers=mv("2.37"), json={"server": {
                             "name": unique("vm"), "imageRef": w.image_id,
                             "flavorRef": w.flavor_id, "networks": "none"}})
    return await wait_status(cloud, w.token, r.json()["server"]["id"], "ACTIVE")


async def volume(cloud: CloudClient, token: str, **fields: Any) -> dict[str, Any]:
    r = await cloud.on("volume", "POST", "/v3/volumes", token=token, expect=202,
                       json={"volume": {"size": 1, "name": unique("vol"), **fields}})
    return await volume_status(cloud, r.json()["volume"]["id"], "available")


async def volume_status(cloud: CloudClient, volume_id: str, *wanted: str,
                        timeout: float = 10.0) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        r = await cloud.on("volume", "GET", f"/v3/volumes/{volume_id}",
                           headers={"OpenStack-API-Version": "volume 3.71"})
        if r.status_code == 404 and "gone" in wanted:
            return {}
        body = dict(r.json()["volume"])
        if body["status"] in wanted:
            return body
        assert asyncio.get_running_loop().time() < deadline, body
        await asyncio.sleep(0.02)


async def until_attached(cloud: CloudClient, server_id: str, volume_id: str
                         ) -> dict[str, Any]:
    """Wait until the volume is in-use and the server's mapping of it says attached: the
    attachment completes (in-use) just before the mapping is marked, and a test that reads
    the mapping next must see it marked. The volume, as shown then."""
    shown = await volume_status(cloud, volume_id, "in-use")
    for _ in range(500):
        async with cloud.svc.read() as db:
            mapping = await block_devices.find_volume(db, server_id, volume_id)
        if mapping is not None and mapping.attach_state == block_devices.ATTACHED:
            return shown
        await asyncio.sleep(0.02)
    raise AssertionError(f"server {server_id}'s mapping of {volume_id} never attached")


def url(server_id: str, volume_id: str = "") -> str:
    return f"/v2.1/servers/{server_id}/os-volume_attachments" + (
        f"/{volume_id}" if volume_id else "")


async def attach(cloud: CloudClient, w: Who, server_id: str, volume_id: str,
                 expect: int = 200, v: str = "2.1", **fields: Any) -> Any:
    return await cloud.call("POST", url(server_id), token=w.token, expect=expect,
                            headers=mv(v),
                            json={"volumeAttachment": {"volumeId": volume_id, **fields}})


def guest_volumes(cloud: CloudClient, server_id: str) -> list[str]:
    guest = cloud.agents.hypervisors[HOST].guests[server_id]
    return [v.volume_id for v in guest.spec.volumes]


async def until_guest_has(cloud: CloudClient, server_id: str, wanted: list[str]) -> None:
    for _ in range(500):
        if guest_volumes(cloud, server_id) == wanted:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"the guest has {guest_volumes(cloud, server_id)}, not {wanted}")


async def until_detached(cloud: CloudClient, w: Who, server_id: str, volume_id: str) -> None:
    """Wait until the server no longer lists the volume. A detach deletes the volume's
    attachment (the volume is ``available`` then) before its mapping on the server, as
    Nova does, so that a conductor killed between the two leaves a mapping its sweep
    finishes; Tempest waits for both the same way
    (``wait_for_volume_attachment_remove_from_server``)."""
    for _ in range(500):
        r = await cloud.call("GET", url(server_id), token=w.token, expect=200)
        if volume_id not in [a["volumeId"] for a in r.json()["volumeAttachments"]]:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"server {server_id} still lists volume {volume_id}")
