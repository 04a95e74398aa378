"""Generic volume groups: group types and their specs (3.11), groups (3.13), group
snapshots and groups from a source (3.14), reset-status (3.19, 3.20), and every refusal:
microversions, bad bodies, states, other projects."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from helpers.volume import VolumeCloud, fault, random_id, volume_cloud

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def vc(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[VolumeCloud]:
    async for cloud in volume_cloud(tmp_path_factory.mktemp("groups")):
        yield cloud


async def _group_type(vc: VolumeCloud, **fields: Any) -> dict[str, Any]:
    r = await vc.call("POST", "/v3/group_types", expect=202, json={"group_type": {
        "name": random_id(), **fields}})
    return dict(r.json()["group_type"])


async def _volume_type(vc: VolumeCloud) -> dict[str, Any]:
    r = await vc.call("POST", "/v3/types", expect=200, json={"volume_type": {
        "name": random_id()}})
    return dict(r.json()["volume_type"])


async def _group(vc: VolumeCloud, token: str | None = None, **fields: Any
                 ) -> tuple[dict[str, Any], str]:
    group_type = await _group_type(vc)
    volume_type = await _volume_type(vc)
    r = await vc.call("POST", "/v3/groups", token=token, expect=202, json={"group": {
        "group_type": group_type["id"], "volume_types": [volume_type["id"]], **fields}})
    group = await vc.wait(f"/v3/groups/{r.json()['group']['id']}", "group", "available",
                          token=token)
    return group, volume_type["id"]


async def test_group_types_and_specs(vc: VolumeCloud) -> None:
    made = await _group_type(vc, description="d", is_public=True,
                             group_specs={"consistent_group_snapshot_enabled": "<is> False"})
    assert made["group_specs"] == {"consistent_group_snapshot_enabled": "<is> False"}
    type_id = made["id"]
    r = await vc.call("PUT", f"/v3/group_types/{type_id}", expect=200,
                      json={"group_type": {"name": "renamed-gt", "description": "new"}})
    assert (r.json()["group_type"]["name"], r.json()["group_type"]["description"]) == (
        "renamed-gt", "new")
    listed = (await vc.call("GET", "/v3/group_types", expect=200)).json()["group_types"]
    assert type_id in [row["id"] for row in listed]
    path = f"/v3/group_types/{type_id}/group_specs"
    r = await vc.call("POST", path, expect=202, json={"group_specs": {"k1": "v1"}})
    assert r.json() == {"group_specs": {"k1": "v1"}}
    r = await vc.call("PUT", f"{path}/k1", expect=200, json={"k1": "v2"})
    assert r.json() == {"k1": "v2"}
    assert (await vc.call("GET", f"{path}/k1", expect=200)).json() == {"k1": "v2"}
    specs = (await vc.call("GET", path, expect=200)).json()["group_specs"]
    assert specs == {"consistent_group_snapshot_enabled": "<is> False", "k1": "v2"}
    await vc.call("PUT", f"{path}/k1", expect=400, json={"other": "v"})
    await vc.call("DELETE", f"{path}/k1", expect=202)
    r = await vc.call("GET", f"{path}/k1", expect=404)
    assert fault(r)[0] == "itemNotFound"
    await vc.call("DELETE", f"{path}/k1", expect=404)
    # Below 3.11 there are no group types; a duplicate name is a 409; bad bodies 400.
    await vc.call("GET", "/v3/group_types", version="3.10", expect=404)
    await vc.call("POST", "/v3/group_types", expect=409,
                  json={"group_type": {"name": "renamed-gt"}})
    await vc.call("POST", "/v3/group_types", expect=400, json={"group_type": {}})
    await vc.call("POST", "/v3/group_types", expect=400,
                  json={"group_type": {"name": "x", "is_public": "maybe"}})
    await vc.call("PUT", f"/v3/group_types/{type_id}", expect=400,
                  json={"group_type": {}})
    await vc.call("GET", f"/v3/group_types/{random_id()}", expect=404)
    r = await vc.call("GET", "/v3/group_types/default", expect=404)
    assert "default_group_type" in fault(r)[1]
    # A member reads public types, without their specs, and changes nothing.
    caller = await vc.caller()
    shown = (await vc.call("GET", f"/v3/group_types/{type_id}", token=caller.token,
                           expect=200)).json()["group_type"]
    assert "group_specs" not in shown
    await vc.call("POST", "/v3/group_types", token=caller.token, expect=403,
                  json={"group_type": {"name": random_id()}})
    await vc.call("GET", path, token=caller.token, expect=403)
    private = await _group_type(vc, is_public=False)
    await vc.call("GET", f"/v3/group_types/{private['id']}", token=caller.token, expect=404)
    await vc.call("DELETE", f"/v3/group_types/{type_id}", expect=202)
    await vc.call("GET", f"/v3/group_types/{type_id}", expect=404)


async def test_group_lifecycle_with_volumes(vc: VolumeCloud) -> None:
    caller = await vc.caller()
    group, type_id = await _group(vc, caller.token, name="g1", description="d")
    assert group["volume_types"] == [type_id] and group["group_snapshot_id"] is None
    assert group["project_id"] == caller.project_id
    volume = await vc.volume(caller.token, group_id=group["id"], volume_type=type_id)
    assert volume["group_id"] == group["id"]
    old = (await vc.call("GET", f"/v3/volumes/{volume['id']}", token=caller.token,
                         version="3.12", expect=200)).json()["volume"]
    assert "group_id" not in old
    listed = (await vc.call("GET", f"/v3/volumes/detail?group_id={group['id']}",
                            token=caller.token, expect=200)).json()["volumes"]
    assert [row["id"] for row in listed] == [volume["id"]]
    shown = (await vc.call("GET", f"/v3/groups/{group['id']}?list_volume=true",
                           token=caller.token, expect=200)).json()["group"]
    assert shown["volumes"] == [volume["id"]]
    summary = (await vc.call("GET", "/v3/groups", token=caller.token,
                             expect=200)).json()["groups"]
    assert summary == [{"id": group["id"], "name": "g1"}]
    detail = (await vc.call("GET", "/v3/groups/detail?name=g1", token=caller.token,
                            expect=200)).json()["groups"]
    assert [row["id"] for row in detail] == [group["id"]]
    # Remove and add the volume back; rename.
    path = f"/v3/groups/{group['id']}"
    await vc.call("PUT", path, token=caller.token, expect=202,
                  json={"group": {"remove_volumes": volume["id"]}})
    assert (await vc.call("GET", f"/v3/volumes/{volume['id']}", token=caller.token,
                          expect=200)).json()["volume"]["group_id"] is None
    await vc.call("PUT", path, token=caller.token, expect=202,
                  json={"group": {"add_volumes": volume["id"], "name": "g2"}})
    shown = (await vc.call("GET", path, token=caller.token, expect=200)).json()["group"]
    assert shown["name"] == "g2"
    # An empty update, a volume of another type, and a delete that keeps volumes: 400.
    await vc.call("PUT", path, token=caller.token, expect=400, json={"group": {}})
    other = await vc.volume(caller.token)
    r = await vc.call("PUT", path, token=caller.token, expect=400,
                      json={"group": {"add_volumes": other["id"]}})
    assert fault(r)[0] == "badRequest"
    await vc.call("PUT", path, token=caller.token, expect=400,
                  json={"group": {"remove_volumes": other["id"]}})
    r = await vc.call("POST", f"{path}/action", token=caller.token, expect=400,
                      json={"delete": {"delete-volumes": False}})
    assert "delete-volumes" in fault(r)[1]
    # Another project sees none of it.
    stranger = await vc.caller()
    await vc.call("GET", path, token=stranger.token, expect=404)
    await vc.call("POST", f"{path}/action", token=stranger.token, expect=404,
                  json={"delete": {"delete-volumes": True}})
    await vc.call("POST", "/v3/volumes", token=stranger.token, expect=404, json={
        "volume": {"size": 1, "group_id": group["id"]}})
    # Delete with its volume: the agent removes it, then the group goes.
    await vc.call("POST", f"{path}/action", token=caller.token, expect=202,
                  json={"delete": {"delete-volumes": True}})
    await vc.wait(path, "group", "gone", token=caller.token)
    await vc.wait(f"/v3/volumes/{volume['id']}", "volume", "gone", token=caller.token)
    assert volume["id"] not in vc.agent.driver.host.volumes


async def test_group_refusals(vc: VolumeCloud) -> None:
    group_type = await _group_type(vc)
    volume_type = await _volume_type(vc)
    await vc.call("GET", "/v3/groups", version="3.12", expect=404)
    for bad in ({}, {"group_type": group_type["id"]},
                {"group_type": group_type["id"], "volume_types": []},
                {"group_type": group_type["id"], "volume_types": [volume_type["id"]],
                 "bogus": 1}):
        await vc.call("POST", "/v3/groups", expect=400, json={"group": bad})
    await vc.call("POST", "/v3/groups", expect=404, json={"group": {
        "group_type": random_id(), "volume_types": [volume_type["id"]]}})
    await vc.call("POST", "/v3/groups", expect=404, json={"group": {
        "group_type": group_type["id"], "volume_types": [random_id()]}})
    await vc.call("GET", f"/v3/groups/{random_id()}", expect=404)
    group, type_id = await _group(vc)
    path = f"/v3/groups/{group['id']}/action"
    await vc.call("POST", path, expect=400, json={"frobnicate": {}})
    await vc.call("POST", path, expect=400, json={"reset_status": {}})
    await vc.call("POST", path, expect=400, json={"reset_status": {"status": "bogus"}})
    await vc.call("POST", path, version="3.19", expect=404,
                  json={"reset_status": {"status": "error"}})
    caller = await vc.caller()
    await vc.call("POST", path, token=caller.token, expect=404,
                  json={"reset_status": {"status": "error"}})
    await vc.call("POST", path, expect=202, json={"reset_status": {"status": "error"}})
    await vc.wait(f"/v3/groups/{group['id']}", "group", "error")
    # A group not available takes no volumes.
    await vc.call("POST", "/v3/volumes", expect=400, json={"volume": {
        "size": 1, "group_id": group["id"], "volume_type": type_id}})
    await vc.call("POST", path, expect=202, json={"reset_status": {"status": "available"}})
    # A volume of a type the group does not hold.
    await vc.call("POST", "/v3/volumes", expect=400, json={"volume": {
        "size": 1, "group_id": group["id"], "volume_type": volume_type["id"]}})
    # A group type in use cannot be deleted.
    r = await vc.call("DELETE", f"/v3/group_types/{group['group_type']}", expect=400)
    assert fault(r)[0] == "badRequest"
    await vc.call("POST", path, expect=202, json={"delete": {}})
    await vc.wait(f"/v3/groups/{group['id']}", "group", "gone")


async def test_group_quota(vc: VolumeCloud) -> None:
    caller = await vc.caller()
    await vc.call("PUT", f"/v3/os-quota-sets/{caller.project_id}", expect=200,
                  json={"quota_set": {"groups": 1}})
    await _group(vc, caller.token)
    group_type = await _group_type(vc)
    volume_type = await _volume_type(vc)
    r = await vc.call("POST", "/v3/groups", token=caller.token, expect=413, json={"group": {
        "group_type": group_type["id"], "volume_types": [volume_type["id"]]}})
    assert "groups" in fault(r)[1]


async def test_group_snapshots_and_groups_from_sources(vc: VolumeCloud) -> None:
    caller = await vc.caller()
    token = caller.token
    group, type_id = await _group(vc, token)
    volumes = [await vc.volume(token, group_id=group["id"], volume_type=type_id)
               for _ in range(2)]
    r = await vc.call("POST", "/v3/group_snapshots", token=token, expect=202, json={
        "group_snapshot": {"group_id": group["id"], "name": "gs"}})
    assert r.json()["group_snapshot"]["group_type_id"] == group["group_type"]
    gs_id = r.json()["group_snapshot"]["id"]
    gs = await vc.wait(f"/v3/group_snapshots/{gs_id}", "group_snapshot", "available",
                       token=token)
    assert (gs["group_id"], gs["name"]) == (group["id"], "gs")
    snapshots = (await vc.call("GET", "/v3/snapshots/detail", token=token,
                               expect=200)).json()["snapshots"]
    members = [s for s in snapshots if s["group_snapshot_id"] == gs_id]
    assert sorted(s["volume_id"] for s in members) == sorted(v["id"] for v in volumes)
    assert all(s["status"] == "available" for s in members)
    assert all(s["id"] in vc.agent.driver.host.snapshots for s in members)
    # A snapshot of a group snapshot goes with it only.
    await vc.call("DELETE", f"/v3/snapshots/{members[0]['id']}", token=token, expect=400)
    # A group from the group snapshot: a volume of each snapshot.
    # openstacksdk sends the other source as null (Cinder's uuid_allow_null).
    r = await vc.call("POST", "/v3/groups/action", token=token, expect=202, json={
        "create-from-src": {"group_snapshot_id": gs_id, "source_group_id": None,
                            "name": "from-gs"}})
    copy_id = r.json()["group"]["id"]
    copy = await vc.wait(f"/v3/groups/{copy_id}", "group", "available", token=token)
    assert copy["group_snapshot_id"] == gs_id
    copies = (await vc.call("GET", f"/v3/volumes/detail?group_id={copy_id}", token=token,
                            expect=200)).json()["volumes"]
    assert sorted(v["snapshot_id"] for v in copies) == sorted(s["id"] for s in members)
    assert all(v["status"] == "available" for v in copies)
    # A group from a group: a clone of each volume.
    r = await vc.call("POST", "/v3/groups/action", token=token, expect=202, json={
        "create-from-src": {"source_group_id": group["id"]}})
    clone = await vc.wait(f"/v3/groups/{r.json()['group']['id']}", "group", "available",
                          token=token)
    assert clone["source_group_id"] == group["id"]
    # Refusals: both sources, neither, below 3.14, another project's, a group with
    # snapshots deleted.
    await vc.call("POST", "/v3/groups/action", token=token, expect=400, json={
        "create-from-src": {"source_group_id": group["id"], "group_snapshot_id": gs_id}})
    await vc.call("POST", "/v3/groups/action", token=token, expect=400,
                  json={"create-from-src": {}})
    await vc.call("POST", "/v3/groups/action", token=token, version="3.13", expect=404,
                  json={"create-from-src": {"source_group_id": group["id"]}})
    stranger = await vc.caller()
    await vc.call("POST", "/v3/groups/action", token=stranger.token, expect=404, json={
        "create-from-src": {"group_snapshot_id": gs_id}})
    await vc.call("GET", f"/v3/group_snapshots/{gs_id}", token=stranger.token, expect=404)
    await vc.call("POST", "/v3/group_snapshots", token=stranger.token, expect=404,
                  json={"group_snapshot": {"group_id": group["id"]}})
    await vc.call("POST", f"/v3/groups/{group['id']}/action", token=token, expect=400,
                  json={"delete": {"delete-volumes": True}})
    # Lists, and reset-status (3.19, the admin's).
    listed = (await vc.call("GET", "/v3/group_snapshots", token=token,
                            expect=200)).json()["group_snapshots"]
    assert [row["id"] for row in listed] == [gs_id]
    detail = (await vc.call("GET", "/v3/group_snapshots/detail", token=token,
                            expect=200)).json()["group_snapshots"]
    assert detail[0]["created_at"] and detail[0]["group_id"] == group["id"]
    action = f"/v3/group_snapshots/{gs_id}/action"
    await vc.call("POST", action, token=token, expect=403,
                  json={"reset_status": {"status": "error"}})
    await vc.call("POST", action, version="3.18", expect=404,
                  json={"reset_status": {"status": "error"}})
    await vc.call("POST", action, expect=400, json={"reset_status": {"status": "bogus"}})
    await vc.call("POST", action, expect=400, json={"bogus": {}})
    await vc.call("POST", action, expect=202, json={"reset_status": {"status": "creating"}})
    await vc.call("DELETE", f"/v3/group_snapshots/{gs_id}", token=token, expect=400)
    await vc.call("POST", action, expect=202, json={"reset_status": {"status": "available"}})
    await vc.call("POST", "/v3/group_snapshots", version="3.13", token=token, expect=404,
                  json={"group_snapshot": {"group_id": group["id"]}})
    await vc.call("POST", "/v3/group_snapshots", token=token, expect=400,
                  json={"group_snapshot": {}})
    # Delete: the agents remove each snapshot, then the group snapshot goes.
    await vc.call("DELETE", f"/v3/group_snapshots/{gs_id}", token=token, expect=202)
    await vc.wait(f"/v3/group_snapshots/{gs_id}", "group_snapshot", "gone", token=token)
    assert not [s for s in members if s["id"] in vc.agent.driver.host.snapshots]
    await vc.call("POST", f"/v3/groups/{group['id']}/action", token=token, expect=202,
                  json={"delete": {"delete-volumes": True}})
    await vc.wait(f"/v3/groups/{group['id']}", "group", "gone", token=token)


async def test_a_failed_member_snapshot_puts_the_group_snapshot_in_error(
        vc: VolumeCloud) -> None:
    group, type_id = await _group(vc)
    await vc.volume(group_id=group["id"], volume_type=type_id)
    driver = vc.agent.driver
    original = driver.create_snapshot

    async def refuses(snapshot_id: str, volume_id: str) -> None:
        raise OSError(28, "No space left on device")

    try:
        driver.create_snapshot = refuses
        r = await vc.call("POST", "/v3/group_snapshots", expect=202, json={
            "group_snapshot": {"group_id": group["id"]}})
        gs_id = r.json()["group_snapshot"]["id"]
        await vc.wait(f"/v3/group_snapshots/{gs_id}", "group_snapshot", "error")
    finally:
        driver.create_snapshot = original
    # The failed snapshot is deleted with it: nothing is left behind.
    await vc.call("DELETE", f"/v3/group_snapshots/{gs_id}", expect=202)
    await vc.wait(f"/v3/group_snapshots/{gs_id}", "group_snapshot", "gone")
    await vc.call("POST", f"/v3/groups/{group['id']}/action", expect=202,
                  json={"delete": {"delete-volumes": True}})
    await vc.wait(f"/v3/groups/{group['id']}", "group", "gone")
