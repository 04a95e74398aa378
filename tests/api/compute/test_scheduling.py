"""Scheduling seen through the API: POST /servers lands on a host, or ends in ERROR with a
fault that says why."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from helpers.compute import boot_id, boot_setup, show, wait_status
from helpers.inprocess import CloudClient, cloud_config, make_cloud
from ownstack.compute import rpc


@pytest.fixture
async def nodeless(tmp_path: Path) -> AsyncIterator[CloudClient]:
    """A cloud whose compute nodes the test reports itself (no agents)."""
    async for client in make_cloud(cloud_config(tmp_path, "roles=api,conductor")):
        yield client


async def report(cloud: CloudClient, node: str, **resources: Any) -> None:
    await cloud.svc.bus.call(rpc.CONDUCTOR_TOPIC, "report_node", {
        "host": node, "node": node, "availability_zone": "nova", "host_ip": None,
        "resources": {"vcpus": 8, "memory_mb": 16384, "disk_gb": 100,
                      "hypervisor_type": "fake", "hypervisor_version": 1, "traits": [],
                      **resources}})


async def placed_host(cloud: CloudClient, server_id: str) -> str:
    for _ in range(300):
        server = (await show(cloud, None, server_id))["server"]
        if server.get("OS-EXT-SRV-ATTR:host"):
            return str(server["OS-EXT-SRV-ATTR:host"])
        await asyncio.sleep(0.01)
    raise AssertionError(f"server {server_id} was never placed")


async def test_boot_is_placed_on_the_roomiest_node(nodeless: CloudClient) -> None:
    await report(nodeless, "small", memory_mb=4096)
    await report(nodeless, "big")
    image, flavor = await boot_setup(nodeless)
    server_id = await boot_id(nodeless, None, image, flavor)
    assert await placed_host(nodeless, server_id) == "big"
    r = await nodeless.call("GET", f"/v2.1/servers/{server_id}/os-instance-actions",
                            expect=200)
    request_id = r.json()["instanceActions"][0]["request_id"]
    r = await nodeless.call(
        "GET", f"/v2.1/servers/{server_id}/os-instance-actions/{request_id}", expect=200,
        headers={"OpenStack-API-Version": "compute 2.51"})
    names = [e["event"] for e in r.json()["instanceAction"]["events"]]
    assert {"conductor_schedule_and_build_instances", "schedule"} <= set(names)


async def test_no_valid_host_fault_is_shown(nodeless: CloudClient) -> None:
    await report(nodeless, "n1")
    image, flavor = await boot_setup(nodeless, ram=40000, vcpus=4, disk=1)
    server_id = await boot_id(nodeless, None, image, flavor)
    server = await wait_status(nodeless, None, server_id, "ERROR")
    assert server["fault"]["code"] == 500
    assert server["fault"]["message"].startswith(
        "No valid host was found. There are not enough hosts available. Placement found 0 "
        "candidates for VCPU:4, MEMORY_MB:40000, DISK_GB:1")


async def test_boot_goes_active_with_the_fake_agent(compute: CloudClient) -> None:
    image, flavor = await boot_setup(compute)
    server_id = await boot_id(compute, None, image, flavor)
    server = await wait_status(compute, None, server_id, "ACTIVE")
    assert server["OS-EXT-SRV-ATTR:host"] == "test-node"
