"""The compute agent through the whole cloud: API, conductor, Placement, image service and
fake nodes in one process. What a user sees when guests boot, die behind the agent's back,
or the agent itself is killed mid-boot."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from helpers.compute import boot, boot_id, boot_setup, show, version, wait_status
from helpers.inprocess import CloudClient, cloud_config, make_cloud
from helpers.server_networks import _active, _net, _ports, _project
from ownstack.compute.agent import AgentGroup
from ownstack.compute.drivers.base import Phase, PhaseTimer, PowerState
from ownstack.compute.drivers.fake import FakeComputeDriver, FakeHypervisor


async def _cloud(tmp_path: Path, *extra: str) -> AsyncIterator[CloudClient]:
    async for client in make_cloud(cloud_config(tmp_path, *extra)):
        yield client


@pytest.fixture
async def slow_boots(tmp_path: Path) -> AsyncIterator[CloudClient]:
    async for client in _cloud(tmp_path, "compute.fake_spawn_delay=0.5"):
        yield client


@pytest.fixture
async def nodes3(tmp_path: Path) -> AsyncIterator[CloudClient]:
    async for client in _cloud(tmp_path, "compute.fake_nodes=3"):
        yield client


def agents(cloud: CloudClient) -> AgentGroup:
    group = cloud.agents
    assert isinstance(group, AgentGroup)
    return group


def hypervisor(cloud: CloudClient, node: str = "test-node") -> FakeHypervisor:
    return agents(cloud).hypervisors[node]


def driver(cloud: CloudClient, node: str = "test-node") -> FakeComputeDriver:
    fake = agents(cloud).agent(node).driver
    assert isinstance(fake, FakeComputeDriver)
    return fake


async def events(cloud: CloudClient, server_id: str, request_id: str) -> list[dict[str, Any]]:
    r = await cloud.call("GET", f"/v2.1/servers/{server_id}/os-instance-actions/{request_id}",
                         headers=version("2.62"), expect=200)
    return list(r.json()["instanceAction"]["events"])


async def wait_for(predicate: Any, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await predicate():
        assert asyncio.get_running_loop().time() < deadline, "condition never met"
        await asyncio.sleep(0.02)


async def test_a_boot_is_timed_phase_by_phase_in_the_action_events(
        compute: CloudClient) -> None:
    image_id, flavor_id = await boot_setup(compute)
    r = await boot(compute, None, image_id, flavor_id, config_drive=True)
    server_id = r.json()["server"]["id"]
    active = await wait_status(compute, None, server_id, "ACTIVE")
    assert active["OS-EXT-STS:power_state"] == PowerState.RUNNING
    assert active["OS-EXT-STS:vm_state"] == "active"
    assert active["OS-SRV-USG:launched_at"]
    names = {e["event"]: e for e in await events(compute, server_id,
                                                   r.headers["x-compute-request-id"])}
    for name in ("compute_image_fetch", "compute_disks", "compute_config_drive",
                 "compute_start", "compute_build_and_run_instance"):
        assert names[name]["result"] == "Success", names
        assert names[name]["host"] == "test-node"
    guest = hypervisor(compute).guests[server_id]
    assert guest.power_state == PowerState.RUNNING and guest.spec.config_drive


async def test_servers_from_one_image_download_it_once(compute: CloudClient) -> None:
    image_id, flavor_id = await boot_setup(compute)
    ids = [await boot_id(compute, None, image_id, flavor_id) for _ in range(3)]
    for server_id in ids:
        await wait_status(compute, None, server_id, "ACTIVE")
    assert agents(compute).images.downloads == 1
    assert (agents(compute).images.directory / image_id).exists()


async def test_a_spawn_that_cannot_succeed_anywhere_ends_in_error_with_a_fault(
        compute: CloudClient) -> None:
    driver(compute).fail_next_spawn("no bootable disk", phase=Phase.DISKS, retryable=False)
    image_id, flavor_id = await boot_setup(compute)
    r = await boot(compute, None, image_id, flavor_id)
    server_id = r.json()["server"]["id"]
    server = await wait_status(compute, None, server_id, "ERROR")
    assert server["fault"]["code"] == 500
    assert server["fault"]["message"] == "no bootable disk"
    assert server_id not in hypervisor(compute).guests
    names = {e["event"]: e for e in await events(compute, server_id,
                                                   r.headers["x-compute-request-id"])}
    assert names["compute_disks"]["result"] == "Error"
    assert names["compute_build_and_run_instance"]["result"] == "Error"


async def test_an_image_deleted_before_the_fetch_ends_the_boot_in_error(
        compute: CloudClient) -> None:
    """The image went away between the API's check and the agent's fetch: no other host
    could do better, so ERROR with the image service's reason, not a reschedule."""
    image_id, flavor_id = await boot_setup(compute)
    await agents(compute).stop()                        # the node is down for a moment
    server_id = await boot_id(compute, None, image_id, flavor_id)

    async def placed() -> bool:
        server = (await show(compute, None, server_id))["server"]
        return bool(server["OS-EXT-STS:task_state"] == "spawning")
    await wait_for(placed)
    await compute.on("image", "DELETE", f"/v2/images/{image_id}", expect=204)
    await compute.start_worker("compute")
    server = await wait_status(compute, None, server_id, "ERROR")
    assert f"No image found with ID {image_id}" in server["fault"]["message"], server


async def test_a_guest_killed_behind_the_agents_back_goes_shutoff(
        compute: CloudClient) -> None:
    image_id, flavor_id = await boot_setup(compute)
    server_id = await boot_id(compute, None, image_id, flavor_id)
    await wait_status(compute, None, server_id, "ACTIVE")
    hypervisor(compute).stop_behind_back(server_id)
    stopped = await wait_status(compute, None, server_id, "SHUTOFF")
    assert stopped["OS-EXT-STS:power_state"] == 4 and stopped["OS-EXT-STS:task_state"] is None
    await compute.call("POST", f"/v2.1/servers/{server_id}/action", json={"os-start": None},
                       expect=202)
    started = await wait_status(compute, None, server_id, "ACTIVE")
    assert started["OS-EXT-STS:power_state"] == 1
    assert hypervisor(compute).guests[server_id].boots == 2


async def test_a_guest_killed_while_its_boot_reports_active_goes_shutoff(
        compute: CloudClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """The guest dies while the pass that booted it still runs (its ACTIVE written, the
    answer not yet back): its stop is no echo of that pass, so a pass after it marks the
    server SHUTOFF, long before the next resync (30 s)."""
    conductor = agents(compute).agent("test-node").reconciler.conductor
    report = conductor.update_instance

    async def report_then_die(uuid: str, expected_task_state: str | None,
                              **kw: Any) -> bool:
        applied = await report(uuid, expected_task_state, **kw)
        if expected_task_state == "spawning" and kw.get("power_state") == PowerState.RUNNING:
            # ACTIVE is committed (a user may see it) and the conductor's answer is still
            # on its way to the agent: the guest dies in that moment.
            hypervisor(compute).stop_behind_back(uuid)
            await asyncio.sleep(0.1)
        return applied

    monkeypatch.setattr(conductor, "update_instance", report_then_die)
    image_id, flavor_id = await boot_setup(compute)
    server_id = await boot_id(compute, None, image_id, flavor_id)
    stopped = await wait_status(compute, None, server_id, "SHUTOFF", timeout=5)
    assert stopped["OS-EXT-STS:power_state"] == 4 and stopped["OS-EXT-STS:task_state"] is None


async def test_the_console_log_is_the_guests_cut_to_whole_lines(compute: CloudClient) -> None:
    image_id, flavor_id = await boot_setup(compute)
    server_id = await boot_id(compute, None, image_id, flavor_id)
    await wait_status(compute, None, server_id, "ACTIVE")

    async def console(length: int | None) -> str:
        r = await compute.call("POST", f"/v2.1/servers/{server_id}/action",
                               json={"os-getConsoleOutput": {"length": length}}, expect=200)
        return str(r.json()["output"])
    full = await console(None)
    assert f"ownstack: instance {server_id}" in full
    assert len((await console(4)).split("\n")) == 4         # as Tempest counts them
    assert full.endswith(await console(4))


async def test_delete_removes_the_guest_and_the_allocation(compute: CloudClient) -> None:
    image_id, flavor_id = await boot_setup(compute)
    server_id = await boot_id(compute, None, image_id, flavor_id)
    await wait_status(compute, None, server_id, "ACTIVE")
    await compute.call("DELETE", f"/v2.1/servers/{server_id}", expect=204)

    async def gone() -> bool:
        r = await show(compute, None, server_id, expect=None)
        return "itemNotFound" in r
    await wait_for(gone)
    assert server_id not in hypervisor(compute).guests
    r = await compute.on("placement", "GET", f"/allocations/{server_id}", expect=200)
    assert r.json()["allocations"] == {}


async def test_an_orphan_guest_is_destroyed_by_the_resync(
        compute: CloudClient, caplog: pytest.LogCaptureFixture) -> None:
    image_id, flavor_id = await boot_setup(compute)
    server_id = await boot_id(compute, None, image_id, flavor_id)
    await wait_status(compute, None, server_id, "ACTIVE")
    kept = hypervisor(compute).guests[server_id].spec
    orphan = replace(kept, uuid="00000000-0000-4000-8000-00000000dead")
    await driver(compute).spawn(orphan, PhaseTimer())
    with caplog.at_level(logging.WARNING):
        await agents(compute).agent("test-node").resync()
    assert set(hypervisor(compute).guests) == {server_id}
    assert f"orphan guest {orphan.uuid} destroyed" in caplog.text


async def test_an_agent_killed_mid_boot_is_replaced_and_the_server_ends_active(
        slow_boots: CloudClient) -> None:
    cloud = slow_boots
    image_id, flavor_id = await boot_setup(cloud)
    server_id = await boot_id(cloud, None, image_id, flavor_id)
    machine = hypervisor(cloud)

    async def booting() -> bool:
        return server_id in machine.guests
    await wait_for(booting)
    await agents(cloud).stop()                          # the kill, mid-spawn
    assert (await show(cloud, None, server_id))["server"]["status"] == "BUILD"
    await cloud.start_worker("compute")
    active = await wait_status(cloud, None, server_id, "ACTIVE")
    assert active["OS-EXT-STS:task_state"] is None
    assert list(machine.guests) == [server_id] and hypervisor(cloud) is machine
    assert machine.guests[server_id].boots == 1
    r = await cloud.on("placement", "GET", f"/allocations/{server_id}", expect=200)
    assert len(r.json()["allocations"]) == 1


async def test_n_fake_nodes_are_n_hypervisors(nodes3: CloudClient) -> None:
    async def listed() -> bool:
        r = await nodes3.call("GET", "/v2.1/os-hypervisors", expect=200)
        return len(r.json()["hypervisors"]) == 3
    await wait_for(listed)
    r = await nodes3.call("GET", "/v2.1/os-hypervisors", expect=200)
    assert sorted(h["hypervisor_hostname"] for h in r.json()["hypervisors"]) == [
        "test-node-1", "test-node-2", "test-node-3"]
    image_id, flavor_id = await boot_setup(nodes3)
    server_id = await boot_id(nodes3, None, image_id, flavor_id)
    active = await wait_status(nodes3, None, server_id, "ACTIVE")
    host = active["OS-EXT-SRV-ATTR:host"]
    assert [n for n, h in agents(nodes3).hypervisors.items() if server_id in h.guests] == \
        [host]


async def test_a_failed_spawn_is_retried_on_another_node(nodes3: CloudClient) -> None:
    driver(nodes3, "test-node-1").fail_next_spawn("no hugepages left")
    driver(nodes3, "test-node-2").fail_next_spawn("no hugepages left")
    image_id, flavor_id = await boot_setup(nodes3)
    server_id = await boot_id(nodes3, None, image_id, flavor_id)
    active = await wait_status(nodes3, None, server_id, "ACTIVE")
    assert active["OS-EXT-SRV-ATTR:host"] == "test-node-3"
    assert set(hypervisor(nodes3, "test-node-3").guests) == {server_id}


async def test_every_simulated_node_has_a_network_agent(tmp_path: Path) -> None:
    """With the fake drivers' simulated nodes (compute.fake_nodes), each node has its own
    network agent, as each machine of a real cloud does: servers on either node get their
    ports bound there, plugged (ACTIVE) by that node's agent, and boot."""
    async for cloud in _cloud(tmp_path, "compute.fake_nodes=2"):
        r = await cloud.on("network", "GET", "/v2.0/agents?agent_type=Linux bridge agent",
                           expect=200)
        assert {a["host"] for a in r.json()["agents"]} >= {"test-node-1", "test-node-2"}
        who = await _project(cloud)
        net = await _net(cloud, who.token, name="demo-net")
        nodes: set[str] = set()
        for _ in range(4):               # the scheduler spreads them (the most free RAM)
            server = await _active(cloud, who, [{"uuid": net["id"]}])
            (port,) = await _ports(cloud, device_id=server["id"])
            node = port["binding:host_id"]
            assert port["status"] == "ACTIVE" and node in ("test-node-1", "test-node-2")
            assert server["id"] in cloud.agents.hypervisors[node].guests
            nodes.add(node)
        assert nodes == {"test-node-1", "test-node-2"}


async def test_backups_rotate_once_uploaded(compute: CloudClient) -> None:
    """createBackup with rotation 2, three times: once each is uploaded, the server keeps
    its two newest backups of that type; another type is never touched (Nova's
    _rotate_backups)."""
    image_id, flavor_id = await boot_setup(compute)
    server_id = (await boot(compute, None, image_id, flavor_id)).json()["server"]["id"]
    await wait_status(compute, None, server_id, "ACTIVE")

    async def backup(name: str, kind: str, rotation: int) -> str:
        r = await compute.call("POST", f"/v2.1/servers/{server_id}/action",
                               headers=version("2.45"), expect=202, json={"createBackup": {
                                   "name": name, "backup_type": kind, "rotation": rotation}})

        async def done() -> bool:
            shown = (await show(compute, None, server_id))["server"]
            return shown["OS-EXT-STS:task_state"] is None
        await wait_for(done)
        return str(r.json()["image_id"]) if rotation else ""

    async def backups(kind: str) -> list[str]:
        r = await compute.on("image", "GET", f"/v2/images?instance_uuid={server_id}"
                             f"&image_type=backup&backup_type={kind}", expect=200)
        assert all(i["status"] == "active" for i in r.json()["images"])
        return sorted(i["id"] for i in r.json()["images"])

    weekly = await backup("w1", "weekly", 5)
    first, second = await backup("d1", "daily", 2), await backup("d2", "daily", 2)
    assert await backups("daily") == sorted([first, second])
    third = await backup("d3", "daily", 2)
    assert await backups("daily") == sorted([second, third])    # the oldest went
    assert await backups("weekly") == [weekly]
    await backup("d4", "daily", 0)                              # rotation 0: none kept
    assert await backups("daily") == [] and await backups("weekly") == [weekly]
