"""``/os-availability-zone``: the zones compute services report into."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from helpers.compute_rows import add_service
from helpers.inprocess import CloudClient, quiet_cloud


@pytest.fixture
async def cloud(tmp_path: Path) -> AsyncIterator[CloudClient]:
    async for client in quiet_cloud(tmp_path):
        yield client


async def test_no_services_no_zones(cloud: CloudClient) -> None:
    r = await cloud.call("GET", "/v2.1/os-availability-zone", expect=200)
    assert r.json() == {"availabilityZoneInfo": []}


async def test_list_shows_user_zones_and_their_availability(cloud: CloudClient) -> None:
    await add_service(cloud, "a1", zone="az1")
    await add_service(cloud, "a2", zone="az1", disabled=True)
    await add_service(cloud, "b1", zone="az2", disabled=True)
    await add_service(cloud, "ctl", binary="nova-conductor")
    _, token = await cloud.project_user_token("member")
    r = await cloud.call("GET", "/v2.1/os-availability-zone", token=token, expect=200)
    assert r.json() == {"availabilityZoneInfo": [
        {"zoneName": "az1", "zoneState": {"available": True}, "hosts": None},
        {"zoneName": "az2", "zoneState": {"available": False}, "hosts": None}]}


async def test_detail_shows_hosts_services_and_the_internal_zone(cloud: CloudClient) -> None:
    up = await add_service(cloud, "a1", zone="az1")
    await add_service(cloud, "a3", zone="az1", seen_ago=3600)
    await add_service(cloud, "a2", zone="az1", disabled=True)
    await add_service(cloud, "ctl", binary="nova-conductor")
    r = await cloud.call("GET", "/v2.1/os-availability-zone/detail", expect=200)
    zones = {z["zoneName"]: z for z in r.json()["availabilityZoneInfo"]}
    assert set(zones) == {"az1", "internal"}
    az1 = zones["az1"]
    assert az1["zoneState"] == {"available": True}
    # Only enabled services are listed under a zone's hosts, as in Nova.
    assert set(az1["hosts"]) == {"a1", "a3"}
    assert az1["hosts"]["a1"] == {"nova-compute": {
        "available": True, "active": True,
        "updated_at": up.last_seen_up.strftime("%Y-%m-%dT%H:%M:%S.%f")}}
    assert az1["hosts"]["a3"]["nova-compute"]["available"] is False
    assert set(zones["internal"]["hosts"]["ctl"]) == {"nova-conductor"}


async def test_detail_is_admin_only(cloud: CloudClient) -> None:
    _, token = await cloud.project_user_token("member")
    r = await cloud.call("GET", "/v2.1/os-availability-zone/detail", token=token, expect=403)
    assert r.json()["forbidden"]["code"] == 403


async def test_the_fake_node_makes_the_default_zone_available(compute: CloudClient) -> None:
    deadline = time.monotonic() + 10
    info: list[dict[str, object]] = []
    while not info and time.monotonic() < deadline:
        r = await compute.call("GET", "/v2.1/os-availability-zone", expect=200)
        info = r.json()["availabilityZoneInfo"]
        await asyncio.sleep(0.05)
    assert info == [{"zoneName": "nova", "zoneState": {"available": True}, "hosts": None}]
    r = await compute.call("GET", "/v2.1/os-availability-zone/detail", expect=200)
    nova = next(z for z in r.json()["availabilityZoneInfo"] if z["zoneName"] == "nova")
    assert nova["hosts"]["test-node"]["nova-compute"]["available"] is True
