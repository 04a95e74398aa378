"""The sweep repairs what lost casts and killed processes leave; claims never over-commit."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from helpers.compute import instance
from helpers.compute_rows import PLACEMENT
from helpers.conductor import (
    allocations,
    events,
    fault_message,
    insert_instance,
    report,
    schedule,
    set_service,
)
from helpers.inprocess import CloudClient, cloud_config, make_cloud
from ownstack.common.clients.placement import PlacementError
from ownstack.compute import states


async def sweep_stale_now(cloud: CloudClient) -> None:
    """Treat every BUILD row as stale and sweep, then wait for whatever the sweep started,
    this call's or the conductor's own periodic pass (which may have taken an instance
    first, leaving this call nothing to do)."""
    builder, sweeper = cloud.conductor.builder, cloud.conductor.sweeper
    sweeper.stale_after = 0.0
    await sweeper.schedule_stuck()
    for _ in range(500):
        if not builder.in_flight:
            return
        await asyncio.sleep(0.01)


async def claim(cloud: CloudClient, uuid: str, rp: str, resources: dict[str, int]) -> None:
    await cloud.on("placement", "PUT", f"/allocations/{uuid}", headers=PLACEMENT, expect=204,
                   json={"allocations": {rp: {"resources": resources}}, "project_id": "p1",
                         "user_id": "u1", "consumer_generation": None,
                         "consumer_type": "INSTANCE"})


async def test_stuck_instances_get_scheduled(cloud: CloudClient) -> None:
    await report(cloud, "n1")
    stuck = await insert_instance(cloud, age=60)
    fresh = await insert_instance(cloud)
    await cloud.conductor.sweeper.sweep()
    row = await instance(cloud, stuck)
    assert (row.host, row.task_state) == ("n1", states.SPAWNING)
    assert ("schedule", "Success") in await events(cloud, stuck)
    assert (await instance(cloud, fresh)).host is None   # its cast may still be on its way


async def test_sweep_loop_runs_by_itself(cloud: CloudClient) -> None:
    await report(cloud, "n1")
    cloud.conductor.sweeper.stale_after = 0.05
    uuid = await insert_instance(cloud)
    for _ in range(300):
        if (await instance(cloud, uuid)).host:
            break
        await asyncio.sleep(0.01)
    assert (await instance(cloud, uuid)).host == "n1"


async def test_claim_left_by_a_killed_conductor_is_reused(cloud: CloudClient) -> None:
    await report(cloud, "n1")
    n2 = (await report(cloud, "n2", memory_mb=2048))["node_uuid"]
    uuid = await insert_instance(cloud, ram=512)
    await claim(cloud, uuid, n2, {"VCPU": 1, "MEMORY_MB": 512, "DISK_GB": 1})
    await sweep_stale_now(cloud)
    assert (await instance(cloud, uuid)).host == "n2"       # not n1, the roomier host
    assert await allocations(cloud, uuid) == {n2: {"VCPU": 1, "MEMORY_MB": 512,
                                                   "DISK_GB": 1}}


async def test_claim_on_a_host_that_no_longer_fits_is_dropped(cloud: CloudClient) -> None:
    n1 = (await report(cloud, "n1"))["node_uuid"]
    n2 = (await report(cloud, "n2"))["node_uuid"]
    await set_service(cloud, "n2", disabled=True)
    uuid = await insert_instance(cloud)
    await claim(cloud, uuid, n2, {"VCPU": 1, "MEMORY_MB": 512, "DISK_GB": 1})
    await sweep_stale_now(cloud)
    assert (await instance(cloud, uuid)).host == "n1"
    assert list(await allocations(cloud, uuid)) == [n1]


async def test_build_timeout(tmp_path: Path) -> None:
    config = cloud_config(tmp_path, "roles=api,conductor", "compute.build_timeout=2")
    async for client in make_cloud(config):
        n1 = (await report(client, "n1"))["node_uuid"]
        spawning = await insert_instance(client, task_state=states.SPAWNING, host="n1",
                                         node="n1", age=30)
        await claim(client, spawning, n1, {"VCPU": 1})
        young = await insert_instance(client, task_state=states.SPAWNING, host="n1",
                                      node="n1")
        await client.conductor.sweeper.time_out_builds()   # the loop may be first
        row = await instance(client, spawning)
        assert (row.vm_state, row.task_state, row.host) == (states.ERROR, None, None)
        assert fault_message(row) == "Build timed out"
        assert await allocations(client, spawning) == {}
        assert ("conductor_build_timeout", "Error") in await events(client, spawning)
        assert (await instance(client, young)).vm_state == states.BUILDING


async def test_deletes_on_dead_hosts_are_finished(cloud: CloudClient) -> None:
    up = (await report(cloud, "up"))["node_uuid"]
    down = (await report(cloud, "down"))["node_uuid"]
    await set_service(cloud, "down", forced_down=True)
    on_down = await insert_instance(cloud, vm_state=states.ACTIVE,
                                    task_state=states.DELETING, host="down", node="down")
    on_up = await insert_instance(cloud, vm_state=states.ACTIVE,
                                  task_state=states.DELETING, host="up", node="up")
    nowhere = await insert_instance(cloud, vm_state=states.ERROR,
                                    task_state=states.DELETING)
    await claim(cloud, on_down, down, {"VCPU": 1})
    await claim(cloud, on_up, up, {"VCPU": 1})
    await cloud.conductor.sweeper.finish_orphaned_deletes()   # the loop may be first
    assert (await instance(cloud, on_down)).deleted
    assert (await instance(cloud, nowhere)).deleted
    assert await allocations(cloud, on_down) == {}
    assert not (await instance(cloud, on_up)).deleted       # its agent will finish it
    assert await allocations(cloud, on_up) == {up: {"VCPU": 1}}


async def test_allocations_of_deleted_instances_are_removed(cloud: CloudClient) -> None:
    n1 = (await report(cloud, "n1"))["node_uuid"]
    gone = await insert_instance(cloud, vm_state=states.ACTIVE, task_state=None, host="n1",
                                 node="n1")
    live = await insert_instance(cloud, vm_state=states.ACTIVE, task_state=None, host="n1",
                                 node="n1")
    for uuid in (gone, live):
        await claim(cloud, uuid, n1, {"VCPU": 1})
    async with cloud.svc.write() as db:
        from ownstack.compute.objects.instances import update_instance

        await update_instance(db, gone, deleted=True, vm_state=states.DELETED)
    assert await cloud.conductor.sweeper.remove_orphan_allocations() == 1
    assert await allocations(cloud, gone) == {}
    assert await allocations(cloud, live) == {n1: {"VCPU": 1}}


async def test_concurrent_boots_never_overcommit(tmp_path: Path) -> None:
    config = cloud_config(tmp_path, "roles=api,conductor", "compute.cpu_allocation_ratio=1.0",
                          "compute.reserved_host_memory_mb=0")
    async for client in make_cloud(config):
        nodes = [(await report(client, f"small-{i}", vcpus=2, memory_mb=4096,
                               disk_gb=20))["node_uuid"] for i in range(4)]
        uuids = [await insert_instance(client, vcpus=1, ram=256, disk=1) for _ in range(30)]
        await asyncio.gather(*(schedule(client, uuid) for uuid in uuids))

        rows = [await instance(client, uuid) for uuid in uuids]
        placed = [row for row in rows if row.host]
        assert len(placed) == 8
        assert all(row.vm_state == states.ERROR for row in rows if not row.host)
        for rp in nodes:
            usages: dict[str, Any] = (await client.on(
                "placement", "GET", f"/resource_providers/{rp}/usages", headers=PLACEMENT,
                expect=200)).json()["usages"]
            assert usages["VCPU"] == 2
        per_host: dict[str, int] = {}
        for row in placed:
            per_host[row.host or ""] = per_host.get(row.host or "", 0) + 1
        assert sorted(per_host.values()) == [2, 2, 2, 2]


async def test_duplicate_schedule_reuses_the_winning_claim(cloud: CloudClient) -> None:
    await report(cloud, "n1")
    n2 = (await report(cloud, "n2", memory_mb=2048))["node_uuid"]
    uuid = await insert_instance(cloud)
    # Another conductor claimed n2 for this instance and has not written the row yet.
    await claim(cloud, uuid, n2, {"VCPU": 1, "MEMORY_MB": 512, "DISK_GB": 1})
    await schedule(cloud, uuid)
    assert (await instance(cloud, uuid)).host == "n2"
    assert list(await allocations(cloud, uuid)) == [n2]


async def test_no_valid_host_drops_a_leftover_claim(cloud: CloudClient) -> None:
    n1 = (await report(cloud, "n1", memory_mb=1024))["node_uuid"]
    uuid = await insert_instance(cloud, ram=2048)
    await claim(cloud, uuid, n1, {"VCPU": 1})
    await sweep_stale_now(cloud)
    row = await instance(cloud, uuid)
    assert row.vm_state == states.ERROR
    assert await allocations(cloud, uuid) == {}


async def test_placement_outage_leaves_the_instance_for_the_sweep(
        cloud: CloudClient, monkeypatch: pytest.MonkeyPatch) -> None:
    await report(cloud, "n1")
    uuid = await insert_instance(cloud)

    async def unreachable(*args: Any, **kwargs: Any) -> Any:
        raise PlacementError("The placement service is unreachable: test")
    monkeypatch.setattr(cloud.conductor.env.placement, "_request", unreachable)
    with pytest.raises(PlacementError):
        await schedule(cloud, uuid)
    row = await instance(cloud, uuid)
    assert (row.vm_state, row.task_state, row.host) == (states.BUILDING,
                                                        states.SCHEDULING, None)
    monkeypatch.undo()
    cloud.conductor.sweeper.stale_after = 0.0
    await cloud.conductor.sweeper.schedule_stuck()
    assert (await instance(cloud, uuid)).host == "n1"
