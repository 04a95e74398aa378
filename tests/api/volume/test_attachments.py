"""Attaching, as compute does it: the attachments API (3.27+: reserve, connect with the
host's connector, complete, delete) and the older actions (reserve, attach, begin and roll
detaching, detach, initialize and terminate connection), on one state machine that never
leaves a volume in attaching or detaching."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from helpers.volume import VolumeCloud, fault, random_id, volume_cloud

pytestmark = pytest.mark.asyncio(loop_scope="module")

HOST = "test-node"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def vc(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[VolumeCloud]:
    async for cloud in volume_cloud(tmp_path_factory.mktemp("attach")):
        yield cloud


async def status(vc: VolumeCloud, volume_id: str) -> str:
    r = await vc.call("GET", f"/v3/volumes/{volume_id}", expect=200)
    return str(r.json()["volume"]["status"])


def connector(host: str = HOST) -> dict[str, Any]:
    return {"host": host, "platform": "x86_64", "os_type": "linux", "multipath": False,
            "mountpoint": "/dev/vdb", "initiator": "iqn.ownstack"}


async def test_the_attachments_flow_as_nova_drives_it(vc: VolumeCloud) -> None:
    caller = await vc.caller()
    volume = await vc.volume(caller.token)
    server = random_id()
    r = await vc.call("POST", "/v3/attachments", token=caller.token, expect=200, json={
        "attachment": {"volume_uuid": volume["id"], "instance_uuid": server}})
    attachment = r.json()["attachment"]
    assert (attachment["status"], attachment["instance"]) == ("reserved", server)
    assert attachment["connection_info"] == {}
    assert await status(vc, volume["id"]) == "reserved"
    r = await vc.call("PUT", f"/v3/attachments/{attachment['id']}", token=caller.token,
                      expect=200, json={"attachment": {"connector": connector()}})
    info = r.json()["attachment"]["connection_info"]
    assert info["driver_volume_type"] == "file"
    assert info["data"]["path"] == f"fake://{volume['id']}"
    assert (info["data"]["format"], info["data"]["access_mode"]) == ("raw", "rw")
    assert info["format"] == "raw"
    assert await status(vc, volume["id"]) == "attaching"
    await vc.call("POST", f"/v3/attachments/{attachment['id']}/action", token=caller.token,
                  expect=204, json={"os-complete": None})
    shown = (await vc.call("GET", f"/v3/volumes/{volume['id']}", token=caller.token,
                           expect=200)).json()["volume"]
    assert shown["status"] == "in-use"
    assert [(a["server_id"], a["attachment_id"], a["device"]) for a in shown["attachments"]] \
        == [(server, attachment["id"], "/dev/vdb")]
    r = await vc.call("GET", f"/v3/attachments?volume_id={volume['id']}", token=caller.token,
                      expect=200)
    assert [a["status"] for a in r.json()["attachments"]] == ["attached"]
    r = await vc.call("GET", "/v3/attachments/detail", token=caller.token, expect=200)
    assert r.json()["attachments"][0]["attach_mode"] == "rw"
    r = await vc.call("DELETE", f"/v3/attachments/{attachment['id']}", token=caller.token,
                      expect=200)
    assert r.json() == {"attachments": []}
    assert await status(vc, volume["id"]) == "available"


async def test_create_with_a_connector_and_a_read_only_mode(vc: VolumeCloud) -> None:
    volume = await vc.volume()
    r = await vc.call("POST", "/v3/attachments", expect=200, json={"attachment": {
        "volume_uuid": volume["id"], "instance_uuid": random_id(), "connector": connector(),
        "mode": "ro"}})
    attachment = r.json()["attachment"]
    assert attachment["status"] == "attaching" and attachment["attach_mode"] == "ro"
    assert attachment["connection_info"]["data"]["access_mode"] == "ro"
    await vc.call("POST", "/v3/attachments", version="3.53", expect=400, json={
        "attachment": {"volume_uuid": volume["id"], "mode": "ro"}})


async def test_attachment_refusals(vc: VolumeCloud) -> None:
    volume = await vc.volume()
    await vc.call("GET", "/v3/attachments", version="3.26", expect=404)
    r = await vc.call("POST", "/v3/attachments", expect=404, json={"attachment": {
        "volume_uuid": random_id()}})
    assert "could not be found" in fault(r)[1]
    first = (await vc.call("POST", "/v3/attachments", expect=200, json={"attachment": {
        "volume_uuid": volume["id"], "instance_uuid": random_id()}})).json()["attachment"]
    r = await vc.call("POST", "/v3/attachments", expect=400, json={"attachment": {
        "volume_uuid": volume["id"], "instance_uuid": random_id()}})
    assert "to reserve" in fault(r)[1]
    r = await vc.call("PUT", f"/v3/attachments/{first['id']}", expect=400, json={
        "attachment": {"connector": connector("elsewhere")}})
    assert "NBD" in fault(r)[1]
    await vc.call("PUT", f"/v3/attachments/{first['id']}", expect=400,
                  json={"attachment": {}})
    r = await vc.call("GET", f"/v3/attachments/{random_id()}", expect=404)
    assert "attachment_id" in fault(r)[1]
    await vc.call("POST", f"/v3/attachments/{first['id']}/action", version="3.43",
                  expect=404, json={"os-complete": None})
    errored = await vc.volume()
    await vc.action(errored["id"], {"os-reset_status": {"status": "error"}})
    r = await vc.call("POST", "/v3/attachments", expect=400, json={"attachment": {
        "volume_uuid": errored["id"]}})
    assert "error state" in fault(r)[1]


async def test_another_project_cannot_touch_an_attachment(vc: VolumeCloud) -> None:
    owner, stranger = await vc.caller(), await vc.caller()
    volume = await vc.volume(owner.token)
    attachment = (await vc.call("POST", "/v3/attachments", token=owner.token, expect=200,
                                json={"attachment": {"volume_uuid": volume["id"]}})
                  ).json()["attachment"]
    for method in ("GET", "DELETE"):
        await vc.call(method, f"/v3/attachments/{attachment['id']}", token=stranger.token,
                      expect=404)
    await vc.call("POST", "/v3/attachments", token=stranger.token, expect=404, json={
        "attachment": {"volume_uuid": volume["id"]}})


async def test_multiattach_takes_a_second_server(vc: VolumeCloud) -> None:
    volume = await vc.volume(multiattach=True)
    assert volume["multiattach"] is True
    servers = [random_id(), random_id()]
    ids = []
    for server in servers:
        r = await vc.call("POST", "/v3/attachments", expect=200, json={"attachment": {
            "volume_uuid": volume["id"], "instance_uuid": server, "connector": connector()}})
        ids.append(r.json()["attachment"]["id"])
        await vc.call("POST", f"/v3/attachments/{ids[-1]}/action", expect=204,
                      json={"os-complete": {}})
    assert await status(vc, volume["id"]) == "in-use"
    r = await vc.call("DELETE", f"/v3/attachments/{ids[0]}", expect=200)
    assert [a["id"] for a in r.json()["attachments"]] == [ids[1]]
    assert await status(vc, volume["id"]) == "in-use"


async def test_the_older_actions(vc: VolumeCloud) -> None:
    volume = await vc.volume()
    volume_id = volume["id"]
    await vc.action(volume_id, {"os-reserve": {}})
    assert await status(vc, volume_id) == "attaching"
    await vc.action(volume_id, {"os-unreserve": None})
    assert await status(vc, volume_id) == "available"
    await vc.action(volume_id, {"os-reserve": {}})
    r = await vc.action(volume_id, {"os-initialize_connection": {"connector": connector()}},
                        expect=200)
    assert r.json()["connection_info"]["data"]["path"] == f"fake://{volume_id}"
    await vc.action(volume_id, {"os-attach": {"instance_uuid": random_id(),
                                              "mountpoint": "/dev/vdc"}})
    assert await status(vc, volume_id) == "in-use"
    r = await vc.action(volume_id, {"os-reserve": {}}, expect=400)
    assert "must be available" in fault(r)[1]
    await vc.action(volume_id, {"os-begin_detaching": {}})
    assert await status(vc, volume_id) == "detaching"
    await vc.action(volume_id, {"os-roll_detaching": {}})
    assert await status(vc, volume_id) == "in-use"
    await vc.action(volume_id, {"os-begin_detaching": {}})
    await vc.action(volume_id, {"os-terminate_connection": {"connector": connector()}})
    await vc.action(volume_id, {"os-detach": {}})
    assert await status(vc, volume_id) == "available"
    r = await vc.action(volume_id, {"os-begin_detaching": {}}, expect=400)
    r = await vc.action(volume_id, {"os-attach": {"mountpoint": "/dev/vdc"}}, expect=400)
    assert "instance_uuid or host_name" in fault(r)[1]
    r = await vc.action(volume_id, {"os-initialize_connection": {
        "connector": connector("elsewhere")}}, expect=400)
    assert "NBD" in fault(r)[1]


async def test_stale_attaching_and_detaching_are_rolled_back(vc: VolumeCloud) -> None:
    attaching, detaching = await vc.volume(), await vc.volume()
    r = await vc.call("POST", "/v3/attachments", expect=200, json={"attachment": {
        "volume_uuid": attaching["id"], "instance_uuid": random_id(),
        "connector": connector()}})
    attachment_id = r.json()["attachment"]["id"]
    await vc.action(detaching["id"], {"os-attach": {"instance_uuid": random_id(),
                                                    "mountpoint": "/dev/vdb"}})
    await vc.action(detaching["id"], {"os-begin_detaching": {}})
    rpc = vc.svc.rpc
    assert attaching["id"] not in await rpc.sweep()       # not stale yet
    settings = rpc.settings
    rpc.settings = type(settings)(**{**settings.__dict__, "attach_timeout": 0.0})
    try:
        await asyncio.sleep(0.01)
        changed = await rpc.sweep()
    finally:
        rpc.settings = settings
    assert {attaching["id"], detaching["id"]} <= set(changed)
    assert await status(vc, attaching["id"]) == "reserved"
    assert await status(vc, detaching["id"]) == "in-use"
    r = await vc.call("GET", f"/v3/attachments/{attachment_id}", expect=200)
    assert r.json()["attachment"]["status"] == "reserved"
    await vc.call("POST", f"/v3/attachments/{attachment_id}/action", expect=204,
                  json={"os-complete": None})       # a late compute may still finish
    assert await status(vc, attaching["id"]) == "in-use"
