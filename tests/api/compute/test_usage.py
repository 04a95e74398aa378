"""``/os-simple-tenant-usage``: server hours over a window, deleted servers included."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from helpers.compute import version
from helpers.compute_rows import add_instance
from helpers.inprocess import CloudClient, quiet_cloud

T0 = datetime(2024, 1, 1, tzinfo=UTC)
WINDOW = "start=2024-01-01T00:00:00&end=2024-01-02T00:00:00"
SERVER_FIELDS = {"instance_id", "name", "hours", "memory_mb", "local_gb", "vcpus", "flavor",
                 "tenant_id", "started_at", "ended_at", "state", "uptime"}


@pytest.fixture
async def cloud(tmp_path: Path) -> AsyncIterator[CloudClient]:
    async for client in quiet_cloud(tmp_path):
        yield client


async def test_hours_inside_the_window_deleted_servers_included(cloud: CloudClient) -> None:
    # Runs 12:00 -> after the window: 12 hours inside.
    running = await add_instance(cloud, project_id="pa", name="running", vcpus=2, ram=1024,
                                 disk=10, ephemeral=5, launched_at=T0 + timedelta(hours=12),
                                 created_at=T0)
    # Ran from before the window until 06:00, then deleted: 6 hours.
    await add_instance(cloud, project_id="pa", name="deleted", vcpus=1, ram=512, disk=1,
                       launched_at=T0 - timedelta(days=1),
                       terminated_at=T0 + timedelta(hours=6), deleted=True,
                       created_at=T0 + timedelta(seconds=1))
    # Never launched, ended before the window, or started after it: not counted.
    await add_instance(cloud, project_id="pa", name="never")
    await add_instance(cloud, project_id="pa", name="old", launched_at=T0 - timedelta(days=3),
                       terminated_at=T0 - timedelta(days=2), deleted=True)
    await add_instance(cloud, project_id="pa", name="later",
                       launched_at=T0 + timedelta(days=5))
    await add_instance(cloud, project_id="pb", name="other", launched_at=T0)
    r = await cloud.call("GET", f"/v2.1/os-simple-tenant-usage/pa?{WINDOW}", expect=200)
    usage = r.json()["tenant_usage"]
    assert usage["tenant_id"] == "pa"
    assert (usage["start"], usage["stop"]) == ("2024-01-01T00:00:00.000000",
                                               "2024-01-02T00:00:00.000000")
    assert usage["total_hours"] == pytest.approx(18)
    assert usage["total_vcpus_usage"] == pytest.approx(2 * 12 + 1 * 6)
    assert usage["total_memory_mb_usage"] == pytest.approx(1024 * 12 + 512 * 6)
    assert usage["total_local_gb_usage"] == pytest.approx(15 * 12 + 1 * 6)
    servers = {s["name"]: s for s in usage["server_usages"]}
    assert set(servers) == {"running", "deleted"}
    assert set(servers["running"]) == SERVER_FIELDS
    assert servers["running"]["instance_id"] == running.uuid
    assert (servers["running"]["state"], servers["running"]["ended_at"],
            servers["running"]["local_gb"], servers["running"]["flavor"]) == (
        "active", None, 15, "m1.test")
    assert servers["deleted"]["state"] == "terminated"
    assert servers["deleted"]["ended_at"] == "2024-01-01T06:00:00.000000"
    assert servers["deleted"]["uptime"] == 30 * 3600


async def test_list_is_per_project_and_detailed_on_request(cloud: CloudClient) -> None:
    await add_instance(cloud, project_id="pa", launched_at=T0)
    await add_instance(cloud, project_id="pb", launched_at=T0)
    r = await cloud.call("GET", f"/v2.1/os-simple-tenant-usage?{WINDOW}", expect=200)
    usages = r.json()["tenant_usages"]
    assert [u["tenant_id"] for u in usages] == ["pa", "pb"]
    assert all("server_usages" not in u and u["total_hours"] == pytest.approx(24)
               for u in usages)
    r = await cloud.call("GET", f"/v2.1/os-simple-tenant-usage?{WINDOW}&detailed=1",
                         expect=200)
    assert [len(u["server_usages"]) for u in r.json()["tenant_usages"]] == [1, 1]


async def test_window_end_is_clamped_to_now_and_bad_dates_are_400(cloud: CloudClient) -> None:
    await add_instance(cloud, project_id="pc", launched_at=datetime.now(UTC)
                       - timedelta(hours=2))
    r = await cloud.call("GET", "/v2.1/os-simple-tenant-usage/pc?start=2000-01-01T00:00:00"
                         "&end=2999-01-01T00:00:00.5", expect=200)
    usage = r.json()["tenant_usage"]
    assert usage["total_hours"] == pytest.approx(2, abs=0.01)
    assert usage["stop"] < "2999"
    for query in ("start=yesterday", "end=2024-01-01", "start=2024-01-02T00:00:00&"
                  "end=2024-01-01T00:00:00"):
        r = await cloud.call("GET", f"/v2.1/os-simple-tenant-usage?{query}", expect=400)
        assert r.json()["badRequest"]["code"] == 400
    r = await cloud.call("GET", f"/v2.1/os-simple-tenant-usage/empty?{WINDOW}", expect=200)
    assert r.json() == {"tenant_usage": {}}


async def test_paging_from_240(cloud: CloudClient) -> None:
    made = [await add_instance(cloud, project_id="pd", launched_at=T0,
                               created_at=T0 + timedelta(seconds=i)) for i in range(3)]
    v = version("2.40")
    r = await cloud.call("GET", f"/v2.1/os-simple-tenant-usage?{WINDOW}&detailed=1&limit=2",
                         expect=200, headers=v)
    body = r.json()
    assert [s["instance_id"] for s in body["tenant_usages"][0]["server_usages"]] == [
        made[0].uuid, made[1].uuid]
    assert f"marker={made[1].uuid}" in body["tenant_usages_links"][0]["href"]
    r = await cloud.call("GET", f"/v2.1/os-simple-tenant-usage/pd?{WINDOW}&limit=2"
                         f"&marker={made[1].uuid}", expect=200, headers=v)
    assert [s["instance_id"] for s in r.json()["tenant_usage"]["server_usages"]] == [
        made[2].uuid]
    assert "tenant_usage_links" not in r.json()
    await cloud.call("GET", f"/v2.1/os-simple-tenant-usage?{WINDOW}&marker=nope", expect=400,
                     headers=v)
    # Before 2.40 limit and marker are ignored.
    r = await cloud.call("GET", f"/v2.1/os-simple-tenant-usage/pd?{WINDOW}&limit=1",
                         expect=200)
    assert len(r.json()["tenant_usage"]["server_usages"]) == 3
    await cloud.call("GET", f"/v2.1/os-simple-tenant-usage?{WINDOW}&bogus=1", expect=400,
                     headers=version("2.75"))


async def test_policy_admin_lists_readers_see_their_project(cloud: CloudClient) -> None:
    project, token = await cloud.project_user_token("reader")
    await add_instance(cloud, project_id=project["id"], launched_at=T0)
    await cloud.call("GET", f"/v2.1/os-simple-tenant-usage?{WINDOW}", token=token,
                     expect=403)
    r = await cloud.call("GET", f"/v2.1/os-simple-tenant-usage/{project['id']}?{WINDOW}",
                         token=token, expect=200)
    assert r.json()["tenant_usage"]["tenant_id"] == project["id"]
    await cloud.call("GET", f"/v2.1/os-simple-tenant-usage/someone-else?{WINDOW}",
                     token=token, expect=403)
