"""The conductor's side of a resize: the allocation moved to the migration's uuid in one
write (and not twice after a killed conductor), no room on the host, settling after
confirm and revert, the automatic confirm, and a resize left open by a deleted server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select

from helpers.compute import instance
from helpers.conductor import allocations, insert_instance, long_ago, report, schedule
from helpers.inprocess import CloudClient, cloud_config, make_cloud
from ownstack.compute import states
from ownstack.compute.objects import migrations as mig
from ownstack.compute.objects.instances import update_instance
from ownstack.compute.objects.models import Instance, Migration

NEW = {"id": "big", "name": "big", "vcpus": 2, "ram": 1024, "disk": 2, "ephemeral": 0,
       "swap": 0, "extra_specs": {}}
OLD = {"VCPU": 1, "MEMORY_MB": 512, "DISK_GB": 1}


async def _resizing(cloud: CloudClient, new: dict[str, Any] = NEW) -> tuple[str, str, str]:
    """A server placed on n1 that the API just asked to resize: (server, migration, rp)."""
    rp = (await report(cloud, "n1", memory_mb=4096))["node_uuid"]
    uuid = await insert_instance(cloud)
    await schedule(cloud, uuid)
    async with cloud.svc.write() as db:
        row = (await db.execute(select(Instance).where(Instance.uuid == uuid))).scalar_one()
        migration = await mig.create(db, row, migration_type=mig.RESIZE, new_flavor=new,
                                     old_type_id=None, new_type_id=None)
        assert await update_instance(db, uuid, vm_state=states.ACTIVE,
                                     task_state=states.RESIZE_PREP,
                                     task_args={"migration": migration.uuid})
        return uuid, migration.uuid, rp


async def _status(cloud: CloudClient, uuid: str) -> str:
    async with cloud.svc.read() as db:
        found = await mig.get(db, uuid)
        assert found is not None
        return found.status


async def test_prepare_moves_the_allocation_once(cloud: CloudClient) -> None:
    uuid, migration, rp = await _resizing(cloud)
    assert await cloud.conductor.resizer.prepare(uuid, migration)
    assert await allocations(cloud, migration) == {rp: OLD}
    assert await allocations(cloud, uuid) == {rp: {"VCPU": 2, "MEMORY_MB": 1024,
                                                   "DISK_GB": 2}}
    stored = await instance(cloud, uuid)
    assert stored.task_state == states.RESIZE_MIGRATING
    assert await _status(cloud, migration) == mig.MIGRATING
    # A second prepare (a duplicate cast, the sweep) changes nothing.
    assert not await cloud.conductor.resizer.prepare(uuid, migration)
    assert await allocations(cloud, migration) == {rp: OLD}
    # The agent's report of the revert: the allocation goes back to the server.
    await _report(cloud, uuid, states.RESIZE_MIGRATING, mig.FINISHED,
                  vm_state=states.RESIZED, task_state=None)
    assert (await instance(cloud, uuid)).flavor == NEW
    async with cloud.svc.write() as db:
        await mig.set_status(db, migration, mig.REVERTING)
        await update_instance(db, uuid, task_state=states.RESIZE_REVERTING)
    await _report(cloud, uuid, states.RESIZE_REVERTING, mig.REVERTED,
                  vm_state=states.ACTIVE, task_state=None)
    assert await allocations(cloud, uuid) == {rp: OLD}
    assert await allocations(cloud, migration) == {}
    assert (await instance(cloud, uuid)).flavor["vcpus"] == 1


async def _report(cloud: CloudClient, uuid: str, expected: str | None, status: str,
                  **updates: Any) -> None:
    migration = (await instance(cloud, uuid)).task_args["migration"]
    answer = await cloud.svc.bus.call("conductor", "update_instance", {
        "uuid": uuid, "host": "n1", "expected_task_state": expected, "updates": updates,
        "migration": {"uuid": migration, "status": status}})
    assert answer == {"applied": True}


async def test_confirm_drops_the_old_allocation(cloud: CloudClient) -> None:
    uuid, migration, rp = await _resizing(cloud)
    await cloud.conductor.resizer.prepare(uuid, migration)
    await _report(cloud, uuid, states.RESIZE_MIGRATING, mig.FINISHED,
                  vm_state=states.RESIZED, task_state=None)
    async with cloud.svc.write() as db:
        await mig.set_status(db, migration, mig.CONFIRMING)
    await _report(cloud, uuid, None, mig.CONFIRMED, vm_state=states.ACTIVE)
    assert await allocations(cloud, migration) == {}
    assert await allocations(cloud, uuid) == {rp: {"VCPU": 2, "MEMORY_MB": 1024,
                                                   "DISK_GB": 2}}
    stored = await instance(cloud, uuid)
    assert (stored.vcpus, stored.memory_mb, stored.task_args) == (2, 1024, {})


async def test_no_room_on_the_host_ends_the_migration_in_error(cloud: CloudClient) -> None:
    uuid, migration, rp = await _resizing(cloud, {**NEW, "ram": 8192})
    assert not await cloud.conductor.resizer.prepare(uuid, migration)
    stored = await instance(cloud, uuid)
    assert (stored.vm_state, stored.task_state) == (states.ACTIVE, None)
    assert stored.fault is not None and "No valid host was found." in stored.fault["message"]
    assert await _status(cloud, migration) == mig.ERROR
    assert await allocations(cloud, uuid) == {rp: OLD}
    assert await allocations(cloud, migration) == {}


async def test_same_host_resizes_can_be_turned_off(tmp_path: Path) -> None:
    config = cloud_config(tmp_path, "roles=api,conductor", "compute.reserved_host_memory_mb=0",
                          "compute.allow_resize_to_same_host=false")
    async for cloud in make_cloud(config):
        uuid, migration, _ = await _resizing(cloud)
        assert not await cloud.conductor.resizer.prepare(uuid, migration)
        assert await _status(cloud, migration) == mig.ERROR
        assert "allow_resize_to_same_host" in str((await instance(cloud, uuid)).fault)


async def test_unconfirmed_resizes_confirm_themselves_after_the_window(tmp_path: Path) -> None:
    config = cloud_config(tmp_path, "roles=api,conductor", "compute.reserved_host_memory_mb=0",
                          "compute.resize_confirm_window=60")
    async for cloud in make_cloud(config):
        uuid, migration, _ = await _resizing(cloud)
        await cloud.conductor.resizer.prepare(uuid, migration)
        await _report(cloud, uuid, states.RESIZE_MIGRATING, mig.FINISHED,
                      vm_state=states.RESIZED, task_state=None)
        assert await cloud.conductor.resizer.auto_confirm() == 0     # not yet
        async with cloud.svc.write() as db:
            row = (await db.execute(select(Migration).where(Migration.uuid == migration))
                   ).scalar_one()
            row.updated_at = long_ago(61)
        assert await cloud.conductor.resizer.auto_confirm() == 1
        assert await _status(cloud, migration) == mig.CONFIRMING
        assert (await instance(cloud, uuid)).task_args["confirm"] is True


async def test_a_deleted_servers_open_resize_is_abandoned_by_the_sweep(
        cloud: CloudClient) -> None:
    uuid, migration, _ = await _resizing(cloud)
    await cloud.conductor.resizer.prepare(uuid, migration)
    async with cloud.svc.write() as db:        # deleted where no agent could help
        await update_instance(db, uuid, deleted=True, vm_state=states.DELETED,
                              task_state=None)
    await cloud.conductor.sweeper.remove_orphan_allocations()
    assert await _status(cloud, migration) == mig.ERROR
    assert await allocations(cloud, migration) == {}
