"""What the conductor tests share: nodes the test reports itself (no agents), instances
inserted as ``POST /servers`` leaves them, and views of the results. The tests' cloud runs
``roles=api,conductor`` (tests/unit/compute/conductor/conftest.py)."""

from __future__ import annotations

import uuid as uuidlib
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from helpers.compute_rows import PLACEMENT
from helpers.inprocess import CloudClient
from ownstack.common.db.base import utcnow
from ownstack.compute import rpc, states
from ownstack.compute.objects.models import (
    ComputeService,
    Instance,
    InstanceAction,
    InstanceActionEvent,
    ServerGroup,
    ServerGroupMember,
)


async def report(cloud: CloudClient, node: str, *, host: str | None = None,
                 zone: str = "nova", vcpus: int = 8, memory_mb: int = 16384,
                 disk_gb: int = 200, hypervisor_type: str = "fake",
                 traits: tuple[str, ...] = ()) -> dict[str, Any]:
    result: dict[str, Any] = await cloud.svc.bus.call(rpc.CONDUCTOR_TOPIC, "report_node", {
        "host": host or node, "node": node, "availability_zone": zone,
        "host_ip": "192.0.2.1", "resources": {
            "vcpus": vcpus, "memory_mb": memory_mb, "disk_gb": disk_gb,
            "hypervisor_type": hypervisor_type, "hypervisor_version": 8002001,
            "traits": list(traits)}})
    return result


async def insert_instance(cloud: CloudClient, *, vcpus: int = 1, ram: int = 512,
                          disk: int = 1, swap: int = 0, extra_specs: dict[str, str] | None = None,
                          image_props: dict[str, Any] | None = None, zone: str | None = None,
                          group: int | None = None, request_id: str = "req-create",
                          age: float = 0.0, task_state: str | None = states.SCHEDULING,
                          vm_state: str = states.BUILDING, host: str | None = None,
                          node: str | None = None, attempts: list[str] | None = None) -> str:
    """A server row as create writes it, with its ``create`` action; ``age`` seconds old."""
    uuid = str(uuidlib.uuid4())
    when = utcnow() - timedelta(seconds=age)
    async with cloud.svc.write() as db:
        db.add(Instance(
            uuid=uuid, project_id="p1", user_id="u1", display_name=f"vm-{uuid[:8]}",
            hostname="vm", vm_state=vm_state, task_state=task_state, task_args={},
            power_state=0, flavor={"vcpus": vcpus, "ram": ram, "disk": disk, "ephemeral": 0,
                                   "swap": swap, "extra_specs": extra_specs or {}},
            image_ref="img", image_meta={"disk_format": "qcow2",
                                         "properties": image_props or {}},
            availability_zone=zone, launch_index=0, reservation_id="r-1", host=host,
            node=node, attempts=attempts or [], created_at=when, updated_at=when,
            deleted=False, generation=0))
        db.add(InstanceAction(instance_uuid=uuid, action="create", request_id=request_id,
                              user_id="u1", project_id="p1", start_time=when))
        if group is not None:
            db.add(ServerGroupMember(group_id=group, instance_uuid=uuid))
    return uuid


async def make_group(cloud: CloudClient, policy: str, rules: dict[str, Any] | None = None
                     ) -> int:
    async with cloud.svc.write() as db:
        group = ServerGroup(uuid=str(uuidlib.uuid4()), name=policy, policy=policy,
                            rules=rules or {}, project_id="p1", user_id="u1")
        db.add(group)
        await db.flush()
        return group.id


async def events(cloud: CloudClient, uuid: str) -> list[tuple[str, str | None]]:
    async with cloud.svc.read() as db:
        rows = await db.execute(
            select(InstanceActionEvent.event, InstanceActionEvent.result)
            .join(InstanceAction, InstanceAction.id == InstanceActionEvent.action_id)
            .where(InstanceAction.instance_uuid == uuid).order_by(InstanceActionEvent.id))
        return [(event, result) for event, result in rows.all()]


async def set_service(cloud: CloudClient, host: str, **values: Any) -> None:
    async with cloud.svc.write() as db:
        await db.execute(update(ComputeService).where(
            ComputeService.host == host, ComputeService.binary == rpc.COMPUTE_BINARY)
            .values(**values))


async def allocations(cloud: CloudClient, uuid: str) -> dict[str, dict[str, int]]:
    r = await cloud.on("placement", "GET", f"/allocations/{uuid}", headers=PLACEMENT,
                       expect=200)
    return {rp: body["resources"] for rp, body in r.json()["allocations"].items()}


async def schedule(cloud: CloudClient, *uuids: str, request_id: str = "req-create") -> None:
    await cloud.conductor.builder.schedule_instances(list(uuids), request_id)


def fault_message(row: Instance) -> str:
    assert row.fault is not None
    return str(row.fault["message"])


def long_ago(seconds: float) -> datetime:
    return utcnow() - timedelta(seconds=seconds)
