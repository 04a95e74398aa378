"""Volume types ask backends for capabilities (Cinder's capabilities filter), a volume
no backend fits ends in error, and the project learns why from a user message (3.3);
agents' failures leave messages too. Retype is in :mod:`test_retype`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
import pytest_asyncio

from helpers.names import unique
from helpers.volume import VolumeCloud, fault, volume_cloud
from ownstack.common.db.base import utcnow
from ownstack.volume.objects import messages
from ownstack.volume.objects.models import Volume

pytestmark = pytest.mark.asyncio(loop_scope="module")

NO_BACKEND = "schedule allocate volume:Could not find any available weighted backend."


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def vc(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[VolumeCloud]:
    async for cloud in volume_cloud(tmp_path_factory.mktemp("messages")):
        yield cloud


async def make_type(vc: VolumeCloud, specs: dict[str, str]) -> dict[str, Any]:
    r = await vc.call("POST", "/v3/types", expect=200, json={"volume_type": {
        "name": unique("type"), "extra_specs": specs}})
    return dict(r.json()["volume_type"])


async def messages_of(vc: VolumeCloud, volume_id: str, token: str | None = None
                      ) -> list[dict[str, Any]]:
    r = await vc.call("GET", f"/v3/messages?resource_uuid={volume_id}", token=token,
                      expect=200)
    return list(r.json()["messages"])


async def test_the_pools_capabilities_are_what_types_are_matched_against(
        vc: VolumeCloud) -> None:
    r = await vc.call("GET", "/v3/scheduler-stats/get_pools?detail=true", expect=200)
    capabilities = r.json()["pools"][0]["capabilities"]
    assert (capabilities["volume_backend_name"], capabilities["storage_protocol"],
            capabilities["vendor_name"], capabilities["multiattach"]) == \
        ("fake", "fake", "ownstack", True)
    fitting = await make_type(vc, {
        "volume_backend_name": "fake", "capabilities:vendor_name": "ownstack",
        "multiattach": "<is> True", "storage_protocol": "<in> fak",
        "free_capacity_gb": ">= 1", "driver_version": "<or> 0.9 <or> 1.0",
        # Other scopes ask nothing of the backend.
        "RESKEY:availability_zones": "elsewhere", "qos:read_iops_sec": "100",
        "provisioning:type": "thin"})
    volume = await vc.volume(volume_type=fitting["name"])
    assert (volume["status"], volume["volume_type"]) == ("available", fitting["name"])


async def test_a_type_no_backend_meets_ends_in_error_with_a_message(vc: VolumeCloud) -> None:
    """Tempest's UserMessagesTest: a type asking for a protocol and a vendor no backend
    has; the volume ends in error and the project reads why."""
    bogus = await make_type(vc, {"storage_protocol": "bogus-protocol",
                                 "vendor_name": "bogus-vendor"})
    caller = await vc.caller("member")
    volume = await vc.volume(caller.token, volume_type=bogus["id"], wait="error")
    found = await messages_of(vc, volume["id"], caller.token)
    assert len(found) == 1
    message = found[0]
    assert (message["event_id"], message["user_message"], message["message_level"],
            message["resource_type"], message["resource_uuid"]) == \
        ("VOLUME_VOLUME_001_003", NO_BACKEND, "ERROR", "VOLUME", volume["id"])
    assert message["request_id"].startswith("req-")
    assert message["guaranteed_until"] > message["created_at"]
    r = await vc.call("GET", f"/v3/messages/{message['id']}", token=caller.token, expect=200)
    assert r.json()["message"] == message
    assert r.json()["message"]["links"][0]["href"].endswith(f"/messages/{message['id']}")
    # The reason ownstack knows stays in the volume's record and the logs, not in the
    # message (Cinder keeps exception texts out of messages).
    async with vc.svc.db.read() as session:
        row = await session.get(Volume, volume["id"])
        assert row is not None
        assert row.task["error"] == (
            "No valid backend was found: no backend meets the volume type's extra specs "
            "(storage_protocol=bogus-protocol).")


async def test_a_clone_on_a_backend_its_type_does_not_fit_ends_in_error(
        vc: VolumeCloud) -> None:
    source = await vc.volume()
    bogus = await make_type(vc, {"volume_backend_name": "elsewhere"})
    r = await vc.call("POST", "/v3/volumes", expect=202, json={"volume": {
        "size": 1, "source_volid": source["id"], "volume_type": bogus["name"]}})
    volume = await vc.wait(f"/v3/volumes/{r.json()['volume']['id']}", "volume", "error")
    assert [m["event_id"] for m in await messages_of(vc, volume["id"])] == \
        ["VOLUME_VOLUME_001_003"]


async def test_messages_are_the_projects_own(vc: VolumeCloud) -> None:
    bogus = await make_type(vc, {"storage_protocol": "none"})
    identity = vc.cloud.identity
    project = await identity.make_project()
    owner_user = await identity.make_user(project=project, role="member", password="pw")
    reader_user = await identity.make_user(project=project, role="reader", password="pw")
    owner = await identity.token(owner_user["name"], "pw", project=project["name"])
    reader = await identity.token(reader_user["name"], "pw", project=project["name"])
    stranger = await vc.caller("member")
    volume = await vc.volume(owner, volume_type=bogus["id"], wait="error")
    message_id = (await messages_of(vc, volume["id"], owner))[0]["id"]
    # Another project: not in its list, and a 404 by id.
    assert await messages_of(vc, volume["id"], stranger.token) == []
    r = await vc.call("GET", f"/v3/messages/{message_id}", token=stranger.token, expect=404)
    assert fault(r) == ("itemNotFound", f"Message {message_id} could not be found.")
    await vc.call("DELETE", f"/v3/messages/{message_id}", token=stranger.token, expect=404)
    # The admin sees every project's.
    assert [m["id"] for m in await messages_of(vc, volume["id"])] == [message_id]
    # A reader of the project reads them and may not delete them.
    await vc.call("GET", f"/v3/messages/{message_id}", token=reader, expect=200)
    await vc.call("DELETE", f"/v3/messages/{message_id}", token=reader, expect=403)
    # The member deletes it; it is gone.
    await vc.call("DELETE", f"/v3/messages/{message_id}", token=owner, expect=204)
    await vc.call("GET", f"/v3/messages/{message_id}", token=owner, expect=404)
    assert await messages_of(vc, volume["id"], owner) == []


async def test_the_api_exists_from_3_3_and_pages_from_3_5(vc: VolumeCloud) -> None:
    bogus = await make_type(vc, {"storage_protocol": "none"})
    caller = await vc.caller("member")
    for _ in range(3):
        await vc.volume(caller.token, volume_type=bogus["id"], wait="error")
    await vc.call("GET", "/v3/messages", token=caller.token, version="3.2", expect=404)
    await vc.call("GET", "/v3/messages/anything", token=caller.token, version="3.2",
                  expect=404)
    # 3.3 and 3.4 take no query (Cinder ignores it); from 3.5 paging and filters.
    r = await vc.call("GET", "/v3/messages?limit=1&bogus=1", token=caller.token,
                      version="3.3", expect=200)
    assert len(r.json()["messages"]) == 3
    r = await vc.call("GET", "/v3/messages?limit=2&sort=created_at:asc", token=caller.token,
                      version="3.5", expect=200)
    page = r.json()
    assert len(page["messages"]) == 2 and "messages_links" in page
    r = await vc.call("GET", f"/v3/messages?marker={page['messages'][-1]['id']}"
                      "&sort=created_at:asc", token=caller.token, version="3.5", expect=200)
    assert len(r.json()["messages"]) == 1
    r = await vc.call("GET", "/v3/messages?bogus=1", token=caller.token, expect=400)
    assert fault(r)[1] == "Invalid filters bogus are found in query options."
    r = await vc.call("GET", "/v3/messages?event_id=VOLUME_VOLUME_001_003&message_level=ERROR",
                      token=caller.token, expect=200)
    assert len(r.json()["messages"]) == 3
    r = await vc.call("GET", "/v3/messages?event_id=VOLUME_VOLUME_001_001",
                      token=caller.token, expect=200)
    assert r.json()["messages"] == []
    r = await vc.call("GET", "/v3/messages?with_count=true&limit=1", token=caller.token,
                      expect=200)
    assert r.json()["count"] == 3
    r = await vc.call("GET", "/v3/resource_filters?resource=message", expect=200)
    assert r.json()["resource_filters"] == [{"resource": "message", "filters": [
        "resource_uuid", "resource_type", "event_id", "request_id", "message_level"]}]


async def test_an_agents_failure_leaves_a_message(vc: VolumeCloud) -> None:
    """The driver fails the create (no room on the fake backend): Cinder's "create volume
    from backend storage" with "Driver failed to create the volume."; a failed snapshot
    (its volume's data gone behind the agent's back) leaves its own."""
    r = await vc.call("POST", "/v3/volumes", expect=202, json={"volume": {"size": 5000}})
    volume = await vc.wait(f"/v3/volumes/{r.json()['volume']['id']}", "volume", "error")
    found = await messages_of(vc, volume["id"])
    assert [(m["event_id"], m["user_message"]) for m in found] == [
        ("VOLUME_VOLUME_008_012",
         "create volume from backend storage:Driver failed to create the volume.")]
    # The request that asked for the work is the message's.
    assert found[0]["request_id"] == r.headers["x-openstack-request-id"]
    # An extend of a volume whose data went behind the agent's back.
    grown = await vc.volume()
    vc.agent.driver.host.volumes.pop(grown["id"])
    r = await vc.action(grown["id"], {"os-extend": {"new_size": 2}})
    await vc.wait(f"/v3/volumes/{grown['id']}", "volume", "error_extending")
    found = await messages_of(vc, grown["id"])
    assert [(m["event_id"], m["request_id"]) for m in found] == [
        ("VOLUME_VOLUME_007_010", r.headers["x-openstack-request-id"])]
    source = await vc.volume()
    vc.agent.driver.host.volumes.pop(source["id"])
    r = await vc.call("POST", "/v3/snapshots", expect=202, json={"snapshot": {
        "volume_id": source["id"]}})
    snapshot = await vc.wait(f"/v3/snapshots/{r.json()['snapshot']['id']}", "snapshot",
                             "error")
    found = await messages_of(vc, snapshot["id"])
    assert [(m["event_id"], m["resource_type"], m["user_message"]) for m in found] == [
        ("VOLUME_VOLUME_SNAPSHOT_009_013", "VOLUME_SNAPSHOT",
         "create snapshot:Snapshot failed to create.")]
    assert found[0]["request_id"] == r.headers["x-openstack-request-id"]


async def test_expired_messages_are_reaped(vc: VolumeCloud) -> None:
    bogus = await make_type(vc, {"storage_protocol": "none"})
    volume = await vc.volume(volume_type=bogus["id"], wait="error")
    assert len(await messages_of(vc, volume["id"])) == 1
    async with vc.svc.db.write() as session:
        assert await messages.reap(session, utcnow()) == 0
    async with vc.svc.db.write() as session:
        removed = await messages.reap(session, utcnow() + timedelta(days=31))
    assert removed >= 1
    assert await messages_of(vc, volume["id"]) == []
