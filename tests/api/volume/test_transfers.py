"""Volume transfers (``/os-volume-transfer`` and, 3.55, ``/volume-transfers``): a
project offers an available volume, another takes it with the id and the auth key, with
its snapshots and its quota usage (decision 64). Every error path of the routes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio

from helpers.volume import Caller, VolumeCloud, fault, random_id, volume_cloud

pytestmark = pytest.mark.asyncio(loop_scope="module")

OLD = "/v3/os-volume-transfer"
NEW = "/v3/volume-transfers"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def vc(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[VolumeCloud]:
    async for cloud in volume_cloud(tmp_path_factory.mktemp("transfers")):
        yield cloud


@dataclass
class Project:
    """A project with a member and a reader."""

    member: Caller
    reader: Caller


async def _project(vc: VolumeCloud) -> Project:
    identity = vc.cloud.identity
    project = await identity.make_project()
    users = {}
    for role in ("member", "reader"):
        user = await identity.make_user(project=project, role=role, password="pw")
        token = await identity.token(user["name"], "pw", project=project["name"])
        users[role] = Caller(project["id"], user["id"], token)
    return Project(users["member"], users["reader"])


async def _offer(vc: VolumeCloud, who: Caller, volume_id: str, *, base: str = OLD,
                 version: str | None = "3.71", **fields: Any) -> dict[str, Any]:
    r = await vc.call("POST", base, token=who.token, version=version,
                      json={"transfer": {"volume_id": volume_id, **fields}})
    assert r.status_code == 202, r.text
    body: dict[str, Any] = r.json()["transfer"]
    return body


async def _status(vc: VolumeCloud, volume_id: str) -> dict[str, Any]:
    r = await vc.call("GET", f"/v3/volumes/{volume_id}", expect=200)
    body: dict[str, Any] = r.json()["volume"]
    return body


async def _usage(vc: VolumeCloud, project_id: str) -> dict[str, int]:
    r = await vc.call("GET", f"/v3/os-quota-sets/{project_id}?usage=true", expect=200)
    return {name: r.json()["quota_set"][name]["in_use"]
            for name in ("volumes", "snapshots", "gigabytes")}


async def test_offer_and_accept_moves_the_volume_its_snapshots_and_usage(
        vc: VolumeCloud) -> None:
    """Tempest's ``test_create_get_list_accept_volume_transfer`` and
    ``test_quota_usage_after_volume_transfer``, with a snapshot."""
    giver, taker = await _project(vc), await _project(vc)
    volume = await vc.volume(giver.member.token, size=2)
    snapshot = await vc.snapshot(volume["id"], giver.member.token)
    before = await _usage(vc, giver.member.project_id)
    assert before == {"volumes": 1, "snapshots": 1, "gigabytes": 4}
    made = await _offer(vc, giver.member, volume["id"], name="  gift  ")
    assert made["name"] == "gift" and made["volume_id"] == volume["id"]
    assert len(made["auth_key"]) == 16 and int(made["auth_key"], 16) >= 0
    assert made["no_snapshots"] is False and made["accepted"] is False
    assert made["source_project_id"] == giver.member.project_id
    assert made["destination_project_id"] is None
    assert (await _status(vc, volume["id"]))["status"] == "awaiting-transfer"
    # Its project's reader sees it, never with the key.
    r = await vc.call("GET", f"{OLD}/{made['id']}", token=giver.reader.token, expect=200)
    shown = r.json()["transfer"]
    assert "auth_key" not in shown and shown["created_at"] == made["created_at"]
    assert shown["links"][0]["href"].endswith(f"/v3/os-volume-transfer/{made['id']}")
    r = await vc.call("GET", OLD, token=giver.reader.token, expect=200)
    assert r.json() == {"transfers": [{"id": made["id"], "volume_id": volume["id"],
                                       "name": "gift", "links": shown["links"]}]}
    # The receiver accepts it.
    r = await vc.call("POST", f"{OLD}/{made['id']}/accept", token=taker.member.token,
                      json={"accept": {"auth_key": made["auth_key"]}}, expect=202)
    assert r.json()["transfer"] == {"id": made["id"], "volume_id": volume["id"],
                                    "name": "gift", "links": shown["links"]}
    moved = await _status(vc, volume["id"])
    assert moved["status"] == "available"
    assert moved["os-vol-tenant-attr:tenant_id"] == taker.member.project_id
    assert moved["user_id"] == taker.member.user_id
    r = await vc.call("GET", f"/v3/snapshots/{snapshot['id']}", token=taker.member.token,
                      expect=200)
    assert r.json()["snapshot"]["user_id"] == taker.member.user_id
    await vc.call("GET", f"/v3/volumes/{volume['id']}", token=giver.member.token,
                  expect=404)
    assert await _usage(vc, giver.member.project_id) == \
        {"volumes": 0, "snapshots": 0, "gigabytes": 0}
    assert await _usage(vc, taker.member.project_id) == before
    # The transfer is gone, for both and for the admin.
    for token in (giver.member.token, taker.member.token, None):
        r = await vc.call("GET", f"{OLD}/{made['id']}", token=token, expect=404)
        assert fault(r) == ("itemNotFound", f"Transfer {made['id']} could not be found.")
    r = await vc.call("POST", f"{OLD}/{made['id']}/accept", token=taker.member.token,
                      json={"accept": {"auth_key": made["auth_key"]}}, expect=404)


async def test_no_snapshots_leaves_them_with_the_giver(vc: VolumeCloud) -> None:
    giver, taker = await _project(vc), await _project(vc)
    volume = await vc.volume(giver.member.token)
    snapshot = await vc.snapshot(volume["id"], giver.member.token)
    # A snapshot that is not available stops a transfer with snapshots, not one without.
    await vc.call("POST", f"/v3/snapshots/{snapshot['id']}/action", expect=202,
                  json={"os-reset_status": {"status": "error"}})
    r = await vc.call("POST", NEW, token=giver.member.token, version="3.55",
                      json={"transfer": {"volume_id": volume["id"]}}, expect=400)
    assert fault(r) == ("badRequest", f"Invalid snapshot: snapshot: {snapshot['id']} "
                                      "status must be available")
    assert (await _status(vc, volume["id"]))["status"] == "available"
    made = await _offer(vc, giver.member, volume["id"], base=NEW, version="3.55",
                        no_snapshots=True)
    assert made["no_snapshots"] is True and "accepted" not in made
    await vc.call("POST", f"{NEW}/{made['id']}/accept", token=taker.member.token,
                  json={"accept": {"auth_key": made["auth_key"]}}, expect=202)
    assert await _usage(vc, taker.member.project_id) == \
        {"volumes": 1, "snapshots": 0, "gigabytes": 1}
    assert await _usage(vc, giver.member.project_id) == \
        {"volumes": 0, "snapshots": 1, "gigabytes": 1}
    r = await vc.call("GET", f"/v3/snapshots/{snapshot['id']}", token=giver.member.token,
                      expect=200)
    assert r.json()["snapshot"]["status"] == "error"


async def test_views_follow_the_microversion(vc: VolumeCloud) -> None:
    giver = await _project(vc)
    volume = await vc.volume(giver.member.token)
    made = await _offer(vc, giver.member, volume["id"], version=None)
    assert set(made) == {"id", "created_at", "name", "volume_id", "auth_key", "links"}
    assert made["name"] is None
    path = f"/v3/{giver.member.project_id}/volume-transfers"
    for version, extra in (("3.0", set()), ("3.55", {"no_snapshots"}),
                           ("3.56", {"no_snapshots"}),
                           ("3.57", {"no_snapshots", "source_project_id",
                                     "destination_project_id", "accepted"})):
        r = await vc.call("GET", f"{path}/{made['id']}", token=giver.member.token,
                          version=version, expect=200)
        assert set(r.json()["transfer"]) == {"id", "created_at", "name", "volume_id",
                                             "links"} | extra
        r = await vc.call("GET", f"{path}/detail", token=giver.member.token,
                          version=version, expect=200)
        assert [set(item) for item in r.json()["transfers"]] == \
            [{"id", "created_at", "name", "volume_id", "links"} | extra]
    # Below 3.55 no_snapshots is an unknown field.
    other = await vc.volume(giver.member.token)
    r = await vc.call("POST", OLD, token=giver.member.token, version="3.54",
                      json={"transfer": {"volume_id": other["id"], "no_snapshots": True}},
                      expect=400)
    assert fault(r)[0] == "badRequest"


async def test_delete_gives_the_volume_back(vc: VolumeCloud) -> None:
    """Tempest's ``test_create_list_delete_volume_transfer``."""
    giver = await _project(vc)
    volume = await vc.volume(giver.member.token)
    made = await _offer(vc, giver.member, volume["id"], base=NEW)
    r = await vc.call("GET", f"{NEW}/detail", token=giver.member.token, expect=200)
    assert [item["volume_id"] for item in r.json()["transfers"]] == [volume["id"]]
    r = await vc.call("DELETE", f"{NEW}/{made['id']}", token=giver.reader.token, expect=403)
    assert fault(r)[0] == "forbidden"
    r = await vc.call("DELETE", f"{NEW}/{made['id']}", token=giver.member.token, expect=202)
    assert r.content == b""
    assert (await _status(vc, volume["id"]))["status"] == "available"
    r = await vc.call("DELETE", f"{NEW}/{made['id']}", token=giver.member.token, expect=404)
    assert fault(r)[0] == "itemNotFound"
    r = await vc.call("GET", NEW, token=giver.member.token, expect=200)
    assert r.json() == {"transfers": []}


async def test_a_wrong_key_is_refused_and_changes_nothing(vc: VolumeCloud) -> None:
    giver, taker = await _project(vc), await _project(vc)
    volume = await vc.volume(giver.member.token)
    made = await _offer(vc, giver.member, volume["id"])
    for key in ("0" * 16, made["auth_key"].upper(), 1234, ""):
        r = await vc.call("POST", f"{OLD}/{made['id']}/accept", token=taker.member.token,
                          json={"accept": {"auth_key": key}}, expect=400)
        assert fault(r) == ("badRequest", f"Invalid auth key: Attempt to transfer "
                                          f"{made['id']} with invalid auth key.")
    assert (await _status(vc, volume["id"]))["status"] == "awaiting-transfer"
    r = await vc.call("GET", f"{OLD}/{made['id']}", token=giver.member.token, expect=200)


async def test_only_an_available_volume_is_offered(vc: VolumeCloud) -> None:
    giver = await _project(vc)
    volume = await vc.volume(giver.member.token)
    await _offer(vc, giver.member, volume["id"])
    # Awaiting a transfer already: not twice, not deleted, not snapshotted, not extended.
    r = await vc.call("POST", OLD, token=giver.member.token,
                      json={"transfer": {"volume_id": volume["id"]}}, expect=400)
    assert fault(r) == ("badRequest", "Invalid volume: status must be available")
    r = await vc.call("DELETE", f"/v3/volumes/{volume['id']}", token=giver.member.token)
    assert r.status_code == 400, r.text
    r = await vc.call("POST", "/v3/snapshots", token=giver.member.token,
                      json={"snapshot": {"volume_id": volume["id"]}})
    assert r.status_code == 400, r.text
    await vc.action(volume["id"], {"os-extend": {"new_size": 2}}, token=giver.member.token,
                    expect=400)
    r = await vc.call("POST", "/v3/attachments", token=giver.member.token, json={
        "attachment": {"volume_uuid": volume["id"], "instance_uuid": random_id()}})
    assert r.status_code == 400, r.text
    errored = await vc.volume(giver.member.token)
    await vc.action(errored["id"], {"os-reset_status": {"status": "error"}})
    r = await vc.call("POST", OLD, token=giver.member.token,
                      json={"transfer": {"volume_id": errored["id"]}}, expect=400)
    assert fault(r)[0] == "badRequest"


async def test_a_volume_reset_while_offered(vc: VolumeCloud) -> None:
    """An admin's reset-status out of awaiting-transfer: the accept is a 400, the delete
    removes the transfer and leaves the status (Cinder's)."""
    giver, taker = await _project(vc), await _project(vc)
    volume = await vc.volume(giver.member.token)
    made = await _offer(vc, giver.member, volume["id"])
    await vc.action(volume["id"], {"os-reset_status": {"status": "error"}})
    r = await vc.call("POST", f"{OLD}/{made['id']}/accept", token=taker.member.token,
                      json={"accept": {"auth_key": made["auth_key"]}}, expect=400)
    assert fault(r)[1].startswith("Invalid volume: Transfer ")
    await vc.call("DELETE", f"{OLD}/{made['id']}", token=giver.member.token, expect=202)
    assert (await _status(vc, volume["id"]))["status"] == "error"


async def test_a_snapshot_that_went_bad_stops_the_accept(vc: VolumeCloud) -> None:
    giver, taker = await _project(vc), await _project(vc)
    volume = await vc.volume(giver.member.token)
    snapshot = await vc.snapshot(volume["id"], giver.member.token)
    made = await _offer(vc, giver.member, volume["id"])
    await vc.call("POST", f"/v3/snapshots/{snapshot['id']}/action", expect=202,
                  json={"os-reset_status": {"status": "error"}})
    r = await vc.call("POST", f"{OLD}/{made['id']}/accept", token=taker.member.token,
                      json={"accept": {"auth_key": made["auth_key"]}}, expect=400)
    assert fault(r)[1] == f"Invalid snapshot: snapshot: {snapshot['id']} status must be " \
                          "available"
    volume_now = await _status(vc, volume["id"])
    assert volume_now["status"] == "awaiting-transfer"
    assert volume_now["os-vol-tenant-attr:tenant_id"] == giver.member.project_id


async def test_the_receivers_quota_is_enforced(vc: VolumeCloud) -> None:
    giver, taker = await _project(vc), await _project(vc)
    volume = await vc.volume(giver.member.token, size=3)
    await vc.snapshot(volume["id"], giver.member.token)
    made = await _offer(vc, giver.member, volume["id"])
    accept = {"accept": {"auth_key": made["auth_key"]}}
    quota = f"/v3/os-quota-sets/{taker.member.project_id}"
    cases = ({"volumes": 0}, {"gigabytes": 5}, {"snapshots": 0},
             {"per_volume_gigabytes": 2})
    for limits in cases:
        await vc.call("PUT", quota, json={"quota_set": limits}, expect=200)
        r = await vc.call("POST", f"{OLD}/{made['id']}/accept", token=taker.member.token,
                          json=accept, expect=413)
        assert fault(r)[0] == "overLimit", limits
        await vc.call("DELETE", quota, expect=200)
    assert (await _status(vc, volume["id"]))["os-vol-tenant-attr:tenant_id"] == \
        giver.member.project_id
    await vc.call("PUT", quota, json={"quota_set": {"gigabytes": 6}}, expect=200)
    await vc.call("POST", f"{OLD}/{made['id']}/accept", token=taker.member.token,
                  json=accept, expect=202)


async def test_two_accepts_at_once_one_wins(vc: VolumeCloud) -> None:
    giver = await _project(vc)
    takers = [await _project(vc) for _ in range(4)]
    volume = await vc.volume(giver.member.token)
    made = await _offer(vc, giver.member, volume["id"])
    answers = await asyncio.gather(*(
        vc.call("POST", f"{OLD}/{made['id']}/accept", token=taker.member.token,
                json={"accept": {"auth_key": made["auth_key"]}}) for taker in takers))
    codes = sorted(r.status_code for r in answers)
    assert codes.count(202) == 1 and set(codes) <= {202, 404, 409}, codes
    winner = takers[[r.status_code for r in answers].index(202)]
    assert (await _status(vc, volume["id"]))["os-vol-tenant-attr:tenant_id"] == \
        winner.member.project_id
    counts = [(await _usage(vc, t.member.project_id))["volumes"] for t in takers]
    assert sorted(counts) == [0, 0, 0, 1]


async def test_another_projects_transfers_are_not_found(vc: VolumeCloud) -> None:
    giver, stranger = await _project(vc), await _project(vc)
    volume = await vc.volume(giver.member.token)
    r = await vc.call("POST", OLD, token=stranger.member.token,
                      json={"transfer": {"volume_id": volume["id"]}}, expect=404)
    assert fault(r) == ("itemNotFound", f"Volume {volume['id']} could not be found.")
    made = await _offer(vc, giver.member, volume["id"])
    for method, suffix in (("GET", ""), ("DELETE", "")):
        await vc.call(method, f"{OLD}/{made['id']}{suffix}", token=stranger.member.token,
                      expect=404)
    r = await vc.call("GET", f"{OLD}/detail", token=stranger.member.token, expect=200)
    assert r.json() == {"transfers": []}
    # Even all_tenants: only the admin's counts.
    r = await vc.call("GET", f"{OLD}?all_tenants=1", token=stranger.member.token, expect=200)
    assert r.json() == {"transfers": []}
    # The admin sees it by id and in every project's list, and may withdraw it.
    await vc.call("GET", f"{OLD}/{made['id']}", expect=200)
    r = await vc.call("GET", f"{OLD}?all_tenants=1", expect=200)
    assert made["id"] in [item["id"] for item in r.json()["transfers"]]
    r = await vc.call("GET", f"{OLD}?all_tenants=1&project_id={giver.member.project_id}",
                      expect=200)
    assert [item["id"] for item in r.json()["transfers"]] == [made["id"]]
    r = await vc.call("GET", OLD, expect=200)
    assert made["id"] not in [item["id"] for item in r.json()["transfers"]]
    await vc.call("DELETE", f"{OLD}/{made['id']}", expect=202)
    assert (await _status(vc, volume["id"]))["status"] == "available"


async def test_readers_read_and_never_write(vc: VolumeCloud) -> None:
    giver, taker = await _project(vc), await _project(vc)
    volume = await vc.volume(giver.member.token)
    r = await vc.call("POST", OLD, token=giver.reader.token,
                      json={"transfer": {"volume_id": volume["id"]}}, expect=403)
    assert fault(r)[0] == "forbidden"
    made = await _offer(vc, giver.member, volume["id"])
    await vc.call("GET", f"{OLD}/detail", token=giver.reader.token, expect=200)
    r = await vc.call("POST", f"{OLD}/{made['id']}/accept", token=taker.reader.token,
                      json={"accept": {"auth_key": made["auth_key"]}}, expect=403)
    assert fault(r)[0] == "forbidden"
    await vc.call("DELETE", f"{OLD}/{made['id']}", token=giver.reader.token, expect=403)


async def test_unknown_transfers_are_404(vc: VolumeCloud) -> None:
    missing = random_id()
    for method, path, body in (
            ("GET", f"{OLD}/{missing}", None), ("DELETE", f"{OLD}/{missing}", None),
            ("POST", f"{OLD}/{missing}/accept", {"accept": {"auth_key": "x"}}),
            ("GET", f"{NEW}/{missing}", None), ("DELETE", f"{NEW}/{missing}", None),
            ("POST", f"{NEW}/{missing}/accept", {"accept": {"auth_key": "x"}})):
        r = await vc.call(method, path, json=body, expect=404)
        assert fault(r) == ("itemNotFound", f"Transfer {missing} could not be found.")
    r = await vc.call("POST", OLD, json={"transfer": {"volume_id": missing}}, expect=404)
    assert fault(r)[0] == "itemNotFound"
    r = await vc.call("PUT", f"{OLD}/{missing}", json={}, expect=405)


@pytest.mark.parametrize("document", [
    {}, {"transfer": None}, {"transfer": {}}, {"transfer": {"volume_id": "not-a-uuid"}},
    {"transfer": {"volume_id": None}}, {"transfer": {"volume_id": 5}},
    {"transfer": {"volume_id": "8f3a5c4e-9c2b-4f7e-8d6a-1b2c3d4e5f60", "name": "   "}},
    {"transfer": {"volume_id": "8f3a5c4e-9c2b-4f7e-8d6a-1b2c3d4e5f60", "name": ""}},
    {"transfer": {"volume_id": "8f3a5c4e-9c2b-4f7e-8d6a-1b2c3d4e5f60", "name": "x" * 256}},
    {"transfer": {"volume_id": "8f3a5c4e-9c2b-4f7e-8d6a-1b2c3d4e5f60", "name": 5}},
    {"transfer": {"volume_id": "8f3a5c4e-9c2b-4f7e-8d6a-1b2c3d4e5f60", "bogus": 1}},
    {"transfer": {"volume_id": "8f3a5c4e-9c2b-4f7e-8d6a-1b2c3d4e5f60",
                  "no_snapshots": "maybe"}},
    {"transfer": {"volume_id": "8f3a5c4e-9c2b-4f7e-8d6a-1b2c3d4e5f60"}, "extra": 1},
    [], "transfer",
])
async def test_create_rejects_bad_bodies(vc: VolumeCloud, document: Any) -> None:
    r = await vc.call("POST", NEW, json=document, expect=400)
    assert fault(r)[0] == "badRequest"


@pytest.mark.parametrize("document", [
    {}, {"accept": None}, {"accept": {}}, {"accept": {"auth_key": None}},
    {"accept": {"auth_key": ["k"]}}, {"accept": {"auth_key": "k", "bogus": 1}},
    {"accept": {"auth_key": "k" * 256}}, {"accept": {"auth_key": "k"}, "extra": 1},
])
async def test_accept_rejects_bad_bodies(vc: VolumeCloud, document: Any) -> None:
    giver = await _project(vc)
    volume = await vc.volume(giver.member.token)
    made = await _offer(vc, giver.member, volume["id"])
    r = await vc.call("POST", f"{OLD}/{made['id']}/accept", json=document, expect=400)
    assert fault(r)[0] == "badRequest"
    assert (await _status(vc, volume["id"]))["status"] == "awaiting-transfer"


async def test_bodies_that_are_not_json(vc: VolumeCloud) -> None:
    for path in (OLD, f"{OLD}/{random_id()}/accept"):
        r = await vc.call("POST", path, content=b"{not json",
                          headers={"Content-Type": "application/json"}, expect=400)
        assert fault(r)[0] == "badRequest"
        r = await vc.call("POST", path, content=b"", expect=400)
        assert fault(r)[0] == "badRequest"


async def test_lists_filter_sort_and_page(vc: VolumeCloud) -> None:
    giver = await _project(vc)
    made = []
    for index in range(3):
        volume = await vc.volume(giver.member.token)
        made.append(await _offer(vc, giver.member, volume["id"], name=f"t{index}"))
        await asyncio.sleep(0.01)
    token = giver.member.token
    r = await vc.call("GET", OLD, token=token, expect=200)
    assert [item["id"] for item in r.json()["transfers"]] == [t["id"] for t in made]
    r = await vc.call("GET", f"{OLD}?name=t1", token=token, expect=200)
    assert [item["id"] for item in r.json()["transfers"]] == [made[1]["id"]]
    r = await vc.call("GET", f"{OLD}/detail?volume_id={made[2]['volume_id']}", token=token,
                      expect=200)
    assert [item["id"] for item in r.json()["transfers"]] == [made[2]["id"]]
    r = await vc.call("GET", f"{NEW}?limit=2", token=token, expect=200)
    page = r.json()
    assert [item["id"] for item in page["transfers"]] == [made[0]["id"], made[1]["id"]]
    assert f"marker={made[1]['id']}" in page["transfers_links"][0]["href"]
    r = await vc.call("GET", f"{NEW}?limit=2&marker={made[1]['id']}", token=token,
                      expect=200)
    assert [item["id"] for item in r.json()["transfers"]] == [made[2]["id"]]
    r = await vc.call("GET", f"{NEW}?sort=name:desc", token=token, expect=200)
    assert [item["name"] for item in r.json()["transfers"]] == ["t2", "t1", "t0"]
    r = await vc.call("GET", f"{NEW}?offset=1&limit=1", token=token, expect=200)
    assert [item["id"] for item in r.json()["transfers"]] == [made[1]["id"]]
    for bad in ("bogus=1", "limit=-1", "limit=x", "offset=x", "sort=auth_key",
                "sort=name:sideways", f"marker={random_id()}"):
        r = await vc.call("GET", f"{NEW}?{bad}", token=token)
        assert r.status_code in (400, 404), (bad, r.text)
        assert fault(r)[0] in ("badRequest", "itemNotFound")


async def test_the_project_in_the_url_must_be_the_callers(vc: VolumeCloud) -> None:
    giver, other = await _project(vc), await _project(vc)
    r = await vc.call("GET", f"/v3/{other.member.project_id}/os-volume-transfer",
                      token=giver.member.token, expect=400)
    assert fault(r)[0] == "badRequest"


async def test_deleting_the_volume_removes_its_transfer(vc: VolumeCloud) -> None:
    giver = await _project(vc)
    volume = await vc.volume(giver.member.token)
    made = await _offer(vc, giver.member, volume["id"])
    await vc.action(volume["id"], {"os-force_delete": {}})
    await vc.wait(f"/v3/volumes/{volume['id']}", "volume", "gone")
    await vc.call("GET", f"{OLD}/{made['id']}", token=giver.member.token, expect=404)


async def test_the_extension_is_listed(vc: VolumeCloud) -> None:
    r = await vc.call("GET", "/v3/extensions", expect=200)
    assert "os-volume-transfer" in [e["alias"] for e in r.json()["extensions"]]


async def test_a_project_may_take_back_its_own_offer(vc: VolumeCloud) -> None:
    """Cinder lets the giving project accept: nothing moves between projects, so a quota
    full to the volume does not refuse it."""
    giver = await _project(vc)
    volume = await vc.volume(giver.member.token)
    made = await _offer(vc, giver.member, volume["id"])
    await vc.call("PUT", f"/v3/os-quota-sets/{giver.member.project_id}", expect=200,
                  json={"quota_set": {"volumes": 1}})
    await vc.call("POST", f"{OLD}/{made['id']}/accept", token=giver.member.token,
                  json={"accept": {"auth_key": made["auth_key"]}}, expect=202)
    shown = await _status(vc, volume["id"])
    assert shown["status"] == "available"
    assert shown["os-vol-tenant-attr:tenant_id"] == giver.member.project_id
