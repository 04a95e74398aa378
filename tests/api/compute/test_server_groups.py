"""``/os-server-groups``: policies per microversion, visibility, quota."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from helpers.compute import version
from helpers.compute_rows import add_instance
from helpers.inprocess import CloudClient, quiet_cloud
from helpers.names import unique
from ownstack.compute.objects.models import Quota, ServerGroup, ServerGroupMember

V21_FIELDS = {"id", "name", "policies", "members", "metadata"}
V264_FIELDS = {"id", "name", "policy", "rules", "members", "project_id", "user_id"}


@pytest.fixture
async def cloud(tmp_path: Path) -> AsyncIterator[CloudClient]:
    async for client in quiet_cloud(tmp_path, "compute.quota.server_groups=3"):
        yield client


async def create(cloud: CloudClient, v: str, token: str | None = None, expect: int = 200,
                 **fields: Any) -> dict[str, Any]:
    r = await cloud.call("POST", "/v2.1/os-server-groups", token=token, expect=expect,
                         headers=version(v),
                         json={"server_group": {"name": unique("g"), **fields}})
    return dict(r.json())


async def test_views_per_microversion(cloud: CloudClient) -> None:
    group = (await create(cloud, "2.1", policies=["anti-affinity"]))["server_group"]
    assert set(group) == V21_FIELDS
    assert (group["policies"], group["members"], group["metadata"]) == (["anti-affinity"],
                                                                        [], {})
    path = f"/v2.1/os-server-groups/{group['id']}"
    shown = (await cloud.call("GET", path, headers=version("2.13"))).json()["server_group"]
    assert set(shown) == V21_FIELDS | {"project_id", "user_id"}
    shown = (await cloud.call("GET", path, headers=version("2.64"))).json()["server_group"]
    assert set(shown) == V264_FIELDS
    assert (shown["policy"], shown["rules"]) == ("anti-affinity", {})
    made = (await create(cloud, "2.64", policy="anti-affinity",
                         rules={"max_server_per_host": "2"}))["server_group"]
    assert made["rules"] == {"max_server_per_host": 2}
    listed = (await cloud.call("GET", "/v2.1/os-server-groups", expect=200,
                               headers=version("2.64"))).json()["server_groups"]
    assert [g["id"] for g in listed] == [group["id"], made["id"]]


async def test_policies_by_microversion_and_bad_bodies(cloud: CloudClient) -> None:
    await create(cloud, "2.14", expect=400, policies=["soft-affinity"])
    await create(cloud, "2.15", policies=["soft-affinity"])
    for bad in ({"policies": ["affinity", "anti-affinity"]}, {"policies": []},
                {"policies": ["spread"]}, {"policy": "affinity"}):
        await create(cloud, "2.63", expect=400, **bad)
    for bad in ({"policies": ["affinity"]}, {"policy": "spread"}, {},
                {"policy": "anti-affinity", "rules": {"max_server_per_host": 0}},
                {"policy": "anti-affinity", "rules": {"other": 1}}):
        await create(cloud, "2.64", expect=400, **bad)
    r = await create(cloud, "2.64", expect=400, policy="affinity",
                     rules={"max_server_per_host": 2})
    assert r["badRequest"]["message"] == "Only anti-affinity policy supports rules."
    r = await cloud.call("POST", "/v2.1/os-server-groups", expect=400, json={
        "server_group": {"name": " padded", "policies": ["affinity"]}})
    assert "badRequest" in r.json()


async def test_members_are_the_live_servers(cloud: CloudClient) -> None:
    group = (await create(cloud, "2.64", policy="affinity"))["server_group"]
    live = await add_instance(cloud, project_id="p1")
    gone = await add_instance(cloud, project_id="p1", deleted=True)
    async with cloud.svc.write() as db:
        row = (await db.execute(ServerGroup.__table__.select().where(
            ServerGroup.uuid == group["id"]))).first()
        assert row is not None
        db.add_all([ServerGroupMember(group_id=row.id, instance_uuid=live.uuid),
                    ServerGroupMember(group_id=row.id, instance_uuid=gone.uuid)])
    shown = (await cloud.call("GET", f"/v2.1/os-server-groups/{group['id']}",
                              expect=200)).json()["server_group"]
    assert shown["members"] == [live.uuid]
    await cloud.call("DELETE", f"/v2.1/os-server-groups/{group['id']}", expect=204)
    await cloud.call("GET", f"/v2.1/os-server-groups/{group['id']}", expect=404)
    async with cloud.svc.read() as db:
        left = (await db.execute(ServerGroupMember.__table__.select())).all()
    assert left == []


async def test_projects_see_only_their_groups(cloud: CloudClient) -> None:
    project, token = await cloud.project_user_token("member")
    _, other_token = await cloud.project_user_token("member")
    mine = (await create(cloud, "2.64", token=token, policy="affinity"))["server_group"]
    assert mine["project_id"] == project["id"]
    await create(cloud, "2.64", token=other_token, policy="affinity")
    path = f"/v2.1/os-server-groups/{mine['id']}"
    r = await cloud.call("GET", path, token=other_token, expect=404)
    assert r.json()["itemNotFound"]["message"] == (
        f"Instance group {mine['id']} could not be found.")
    await cloud.call("DELETE", path, token=other_token, expect=404)
    listed = (await cloud.call("GET", "/v2.1/os-server-groups", token=token,
                               expect=200)).json()["server_groups"]
    assert [g["id"] for g in listed] == [mine["id"]]
    await cloud.call("GET", "/v2.1/os-server-groups?all_projects=True", token=token,
                     expect=403)
    everything = (await cloud.call("GET", "/v2.1/os-server-groups?all_projects=True",
                                   expect=200)).json()["server_groups"]
    assert len(everything) == 2
    # The admin's own list is its own project's.
    own = (await cloud.call("GET", "/v2.1/os-server-groups", expect=200)).json()
    assert own["server_groups"] == []
    await cloud.call("GET", path, expect=200)
    await cloud.call("GET", f"/v2.1/os-server-groups/{uuid.uuid4()}", expect=404)
    _, reader = await cloud.project_user_token("reader")
    await create(cloud, "2.64", token=reader, expect=403, policy="affinity")


async def test_limit_offset_and_strict_query(cloud: CloudClient) -> None:
    made = [(await create(cloud, "2.64", policy="affinity"))["server_group"]["id"]
            for _ in range(3)]
    r = await cloud.call("GET", "/v2.1/os-server-groups?limit=1&offset=1", expect=200)
    assert [g["id"] for g in r.json()["server_groups"]] == [made[1]]
    for query in ("limit=x", "offset=-1", "limit=-2"):
        await cloud.call("GET", f"/v2.1/os-server-groups?{query}", expect=400)
    await cloud.call("GET", "/v2.1/os-server-groups?bogus=1", expect=200,
                     headers=version("2.74"))
    await cloud.call("GET", "/v2.1/os-server-groups?bogus=1", expect=400,
                     headers=version("2.75"))


async def test_quota(cloud: CloudClient) -> None:
    _, token = await cloud.project_user_token("member")
    for _ in range(3):
        await create(cloud, "2.64", token=token, policy="anti-affinity")
    r = await create(cloud, "2.64", token=token, expect=403, policy="anti-affinity")
    assert r["forbidden"]["message"] == "Quota exceeded, too many server groups."
    listed = (await cloud.call("GET", "/v2.1/os-server-groups", token=token)).json()
    await cloud.call("DELETE", f"/v2.1/os-server-groups/{listed['server_groups'][0]['id']}",
                     token=token, expect=204)
    await create(cloud, "2.64", token=token, policy="anti-affinity")


async def test_a_project_quota_overrides_the_default(cloud: CloudClient) -> None:
    project, token = await cloud.project_user_token("member")
    async with cloud.svc.write() as db:
        db.add(Quota(project_id=project["id"], user_id="", resource="server_groups",
                     hard_limit=1))
    await create(cloud, "2.64", token=token, policy="affinity")
    await create(cloud, "2.64", token=token, expect=403, policy="affinity")
    async with cloud.svc.write() as db:
        await db.execute(Quota.__table__.update().values(hard_limit=-1))
    for _ in range(4):
        await create(cloud, "2.64", token=token, policy="affinity")
