"""resize, confirmResize, revertResize at the API (no conductor, no agent): what each
writes, the 409s and 400s Nova answers, another project's 404, the lock; and
``GET /os-migrations``, for admins, with Nova's fields per microversion."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from helpers.compute import (
    HOST,
    Owner,
    act,
    fake_agent,
    fault,
    instance,
    make_flavor,
    next_cast,
    owner,
    server,
    set_columns,
    show,
    version,
)
from helpers.inprocess import CloudClient, quiet_cloud
from ownstack.compute.objects.models import InstanceAction, Migration


@pytest.fixture
async def cloud(tmp_path: Path) -> AsyncIterator[CloudClient]:
    async for client in quiet_cloud(tmp_path):
        yield client


async def _flavor(cloud: CloudClient, **fields: Any) -> str:
    return str((await make_flavor(cloud, **fields))["id"])


async def _migrations(cloud: CloudClient, server_id: str) -> list[Migration]:
    async with cloud.svc.read() as db:
        return list((await db.execute(select(Migration).where(
            Migration.instance_uuid == server_id).order_by(Migration.id))).scalars())


async def _last_action(cloud: CloudClient, server_id: str) -> str:
    async with cloud.svc.read() as db:
        return str((await db.execute(select(InstanceAction.action).where(
            InstanceAction.instance_uuid == server_id).order_by(InstanceAction.id.desc())
            .limit(1))).scalar_one())



@pytest.mark.parametrize("vm_state", ["active", "stopped"])
async def test_resize_records_a_migration_and_asks_the_conductor(
        cloud: CloudClient, vm_state: str) -> None:
    who = await owner(cloud)
    server_id = await server(cloud, who, vm_state=vm_state)
    casts: list[tuple[str, dict[str, Any]]] = []

    async def conductor(method: str, payload: dict[str, Any]) -> None:
        casts.append((method, payload))
    await cloud.svc.bus.serve("conductor", conductor)
    bigger = await _flavor(cloud, vcpus=2, ram=256, disk=2)
    r = await act(cloud, who.token, server_id, {"resize": {"flavorRef": bigger,
                                                           "OS-DCF:diskConfig": "AUTO"}},
                  expect=202)
    assert r.content == b""
    shown = (await show(cloud, who.token, server_id))["server"]
    assert (shown["status"], shown["OS-EXT-STS:task_state"]) == ("RESIZE", "resize_prep")
    [migration] = await _migrations(cloud, server_id)
    assert (migration.status, migration.migration_type) == ("pre-migrating", "resize")
    assert (migration.source_compute, migration.source_node) == (HOST, HOST)
    assert migration.new_flavor["id"] == bigger and migration.new_flavor["vcpus"] == 2
    stored = await instance(cloud, server_id)
    assert stored.task_args["migration"] == migration.uuid
    assert stored.task_args["old_vm_state"] == vm_state
    # The quota counts the larger flavor until the resize is confirmed or reverted.
    assert (stored.vcpus, stored.memory_mb) == (2, 256)
    assert await _last_action(cloud, server_id) == "resize"
    wanted = ("resize_instance", {"uuid": server_id, "migration": migration.uuid})
    for _ in range(200):
        if wanted in casts:
            break
        await asyncio.sleep(0.01)
    assert [c for c in casts if c[0] == "resize_instance"] == [wanted]


async def test_resize_refusals_are_nova_s(cloud: CloudClient) -> None:
    who = await owner(cloud)     # its flavor: 1 vCPU, 64 MiB, 1 GiB disk
    server_id = await server(cloud, who)
    no_disk = await _flavor(cloud, disk=0)
    smaller = await _flavor(cloud, ram=32, disk=1)
    cases = [
        ({"flavorRef": who.flavor_id}, "When resizing, instances must change flavor!"),
        ({"flavorRef": no_disk}, "Server disk was unable to be resized because: Resize to "
                                 "zero disk flavor is not allowed."),
        ({"flavorRef": "no-such-flavor"}, "Unable to locate requested flavor."),
        ({}, "flavorRef"),
        ({"flavorRef": smaller, "OS-DCF:diskConfig": "BAD"}, "OS-DCF:diskConfig"),
        ({"flavorRef": smaller, "extra": 1}, "extra"),
    ]
    for body, message in cases:
        r = await act(cloud, who.token, server_id, {"resize": body}, expect=400)
        assert message in fault(r, "badRequest"), body
    bigger_disk = await _flavor(cloud, disk=3)
    await set_columns(cloud, server_id, flavor={**(await instance(cloud, server_id)).flavor,
                                                "disk": 5})
    r = await act(cloud, who.token, server_id, {"resize": {"flavorRef": bigger_disk}},
                  expect=400)
    assert fault(r, "badRequest") == ("Server disk was unable to be resized because: "
                                      "Unable to resize disk down.")
    assert await _migrations(cloud, server_id) == []


@pytest.mark.parametrize(("body", "vm_state", "task_state", "message"), [
    ({"resize": {"flavorRef": "1"}}, "error", None,
     "Cannot 'resize' instance {id} while it is in vm_state error"),
    ({"resize": {"flavorRef": "1"}}, "active", "rebooting",
     "Cannot 'resize' instance {id} while it is in task_state rebooting"),
    ({"resize": {"flavorRef": "1"}}, "resized", None,
     "Cannot 'resize' instance {id} while it is in vm_state resized"),
    ({"confirmResize": None}, "active", None,
     "Cannot 'confirm_resize' instance {id} while it is in vm_state active"),
    ({"revertResize": None}, "stopped", None,
     "Cannot 'revert_resize' instance {id} while it is in vm_state stopped"),
    ({"revertResize": None}, "resized", "resize_reverting",
     "Cannot 'revert_resize' instance {id} while it is in task_state resize_reverting"),
])
async def test_wrong_state_is_a_409(cloud: CloudClient, body: dict[str, Any], vm_state: str,
                                    task_state: str | None, message: str) -> None:
    who = await owner(cloud)
    server_id = await server(cloud, who, vm_state=vm_state, task_state=task_state)
    r = await act(cloud, who.token, server_id, body, expect=409)
    assert fault(r, "conflictingRequest") == message.format(id=server_id)
    assert await _migrations(cloud, server_id) == []


async def test_confirm_and_revert_need_a_finished_resize(cloud: CloudClient) -> None:
    who = await owner(cloud)
    server_id = await server(cloud, who, vm_state="resized")
    for body in ({"confirmResize": None}, {"revertResize": None}):
        r = await act(cloud, who.token, server_id, body, expect=400)
        assert fault(r, "badRequest") == "Instance has not been resized."


async def _resized(cloud: CloudClient, who: Owner) -> tuple[str, str]:
    """A server the agent left RESIZED, its migration finished."""
    server_id = await server(cloud, who)
    bigger = await _flavor(cloud, vcpus=2, ram=128, disk=1)
    await act(cloud, who.token, server_id, {"resize": {"flavorRef": bigger}}, expect=202)
    [migration] = await _migrations(cloud, server_id)
    await set_columns(cloud, server_id, vm_state="resized", task_state=None)
    async with cloud.svc.write() as db:
        row = (await db.execute(select(Migration).where(Migration.id == migration.id))
               ).scalar_one()
        row.status = "finished"
    return server_id, migration.uuid


async def test_confirm_asks_the_agent_through_task_args_and_answers_204(
        cloud: CloudClient) -> None:
    who = await owner(cloud)
    agent = await fake_agent(cloud)
    server_id, _migration = await _resized(cloud, who)
    r = await act(cloud, who.token, server_id, {"confirmResize": None}, expect=204)
    stored = await instance(cloud, server_id)
    assert stored.task_state is None and stored.task_args["confirm"] is True
    assert [m.status for m in await _migrations(cloud, server_id)] == ["confirming"]
    assert await _last_action(cloud, server_id) == "confirmResize"
    method, payload = await next_cast(agent)
    assert (method, payload["uuid"]) == ("reconcile_instance", server_id)
    assert payload["request_id"] == r.headers["x-openstack-request-id"]
    again = await act(cloud, who.token, server_id, {"confirmResize": None}, expect=400)
    assert fault(again, "badRequest") == "Instance has not been resized."


async def test_revert_sets_its_task(cloud: CloudClient) -> None:
    who = await owner(cloud)
    await fake_agent(cloud)
    server_id, _migration = await _resized(cloud, who)
    await act(cloud, who.token, server_id, {"revertResize": None}, expect=202)
    shown = (await show(cloud, who.token, server_id))["server"]
    assert (shown["status"], shown["OS-EXT-STS:task_state"]) == ("REVERT_RESIZE",
                                                                "resize_reverting")
    assert [m.status for m in await _migrations(cloud, server_id)] == ["reverting"]
    assert (await instance(cloud, server_id)).task_args["old_flavor"]["vcpus"] == 1
    assert await _last_action(cloud, server_id) == "revertResize"


async def test_another_projects_server_is_404_and_a_lock_409(cloud: CloudClient) -> None:
    who = await owner(cloud)
    other = await owner(cloud)
    server_id = await server(cloud, who)
    for body in ({"resize": {"flavorRef": who.flavor_id}}, {"confirmResize": None},
                 {"revertResize": None}):
        await act(cloud, other.token, server_id, body, expect=404)
    await set_columns(cloud, server_id, locked=True, locked_by="admin")
    bigger = await _flavor(cloud, vcpus=2)
    r = await act(cloud, who.token, server_id, {"resize": {"flavorRef": bigger}}, expect=409)
    assert "locked" in fault(r, "conflictingRequest")


async def test_os_migrations_is_for_admins_with_nova_s_fields(cloud: CloudClient) -> None:
    who = await owner(cloud)
    server_id, migration = await _resized(cloud, who)
    await cloud.call("GET", "/v2.1/os-migrations", token=who.token, expect=403)
    old = (await cloud.call("GET", "/v2.1/os-migrations", expect=200)).json()["migrations"]
    [row] = [m for m in old if m["instance_uuid"] == server_id]
    assert set(row) == {"id", "instance_uuid", "status", "source_compute", "source_node",
                        "dest_compute", "dest_node", "dest_host", "old_instance_type_id",
                        "new_instance_type_id", "created_at", "updated_at"}
    assert row["status"] == "finished" and isinstance(row["new_instance_type_id"], int)
    new = (await cloud.call("GET", "/v2.1/os-migrations", headers=version("2.80"),
                            expect=200)).json()["migrations"]
    [row] = [m for m in new if m["instance_uuid"] == server_id]
    assert (row["uuid"], row["migration_type"], row["project_id"]) == (
        migration, "resize", who.project_id)
    for query, count in ((f"instance_uuid={server_id}", 1), ("status=finished", 1),
                         ("status=error", 0), (f"host={HOST}", 1), ("host=elsewhere", 0),
                         ("migration_type=migration", 0)):
        found = (await cloud.call("GET", f"/v2.1/os-migrations?{query}",
                                  headers=version("2.80"), expect=200)).json()["migrations"]
        assert len([m for m in found if m["instance_uuid"] == server_id]) == count, query
    paged = await cloud.call("GET", "/v2.1/os-migrations?limit=1", headers=version("2.59"),
                             expect=200)
    assert len(paged.json()["migrations"]) == 1
    bad = await cloud.call("GET", "/v2.1/os-migrations?marker=nope",
                           headers=version("2.59"), expect=400)
    assert "Marker nope could not be found." in fault(bad, "badRequest")


async def test_a_resize_beyond_the_quota_is_nova_s_403(cloud: CloudClient) -> None:
    """Nova checks the larger flavor's extra vCPUs and RAM against the project's quota
    (Tempest's test_resize_server_using_overlimit_ram/_vcpus); nothing is started."""
    who = await owner(cloud)     # its flavor: 1 vCPU, 256 MiB
    server_id = await server(cloud, who)
    await cloud.call("PUT", f"/v2.1/os-quota-sets/{who.project_id}", expect=200,
                     json={"quota_set": {"cores": 2, "ram": 512}})
    more_cores = await _flavor(cloud, vcpus=3, ram=256, disk=1)
    r = await act(cloud, who.token, server_id, {"resize": {"flavorRef": more_cores}},
                  expect=403)
    assert fault(r, "forbidden") == \
        "Quota exceeded for cores: Requested 2, but already used 1 of 2 cores"
    more_ram = await _flavor(cloud, vcpus=1, ram=1024, disk=1)
    r = await act(cloud, who.token, server_id, {"resize": {"flavorRef": more_ram}},
                  expect=403)
    assert fault(r, "forbidden") == \
        "Quota exceeded for ram: Requested 768, but already used 256 of 512 ram"
    assert await _migrations(cloud, server_id) == []
    assert (await instance(cloud, server_id)).task_state is None
    # What fits is accepted; a smaller flavor needs no room at all.
    fits = await _flavor(cloud, vcpus=2, ram=512, disk=1)
    await act(cloud, who.token, server_id, {"resize": {"flavorRef": fits}}, expect=202)
