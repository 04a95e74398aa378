"""The agent-facing calls: reschedule, state updates, destroyed, resync queries, events."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from helpers.compute import instance
from helpers.conductor import (
    allocations,
    events,
    fault_message,
    insert_instance,
    make_group,
    report,
    schedule,
)
from helpers.inprocess import CloudClient
from ownstack.common.bus import RemoteError
from ownstack.compute import rpc, states
from ownstack.compute.objects.models import InstanceMetadata, ServerGroupMember


async def call(cloud: CloudClient, method: str, **payload: Any) -> Any:
    return await cloud.svc.bus.call(rpc.CONDUCTOR_TOPIC, method, payload)


async def test_reschedule_tries_other_hosts_then_gives_up(cloud: CloudClient) -> None:
    nodes = {}
    for name, memory in (("n1", 8192), ("n2", 4096), ("n3", 2048)):
        nodes[name] = (await report(cloud, name, memory_mb=memory))["node_uuid"]
    uuid = await insert_instance(cloud)
    await schedule(cloud, uuid)
    assert (await instance(cloud, uuid)).host == "n1"

    assert await call(cloud, "reschedule", uuid=uuid, host="n1", reason="disk full") == {
        "rescheduled": True}
    row = await instance(cloud, uuid)
    assert (row.host, row.task_state, row.attempts) == ("n2", states.SPAWNING, ["n1", "n2"])
    assert list(await allocations(cloud, uuid)) == [nodes["n2"]]

    # A stale report from a host the instance already left changes nothing.
    assert await call(cloud, "reschedule", uuid=uuid, host="n1", reason="late") == {
        "rescheduled": False}

    await call(cloud, "reschedule", uuid=uuid, host="n2", reason="qemu crashed")
    assert (await instance(cloud, uuid)).host == "n3"
    await call(cloud, "reschedule", uuid=uuid, host="n3", reason="no tap")
    row = await instance(cloud, uuid)
    assert (row.vm_state, row.task_state, row.host) == (states.ERROR, None, None)
    assert fault_message(row) == (
        "Exceeded maximum number of retries. Exhausted all hosts available for retrying "
        f"build failures for instance {uuid}. Last failure on n3: no tap")
    assert row.fault is not None and row.fault["details"] == "Hosts tried: n1, n2, n3."
    assert await allocations(cloud, uuid) == {}
    assert ("conductor_reschedule", "Error") in await events(cloud, uuid)


async def test_reschedule_with_no_host_left(cloud: CloudClient) -> None:
    await report(cloud, "n1")
    uuid = await insert_instance(cloud)
    await schedule(cloud, uuid)
    await call(cloud, "reschedule", uuid=uuid, host="n1", reason="boom")
    row = await instance(cloud, uuid)
    assert row.vm_state == states.ERROR and row.attempts == ["n1"]
    assert fault_message(row) == ("No valid host was found. 1 host: RetryFilter rejected 1 "
                                  "(already tried).")


async def test_update_instance_applies_the_contract(cloud: CloudClient) -> None:
    await report(cloud, "n1")
    uuid = await insert_instance(cloud)
    await schedule(cloud, uuid)
    async with cloud.svc.write() as db:
        from ownstack.compute.objects.instances import update_instance

        await update_instance(db, uuid, admin_pass="s3cret")

    wrong_host = await call(cloud, "update_instance", uuid=uuid, host="n2",
                            expected_task_state=states.SPAWNING,
                            updates={"vm_state": states.ACTIVE})
    wrong_task = await call(cloud, "update_instance", uuid=uuid, host="n1",
                            expected_task_state=None, updates={"vm_state": states.ACTIVE})
    assert wrong_host == wrong_task == {"applied": False}

    done = await call(cloud, "update_instance", uuid=uuid, host="n1",
                      expected_task_state=states.SPAWNING, updates={
                          "vm_state": states.ACTIVE, "task_state": None, "power_state": 1,
                          "launched": True, "clear_admin_pass": True})
    assert done == {"applied": True}
    row = await instance(cloud, uuid)
    assert (row.vm_state, row.task_state, row.power_state, row.admin_pass) == (
        states.ACTIVE, None, 1, None)
    assert row.launched_at is not None

    await call(cloud, "update_instance", uuid=uuid, host="n1", expected_task_state="*",
               updates={"fault": {"code": 500, "message": "guest crashed", "details": "x"}})
    fault = (await instance(cloud, uuid)).fault
    assert fault is not None and fault["message"] == "guest crashed" and fault["created"]
    await call(cloud, "update_instance", uuid=uuid, host="n1", expected_task_state="*",
               updates={"fault": None})
    assert (await instance(cloud, uuid)).fault is None

    await call(cloud, "update_instance", uuid=uuid, host="n1", expected_task_state="*",
               updates={"task_args": {"plug_wait": {"host": "n1", "since": 1.5}}})
    assert (await instance(cloud, uuid)).task_args == {"plug_wait": {"host": "n1",
                                                                     "since": 1.5}}

    for bad in ({"host": "elsewhere"}, {"vm_state": states.DELETED}, {"task_args": [1]}):
        with pytest.raises(RemoteError) as error:
            await call(cloud, "update_instance", uuid=uuid, host="n1",
                       expected_task_state="*", updates=bad)
        assert error.value.kind == "InvalidUpdate"


async def test_instance_destroyed(cloud: CloudClient) -> None:
    await report(cloud, "n1")
    group = await make_group(cloud, "anti-affinity")
    uuid = await insert_instance(cloud, group=group)
    await schedule(cloud, uuid)
    # Not being deleted: the call changes nothing (an agent bug cannot delete a server).
    assert await call(cloud, "instance_destroyed", uuid=uuid, host="n1") == {
        "destroyed": False}
    assert await allocations(cloud, uuid) != {}

    async with cloud.svc.write() as db:
        from ownstack.compute.objects.instances import update_instance

        await update_instance(db, uuid, task_state=states.DELETING)
    assert await call(cloud, "instance_destroyed", uuid=uuid, host="n2") == {
        "destroyed": False}
    assert await call(cloud, "instance_destroyed", uuid=uuid, host="n1") == {
        "destroyed": True}
    row = await instance(cloud, uuid)
    assert (row.deleted, row.vm_state, row.task_state, row.power_state) == (
        True, states.DELETED, None, 0)
    assert row.deleted_at is not None and row.terminated_at is not None
    assert await allocations(cloud, uuid) == {}
    async with cloud.svc.read() as db:
        assert (await db.execute(select(ServerGroupMember).where(
            ServerGroupMember.instance_uuid == uuid))).first() is None
    assert await call(cloud, "instance_destroyed", uuid=uuid, host="n1") == {
        "destroyed": True}


async def test_node_instances_and_get_instance(cloud: CloudClient) -> None:
    await report(cloud, "n1")
    placed = await insert_instance(cloud, vm_state=states.ACTIVE, task_state=None,
                                   host="n1", node="n1")
    deleting = await insert_instance(cloud, vm_state=states.ACTIVE,
                                     task_state=states.DELETING, host="n1", node="n1")
    await insert_instance(cloud, vm_state=states.ACTIVE, task_state=None, host="n2",
                          node="n2")
    async with cloud.svc.write() as db:
        db.add(InstanceMetadata(instance_uuid=placed, key="role", value="db"))
    result = await call(cloud, "node_instances", host="n1", node="n1")
    specs = {spec["uuid"]: spec for spec in result["instances"]}
    assert set(specs) == {placed, deleting}
    assert specs[placed]["metadata"] == {"role": "db"}
    assert specs[placed]["request_id"] == "req-create"
    assert specs[deleting]["task_state"] == states.DELETING

    one = (await call(cloud, "get_instance", uuid=placed))["instance"]
    assert one["uuid"] == placed and one["flavor"]["vcpus"] == 1
    assert await call(cloud, "get_instance", uuid="no-such-uuid") == {"instance": None}


async def test_record_event(cloud: CloudClient) -> None:
    uuid = await insert_instance(cloud)
    recorded = await call(cloud, "record_event", uuid=uuid, request_id="req-create",
                          event="compute_spawn", start=1.0, finish=2.0, result="Success",
                          host="n1", details=None)
    assert recorded == {"recorded": True}
    assert await events(cloud, uuid) == [("compute_spawn", "Success")]
    missing = await call(cloud, "record_event", uuid=uuid, request_id="req-other",
                         event="x", start=1.0, finish=None, result=None, host="n1",
                         details=None)
    assert missing == {"recorded": False}


async def test_update_instance_records_the_events_it_carries(cloud: CloudClient) -> None:
    await report(cloud, "n1")
    uuid = await insert_instance(cloud)
    await schedule(cloud, uuid)

    def event(name: str, result: str = "Success") -> dict[str, Any]:
        return {"uuid": uuid, "request_id": "req-create", "event": name, "start": 1.0,
                "finish": 2.0, "result": result, "host": "n1", "details": None}
    done = await call(cloud, "update_instance", uuid=uuid, host="n1",
                      expected_task_state=states.SPAWNING,
                      updates={"vm_state": states.ACTIVE, "task_state": None},
                      events=[event("compute_image_fetch"),
                              event("compute_build_and_run_instance")])
    assert done == {"applied": True, "recorded": [True, True]}
    assert (await instance(cloud, uuid)).vm_state == states.ACTIVE
    assert (await events(cloud, uuid))[-2:] == [
        ("compute_image_fetch", "Success"), ("compute_build_and_run_instance", "Success")]

    late = await call(cloud, "update_instance", uuid=uuid, host="n1",
                      expected_task_state=states.SPAWNING, updates={"power_state": 4},
                      events=[event("compute_late", "Error")])
    assert late == {"applied": False, "recorded": [True]}
    assert (await events(cloud, uuid))[-1] == ("compute_late", "Error")


async def test_refresh_network_info_of_a_server_without_ports_or_gone(cloud: CloudClient
                                                                       ) -> None:
    """A server with no ports has no NICs to read afresh; a gone one is ``None``. (Servers
    with ports: tests/api/compute/test_server_networks.py.)"""
    await report(cloud, "n1")
    uuid = await insert_instance(cloud)
    await schedule(cloud, uuid)
    assert await call(cloud, "refresh_network_info", uuid=uuid, host="n1") == {"nics": []}
    assert await call(cloud, "refresh_network_info", host="n1",
                      uuid="5f2d6e8a-8e4c-4c33-9f49-7f0c5a8e1f09") == {"nics": None}
