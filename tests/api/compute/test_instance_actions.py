"""/servers/{id}/os-instance-actions: the history of a server, its events, its paging."""

from __future__ import annotations

import hashlib
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from helpers.compute import HOST, act, fault, owner, server, set_columns, version
from helpers.inprocess import CloudClient, quiet_cloud
from ownstack.compute.objects import actions
from ownstack.compute.objects.models import InstanceAction

ACTION_KEYS = {"action", "instance_uuid", "request_id", "user_id", "project_id",
               "start_time", "message"}
EVENT_KEYS = {"event", "start_time", "finish_time", "result"}


@pytest.fixture
async def cloud(tmp_path: Path) -> AsyncIterator[CloudClient]:
    async for client in quiet_cloud(tmp_path):
        yield client


async def _list(cloud: CloudClient, token: str | None, server_id: str, v: str = "2.1",
                expect: int | None = 200, **params: Any) -> Any:
    r = await cloud.call("GET", f"/v2.1/servers/{server_id}/os-instance-actions",
                         token=token, headers=version(v), params=params, expect=expect)
    return r.json()


async def _show(cloud: CloudClient, token: str | None, server_id: str, request_id: str,
                v: str = "2.1", expect: int | None = 200) -> Any:
    r = await cloud.call("GET", f"/v2.1/servers/{server_id}/os-instance-actions/{request_id}",
                         token=token, headers=version(v), expect=expect)
    return r.json()


async def _event(cloud: CloudClient, server_id: str, request_id: str, name: str,
                 result: str = "Success") -> None:
    now = time.time()
    async with cloud.svc.write() as db:
        assert await actions.record_event(db, server_id, request_id, name, start=now - 1,
                                          finish=now, result=result, host=HOST,
                                          details="the details")


async def test_list_newest_first_with_fields_per_microversion(cloud: CloudClient) -> None:
    who = await owner(cloud)
    server_id = await server(cloud, who)
    r = await act(cloud, who.token, server_id, {"os-stop": None}, expect=202)
    stop_id = r.headers["x-openstack-request-id"]
    listed = (await _list(cloud, who.token, server_id))["instanceActions"]
    assert [a["action"] for a in listed] == ["stop", "create"]
    assert set(listed[0]) == ACTION_KEYS
    assert listed[0]["request_id"] == stop_id
    assert listed[0]["instance_uuid"] == server_id
    assert listed[0]["project_id"] == who.project_id and listed[0]["message"] is None
    datetime.strptime(listed[0]["start_time"], "%Y-%m-%dT%H:%M:%S.%f")
    listed = (await _list(cloud, who.token, server_id, "2.58"))
    assert set(listed["instanceActions"][0]) == ACTION_KEYS | {"updated_at"}
    assert "links" not in listed


async def test_show_with_events_per_microversion_and_role(cloud: CloudClient) -> None:
    who = await owner(cloud)
    server_id = await server(cloud, who)
    r = await act(cloud, who.token, server_id, {"os-stop": None}, expect=202)
    request_id = r.headers["x-openstack-request-id"]
    await _event(cloud, server_id, request_id, "compute_stop_instance")
    await _event(cloud, server_id, request_id, "compute_power_off", result="Error")
    shown = (await _show(cloud, who.token, server_id, request_id))["instanceAction"]
    assert set(shown) == ACTION_KEYS and shown["message"] == "Error"
    events = (await _show(cloud, who.token, server_id, request_id, "2.51")
              )["instanceAction"]["events"]
    assert [e["event"] for e in events] == ["compute_power_off", "compute_stop_instance"]
    assert set(events[0]) == EVENT_KEYS and events[0]["result"] == "Error"
    host_id = hashlib.sha224((who.project_id + HOST).encode()).hexdigest()
    events = (await _show(cloud, who.token, server_id, request_id, "2.84")
              )["instanceAction"]["events"]
    assert set(events[0]) == EVENT_KEYS | {"hostId"} and events[0]["hostId"] == host_id
    admin = (await _show(cloud, None, server_id, request_id))["instanceAction"]
    assert set(admin["events"][0]) == EVENT_KEYS | {"traceback"}
    admin = (await _show(cloud, None, server_id, request_id, "2.84"))["instanceAction"]
    assert admin["events"][0]["host"] == HOST and admin["events"][0]["hostId"] == host_id
    assert admin["events"][0]["details"] == "the details"
    assert set(admin) == ACTION_KEYS | {"updated_at", "events"}
    assert admin["updated_at"] > admin["start_time"]


async def test_unknown_request_ids_other_projects_and_deleted_servers(
        cloud: CloudClient) -> None:
    who, other = await owner(cloud), await owner(cloud)
    server_id = await server(cloud, who)
    body = await _show(cloud, who.token, server_id, "req-nope", expect=404)
    assert body["itemNotFound"]["message"] == (
        f"Action for request_id req-nope on instance {server_id} not found")
    create_id = (await _list(cloud, who.token, server_id))["instanceActions"][0]["request_id"]
    await _list(cloud, other.token, server_id, expect=404)
    await _show(cloud, other.token, server_id, create_id, expect=404)
    await set_columns(cloud, server_id, deleted=True, vm_state="deleted")
    await _list(cloud, who.token, server_id, "2.20", expect=404)
    await _show(cloud, who.token, server_id, create_id, "2.20", expect=404)
    listed = (await _list(cloud, who.token, server_id, "2.21"))["instanceActions"]
    assert [a["action"] for a in listed] == ["create"]
    await _show(cloud, who.token, server_id, create_id, "2.21", expect=200)


async def test_paging_from_258(cloud: CloudClient) -> None:
    who = await owner(cloud)
    server_id = await server(cloud, who)
    for _ in range(2):
        await act(cloud, who.token, server_id, {"lock": None}, expect=202)
        await act(cloud, who.token, server_id, {"unlock": None}, expect=202)
    everything = (await _list(cloud, who.token, server_id, "2.58"))["instanceActions"]
    assert [a["action"] for a in everything] == ["unlock", "lock", "unlock", "lock",
                                                 "create"]
    page = await _list(cloud, who.token, server_id, "2.58", limit=2)
    assert [a["request_id"] for a in page["instanceActions"]] == [
        a["request_id"] for a in everything[:2]]
    assert page["links"][0]["rel"] == "next"
    assert f"marker={everything[1]['request_id']}" in page["links"][0]["href"]
    page = await _list(cloud, who.token, server_id, "2.58", limit=2,
                       marker=everything[1]["request_id"])
    assert page["instanceActions"] == everything[2:4]
    page = await _list(cloud, who.token, server_id, "2.58", limit=2,
                       marker=everything[3]["request_id"])
    assert page["instanceActions"] == everything[4:] and "links" not in page
    # Below 2.58 paging parameters are ignored.
    assert len((await _list(cloud, who.token, server_id, limit=1))["instanceActions"]) == 5
    body = await _list(cloud, who.token, server_id, "2.58", marker="req-nope", expect=400)
    assert body["badRequest"]["message"] == "Marker req-nope could not be found."


async def test_changes_since_and_before(cloud: CloudClient) -> None:
    who = await owner(cloud)
    server_id = await server(cloud, who)
    await act(cloud, who.token, server_id, {"lock": None}, expect=202)
    old = datetime(2020, 1, 1, tzinfo=UTC)
    async with cloud.svc.write() as db:
        await db.execute(update(InstanceAction).where(
            InstanceAction.instance_uuid == server_id, InstanceAction.action == "create")
            .values(start_time=old, updated_at=old))
    since = (old + timedelta(days=1)).isoformat()
    listed = (await _list(cloud, who.token, server_id, "2.58", **{"changes-since": since}))
    assert [a["action"] for a in listed["instanceActions"]] == ["lock"]
    body = await _list(cloud, who.token, server_id, "2.58", expect=400,
                       **{"changes-before": since})
    assert "changes-before" in fault_message(body)
    listed = (await _list(cloud, who.token, server_id, "2.66", **{"changes-before": since}))
    assert [a["action"] for a in listed["instanceActions"]] == ["create"]
    body = await _list(cloud, who.token, server_id, "2.66", expect=400, **{
        "changes-since": since, "changes-before": old.isoformat()})
    assert fault_message(body) == (
        "The value of changes-since must be less than or equal to changes-before.")
    for bad in ({"changes-since": "yesterday"}, {"limit": "-1"}, {"sort": "x"}):
        await _list(cloud, who.token, server_id, "2.58", expect=400, **bad)


def fault_message(body: Any) -> str:
    return str(body["badRequest"]["message"])


async def test_actions_of_a_server_record_who_did_them(cloud: CloudClient) -> None:
    who = await owner(cloud)
    server_id = await server(cloud, who)
    await act(cloud, None, server_id, {"lock": None}, expect=202)
    listed = (await _list(cloud, who.token, server_id))["instanceActions"]
    assert listed[0]["action"] == "lock" and listed[0]["project_id"] != who.project_id
    r = await cloud.call("GET", f"/v2.1/servers/{server_id}/os-instance-actions/x",
                         token=who.token, expect=404)
    fault(r, "itemNotFound")
