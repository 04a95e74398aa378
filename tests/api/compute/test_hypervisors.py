"""``/os-hypervisors``: nodes, their state, and their capacity as Placement counts it."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from helpers.compute import version
from helpers.compute_rows import add_host, add_instance, add_node, add_provider, allocate
from helpers.inprocess import CloudClient, quiet_cloud

BRIEF = {"id", "hypervisor_hostname", "state", "status"}
DETAIL_288 = BRIEF | {"hypervisor_type", "hypervisor_version", "host_ip", "service", "uptime"}
STATS = {"vcpus", "memory_mb", "local_gb", "vcpus_used", "memory_mb_used", "local_gb_used",
         "free_ram_mb", "free_disk_gb", "current_workload", "running_vms",
         "disk_available_least"}
DETAIL_21 = BRIEF | {"hypervisor_type", "hypervisor_version", "host_ip", "service",
                     "cpu_info"} | STATS


@pytest.fixture
async def cloud(tmp_path: Path) -> AsyncIterator[CloudClient]:
    async for client in quiet_cloud(tmp_path):
        yield client


async def test_list_ids_and_fields_per_version(cloud: CloudClient) -> None:
    service, node = await add_host(cloud, "hv1")
    await add_host(cloud, "hv2", seen_ago=3600, disabled=True, reason="broken")
    r = await cloud.call("GET", "/v2.1/os-hypervisors", expect=200)
    listed = r.json()["hypervisors"]
    assert [set(h) for h in listed] == [BRIEF, BRIEF]
    assert listed[0] == {"id": node.id, "hypervisor_hostname": "hv1", "state": "up",
                         "status": "enabled"}
    assert (listed[1]["state"], listed[1]["status"]) == ("down", "disabled")
    r = await cloud.call("GET", "/v2.1/os-hypervisors", expect=200, headers=version("2.53"))
    assert r.json()["hypervisors"][0]["id"] == node.uuid
    detail = (await cloud.call("GET", "/v2.1/os-hypervisors/detail", expect=200)).json()
    first = detail["hypervisors"][0]
    assert set(first) == DETAIL_21
    assert first["cpu_info"] == '{"arch": "x86_64"}'
    assert first["service"] == {"id": service.id, "host": "hv1", "disabled_reason": None}
    first = (await cloud.call("GET", "/v2.1/os-hypervisors/detail", expect=200,
                              headers=version("2.28"))).json()["hypervisors"][0]
    assert first["cpu_info"] == {"arch": "x86_64"}
    first = (await cloud.call("GET", "/v2.1/os-hypervisors/detail", expect=200,
                              headers=version("2.88"))).json()["hypervisors"][0]
    assert set(first) == DETAIL_288
    assert first["service"]["id"] == service.uuid and first["uptime"] is None


async def test_used_amounts_come_from_placement(cloud: CloudClient) -> None:
    _, node = await add_host(cloud, "hv3")
    await add_provider(cloud, node, reserved_mb=512)
    await add_instance(cloud, host="hv3")
    await add_instance(cloud, host="hv3", task_state="rebooting")
    await allocate(cloud, node, str(uuid.uuid4()),
                   {"VCPU": 3, "MEMORY_MB": 2048, "DISK_GB": 20})
    r = await cloud.call("GET", f"/v2.1/os-hypervisors/{node.id}", expect=200)
    shown = r.json()["hypervisor"]
    assert {key: shown[key] for key in STATS} == {
        "vcpus": 8, "memory_mb": 16384, "local_gb": 200, "vcpus_used": 3,
        "memory_mb_used": 2048 + 512, "local_gb_used": 20, "free_ram_mb": 16384 - 2560,
        "free_disk_gb": 180, "current_workload": 1, "running_vms": 2,
        "disk_available_least": 180}
    stats = (await cloud.call("GET", "/v2.1/os-hypervisors/statistics", expect=200)).json()
    assert stats["hypervisor_statistics"]["count"] == 1
    assert stats["hypervisor_statistics"]["vcpus_used"] == 3
    await cloud.call("GET", "/v2.1/os-hypervisors/statistics", expect=404,
                     headers=version("2.88"))


async def test_statistics_leave_out_disabled_services(cloud: CloudClient) -> None:
    await add_host(cloud, "hv4")
    await add_host(cloud, "hv5", disabled=True)
    stats = (await cloud.call("GET", "/v2.1/os-hypervisors/statistics", expect=200)).json()
    assert stats["hypervisor_statistics"]["count"] == 1
    assert stats["hypervisor_statistics"]["vcpus"] == 8
    # A node without a provider has given out nothing.
    assert stats["hypervisor_statistics"]["memory_mb_used"] == 0


async def test_paging_from_233(cloud: CloudClient) -> None:
    nodes = [(await add_host(cloud, f"pg{i}"))[1] for i in range(3)]
    r = await cloud.call("GET", "/v2.1/os-hypervisors?limit=2", expect=200,
                         headers=version("2.33"))
    body = r.json()
    assert [h["id"] for h in body["hypervisors"]] == [nodes[0].id, nodes[1].id]
    assert f"marker={nodes[1].id}" in body["hypervisors_links"][0]["href"]
    r = await cloud.call("GET", f"/v2.1/os-hypervisors/detail?marker={nodes[1].id}",
                         expect=200, headers=version("2.33"))
    assert [h["id"] for h in r.json()["hypervisors"]] == [nodes[2].id]
    r = await cloud.call("GET", f"/v2.1/os-hypervisors?limit=1&marker={nodes[0].uuid}",
                         expect=200, headers=version("2.53"))
    assert [h["id"] for h in r.json()["hypervisors"]] == [nodes[1].uuid]
    await cloud.call("GET", f"/v2.1/os-hypervisors?marker={nodes[0].id}", expect=400,
                     headers=version("2.53"))
    await cloud.call("GET", "/v2.1/os-hypervisors?limit=x", expect=400,
                     headers=version("2.33"))
    # Below 2.33 paging parameters are ignored.
    r = await cloud.call("GET", "/v2.1/os-hypervisors?limit=1", expect=200)
    assert len(r.json()["hypervisors"]) == 3 and "hypervisors_links" not in r.json()


async def test_pattern_and_with_servers_from_253(cloud: CloudClient) -> None:
    service, node = await add_host(cloud, "rack1-a")
    other = await add_node(cloud, service, name="rack1-b")
    await add_host(cloud, "rack2-a")
    vm = await add_instance(cloud, host="rack1-a", name="web")
    await add_instance(cloud, host="rack1-a", name="gone", deleted=True)
    v = version("2.53")
    r = await cloud.call("GET", "/v2.1/os-hypervisors?hypervisor_hostname_pattern=rack1",
                         expect=200, headers=v)
    assert [h["hypervisor_hostname"] for h in r.json()["hypervisors"]] == ["rack1-a",
                                                                           "rack1-b"]
    r = await cloud.call("GET", "/v2.1/os-hypervisors?hypervisor_hostname_pattern=nope",
                         expect=404, headers=v)
    assert "nope" in r.json()["itemNotFound"]["message"]
    await cloud.call("GET", "/v2.1/os-hypervisors?hypervisor_hostname_pattern=r&limit=1",
                     expect=400, headers=v)
    r = await cloud.call("GET", "/v2.1/os-hypervisors/detail?with_servers=true", expect=200,
                         headers=v)
    by_name = {h["hypervisor_hostname"]: h for h in r.json()["hypervisors"]}
    assert by_name["rack1-a"]["servers"] == [{"name": "web", "uuid": vm.uuid}]
    assert "servers" not in by_name["rack1-b"]
    r = await cloud.call("GET", "/v2.1/os-hypervisors?with_servers=1", expect=200,
                         headers=version("2.75"))
    assert all("servers" in h for h in r.json()["hypervisors"])
    await cloud.call("GET", "/v2.1/os-hypervisors?with_servers=maybe", expect=400, headers=v)
    r = await cloud.call("GET", f"/v2.1/os-hypervisors/{other.uuid}?with_servers=true",
                         expect=200, headers=version("2.75"))
    assert r.json()["hypervisor"]["servers"] == []
    await cloud.call("GET", "/v2.1/os-hypervisors?bogus=1", expect=400,
                     headers=version("2.75"))
    assert node.id


async def test_show_ids_and_errors(cloud: CloudClient) -> None:
    _, node = await add_host(cloud, "hv6")
    r = await cloud.call("GET", f"/v2.1/os-hypervisors/{node.id}", expect=200)
    assert r.json()["hypervisor"]["hypervisor_hostname"] == "hv6"
    r = await cloud.call("GET", "/v2.1/os-hypervisors/abc", expect=404)
    assert r.json()["itemNotFound"]["message"] == "Hypervisor with ID 'abc' could not be found."
    await cloud.call("GET", "/v2.1/os-hypervisors/9999", expect=404)
    await cloud.call("GET", f"/v2.1/os-hypervisors/{node.uuid}", expect=404)
    r = await cloud.call("GET", f"/v2.1/os-hypervisors/{node.id}", expect=400,
                         headers=version("2.53"))
    assert r.json()["badRequest"]["message"] == f"Invalid uuid {node.id}"
    await cloud.call("GET", f"/v2.1/os-hypervisors/{uuid.uuid4()}", expect=404,
                     headers=version("2.53"))
    r = await cloud.call("GET", f"/v2.1/os-hypervisors/{node.uuid}", expect=200,
                         headers=version("2.53"))
    assert r.json()["hypervisor"]["id"] == node.uuid


async def test_admin_only(cloud: CloudClient) -> None:
    _, node = await add_host(cloud, "hv7")
    _, token = await cloud.project_user_token("member")
    for path in ("/v2.1/os-hypervisors", "/v2.1/os-hypervisors/detail",
                 "/v2.1/os-hypervisors/statistics", f"/v2.1/os-hypervisors/{node.id}"):
        r = await cloud.call("GET", path, token=token, expect=403)
        assert "forbidden" in r.json()


async def test_the_fake_node_is_a_hypervisor(compute: CloudClient) -> None:
    deadline = time.monotonic() + 10
    found: list[dict[str, object]] = []
    while not found and time.monotonic() < deadline:
        r = await compute.call("GET", "/v2.1/os-hypervisors/detail", expect=200,
                               headers=version("2.87"))
        found = r.json()["hypervisors"]
        await asyncio.sleep(0.05)
    [node] = found
    assert (node["state"], node["status"]) == ("up", "enabled")
    assert node["vcpus"] == compute.svc.config.compute.fake_vcpus
    # The conductor reports the configured reserved memory into Placement.
    assert node["memory_mb_used"] == compute.svc.config.compute.reserved_host_memory_mb


async def test_search_and_servers_before_253(cloud: CloudClient) -> None:
    # The routes Tempest's HypervisorAdminUnderV252Test uses, gone from 2.53 (the list's
    # hypervisor_hostname_pattern and with_servers instead).
    await add_host(cloud, "rack3-a")
    service, _ = await add_host(cloud, "rack3-b")
    await add_node(cloud, service, name="rack4-a")
    vm = await add_instance(cloud, host="rack3-a", name="db")
    r = await cloud.call("GET", "/v2.1/os-hypervisors/rack3/search", expect=200)
    found = r.json()["hypervisors"]
    assert [h["hypervisor_hostname"] for h in found] == ["rack3-a", "rack3-b"]
    assert all(set(h) == BRIEF and isinstance(h["id"], int) for h in found)
    r = await cloud.call("GET", "/v2.1/os-hypervisors/rack3/servers", expect=200)
    by_name = {h["hypervisor_hostname"]: h for h in r.json()["hypervisors"]}
    assert by_name["rack3-a"]["servers"] == [{"name": "db", "uuid": vm.uuid}]
    assert "servers" not in by_name["rack3-b"]
    for route in ("search", "servers"):
        r = await cloud.call("GET", f"/v2.1/os-hypervisors/nowhere/{route}", expect=404)
        assert "nowhere" in r.json()["itemNotFound"]["message"]
        await cloud.call("GET", f"/v2.1/os-hypervisors/rack3/{route}", expect=404,
                         headers=version("2.53"))
        _, token = await cloud.project_user_token("member")
        await cloud.call("GET", f"/v2.1/os-hypervisors/rack3/{route}", token=token,
                         expect=403)


async def test_uptime_is_the_hosts(compute: CloudClient) -> None:
    """Nova's get_host_uptime: the host's `uptime` output, asked of its agent; before 2.88
    at /uptime (admins), from 2.88 in the show (and /uptime is gone)."""
    deadline = time.monotonic() + 10
    found: list[dict[str, object]] = []
    while not found and time.monotonic() < deadline:
        found = (await compute.call("GET", "/v2.1/os-hypervisors", expect=200)
                 ).json()["hypervisors"]
        await asyncio.sleep(0.05)
    [node] = found
    r = await compute.call("GET", f"/v2.1/os-hypervisors/{node['id']}/uptime", expect=200)
    shown = r.json()["hypervisor"]
    assert (shown["id"], shown["hypervisor_hostname"], shown["state"]) == (
        node["id"], node["hypervisor_hostname"], "up")
    assert " up " in shown["uptime"] and "load average" in shown["uptime"]
    _, token = await compute.project_user_token("member")
    await compute.call("GET", f"/v2.1/os-hypervisors/{node['id']}/uptime", token=token,
                       expect=403)
    await compute.call("GET", "/v2.1/os-hypervisors/9999/uptime", expect=404)
    r = await compute.call("GET", "/v2.1/os-hypervisors", headers=version("2.88"),
                           expect=200)
    node_uuid = r.json()["hypervisors"][0]["id"]
    r = await compute.call("GET", f"/v2.1/os-hypervisors/{node_uuid}",
                           headers=version("2.88"), expect=200)
    assert "load average" in r.json()["hypervisor"]["uptime"]
    await compute.call("GET", f"/v2.1/os-hypervisors/{node_uuid}/uptime",
                       headers=version("2.88"), expect=404)


async def test_uptime_of_a_host_that_does_not_answer(cloud: CloudClient) -> None:
    """A host whose service is down is not asked (Nova's ComputeServiceUnavailable)."""
    _, node = await add_host(cloud, "hv-silent", up=False)
    r = await cloud.call("GET", f"/v2.1/os-hypervisors/{node.id}/uptime", expect=400)
    assert r.json()["badRequest"]["message"] == \
        "Compute service of hv-silent is unavailable at this time."
    r = await cloud.call("GET", f"/v2.1/os-hypervisors/{node.uuid}",
                         headers=version("2.88"), expect=200)
    assert r.json()["hypervisor"]["uptime"] is None
