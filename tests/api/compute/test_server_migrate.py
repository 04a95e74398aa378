"""Cold migration (``migrate``) at the API: Nova's policy, 404, 409s and 400s on a cloud
with no conductor or agents (every host a test row), then the whole flow on a cloud of
three fake nodes: the server moves host, Placement usages move with it, confirm frees the
source and revert brings the server back."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from helpers.compute import (
    HOST,
    act,
    fault,
    instance,
    owner,
    reader_token,
    server,
    show,
    wait_status,
)
from helpers.compute_rows import add_host
from helpers.inprocess import CloudClient, cloud_config, make_cloud, quiet_cloud
from helpers.server_networks import _active, _get_port, _net, _ports, _project
from ownstack.compute.agent import AgentGroup
from ownstack.compute.objects.models import (
    BlockDeviceMapping,
    ComputeNode,
    ComputeService,
    Instance,
    InstanceAction,
    Migration,
)


@pytest.fixture
async def cloud(tmp_path: Path) -> AsyncIterator[CloudClient]:
    async for client in quiet_cloud(tmp_path):
        yield client


@pytest.fixture
async def nodes3(tmp_path: Path) -> AsyncIterator[CloudClient]:
    async for client in make_cloud(cloud_config(tmp_path, "compute.fake_nodes=3")):
        yield client


async def _hosts(cloud: CloudClient, *, hypervisor: str = "fake") -> None:
    """HOST and a second host, both of ``hypervisor``."""
    for name in (HOST, "other-host"):
        _, node = await add_host(cloud, name)
        async with cloud.svc.write() as db:
            await db.execute(update(ComputeNode).where(ComputeNode.id == node.id)
                             .values(hypervisor_type=hypervisor))


async def _migrations(cloud: CloudClient, server_id: str) -> list[Migration]:
    async with cloud.svc.read() as db:
        return list((await db.execute(select(Migration).where(
            Migration.instance_uuid == server_id).order_by(Migration.id))).scalars())


# --- the API's answers --------------------------------------------------------------------

async def test_migrate_is_accepted_for_admins_and_recorded(cloud: CloudClient) -> None:
    await _hosts(cloud)
    who = await owner(cloud)
    server_id = await server(cloud, who)
    r = await act(cloud, None, server_id, {"migrate": None}, expect=202)
    assert r.content == b""
    shown = (await show(cloud, None, server_id))["server"]
    assert (shown["status"], shown["OS-EXT-STS:task_state"]) == ("RESIZE", "resize_prep")
    [migration] = await _migrations(cloud, server_id)
    assert (migration.status, migration.migration_type) == ("pre-migrating", "migration")
    assert migration.source_compute == HOST
    assert migration.new_flavor == migration.old_flavor
    async with cloud.svc.read() as db:
        actions = (await db.execute(select(InstanceAction.action).where(
            InstanceAction.instance_uuid == server_id).order_by(InstanceAction.id)
        )).scalars().all()
    assert list(actions) == ["create", "migrate"]


async def test_migrate_is_admin_only(cloud: CloudClient) -> None:
    await _hosts(cloud)
    who = await owner(cloud)
    server_id = await server(cloud, who)
    r = await act(cloud, who.token, server_id, {"migrate": None}, expect=403)
    assert "os-migrate-server:migrate" in fault(r, "forbidden")
    await act(cloud, await reader_token(cloud, who), server_id, {"migrate": None},
              expect=403)
    assert not await _migrations(cloud, server_id)


async def test_missing_server_is_404(cloud: CloudClient) -> None:
    await act(cloud, None, "00000000-0000-4000-8000-000000000000", {"migrate": None},
              expect=404)


@pytest.mark.parametrize(("vm_state", "task_state"), [
    ("paused", None), ("suspended", None), ("error", None), ("resized", None),
    ("active", "rebooting"), ("shelved_offloaded", None)])
async def test_wrong_state_is_a_409(cloud: CloudClient, vm_state: str,
                                    task_state: str | None) -> None:
    await _hosts(cloud)
    who = await owner(cloud)
    server_id = await server(cloud, who, vm_state=vm_state, task_state=task_state)
    r = await act(cloud, None, server_id, {"migrate": None}, expect=409)
    assert "migrate" in fault(r, "conflictingRequest")


@pytest.mark.parametrize("vm_state", ["active", "stopped"])
async def test_active_and_stopped_are_accepted(cloud: CloudClient, vm_state: str) -> None:
    await _hosts(cloud)
    who = await owner(cloud)
    server_id = await server(cloud, who, vm_state=vm_state)
    await act(cloud, None, server_id, {"migrate": None}, expect=202)


async def test_target_host_needs_2_56_and_must_be_another_compute_host(
        cloud: CloudClient) -> None:
    await _hosts(cloud)
    who = await owner(cloud)
    server_id = await server(cloud, who)
    r = await act(cloud, None, server_id, {"migrate": {"host": "nowhere"}}, v="2.56",
                  expect=400)
    assert fault(r, "badRequest") == "Compute host nowhere could not be found."
    r = await act(cloud, None, server_id, {"migrate": {"host": HOST}}, v="2.56", expect=400)
    assert fault(r, "badRequest") == "Cannot migrate to the host where the server exists."
    for bad in ({"host": ""}, {"host": 5}, {"hostname": "other-host"}, "other-host"):
        await act(cloud, None, server_id, {"migrate": bad}, v="2.56", expect=400)
    assert not await _migrations(cloud, server_id)
    await act(cloud, None, server_id, {"migrate": {"host": "other-host"}}, v="2.56",
              expect=202)
    stored = (await _migrations(cloud, server_id))[0]
    assert stored.migration_type == "migration"
    assert (await instance(cloud, server_id)).task_args["requested_host"] == "other-host"


async def test_before_2_56_the_body_is_not_read(cloud: CloudClient) -> None:
    """As Nova: no schema before 2.56, so a host there is ignored, not refused."""
    await _hosts(cloud)
    who = await owner(cloud)
    server_id = await server(cloud, who)
    await act(cloud, None, server_id, {"migrate": {"host": HOST}}, v="2.55", expect=202)
    assert (await instance(cloud, server_id)).task_args["requested_host"] is None


async def test_a_member_cannot_name_a_host_either(cloud: CloudClient) -> None:
    await _hosts(cloud)
    who = await owner(cloud)
    server_id = await server(cloud, who)
    await act(cloud, who.token, server_id, {"migrate": {"host": "other-host"}}, v="2.56",
              expect=403)


async def test_no_other_host_is_no_valid_host(cloud: CloudClient) -> None:
    await add_host(cloud, HOST)
    async with cloud.svc.write() as db:
        await db.execute(update(ComputeNode).values(hypervisor_type="fake"))
    who = await owner(cloud)
    server_id = await server(cloud, who)
    r = await act(cloud, None, server_id, {"migrate": None}, expect=400)
    assert fault(r, "badRequest").startswith("No valid host was found.")
    assert (await show(cloud, None, server_id))["server"]["status"] == "ACTIVE"


async def test_a_server_with_a_volume_cannot_move_yet(cloud: CloudClient) -> None:
    await _hosts(cloud)
    who = await owner(cloud)
    server_id = await server(cloud, who)
    async with cloud.svc.write() as db:
        db.add(BlockDeviceMapping(uuid=str(uuid.uuid4()), instance_uuid=server_id,
                                  source_type="volume", destination_type="volume",
                                  volume_id=str(uuid.uuid4()), attach_state="attached"))
    r = await act(cloud, None, server_id, {"migrate": None}, expect=400)
    assert "with volumes is not supported yet" in fault(r, "badRequest")
    assert not await _migrations(cloud, server_id)


async def test_a_qemu_server_migrates(cloud: CloudClient) -> None:
    await _hosts(cloud, hypervisor="QEMU")
    who = await owner(cloud)
    server_id = await server(cloud, who)
    await act(cloud, None, server_id, {"migrate": None}, expect=202)
    [migration] = await _migrations(cloud, server_id)
    assert migration.migration_type == "migration" and migration.source_compute == HOST
    shown = (await show(cloud, None, server_id))["server"]
    assert shown["OS-EXT-STS:task_state"] == "resize_prep"


async def test_a_host_whose_hypervisor_cannot_move_guests_is_refused(
        cloud: CloudClient) -> None:
    await _hosts(cloud, hypervisor="ironic")
    who = await owner(cloud)
    server_id = await server(cloud, who)
    r = await act(cloud, None, server_id, {"migrate": None}, expect=400)
    assert "Cold migration is not supported" in fault(r, "badRequest")
    assert "ironic" in fault(r, "badRequest")
    assert not await _migrations(cloud, server_id)


async def test_a_locked_server_is_409_for_its_owner_but_not_for_admins(
        cloud: CloudClient) -> None:
    await _hosts(cloud)
    who = await owner(cloud)
    server_id = await server(cloud, who, locked=True, locked_by="owner")
    await act(cloud, None, server_id, {"migrate": None}, expect=202)


# --- the whole flow on three fake nodes -----------------------------------------------------

def _agents(cloud: CloudClient) -> AgentGroup:
    group = cloud.agents
    assert isinstance(group, AgentGroup)
    return group


def _where(cloud: CloudClient, server_id: str) -> dict[str, str]:
    """The node of each guest of ``server_id``, and its power state's name."""
    return {node: machine.guests[server_id].power_state.name
            for node, machine in _agents(cloud).hypervisors.items()
            if server_id in machine.guests}


async def _usages(cloud: CloudClient, consumer: str) -> dict[str, dict[str, int]]:
    r = await cloud.on("placement", "GET", f"/allocations/{consumer}", expect=200)
    return {rp: dict(a["resources"]) for rp, a in r.json()["allocations"].items()}


async def _provider_of(cloud: CloudClient, host: str) -> str:
    async with cloud.svc.read() as db:
        return str((await db.execute(select(ComputeNode.uuid).where(
            ComputeNode.host == host))).scalar_one())


async def _booted(cloud: CloudClient) -> tuple[str, str]:
    async def three() -> bool:
        r = await cloud.call("GET", "/v2.1/os-hypervisors", expect=200)
        return len(r.json()["hypervisors"]) == 3
    await _wait(three)
    who = await owner(cloud)
    r = await cloud.call("POST", "/v2.1/servers", json={"server": {
        "name": "vm1", "imageRef": who.image_id, "flavorRef": who.flavor_id,
        "networks": "none"}}, headers={"OpenStack-API-Version": "compute 2.37"},
        expect=202)
    server_id = str(r.json()["server"]["id"])
    active = await wait_status(cloud, None, server_id, "ACTIVE")
    return server_id, str(active["OS-EXT-SRV-ATTR:host"])


async def _wait(predicate: Any, timeout: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await predicate():
        assert asyncio.get_running_loop().time() < deadline, "condition never met"
        await asyncio.sleep(0.02)


async def test_migrate_then_confirm_moves_the_server_and_its_usage(
        nodes3: CloudClient) -> None:
    server_id, source = await _booted(nodes3)
    flavor_usage = next(iter((await _usages(nodes3, server_id)).values()))
    await act(nodes3, None, server_id, {"migrate": None}, expect=202)
    verify = await wait_status(nodes3, None, server_id, "VERIFY_RESIZE")
    dest = str(verify["OS-EXT-SRV-ATTR:host"])
    assert dest != source
    assert _where(nodes3, server_id) == {source: "SHUTDOWN", dest: "RUNNING"}
    [migration] = await _migrations(nodes3, server_id)
    assert (migration.status, migration.dest_compute) == ("finished", dest)
    assert await _usages(nodes3, migration.uuid) == {
        await _provider_of(nodes3, source): flavor_usage}
    assert await _usages(nodes3, server_id) == {
        await _provider_of(nodes3, dest): flavor_usage}

    await act(nodes3, None, server_id, {"confirmResize": None}, expect=204)
    active = await wait_status(nodes3, None, server_id, "ACTIVE")
    assert active["OS-EXT-SRV-ATTR:host"] == dest

    async def source_freed() -> bool:
        return _where(nodes3, server_id) == {dest: "RUNNING"} \
            and not await _usages(nodes3, migration.uuid)
    await _wait(source_freed)
    assert await _usages(nodes3, server_id) == {
        await _provider_of(nodes3, dest): flavor_usage}
    assert (await _migrations(nodes3, server_id))[0].status == "confirmed"


async def test_migrate_a_stopped_server_to_a_named_host_then_revert(
        nodes3: CloudClient) -> None:
    server_id, source = await _booted(nodes3)
    flavor_usage = next(iter((await _usages(nodes3, server_id)).values()))
    await act(nodes3, None, server_id, {"os-stop": None}, expect=202)
    await wait_status(nodes3, None, server_id, "SHUTOFF")
    target = next(h for h in ("test-node-1", "test-node-2", "test-node-3") if h != source)
    await act(nodes3, None, server_id, {"migrate": {"host": target}}, v="2.56", expect=202)
    verify = await wait_status(nodes3, None, server_id, "VERIFY_RESIZE")
    assert verify["OS-EXT-SRV-ATTR:host"] == target
    assert _where(nodes3, server_id) == {source: "SHUTDOWN", target: "SHUTDOWN"}

    await act(nodes3, None, server_id, {"revertResize": None}, expect=202)
    back = await wait_status(nodes3, None, server_id, "SHUTOFF")
    assert back["OS-EXT-SRV-ATTR:host"] == source

    async def settled() -> bool:
        [migration] = await _migrations(nodes3, server_id)
        return _where(nodes3, server_id) == {source: "SHUTDOWN"} \
            and migration.status == "reverted" and not await _usages(nodes3, migration.uuid)
    await _wait(settled)
    assert await _usages(nodes3, server_id) == {
        await _provider_of(nodes3, source): flavor_usage}


async def test_an_agent_restarted_mid_migration_converges(nodes3: CloudClient) -> None:
    """Every agent stopped (as a SIGKILL would) once the migration is accepted, then
    started again: the migration still finishes, and revert still works."""
    server_id, source = await _booted(nodes3)
    await _agents(nodes3).stop()
    await act(nodes3, None, server_id, {"migrate": None}, expect=202)

    async def claimed() -> bool:
        shown = (await show(nodes3, None, server_id))["server"]
        return bool(shown["OS-EXT-STS:task_state"] == "resize_migrating")
    await _wait(claimed)            # the conductor claimed; its nudge found no agent
    await nodes3.start_worker("compute")
    await wait_status(nodes3, None, server_id, "VERIFY_RESIZE")
    await act(nodes3, None, server_id, {"revertResize": None}, expect=202)
    back = await wait_status(nodes3, None, server_id, "ACTIVE")
    assert back["OS-EXT-SRV-ATTR:host"] == source
    await _wait(lambda: _true(_where(nodes3, server_id) == {source: "RUNNING"}))


async def _true(value: bool) -> bool:
    return value


@pytest.fixture
async def nodes3_no_plug_wait(tmp_path: Path) -> AsyncIterator[CloudClient]:
    """Three fake nodes, booting without waiting for ports (the fake network agent only
    serves the process's own host name, not the fake nodes')."""
    async for client in make_cloud(cloud_config(tmp_path, "compute.fake_nodes=3",
                                                 "compute.vif_plugging_timeout=0")):
        yield client


async def test_the_ports_follow_the_server_and_come_back_on_revert(
        nodes3_no_plug_wait: CloudClient) -> None:
    nodes3 = nodes3_no_plug_wait
    await _wait(lambda: _three(nodes3))
    who = await _project(nodes3)
    net = await _net(nodes3, who.token, name="move-net")
    booted = await _active(nodes3, who, [{"uuid": net["id"]}])
    server_id = booted["id"]
    source = (await show(nodes3, None, server_id))["server"]["OS-EXT-SRV-ATTR:host"]
    (port,) = await _ports(nodes3, device_id=server_id)
    assert port["binding:host_id"] == source
    await act(nodes3, None, server_id, {"migrate": None}, expect=202)
    dest = (await wait_status(nodes3, None, server_id, "VERIFY_RESIZE")
            )["OS-EXT-SRV-ATTR:host"]
    assert (await _get_port(nodes3, port["id"]))["binding:host_id"] == dest
    await act(nodes3, None, server_id, {"revertResize": None}, expect=202)
    await wait_status(nodes3, None, server_id, "ACTIVE")

    async def back() -> bool:
        return bool((await _get_port(nodes3, port["id"]))["binding:host_id"] == source)
    await _wait(back)


async def _three(cloud: CloudClient) -> bool:
    r = await cloud.call("GET", "/v2.1/os-hypervisors", expect=200)
    return len(r.json()["hypervisors"]) == 3


async def test_a_named_host_that_cannot_take_it_ends_in_a_fault(nodes3: CloudClient) -> None:
    """The conductor's no-room path: the server back as it was, with Nova's fault, the
    migration in error and nothing held by it."""
    server_id, source = await _booted(nodes3)
    target = next(h for h in ("test-node-1", "test-node-2", "test-node-3") if h != source)
    async with nodes3.svc.write() as db:
        await db.execute(update(ComputeService).where(ComputeService.host == target)
                         .values(disabled=True, disabled_reason="maintenance"))
    await act(nodes3, None, server_id, {"migrate": {"host": target}}, v="2.56", expect=202)

    async def refused() -> bool:
        return [m.status for m in await _migrations(nodes3, server_id)] == ["error"]
    await _wait(refused)
    shown = await wait_status(nodes3, None, server_id, "ACTIVE")
    assert shown["OS-EXT-SRV-ATTR:host"] == source
    assert shown["OS-EXT-STS:task_state"] is None
    assert _where(nodes3, server_id) == {source: "RUNNING"}
    [migration] = await _migrations(nodes3, server_id)
    assert not await _usages(nodes3, migration.uuid)
    assert list(await _usages(nodes3, server_id)) == [await _provider_of(nodes3, source)]
    async with nodes3.svc.read() as db:
        stored = (await db.execute(select(Instance).where(Instance.uuid == server_id))
                  ).scalar_one()
    assert stored.fault is not None
    assert stored.fault["message"].startswith(f"No valid host was found. Host {target}")
