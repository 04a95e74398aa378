"""schedule_instances: host choice, claims, the hand-off to the host, and NoValidHost."""

from __future__ import annotations

import asyncio
import time
import uuid as uuidlib
from typing import Any

import pytest
from sqlalchemy import select

from helpers.compute import instance
from helpers.conductor import (
    allocations,
    events,
    fault_message,
    insert_instance,
    long_ago,
    make_group,
    report,
    schedule,
    set_service,
)
from helpers.inprocess import CloudClient
from ownstack.common.bus import Payload
from ownstack.common.db.base import utcnow
from ownstack.compute import rpc, states
from ownstack.compute.objects.models import (
    BlockDeviceMapping,
    InstanceAction,
    InstanceMetadata,
)


async def watch(cloud: CloudClient, *hosts: str) -> list[tuple[str, str, Payload]]:
    """Serve ``compute.<host>`` for each host and record what arrives."""
    seen: list[tuple[str, str, Payload]] = []
    for name in hosts:
        async def handler(method: str, payload: Payload, name: str = name) -> None:
            seen.append((name, method, payload))
        await cloud.svc.bus.serve(rpc.compute_topic(name), handler)
    return seen


async def settle(seen: list[Any], count: int) -> None:
    for _ in range(200):
        if len(seen) >= count:
            return
        await asyncio.sleep(0.01)


async def test_picks_most_free_ram_claims_and_hands_off(cloud: CloudClient) -> None:
    a = (await report(cloud, "node-a", zone="az1"))["node_uuid"]
    await report(cloud, "node-b", zone="az1", memory_mb=8192)
    seen = await watch(cloud, "node-a", "node-b")
    uuid = await insert_instance(cloud, vcpus=2, ram=1024, disk=5, swap=512)
    await schedule(cloud, uuid)

    row = await instance(cloud, uuid)
    assert (row.host, row.node, row.vm_state, row.task_state) == (
        "node-a", "node-a", states.BUILDING, states.SPAWNING)
    assert row.availability_zone == "az1" and row.attempts == ["node-a"]
    assert await allocations(cloud, uuid) == {a: {"VCPU": 2, "MEMORY_MB": 1024,
                                                  "DISK_GB": 6}}
    await settle(seen, 1)
    # The cast carries the spec the agent would ask for (decision 94), as get_instance
    # answers it after the hand-off.
    asked = await cloud.svc.bus.call(rpc.CONDUCTOR_TOPIC, "get_instance", {"uuid": uuid})
    assert asked["instance"]["task_state"] == states.SPAWNING
    ((host, method, payload),) = seen
    sent_at = payload.pop("sent_at")
    assert (host, method, payload) == ("node-a", "reconcile_instance",
                                       {"uuid": uuid, "request_id": "req-create",
                                        "instance": asked["instance"]})
    assert abs(time.time() - sent_at) < 60
    assert await events(cloud, uuid) == [
        ("conductor_schedule_and_build_instances", "Success"), ("schedule", "Success")]


async def test_the_hand_off_carries_the_latest_actions_request_id(cloud: CloudClient) -> None:
    await report(cloud, "node-a")
    seen = await watch(cloud, "node-a")
    uuid = await insert_instance(cloud)
    async with cloud.svc.write() as db:
        db.add(InstanceAction(instance_uuid=uuid, action="lock", request_id="req-later",
                              project_id="p1", user_id="u1", start_time=utcnow()))
    await schedule(cloud, uuid)
    await settle(seen, 1)
    asked = await cloud.svc.bus.call(rpc.CONDUCTOR_TOPIC, "get_instance", {"uuid": uuid})
    assert asked["instance"]["request_id"] == "req-later"
    assert seen[0][2]["instance"] == asked["instance"]


@pytest.mark.parametrize("rows", ["metadata", "volume"])
async def test_the_hand_off_of_an_instance_with_metadata_or_volumes_carries_no_spec(
        cloud: CloudClient, rows: str) -> None:
    """Metadata and volumes are rows the compare-and-swap cannot return: the agent
    reads the spec, as after a restart or from any other sender's cast. (A mapping has
    a ``uuid`` of its own: the returned subquery must compare with the instance's.)"""
    await report(cloud, "node-a")
    seen = await watch(cloud, "node-a")
    uuid = await insert_instance(cloud)
    async with cloud.svc.write() as db:
        if rows == "metadata":
            db.add(InstanceMetadata(instance_uuid=uuid, key="role", value="db"))
        else:
            db.add(BlockDeviceMapping(
                uuid=str(uuidlib.uuid4()), instance_uuid=uuid, source_type="volume",
                destination_type="volume", volume_id="vol-1", boot_index=None,
                attach_state="attached"))
    await schedule(cloud, uuid)
    await settle(seen, 1)
    assert seen == [("node-a", "reconcile_instance",
                     {"uuid": uuid, "request_id": "req-create"})]


async def test_spreads_over_hosts(cloud: CloudClient) -> None:
    for node in ("n1", "n2", "n3"):
        await report(cloud, node, memory_mb=4096)
    uuids = [await insert_instance(cloud, ram=1024) for _ in range(3)]
    await schedule(cloud, *uuids)
    assert sorted([(await instance(cloud, u)).host or "" for u in uuids]) == ["n1", "n2", "n3"]


async def test_cast_over_the_bus_schedules(cloud: CloudClient) -> None:
    await report(cloud, "node-a")
    uuids = [await insert_instance(cloud) for _ in range(2)]
    await cloud.svc.bus.cast(rpc.CONDUCTOR_TOPIC, "schedule_instances",
                             {"instance_uuids": uuids, "request_id": "req-create"})
    for _ in range(300):
        rows = [await instance(cloud, u) for u in uuids]
        if all(r.host for r in rows):
            break
        await asyncio.sleep(0.01)
    assert [r.task_state for r in rows] == [states.SPAWNING, states.SPAWNING]


async def test_too_big_for_placement(cloud: CloudClient) -> None:
    await report(cloud, "node-a")
    uuid = await insert_instance(cloud, vcpus=4, ram=99999, disk=1)
    await schedule(cloud, uuid)
    row = await instance(cloud, uuid)
    assert (row.vm_state, row.task_state, row.host) == (states.ERROR, None, None)
    assert row.fault is not None and row.fault["code"] == 500 and row.fault["created"]
    assert fault_message(row) == (
        "No valid host was found. There are not enough hosts available. Placement found 0 "
        "candidates for VCPU:4, MEMORY_MB:99999, DISK_GB:1.")
    assert await allocations(cloud, uuid) == {}
    assert await events(cloud, uuid) == [
        ("conductor_schedule_and_build_instances", "Error"), ("schedule", "Error")]
    async with cloud.svc.read() as db:
        action = (await db.execute(select(InstanceAction).where(
            InstanceAction.instance_uuid == uuid))).scalar_one()
    assert action.message == "Error"


async def test_disabled_and_down_services_are_skipped(cloud: CloudClient) -> None:
    await report(cloud, "n1")
    await report(cloud, "n2", memory_mb=4096)
    await report(cloud, "n3", memory_mb=2048)
    await set_service(cloud, "n1", disabled=True)
    await set_service(cloud, "n2", last_seen_up=long_ago(3600))
    uuid = await insert_instance(cloud)
    await schedule(cloud, uuid)
    assert (await instance(cloud, uuid)).host == "n3"

    await set_service(cloud, "n3", forced_down=True)
    uuid = await insert_instance(cloud)
    await schedule(cloud, uuid)
    assert fault_message(await instance(cloud, uuid)) == (
        "No valid host was found. 3 hosts: ComputeFilter rejected 3 "
        "(1 service disabled, 1 service down, 1 service forced down).")


async def test_availability_zone(cloud: CloudClient) -> None:
    await report(cloud, "n1", zone="nova")
    await report(cloud, "n2", zone="az2", memory_mb=2048)
    uuid = await insert_instance(cloud, zone="az2")
    await schedule(cloud, uuid)
    assert (await instance(cloud, uuid)).host == "n2"
    uuid = await insert_instance(cloud, zone="az9")
    await schedule(cloud, uuid)
    assert fault_message(await instance(cloud, uuid)) == (
        "No valid host was found. 2 hosts: AvailabilityZoneFilter rejected 2 "
        "(zone az9 wanted).")


async def test_image_properties_and_capabilities(cloud: CloudClient) -> None:
    await report(cloud, "fake-1")
    await report(cloud, "qemu-1", hypervisor_type="QEMU", memory_mb=2048)
    uuid = await insert_instance(cloud, image_props={"img_hv_type": "kvm"})
    await schedule(cloud, uuid)
    assert (await instance(cloud, uuid)).host == "qemu-1"

    uuid = await insert_instance(cloud, extra_specs={"capabilities:hypervisor_type": "s== QEMU"})
    await schedule(cloud, uuid)
    assert (await instance(cloud, uuid)).host == "qemu-1"

    uuid = await insert_instance(cloud, image_props={"hw_architecture": "aarch64"})
    await schedule(cloud, uuid)
    assert fault_message(await instance(cloud, uuid)) == (
        "No valid host was found. 2 hosts: ImagePropertiesFilter rejected 2 "
        "(image wants architecture aarch64, host has x86_64).")

    uuid = await insert_instance(cloud, extra_specs={"capabilities:vcpus": ">= 64"})
    await schedule(cloud, uuid)
    assert "ComputeCapabilitiesFilter rejected 2 (capabilities:vcpus wants '>= 64', host " \
           "has 8)" in fault_message(await instance(cloud, uuid))


async def test_required_and_forbidden_traits(cloud: CloudClient) -> None:
    await report(cloud, "fast", traits=("CUSTOM_FAST",), memory_mb=2048)
    await report(cloud, "slow")
    uuid = await insert_instance(cloud, extra_specs={"trait:CUSTOM_FAST": "required"})
    await schedule(cloud, uuid)
    assert (await instance(cloud, uuid)).host == "fast"
    uuid = await insert_instance(cloud, image_props={"trait:CUSTOM_FAST": "forbidden"})
    await schedule(cloud, uuid)
    assert (await instance(cloud, uuid)).host == "slow"
    uuid = await insert_instance(cloud, extra_specs={"trait:CUSTOM_NOBODY": "required"})
    await schedule(cloud, uuid)
    message = fault_message(await instance(cloud, uuid))
    assert message.startswith("No valid host was found. Placement refused the request")
    assert "CUSTOM_NOBODY" in message


async def test_anti_affinity_group(cloud: CloudClient) -> None:
    await report(cloud, "n1")
    await report(cloud, "n2")
    group = await make_group(cloud, "anti-affinity")
    uuids = [await insert_instance(cloud, group=group) for _ in range(3)]
    await asyncio.gather(*(schedule(cloud, u) for u in uuids))
    rows = [await instance(cloud, u) for u in uuids]
    placed = sorted(r.host for r in rows if r.host)
    assert placed == ["n1", "n2"]
    failed = [r for r in rows if r.vm_state == states.ERROR]
    assert len(failed) == 1
    assert "ServerGroupAntiAffinityFilter rejected 2" in fault_message(failed[0])


async def test_affinity_group_follows_the_first_member(cloud: CloudClient) -> None:
    await report(cloud, "n1", memory_mb=4096)
    await report(cloud, "n2", memory_mb=2048)
    group = await make_group(cloud, "affinity")
    uuids = [await insert_instance(cloud, ram=1024, group=group) for _ in range(3)]
    await schedule(cloud, *uuids)
    assert [(await instance(cloud, u)).host for u in uuids] == ["n1", "n1", "n1"]


async def test_delete_during_scheduling_releases_the_claim(
        cloud: CloudClient, monkeypatch: pytest.MonkeyPatch) -> None:
    await report(cloud, "n1")
    uuid = await insert_instance(cloud)
    builder = cloud.conductor.builder
    original = builder._claim

    async def claim_then_delete(spec: Any, host: Any) -> bool:
        claimed = await original(spec, host)
        async with cloud.svc.write() as db:     # the API's local delete wins meanwhile
            from ownstack.compute.objects.instances import update_instance

            await update_instance(db, uuid, deleted=True, vm_state=states.DELETED,
                                  task_state=None)
        return bool(claimed)
    monkeypatch.setattr(builder, "_claim", claim_then_delete)
    assert await builder.schedule(uuid, "req-create") is None
    row = await instance(cloud, uuid)
    assert row.deleted and row.host is None and row.vm_state == states.DELETED
    assert await allocations(cloud, uuid) == {}


async def test_only_scheduling_instances_are_touched(cloud: CloudClient) -> None:
    await report(cloud, "n1")
    active = await insert_instance(cloud, vm_state=states.ACTIVE, task_state=None,
                                   host="n1", node="n1")
    await schedule(cloud, active)
    row = await instance(cloud, active)
    assert (row.vm_state, row.generation) == (states.ACTIVE, 0)
    assert await allocations(cloud, active) == {}


async def test_lost_claims_move_to_the_next_host(cloud: CloudClient,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    await report(cloud, "n1")
    await report(cloud, "n2", memory_mb=4096)
    builder = cloud.conductor.builder
    original = builder._claim
    tried: list[str] = []

    async def lose_first(spec: Any, host: Any) -> bool:
        tried.append(host.host)
        return False if len(tried) == 1 else bool(await original(spec, host))
    monkeypatch.setattr(builder, "_claim", lose_first)
    uuid = await insert_instance(cloud)
    await schedule(cloud, uuid)
    assert tried == ["n1", "n2"]
    assert (await instance(cloud, uuid)).host == "n2"


async def test_a_burst_is_placed_in_one_pass(cloud: CloudClient,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    nodes = {(await report(cloud, f"n{i}", memory_mb=4096))["node_uuid"]: f"n{i}"
             for i in range(3)}
    placement = cloud.conductor.env.placement
    asked: list[str] = []
    for name in ("allocation_candidates", "claim", "claim_many"):
        original = getattr(placement, name)

        async def counted(*args: Any, _name: str = name, _original: Any = original) -> Any:
            asked.append(_name)
            return await _original(*args)
        monkeypatch.setattr(placement, name, counted)
    uuids = [await insert_instance(cloud, ram=1024) for _ in range(6)]
    await schedule(cloud, *uuids)

    rows = [await instance(cloud, u) for u in uuids]
    assert sorted(asked) == ["allocation_candidates", "claim_many"]
    assert all(r.task_state == states.SPAWNING for r in rows)
    hosts = [r.host for r in rows]
    assert sorted(hosts) == ["n0", "n0", "n1", "n1", "n2", "n2"]
    for uuid, row in zip(uuids, rows, strict=True):
        ((rp, resources),) = (await allocations(cloud, uuid)).items()
        assert nodes[rp] == row.host and resources == {"VCPU": 1, "MEMORY_MB": 1024,
                                                       "DISK_GB": 1}
        assert await events(cloud, uuid) == [
            ("conductor_schedule_and_build_instances", "Success"), ("schedule", "Success")]


async def test_a_burst_counts_what_it_places_and_fails_the_rest(cloud: CloudClient) -> None:
    await report(cloud, "n1", memory_mb=2048)
    await report(cloud, "n2", memory_mb=1024)
    uuids = [await insert_instance(cloud, ram=1024) for _ in range(4)]
    await schedule(cloud, *uuids)
    rows = [await instance(cloud, u) for u in uuids]
    assert sorted(r.host or "" for r in rows) == ["", "n1", "n1", "n2"]
    (failed,) = [r for r in rows if r.host is None]
    assert failed.vm_state == states.ERROR
    assert fault_message(failed).startswith("No valid host was found.")
    assert await allocations(cloud, failed.uuid) == {}


async def test_a_burst_whose_claim_loses_a_race_is_placed_one_by_one(
        cloud: CloudClient, monkeypatch: pytest.MonkeyPatch) -> None:
    await report(cloud, "n1")
    await report(cloud, "n2")
    lost: list[int] = []

    async def lose(claims: Any) -> bool:
        lost.append(len(claims))
        return False
    monkeypatch.setattr(cloud.conductor.env.placement, "claim_many", lose)
    uuids = [await insert_instance(cloud) for _ in range(3)]
    await schedule(cloud, *uuids)
    assert lost == [3]
    rows = [await instance(cloud, u) for u in uuids]
    assert all(r.host and r.task_state == states.SPAWNING for r in rows)
    for uuid in uuids:
        assert len(await allocations(cloud, uuid)) == 1
