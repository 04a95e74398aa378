"""Snapshots: create (in-use needs force before 3.66), lists with Cinder's parameters,
show, update, delete, metadata and the admin's actions."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from helpers.volume import VolumeCloud, fault, random_id, volume_cloud

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def vc(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[VolumeCloud]:
    async for cloud in volume_cloud(tmp_path_factory.mktemp("snapshots")):
        yield cloud


async def test_snapshot_lifecycle_and_fields(vc: VolumeCloud) -> None:
    caller = await vc.caller()
    volume = await vc.volume(caller.token, size=2)
    r = await vc.call("POST", "/v3/snapshots", token=caller.token, expect=202, json={
        "snapshot": {"volume_id": volume["id"], "name": "s1", "description": "d",
                     "metadata": {"k": "v"}}})
    assert r.json()["snapshot"]["status"] == "creating"
    # Cinder's extended attributes are for show and the detailed list, not what create
    # and update answer (Tempest's create_snapshot and update_snapshot schemas).
    assert not [key for key in r.json()["snapshot"] if key.startswith("os-extended")]
    snapshot = await vc.wait(f"/v3/snapshots/{r.json()['snapshot']['id']}", "snapshot",
                             "available", token=caller.token)
    assert (snapshot["size"], snapshot["name"], snapshot["metadata"]) == (2, "s1", {"k": "v"})
    assert snapshot["user_id"] == caller.user_id and snapshot["consumes_quota"] is True
    assert snapshot["os-extended-snapshot-attributes:progress"] == "100%"
    old = (await vc.call("GET", f"/v3/snapshots/{snapshot['id']}", version="3.40",
                         token=caller.token, expect=200)).json()["snapshot"]
    assert "user_id" not in old
    r = await vc.call("PUT", f"/v3/snapshots/{snapshot['id']}", token=caller.token,
                      expect=200, json={"snapshot": {"name": "renamed"}})
    assert r.json()["snapshot"]["name"] == "renamed"
    assert not [key for key in r.json()["snapshot"] if key.startswith("os-extended")]
    await vc.call("PUT", f"/v3/snapshots/{snapshot['id']}", token=caller.token, expect=400,
                  json={"snapshot": {}})
    await vc.call("DELETE", f"/v3/snapshots/{snapshot['id']}", token=caller.token,
                  expect=202)
    await vc.wait(f"/v3/snapshots/{snapshot['id']}", "snapshot", "gone", token=caller.token)
    assert snapshot["id"] not in vc.agent.driver.host.snapshots


async def test_snapshot_refusals(vc: VolumeCloud) -> None:
    r = await vc.call("POST", "/v3/snapshots", expect=404, json={"snapshot": {
        "volume_id": random_id()}})
    assert "Volume" in fault(r)[1]
    # Cinder's uuid_allow_null: a null volume is one not found (Tempest's
    # test_create_snapshot_without_passing_volume_id); a missing one is a 400.
    r = await vc.call("POST", "/v3/snapshots", expect=404, json={"snapshot": {
        "volume_id": None}})
    assert fault(r) == ("itemNotFound", "Volume None could not be found.")
    await vc.call("POST", "/v3/snapshots", expect=400, json={"snapshot": {}})
    volume = await vc.volume()
    await vc.action(volume["id"], {"os-attach": {"instance_uuid": random_id(),
                                                 "mountpoint": "/dev/vdb"}})
    r = await vc.call("POST", "/v3/snapshots", version="3.65", expect=400, json={
        "snapshot": {"volume_id": volume["id"]}})
    assert "force=true" in fault(r)[1]
    await vc.call("POST", "/v3/snapshots", version="3.65", expect=202, json={
        "snapshot": {"volume_id": volume["id"], "force": True}})
    errored = await vc.volume()
    await vc.action(errored["id"], {"os-reset_status": {"status": "error"}})
    r = await vc.call("POST", "/v3/snapshots", expect=400, json={"snapshot": {
        "volume_id": errored["id"]}})
    assert "must be available or in-use" in fault(r)[1]


async def test_snapshot_lists(vc: VolumeCloud) -> None:
    caller = await vc.caller()
    volume = await vc.volume(caller.token)
    made = [await vc.snapshot(volume["id"], caller.token, name=f"s-{i}",
                              metadata={"n": str(i % 2)}) for i in range(3)]

    async def names(query: str, version: str = "3.71") -> list[str]:
        r = await vc.call("GET", f"/v3/snapshots/detail?{query}", token=caller.token,
                          version=version, expect=200)
        return [s["name"] for s in r.json()["snapshots"]]

    assert await names("") == ["s-2", "s-1", "s-0"]
    assert await names("sort=name:asc&limit=2") == ["s-0", "s-1"]
    assert await names(f"sort=name:asc&marker={made[0]['id']}") == ["s-1", "s-2"]
    assert await names("metadata=%7B%22n%22%3A+%221%22%7D") == ["s-1"]
    assert await names(f"volume_id={volume['id']}&status=available&name=s-0") == ["s-0"]
    r = await vc.call("GET", "/v3/snapshots?sort=name", version="3.29", expect=400)
    assert "Invalid sort key" in fault(r)[1]
    # The database's column name sorts at any version (Tempest's snapshot list tests).
    assert await names("sort_key=display_name&sort_dir=asc", version="3.0") == \
        ["s-0", "s-1", "s-2"]
    r = await vc.call("GET", "/v3/snapshots?metadata={}", version="3.21", expect=400)
    r = await vc.call("GET", "/v3/snapshots", token=caller.token, expect=200)
    assert "os-extended-snapshot-attributes:progress" not in r.json()["snapshots"][0]


async def test_snapshot_metadata_and_admin_actions(vc: VolumeCloud) -> None:
    caller = await vc.caller()
    volume = await vc.volume(caller.token)
    snapshot = await vc.snapshot(volume["id"], caller.token)
    base = f"/v3/snapshots/{snapshot['id']}/metadata"
    await vc.call("POST", base, token=caller.token, expect=200, json={"metadata": {"a": "1"}})
    await vc.call("PUT", f"{base}/a", token=caller.token, expect=200,
                  json={"meta": {"a": "2"}})
    assert (await vc.call("GET", base, token=caller.token, expect=200)).json() == \
        {"metadata": {"a": "2"}}
    await vc.call("DELETE", f"{base}/a", token=caller.token, expect=200)
    await vc.call("GET", f"{base}/a", token=caller.token, expect=404)
    path = f"/v3/snapshots/{snapshot['id']}/action"
    await vc.call("POST", path, token=caller.token, expect=403,
                  json={"os-reset_status": {"status": "error"}})
    await vc.call("POST", path, expect=400, json={"os-reset_status": {"status": "bogus"}})
    await vc.call("POST", path, expect=400, json={"os-unknown": {}})
    await vc.call("POST", path, expect=202, json={"os-reset_status": {"status": "error"}})
    await vc.call("POST", path, expect=202, json={"os-force_delete": {}})
    await vc.wait(f"/v3/snapshots/{snapshot['id']}", "snapshot", "gone")


async def test_a_volume_being_snapshotted_is_not_extended(vc: VolumeCloud) -> None:
    volume = await vc.volume()
    vc.agent.driver.host.delay = 0.3
    try:
        await vc.call("POST", "/v3/snapshots", expect=202, json={"snapshot": {
            "volume_id": volume["id"]}})
        r = await vc.action(volume["id"], {"os-extend": {"new_size": 2}}, expect=400)
        assert "snapshot" in fault(r)[1]
    finally:
        vc.agent.driver.host.delay = 0.0
