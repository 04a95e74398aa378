"""report_node: the heartbeat, the compute node row, and the node's Placement provider."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from helpers.compute_rows import PLACEMENT
from helpers.conductor import report, set_service
from helpers.inprocess import CloudClient, cloud_config, make_cloud
from ownstack.common.bus import RemoteError
from ownstack.compute import rpc
from ownstack.compute.objects.models import ComputeNode, ComputeService

# The compute services (the conductor registers its own rows too).
COMPUTE_SERVICES = select(ComputeService).where(ComputeService.binary == rpc.COMPUTE_BINARY)


async def provider(cloud: CloudClient, uuid: str, part: str) -> Any:
    r = await cloud.on("placement", "GET", f"/resource_providers/{uuid}{part}",
                       headers=PLACEMENT, expect=200)
    return r.json()


async def test_report_registers_service_node_and_provider(cloud: CloudClient) -> None:
    first = await report(cloud, "node-a", zone="az1", vcpus=4, memory_mb=8192, disk_gb=50,
                         traits=("COMPUTE_IMAGE_TYPE_QCOW2", "CUSTOM_FAST"))
    assert first["service_disabled"] is False
    node_uuid = first["node_uuid"]
    async with cloud.svc.read() as db:
        service = (await db.execute(COMPUTE_SERVICES)).scalar_one()
        node = (await db.execute(select(ComputeNode))).scalar_one()
    assert (service.host, service.binary, service.topic, service.availability_zone,
            service.report_count) == ("node-a", rpc.COMPUTE_BINARY, "compute.node-a", "az1", 1)
    assert service.last_seen_up is not None
    assert (node.uuid, node.hypervisor_hostname, node.vcpus, node.memory_mb,
            node.local_gb) == (node_uuid, "node-a", 4, 8192, 50)

    assert (await provider(cloud, node_uuid, ""))["name"] == "node-a"
    inventories = (await provider(cloud, node_uuid, "/inventories"))["inventories"]
    assert inventories["VCPU"] == {"total": 4, "reserved": 0, "allocation_ratio": 4.0,
                                   "min_unit": 1, "max_unit": 4, "step_size": 1}
    assert inventories["MEMORY_MB"]["allocation_ratio"] == 1.0
    assert inventories["DISK_GB"]["total"] == 50
    assert sorted((await provider(cloud, node_uuid, "/traits"))["traits"]) == [
        "COMPUTE_IMAGE_TYPE_QCOW2", "CUSTOM_FAST"]

    again = await report(cloud, "node-a", zone="az1", vcpus=4, memory_mb=8192, disk_gb=50,
                         traits=("COMPUTE_IMAGE_TYPE_QCOW2", "CUSTOM_FAST"))
    assert again["node_uuid"] == node_uuid
    async with cloud.svc.read() as db:
        assert (await db.execute(COMPUTE_SERVICES)).scalar_one().report_count == 2


async def test_disabled_service_gets_the_status_trait(cloud: CloudClient) -> None:
    node_uuid = (await report(cloud, "node-a"))["node_uuid"]
    await set_service(cloud, "node-a", disabled=True, disabled_reason="maintenance")
    assert (await report(cloud, "node-a"))["service_disabled"] is True
    assert (await provider(cloud, node_uuid, "/traits"))["traits"] == [
        "COMPUTE_STATUS_DISABLED"]
    await set_service(cloud, "node-a", disabled=False)
    assert (await report(cloud, "node-a"))["service_disabled"] is False
    assert (await provider(cloud, node_uuid, "/traits"))["traits"] == []


async def test_reserved_amounts_and_resized_node(tmp_path: Any) -> None:
    config = cloud_config(tmp_path, "roles=api,conductor", "compute.reserved_host_cpus=2",
                          "compute.reserved_host_memory_mb=1024",
                          "compute.reserved_host_disk_mb=1500",
                          "compute.cpu_allocation_ratio=2.0")
    async for client in make_cloud(config):
        node_uuid = (await report(client, "n1", vcpus=4, memory_mb=512, disk_gb=10))[
            "node_uuid"]
        inv = (await provider(client, node_uuid, "/inventories"))["inventories"]
        assert inv["VCPU"]["reserved"] == 2 and inv["VCPU"]["allocation_ratio"] == 2.0
        assert inv["MEMORY_MB"]["reserved"] == 512      # never more than the total
        assert inv["DISK_GB"]["reserved"] == 2          # 1500 MiB, rounded up
        await report(client, "n1", vcpus=16, memory_mb=512, disk_gb=10)
        inv = (await provider(client, node_uuid, "/inventories"))["inventories"]
        assert inv["VCPU"]["total"] == 16 and inv["VCPU"]["max_unit"] == 16


async def test_steady_heartbeat_skips_placement(cloud: CloudClient,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    await report(cloud, "node-a")
    calls: list[str] = []
    original = cloud.conductor.env.placement.set_inventories

    async def counting(uuid: str, inventories: Any) -> None:
        calls.append(uuid)
        await original(uuid, inventories)
    monkeypatch.setattr(cloud.conductor.env.placement, "set_inventories", counting)
    for _ in range(3):
        await report(cloud, "node-a")
    assert calls == []
    await report(cloud, "node-a", vcpus=2)
    assert len(calls) == 1


async def test_several_nodes_of_one_host(cloud: CloudClient) -> None:
    a = await report(cloud, "host1-n1", host="host1")
    b = await report(cloud, "host1-n2", host="host1")
    assert a["node_uuid"] != b["node_uuid"]
    async with cloud.svc.read() as db:
        services = (await db.execute(COMPUTE_SERVICES)).scalars().all()
        nodes = (await db.execute(select(ComputeNode))).scalars().all()
    assert len(services) == 1 and services[0].report_count == 2
    assert sorted(n.hypervisor_hostname for n in nodes) == ["host1-n1", "host1-n2"]


async def test_incomplete_report_is_refused(cloud: CloudClient) -> None:
    with pytest.raises(RemoteError) as error:
        await cloud.svc.bus.call(rpc.CONDUCTOR_TOPIC, "report_node",
                                 {"host": "h", "node": "h", "resources": {"vcpus": 1}})
    assert error.value.kind == "InvalidReport" and "memory_mb" in error.value.message


async def test_unknown_method_is_an_error(cloud: CloudClient) -> None:
    with pytest.raises(RemoteError) as error:
        await cloud.svc.bus.call(rpc.CONDUCTOR_TOPIC, "reboot_everything", {})
    assert error.value.kind == "UnknownMethod"
