"""Compute rows written the way the conductor writes them (services, nodes, instances,
and the nodes' Placement providers and allocations), for tests on a cloud without agents
or conductor (:func:`helpers.inprocess.quiet_cloud`), so every test controls what exists."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from helpers.inprocess import CloudClient
from helpers.names import unique
from helpers.placement import mv
from ownstack.compute.objects.models import ComputeNode, ComputeService, Instance
from ownstack.compute.rpc import COMPUTE_BINARY, compute_topic

# When a service that is not up was last seen.
LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)


def now() -> datetime:
    return datetime.now(UTC)


async def add_service(cloud: CloudClient, host: str | None = None, *,
                      binary: str = COMPUTE_BINARY, zone: str = "nova",
                      disabled: bool = False, reason: str | None = None,
                      forced_down: bool = False, seen_ago: float = 0.0,
                      up: bool = True) -> ComputeService:
    """A service row as a report leaves it, last seen ``seen_ago`` seconds ago (or long
    ago, when not ``up``)."""
    host = host or unique("host")
    service = ComputeService(
        uuid=str(uuid.uuid4()), host=host, binary=binary,
        topic=compute_topic(host) if binary == COMPUTE_BINARY else None,
        availability_zone=zone, disabled=disabled, disabled_reason=reason,
        forced_down=forced_down,
        last_seen_up=now() - timedelta(seconds=seen_ago) if up else LONG_AGO)
    async with cloud.svc.write() as db:
        db.add(service)
    return service


async def add_node(cloud: CloudClient, service: ComputeService, *, name: str | None = None,
                   vcpus: int = 8, memory_mb: int = 16384, local_gb: int = 200,
                   cpu_info: str = '{"arch": "x86_64"}') -> ComputeNode:
    node = ComputeNode(
        uuid=str(uuid.uuid4()), service_id=service.id, host=service.host,
        hypervisor_hostname=name or service.host, hypervisor_type="QEMU",
        hypervisor_version=8002000, vcpus=vcpus, memory_mb=memory_mb, local_gb=local_gb,
        host_ip="192.0.2.10", cpu_info=cpu_info)
    async with cloud.svc.write() as db:
        db.add(node)
    return node


async def add_host(cloud: CloudClient, host: str | None = None, **service_fields: Any
                   ) -> tuple[ComputeService, ComputeNode]:
    service = await add_service(cloud, host, **service_fields)
    return service, await add_node(cloud, service)


async def add_instance(cloud: CloudClient, *, project_id: str = "p1", host: str | None = None,
                       node: str | None = None, name: str | None = None,
                       vcpus: int = 1, ram: int = 512, disk: int = 1, ephemeral: int = 0,
                       launched_at: datetime | None = None,
                       terminated_at: datetime | None = None, deleted: bool = False,
                       task_state: str | None = None, vm_state: str = "active",
                       created_at: datetime | None = None) -> Instance:
    name = name or unique("vm")
    instance = Instance(
        uuid=str(uuid.uuid4()), project_id=project_id, user_id="u1", display_name=name,
        hostname=name, host=host, node=node or host, vm_state=vm_state,
        task_state=task_state, reservation_id="r-test",
        flavor={"id": "f1", "name": "m1.test", "vcpus": vcpus, "ram": ram, "disk": disk,
                "ephemeral": ephemeral, "swap": 0, "extra_specs": {}},
        launched_at=launched_at, terminated_at=terminated_at, deleted=deleted,
        deleted_at=terminated_at if deleted else None, created_at=created_at or now())
    async with cloud.svc.write() as db:
        db.add(instance)
    return instance


PLACEMENT = mv()


async def add_provider(cloud: CloudClient, node: ComputeNode, *, reserved_mb: int = 512
                       ) -> None:
    """The node's Placement provider with its inventory, as the conductor reports it."""
    await cloud.on("placement", "POST", "/resource_providers", expect=200, headers=PLACEMENT,
                   json={"uuid": node.uuid, "name": node.hypervisor_hostname})
    await cloud.on("placement", "PUT", f"/resource_providers/{node.uuid}/inventories",
                   expect=200, headers=PLACEMENT, json={
                       "resource_provider_generation": 0, "inventories": {
                           "VCPU": {"total": node.vcpus, "allocation_ratio": 4.0},
                           "MEMORY_MB": {"total": node.memory_mb, "reserved": reserved_mb},
                           "DISK_GB": {"total": node.local_gb}}})


async def allocate(cloud: CloudClient, node: ComputeNode, consumer: str,
                   resources: dict[str, int]) -> None:
    await cloud.on("placement", "PUT", f"/allocations/{consumer}", expect=204,
                   headers=PLACEMENT, json={
                       "allocations": {node.uuid: {"resources": resources}},
                       "project_id": "p1", "user_id": "u1", "consumer_generation": None,
                       "consumer_type": "INSTANCE"})
