"""``/os-services``: what an operator sees and may change about compute services."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from helpers.compute import version
from helpers.compute_rows import PLACEMENT, add_host, add_instance, add_provider, add_service
from helpers.inprocess import CloudClient, quiet_cloud

FIELDS_21 = {"id", "binary", "host", "zone", "status", "state", "updated_at",
             "disabled_reason"}


@pytest.fixture
async def cloud(tmp_path: Path) -> AsyncIterator[CloudClient]:
    async for client in quiet_cloud(tmp_path, "compute.service_down_time=30"):
        yield client


async def test_list_shows_state_zone_and_fields_per_version(cloud: CloudClient) -> None:
    up = await add_service(cloud, "c1", zone="az1")
    await add_service(cloud, "c2", seen_ago=120, disabled=True, reason="maintenance")
    await add_service(cloud, "ctl", binary="nova-conductor")
    r = await cloud.call("GET", "/v2.1/os-services", expect=200)
    services = {s["host"]: s for s in r.json()["services"]}
    assert set(services["c1"]) == FIELDS_21
    assert services["c1"]["id"] == up.id
    assert (services["c1"]["state"], services["c1"]["status"], services["c1"]["zone"]) == (
        "up", "enabled", "az1")
    assert (services["c2"]["state"], services["c2"]["status"],
            services["c2"]["disabled_reason"]) == ("down", "disabled", "maintenance")
    assert services["ctl"]["zone"] == "internal"
    assert services["c1"]["updated_at"].startswith(up.last_seen_up.strftime("%Y-%m-%dT%H:%M"))
    r = await cloud.call("GET", "/v2.1/os-services", expect=200, headers=version("2.11"))
    assert all(set(s) == FIELDS_21 | {"forced_down"} for s in r.json()["services"])
    r = await cloud.call("GET", "/v2.1/os-services", expect=200, headers=version("2.53"))
    assert {s["id"] for s in r.json()["services"]} >= {up.uuid}


async def test_forced_down_is_down_whatever_the_heartbeat(cloud: CloudClient) -> None:
    await add_service(cloud, "fd", forced_down=True)
    r = await cloud.call("GET", "/v2.1/os-services?host=fd", expect=200,
                         headers=version("2.11"))
    [service] = r.json()["services"]
    assert (service["state"], service["forced_down"]) == ("down", True)


async def test_filters_and_strict_query(cloud: CloudClient) -> None:
    await add_service(cloud, "f1")
    await add_service(cloud, "f1", binary="nova-conductor")
    await add_service(cloud, "f2")
    r = await cloud.call("GET", "/v2.1/os-services?host=f1&binary=nova-compute", expect=200)
    assert [(s["host"], s["binary"]) for s in r.json()["services"]] == [("f1", "nova-compute")]
    r = await cloud.call("GET", "/v2.1/os-services?binary=nova-conductor", expect=200)
    assert [s["host"] for s in r.json()["services"]] == ["f1"]
    await cloud.call("GET", "/v2.1/os-services?bogus=1", expect=200, headers=version("2.74"))
    r = await cloud.call("GET", "/v2.1/os-services?bogus=1", expect=400,
                         headers=version("2.75"))
    assert "bogus" in r.json()["badRequest"]["message"]


async def test_update_by_uuid(cloud: CloudClient) -> None:
    service = await add_service(cloud, "u1")
    path = f"/v2.1/os-services/{service.uuid}"
    r = await cloud.call("PUT", path, expect=200, headers=version("2.53"),
                         json={"status": "disabled", "disabled_reason": "kernel update"})
    shown = r.json()["service"]
    assert (shown["id"], shown["status"], shown["disabled_reason"]) == (
        service.uuid, "disabled", "kernel update")
    assert shown["forced_down"] is False
    r = await cloud.call("PUT", path, expect=200, headers=version("2.53"),
                         json={"forced_down": True})
    assert (r.json()["service"]["state"], r.json()["service"]["status"]) == ("down",
                                                                            "disabled")
    r = await cloud.call("PUT", path, expect=200, headers=version("2.96"),
                         json={"status": "enabled", "forced_down": False})
    shown = r.json()["service"]
    assert (shown["status"], shown["disabled_reason"], shown["state"]) == ("enabled", None,
                                                                           "up")
    listed = await cloud.call("GET", "/v2.1/os-services?host=u1", headers=version("2.53"))
    assert listed.json()["services"][0]["status"] == "enabled"


async def test_update_errors(cloud: CloudClient) -> None:
    service = await add_service(cloud, "e1")
    conductor = await add_service(cloud, "e1", binary="nova-conductor")
    path = f"/v2.1/os-services/{service.uuid}"
    v = version("2.53")
    for bad in ({}, {"disabled_reason": "x"}, {"status": "enabled", "disabled_reason": "x"},
                {"status": "paused"}, {"status": "disabled", "extra": 1},
                {"forced_down": "yes"}):
        r = await cloud.call("PUT", path, headers=v, json=bad)
        assert r.status_code == 400, bad
    r = await cloud.call("PUT", path, expect=400, headers=v, json={})
    assert "No updates were requested" in r.json()["badRequest"]["message"]
    r = await cloud.call("PUT", f"/v2.1/os-services/{conductor.uuid}", expect=400, headers=v,
                         json={"status": "disabled"})
    assert "Only nova-compute services can be updated" in r.json()["badRequest"]["message"]
    r = await cloud.call("PUT", "/v2.1/os-services/enable", expect=400, headers=v,
                         json={"status": "disabled"})
    assert r.json()["badRequest"]["message"] == "Invalid uuid enable"
    await cloud.call("PUT", "/v2.1/os-services/0b6a42a4-9a4f-4b3c-9d5e-5b0c7b0d0c11",
                     expect=404, headers=v, json={"status": "disabled"})
    _, token = await cloud.project_user_token("member")
    await cloud.call("PUT", path, token=token, expect=403, headers=v,
                     json={"status": "disabled"})
    await cloud.call("GET", "/v2.1/os-services", token=token, expect=403)
    await cloud.call("DELETE", path, token=token, expect=403, headers=v)


async def test_legacy_actions_before_253(cloud: CloudClient) -> None:
    await add_service(cloud, "l1")
    target = {"host": "l1", "binary": "nova-compute"}
    r = await cloud.call("PUT", "/v2.1/os-services/disable", expect=200, json=target)
    assert r.json() == {"service": {**target, "status": "disabled"}}
    r = await cloud.call("PUT", "/v2.1/os-services/disable-log-reason", expect=200,
                         json={**target, "disabled_reason": "rack move"})
    assert r.json()["service"]["disabled_reason"] == "rack move"
    listed = (await cloud.call("GET", "/v2.1/os-services?host=l1")).json()["services"][0]
    assert (listed["status"], listed["disabled_reason"]) == ("disabled", "rack move")
    r = await cloud.call("PUT", "/v2.1/os-services/enable", expect=200, json=target)
    assert r.json()["service"]["status"] == "enabled"
    listed = (await cloud.call("GET", "/v2.1/os-services?host=l1")).json()["services"][0]
    assert listed["disabled_reason"] is None
    await cloud.call("PUT", "/v2.1/os-services/force-down", expect=404,
                     json={**target, "forced_down": True})
    r = await cloud.call("PUT", "/v2.1/os-services/force-down", expect=200,
                         headers=version("2.11"), json={**target, "forced_down": True})
    assert r.json()["service"]["forced_down"] is True
    await cloud.call("PUT", "/v2.1/os-services/disable-log-reason", expect=400, json=target)
    await cloud.call("PUT", "/v2.1/os-services/reboot", expect=404, json=target)
    await cloud.call("PUT", "/v2.1/os-services/enable", expect=400, json={"host": "l1"})
    r = await cloud.call("PUT", "/v2.1/os-services/enable", expect=404,
                         json={"host": "nowhere", "binary": "nova-compute"})
    assert "nowhere" in r.json()["itemNotFound"]["message"]


async def test_delete_refuses_while_hosting_then_removes_nodes_and_provider(
        cloud: CloudClient) -> None:
    service, node = await add_host(cloud, "d1")
    await add_provider(cloud, node)
    vm = await add_instance(cloud, host="d1")
    path = f"/v2.1/os-services/{service.uuid}"
    r = await cloud.call("DELETE", path, expect=409, headers=version("2.53"))
    assert "hosting instances" in r.json()["conflictingRequest"]["message"]
    async with cloud.svc.write() as db:
        row = await db.get(type(vm), vm.uuid)
        row.deleted = True
    await cloud.call("DELETE", path, expect=204, headers=version("2.53"))
    listed = (await cloud.call("GET", "/v2.1/os-services?host=d1")).json()["services"]
    assert listed == []
    hypervisors = (await cloud.call("GET", "/v2.1/os-hypervisors")).json()["hypervisors"]
    assert "d1" not in [h["hypervisor_hostname"] for h in hypervisors]
    await cloud.on("placement", "GET", f"/resource_providers/{node.uuid}", expect=404,
                   headers=PLACEMENT)
    await cloud.call("DELETE", path, expect=404, headers=version("2.53"))


async def test_delete_ids_before_and_from_253(cloud: CloudClient) -> None:
    service = await add_service(cloud, "d2")
    await cloud.call("DELETE", f"/v2.1/os-services/{service.uuid}", expect=400)
    await cloud.call("DELETE", f"/v2.1/os-services/{service.id}", expect=400,
                     headers=version("2.53"))
    await cloud.call("DELETE", "/v2.1/os-services/99999", expect=404)
    await cloud.call("DELETE", f"/v2.1/os-services/{service.id}", expect=204)


async def test_the_fake_node_registers_and_disabling_it_reaches_placement(
        compute: CloudClient) -> None:
    """End to end: the agent's report makes the service; disabling it is seen by the
    conductor's next report, which marks the provider COMPUTE_STATUS_DISABLED."""
    deadline = time.monotonic() + 10
    services: list[dict[str, str]] = []
    while time.monotonic() < deadline:
        r = await compute.call("GET", "/v2.1/os-services?host=test-node&binary=nova-compute",
                               expect=200, headers=version("2.53"))
        services = r.json()["services"]
        if services:
            break
        await asyncio.sleep(0.05)
    [service] = services
    assert (service["binary"], service["state"], service["status"]) == (
        "nova-compute", "up", "enabled")
    await compute.call("PUT", f"/v2.1/os-services/{service['id']}", expect=200,
                       headers=version("2.53"), json={"status": "disabled"})
    r = await compute.call("GET", "/v2.1/os-hypervisors", expect=200, headers=version("2.53"))
    [node] = [h for h in r.json()["hypervisors"] if h["hypervisor_hostname"].startswith(
        "test-node")]
    assert node["status"] == "disabled"
    traits: list[str] = []
    while time.monotonic() < deadline + 10:
        r = await compute.on("placement", "GET", f"/resource_providers/{node['id']}/traits",
                             expect=200, headers=PLACEMENT)
        traits = r.json()["traits"]
        if "COMPUTE_STATUS_DISABLED" in traits:
            break
        await asyncio.sleep(0.05)
    assert "COMPUTE_STATUS_DISABLED" in traits
