"""Nova's volume proxy (``/os-volumes``, ``/os-snapshots``, up to 2.35), through to the
volume service as the caller: what Tempest's ``compute.volumes`` tests make, read and
delete with it.

The whole cloud in process, one module's worth: the volume service with its agent on the
fake volume driver (volumes and snapshots become ``available``, deletes finish), the
fake compute driver for the one server a volume is attached to.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

from helpers.compute import Owner, boot_setup, fault, reader_token, wait_status
from helpers.inprocess import CloudClient, cloud_config, make_cloud
from helpers.names import unique
from ownstack.common.clients.volume import VolumeClient

pytestmark = pytest.mark.asyncio(loop_scope="module")

MISSING = "00000000-0000-4000-8000-000000000000"
VOLUME_FIELDS = {"id", "status", "size", "availabilityZone", "createdAt", "attachments",
                 "displayName", "displayDescription", "volumeType", "snapshotId",
                 "metadata"}
SNAPSHOT_FIELDS = {"id", "volumeId", "status", "size", "createdAt", "displayName",
                   "displayDescription"}
CINDER_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def cloud(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[CloudClient]:
    config = cloud_config(tmp_path_factory.mktemp("volproxy"), "volume.report_interval=0.2")
    async for client in make_cloud(config):
        yield client


class Who:
    def __init__(self, project_id: str, token: str) -> None:
        self.project_id, self.token = project_id, token


async def who(cloud: CloudClient) -> Who:
    project, token = await cloud.project_user_token()
    return Who(str(project["id"]), token)


def mv(version: str) -> dict[str, str]:
    return {"OpenStack-API-Version": f"compute {version}"}


async def call(cloud: CloudClient, method: str, path: str, token: str, expect: int, *,
               v: str = "2.1", **kwargs: Any) -> httpx.Response:
    return await cloud.call(method, f"/v2.1/{path}", token=token, expect=expect,
                            headers=mv(v), **kwargs)


async def create_volume(cloud: CloudClient, token: str, expect: int = 200,
                        **fields: Any) -> httpx.Response:
    return await call(cloud, "POST", "os-volumes", token, expect,
                      json={"volume": {"size": 1, **fields}})


async def until(cloud: CloudClient, token: str, collection: str, item_id: str,
                *wanted: str, timeout: float = 10.0) -> dict[str, Any]:
    """The volume (``os-volumes``) or snapshot (``os-snapshots``) once its status is one of
    ``wanted``, as the proxy shows it; ``{}`` once it is gone, when ``gone`` is wanted."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        r = await cloud.call("GET", f"/v2.1/{collection}/{item_id}", token=token)
        if r.status_code == 404 and "gone" in wanted:
            return {}
        assert r.status_code == 200, r.text
        found = dict(next(iter(r.json().values())))
        if found["status"] in wanted:
            return found
        assert asyncio.get_running_loop().time() < deadline, found
        await asyncio.sleep(0.02)


async def available_volume(cloud: CloudClient, token: str, **fields: Any) -> dict[str, Any]:
    made = (await create_volume(cloud, token, **fields)).json()["volume"]
    return await until(cloud, token, "os-volumes", made["id"], "available")


async def available_snapshot(cloud: CloudClient, token: str, volume_id: str,
                             **fields: Any) -> dict[str, Any]:
    r = await call(cloud, "POST", "os-snapshots", token, 200,
                   json={"snapshot": {"volume_id": volume_id, **fields}})
    return await until(cloud, token, "os-snapshots", r.json()["snapshot"]["id"], "available")


# --- volumes ------------------------------------------------------------------------------

async def test_a_volume_is_made_shown_listed_and_deleted_as_nova_shows_it(
        cloud: CloudClient) -> None:
    """Tempest's test_volume_create_get_delete and VolumesTestJSON: a listed volume is
    exactly the one shown, in the list and in the detailed list."""
    w = await who(cloud)
    name = unique("vol")
    r = await create_volume(cloud, w.token, size="1", display_name=name,
                            display_description="scratch", metadata={"Type": "work"})
    made = r.json()["volume"]
    assert set(made) == VOLUME_FIELDS
    assert r.headers["Location"].endswith(f"/v2.1/os-volumes/{made['id']}")
    assert (made["status"], made["size"], made["displayName"],
            made["displayDescription"]) == ("creating", 1, name, "scratch")
    assert (made["attachments"], made["snapshotId"], made["metadata"]) == (
        [{}], None, {"Type": "work"})
    assert CINDER_TIME.fullmatch(made["createdAt"])
    shown = await until(cloud, w.token, "os-volumes", made["id"], "available")
    assert shown == {**made, "status": "available"}
    direct = (await cloud.on("volume", "GET", f"/v3/volumes/{made['id']}", token=w.token,
                             expect=200)).json()["volume"]
    assert (shown["availabilityZone"], shown["volumeType"], shown["createdAt"]) == (
        direct["availability_zone"], direct["volume_type"], direct["created_at"])
    assert isinstance(shown["availabilityZone"], str) and shown["volumeType"]
    for path in ("os-volumes", "os-volumes/detail"):
        listed = (await call(cloud, "GET", path, w.token, 200)).json()
        assert listed == {"volumes": [shown]}
    r = await call(cloud, "DELETE", f"os-volumes/{made['id']}", w.token, 202)
    assert r.content == b""
    await until(cloud, w.token, "os-volumes", made["id"], "gone")
    r = await call(cloud, "GET", f"os-volumes/{made['id']}", w.token, 404)
    assert fault(r, "itemNotFound") == f"Volume {made['id']} could not be found."
    r = await call(cloud, "DELETE", f"os-volumes/{made['id']}", w.token, 404)
    assert fault(r, "itemNotFound") == f"Volume {made['id']} could not be found."
    r = await create_volume(cloud, w.token)          # no name, no description
    assert (r.json()["volume"]["displayName"], r.json()["volume"]["displayDescription"]) \
        == (None, None)


async def test_the_list_is_the_callers_newest_first_with_offset_and_limit(
        cloud: CloudClient) -> None:
    w = await who(cloud)
    ids = [(await create_volume(cloud, w.token)).json()["volume"]["id"] for _ in range(3)]
    newest_first = ids[::-1]

    async def listed(path: str = "os-volumes", **params: str) -> list[str]:
        r = await call(cloud, "GET", path, w.token, 200, params=params)
        return [v["id"] for v in r.json()["volumes"]]

    assert await listed() == newest_first
    assert await listed(limit="2") == newest_first[:2]
    assert await listed("os-volumes/detail", limit="2") == newest_first[:2]
    assert await listed(offset="1", limit="1") == newest_first[1:2]
    assert await listed("os-volumes/detail", offset="1") == newest_first[1:]
    assert await listed(limit="0") == newest_first             # 0: the largest page
    assert await listed(limit="5000") == newest_first          # capped, not refused
    assert await listed(offset="7") == []
    for bad in ({"limit": "-1"}, {"limit": "two"}, {"offset": "-1"}, {"offset": "x"}):
        r = await call(cloud, "GET", "os-volumes", w.token, 400, params=bad)
        assert fault(r, "badRequest")
    other = await who(cloud)
    assert (await call(cloud, "GET", "os-volumes", other.token, 200)).json() == {
        "volumes": []}


@pytest.mark.parametrize("size", ["#$%", "", "0", 0, -1, 1.5, "1.5", None, True,
                                  2147483648, "99999999999", [1]])
async def test_a_volume_needs_a_whole_size_of_at_least_one(cloud: CloudClient,
                                                           size: Any) -> None:
    """Tempest's invalid size, size zero and no size: each a 400, nothing made."""
    w = await who(cloud)
    r = await create_volume(cloud, w.token, 400, size=size, display_name="v",
                            metadata={"Type": "work"})
    assert "size" in fault(r, "badRequest")
    assert (await call(cloud, "GET", "os-volumes", w.token, 200)).json() == {"volumes": []}


@pytest.mark.parametrize("document", [
    {"volume": {"display_name": "no size"}},
    {"volume": {"size": 1, "name": "Cinder's field, not Nova's"}},
    {"volume": {"size": 1, "display_name": 7}},
    {"volume": {"size": 1, "metadata": ["a"]}},
    {"volume": {"size": 1}, "extra": 1},
    {"volume": "1"},
    {},
    [],
])
async def test_a_volume_body_is_novas(cloud: CloudClient, document: Any) -> None:
    w = await who(cloud)
    r = await call(cloud, "POST", "os-volumes", w.token, 400, json=document)
    assert fault(r, "badRequest")
    assert (await call(cloud, "GET", "os-volumes", w.token, 200)).json() == {"volumes": []}


async def test_the_volume_services_refusals_keep_their_meaning(cloud: CloudClient) -> None:
    w = await who(cloud)
    # Its 400s (a metadata value that is no string, an unknown type) are InvalidInput.
    r = await create_volume(cloud, w.token, 400, metadata={"k": 1})
    assert fault(r, "badRequest").startswith("Invalid input received: ")
    r = await create_volume(cloud, w.token, 404, volume_type="no-such-type")
    assert "no-such-type" in fault(r, "itemNotFound")
    # A snapshot to make the volume from is looked up first (Nova's SnapshotNotFound).
    r = await create_volume(cloud, w.token, 404, snapshot_id=MISSING)
    assert fault(r, "itemNotFound") == f"Snapshot {MISSING} could not be found."
    # Its quota (413) is Nova's 403.
    await cloud.on("volume", "PUT", f"/v3/os-quota-sets/{w.project_id}", expect=200,
                   json={"quota_set": {"volumes": 1}})
    await available_volume(cloud, w.token)
    r = await create_volume(cloud, w.token, 403)
    assert "quota" in fault(r, "forbidden").lower()


async def test_an_attached_volume_names_its_server_and_device(cloud: CloudClient) -> None:
    _, token = await cloud.project_user_token()
    image_id, flavor_id = await boot_setup(cloud)
    r = await cloud.call("POST", "/v2.1/servers", token=token, expect=202, json={"server": {
        "name": unique("vm"), "imageRef": image_id, "flavorRef": flavor_id,
        "networks": "none"}}, headers=mv("2.37"))
    server_id = (await wait_status(cloud, token, r.json()["server"]["id"], "ACTIVE"))["id"]
    vol = await available_volume(cloud, token)
    await cloud.call("POST", f"/v2.1/servers/{server_id}/os-volume_attachments", token=token,
                     expect=200, json={"volumeAttachment": {"volumeId": vol["id"]}})
    shown = await until(cloud, token, "os-volumes", vol["id"], "in-use")
    assert shown["attachments"] == [{"id": vol["id"], "volumeId": vol["id"],
                                     "serverId": server_id, "device": "/dev/vdb"}]
    listed = (await call(cloud, "GET", "os-volumes/detail", token, 200)).json()["volumes"]
    assert listed == [shown]
    # The volume service refuses to delete an attached volume: Nova's 400.
    r = await call(cloud, "DELETE", f"os-volumes/{vol['id']}", token, 400)
    assert fault(r, "badRequest").startswith("Invalid input received: ")
    # A snapshot of the in-use volume (``force`` is what Cinder before 3.66 needed).
    snap = await available_snapshot(cloud, token, vol["id"], force="True")
    assert snap["volumeId"] == vol["id"]


# --- snapshots ----------------------------------------------------------------------------

async def test_a_snapshot_is_made_shown_listed_and_deleted_as_nova_shows_it(
        cloud: CloudClient) -> None:
    """Tempest's test_volume_snapshot_create_get_list_delete."""
    w = await who(cloud)
    vol = await available_volume(cloud, w.token, size=2)
    name = unique("snap")
    r = await call(cloud, "POST", "os-snapshots", w.token, 200, json={"snapshot": {
        "volume_id": vol["id"], "display_name": name, "display_description": "before",
        "force": False}})
    made = r.json()["snapshot"]
    assert set(made) == SNAPSHOT_FIELDS
    assert (made["volumeId"], made["size"], made["status"], made["displayName"],
            made["displayDescription"]) == (vol["id"], 2, "creating", name, "before")
    assert CINDER_TIME.fullmatch(made["createdAt"])
    shown = await until(cloud, w.token, "os-snapshots", made["id"], "available")
    assert shown == {**made, "status": "available"}
    for path in ("os-snapshots", "os-snapshots/detail"):
        assert (await call(cloud, "GET", path, w.token, 200)).json() == {"snapshots": [shown]}
    second = await available_snapshot(cloud, w.token, vol["id"])
    assert (second["displayName"], second["displayDescription"]) == (None, None)
    r = await call(cloud, "GET", "os-snapshots", w.token, 200, params={"limit": "1"})
    assert [s["id"] for s in r.json()["snapshots"]] == [second["id"]]
    r = await call(cloud, "GET", "os-snapshots/detail", w.token, 200, params={"offset": "1"})
    assert [s["id"] for s in r.json()["snapshots"]] == [made["id"]]
    # A volume made from the snapshot names it.
    r = await create_volume(cloud, w.token, size=2, snapshot_id=made["id"])
    assert r.json()["volume"]["snapshotId"] == made["id"]
    await until(cloud, w.token, "os-volumes", r.json()["volume"]["id"], "available")
    r = await call(cloud, "DELETE", f"os-snapshots/{second['id']}", w.token, 202)
    assert r.content == b""
    await until(cloud, w.token, "os-snapshots", second["id"], "gone")
    for method in ("GET", "DELETE"):
        r = await call(cloud, method, f"os-snapshots/{second['id']}", w.token, 404)
        assert fault(r, "itemNotFound") == f"Snapshot {second['id']} could not be found."


@pytest.mark.parametrize("document", [
    {"snapshot": {"display_name": "no volume"}},
    {"snapshot": {"volume_id": MISSING, "force": "maybe"}},
    {"snapshot": {"volume_id": MISSING, "name": "Cinder's field"}},
    {"snapshot": {"volume_id": 7}},
    {"snapshot": {"volume_id": MISSING}, "extra": 1},
    {},
])
async def test_a_snapshot_body_is_novas(cloud: CloudClient, document: Any) -> None:
    w = await who(cloud)
    r = await call(cloud, "POST", "os-snapshots", w.token, 400, json=document)
    assert fault(r, "badRequest")


async def test_a_snapshot_of_a_missing_volume_is_not_found(cloud: CloudClient) -> None:
    w = await who(cloud)
    r = await call(cloud, "POST", "os-snapshots", w.token, 404,
                   json={"snapshot": {"volume_id": MISSING}})
    assert fault(r, "itemNotFound") == f"Volume {MISSING} could not be found."
    await cloud.on("volume", "PUT", f"/v3/os-quota-sets/{w.project_id}", expect=200,
                   json={"quota_set": {"snapshots": 0}})
    vol = await available_volume(cloud, w.token)
    r = await call(cloud, "POST", "os-snapshots", w.token, 403,
                   json={"snapshot": {"volume_id": vol["id"]}})
    assert fault(r, "forbidden") == "Quota exceeded for resources: snapshots"


# --- who sees what, and until which version -----------------------------------------------

async def test_another_projects_volumes_and_snapshots_are_not_found(
        cloud: CloudClient) -> None:
    owner, stranger = await who(cloud), await who(cloud)
    vol = await available_volume(cloud, owner.token)
    snap = await available_snapshot(cloud, owner.token, vol["id"])
    for method in ("GET", "DELETE"):
        r = await call(cloud, method, f"os-volumes/{vol['id']}", stranger.token, 404)
        assert fault(r, "itemNotFound") == f"Volume {vol['id']} could not be found."
        r = await call(cloud, method, f"os-snapshots/{snap['id']}", stranger.token, 404)
        assert fault(r, "itemNotFound") == f"Snapshot {snap['id']} could not be found."
    r = await call(cloud, "POST", "os-snapshots", stranger.token, 404,
                   json={"snapshot": {"volume_id": vol["id"]}})
    assert fault(r, "itemNotFound") == f"Volume {vol['id']} could not be found."
    for path in ("os-volumes", "os-volumes/detail", "os-snapshots", "os-snapshots/detail"):
        body = (await call(cloud, "GET", path, stranger.token, 200)).json()
        assert list(body.values()) == [[]]
    # Still the owner's, untouched.
    assert (await until(cloud, owner.token, "os-volumes", vol["id"], "available"))["id"]
    assert (await until(cloud, owner.token, "os-snapshots", snap["id"], "available"))["id"]


async def test_a_reader_reads_and_never_writes(cloud: CloudClient) -> None:
    project, token = await cloud.project_user_token()
    vol = await available_volume(cloud, token)
    snap = await available_snapshot(cloud, token, vol["id"])
    reader = await reader_token(cloud, Owner(str(project["id"]), token, "", ""))
    for path in ("os-volumes", "os-volumes/detail", f"os-volumes/{vol['id']}",
                 "os-snapshots", "os-snapshots/detail", f"os-snapshots/{snap['id']}"):
        await call(cloud, "GET", path, reader, 200)
    for method, path, document in (
            ("POST", "os-volumes", {"volume": {"size": 1}}),
            ("DELETE", f"os-volumes/{vol['id']}", None),
            ("POST", "os-snapshots", {"snapshot": {"volume_id": vol["id"]}}),
            ("DELETE", f"os-snapshots/{snap['id']}", None)):
        r = await call(cloud, method, path, reader, 403, json=document)
        assert fault(r, "forbidden")
    assert (await call(cloud, "GET", "os-volumes", token, 200)).json()["volumes"] == [vol]


async def test_from_2_36_the_proxy_is_gone(cloud: CloudClient) -> None:
    w = await who(cloud)
    vol = await available_volume(cloud, w.token)
    snap = await available_snapshot(cloud, w.token, vol["id"])
    for v in ("2.36", "2.96"):
        for method, path, document in (
                ("GET", "os-volumes", None), ("GET", "os-volumes/detail", None),
                ("POST", "os-volumes", {"volume": {"size": 1}}),
                ("GET", f"os-volumes/{vol['id']}", None),
                ("DELETE", f"os-volumes/{vol['id']}", None),
                ("GET", "os-snapshots", None), ("GET", "os-snapshots/detail", None),
                ("POST", "os-snapshots", {"snapshot": {"volume_id": vol["id"]}}),
                ("GET", f"os-snapshots/{snap['id']}", None),
                ("DELETE", f"os-snapshots/{snap['id']}", None)):
            r = await call(cloud, method, path, w.token, 404, v=v, json=document)
            assert fault(r, "itemNotFound") == "The resource could not be found."
    # Nothing was made or deleted; at 2.35 all is still there.
    assert (await call(cloud, "GET", "os-volumes", w.token, 200, v="2.35")).json() == {
        "volumes": [vol]}
    assert (await call(cloud, "GET", "os-snapshots", w.token, 200, v="2.35")).json() == {
        "snapshots": [snap]}


async def test_a_volume_service_that_fails_is_a_503(cloud: CloudClient) -> None:
    w = await who(cloud)

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    async def unused() -> str:
        return "unused"

    working = cloud.svc._volume
    for transport in (httpx.MockTransport(refuse),
                      httpx.MockTransport(lambda request: httpx.Response(500))):
        cloud.svc._volume = VolumeClient("http://volume.test", unused, transport=transport)
        try:
            for method, path, document in (
                    ("GET", "os-volumes", None), ("GET", f"os-volumes/{MISSING}", None),
                    ("POST", "os-volumes", {"volume": {"size": 1}}),
                    ("DELETE", f"os-snapshots/{MISSING}", None),
                    ("POST", "os-snapshots", {"snapshot": {"volume_id": MISSING}})):
                r = await call(cloud, method, path, w.token, 503, json=document)
                assert fault(r, "serviceUnavailable") == (
                    "The volume service failed to answer; retry later.")
        finally:
            await cloud.svc._volume.aclose()
            cloud.svc._volume = working
