"""``/os-hosts``: Nova's deprecated host API, up to 2.42 (a 404 from 2.43), admin only."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from helpers.compute import HOST, boot_id, fault, owner, version, wait_status
from helpers.compute_rows import (
    LONG_AGO,
    add_host,
    add_instance,
    add_node,
    add_provider,
    add_service,
    allocate,
)
from helpers.inprocess import CloudClient, quiet_cloud
from ownstack.compute.objects.models import ComputeService

NOT_MAPPED = "Host '{}' is not mapped to any cell"
NOT_SUPPORTED = "The requested functionality is not supported."
POWER_ACTIONS = ("startup", "shutdown", "reboot")


@pytest.fixture
async def cloud(tmp_path: Path) -> AsyncIterator[CloudClient]:
    async for client in quiet_cloud(tmp_path):
        yield client


def resource(host: str, project: str, cpu: int, memory_mb: int, disk_gb: int
             ) -> dict[str, Any]:
    return {"resource": {"host": host, "project": project, "cpu": cpu,
                         "memory_mb": memory_mb, "disk_gb": disk_gb}}


async def hosts_listed(cloud: CloudClient, query: str = "") -> list[dict[str, str]]:
    r = await cloud.call("GET", f"/v2.1/os-hosts{query}", expect=200)
    assert list(r.json()) == ["hosts"]
    return list(r.json()["hosts"])


async def test_list_one_entry_per_enabled_service_with_its_zone(cloud: CloudClient) -> None:
    await add_service(cloud, "c1", zone="az1")
    await add_service(cloud, "ctl", binary="nova-conductor")
    await add_service(cloud, "ctl", binary="nova-scheduler")
    await add_service(cloud, "c2", zone="az2", disabled=True)    # Nova lists enabled ones
    await add_service(cloud, "c3", up=False)                      # down, still listed
    c1 = {"host_name": "c1", "service": "compute", "zone": "az1"}
    conductor = {"host_name": "ctl", "service": "conductor", "zone": "internal"}
    scheduler = {"host_name": "ctl", "service": "scheduler", "zone": "internal"}
    c3 = {"host_name": "c3", "service": "compute", "zone": "nova"}
    assert await hosts_listed(cloud) == [c1, conductor, scheduler, c3]
    assert await hosts_listed(cloud, "?zone=") == [c1, conductor, scheduler, c3]
    assert await hosts_listed(cloud, "?zone=az1") == [c1]
    assert await hosts_listed(cloud, "?zone=internal") == [conductor, scheduler]
    assert await hosts_listed(cloud, "?zone=nova") == [c3]
    assert await hosts_listed(cloud, "?zone=xxx") == []
    assert await hosts_listed(cloud, "?zone=az2") == []           # its only host is disabled
    # Nova reads the last of repeated values and ignores parameters it does not know.
    assert await hosts_listed(cloud, "?zone=xxx&zone=az1") == [c1]
    assert await hosts_listed(cloud, "?bogus=1&zone=az1") == [c1]


async def test_show_resources_of_the_hosts_servers(cloud: CloudClient) -> None:
    service, node = await add_host(cloud, "h1")                  # 8 vCPUs, 16384 MB, 200 GB
    await add_node(cloud, service, name="h1-second")
    await add_provider(cloud, node, reserved_mb=512)
    await allocate(cloud, node, str(uuid.uuid4()), {"VCPU": 3, "MEMORY_MB": 2048,
                                                    "DISK_GB": 20})
    await add_instance(cloud, project_id="pa", host="h1", vcpus=2, ram=1024, disk=10,
                       ephemeral=5)
    await add_instance(cloud, project_id="pb", host="h1", vcpus=4, ram=2048, disk=20)
    # On the host's other node: counted, as Nova counts every server of the host.
    await add_instance(cloud, project_id="pa", host="h1", node="h1-second", vcpus=1,
                       ram=512, disk=1)
    await add_instance(cloud, project_id="pc", host="h1", deleted=True, vcpus=16)
    await add_instance(cloud, project_id="pc", host="elsewhere", vcpus=16)
    r = await cloud.call("GET", "/v2.1/os-hosts/h1", expect=200)
    assert r.json() == {"host": [
        resource("h1", "(total)", 8, 16384, 200),
        resource("h1", "(used_now)", 3, 2048 + 512, 20),
        resource("h1", "(used_max)", 7, 3584, 36),
        resource("h1", "pa", 3, 1536, 16),
        resource("h1", "pb", 4, 2048, 20)]}


async def test_show_a_host_without_servers_or_provider(cloud: CloudClient) -> None:
    await add_host(cloud, "empty")
    r = await cloud.call("GET", "/v2.1/os-hosts/empty", expect=200)
    assert r.json() == {"host": [resource("empty", "(total)", 8, 16384, 200),
                                 resource("empty", "(used_now)", 0, 0, 0),
                                 resource("empty", "(used_max)", 0, 0, 0)]}


async def test_show_unknown_hosts(cloud: CloudClient) -> None:
    await add_service(cloud, "ctl", binary="nova-conductor")
    await add_service(cloud, "nodeless")
    for name in ("nonexistent_hostname", "ctl"):
        r = await cloud.call("GET", f"/v2.1/os-hosts/{name}", expect=404)
        assert fault(r, "itemNotFound") == NOT_MAPPED.format(name)
    r = await cloud.call("GET", "/v2.1/os-hosts/nodeless", expect=404)
    assert fault(r, "itemNotFound") == "Compute host nodeless could not be found."


async def test_status_disables_and_enables_the_compute_service(cloud: CloudClient) -> None:
    _, node = await add_host(cloud, "h2", disabled=True, reason="old reason")
    await add_service(cloud, "h2", binary="nova-conductor")
    r = await cloud.call("PUT", "/v2.1/os-hosts/h2", expect=200, json={"status": "ENABLE"})
    assert r.json() == {"host": "h2", "status": "enabled"}
    listed = (await cloud.call("GET", "/v2.1/os-services?host=h2&binary=nova-compute",
                               expect=200)).json()["services"]
    assert [(s["status"], s["disabled_reason"]) for s in listed] == [("enabled", None)]
    assert {"host_name": "h2", "service": "compute", "zone": "nova"} in \
        await hosts_listed(cloud)

    r = await cloud.call("PUT", "/v2.1/os-hosts/h2", expect=200, json={"status": "disable"})
    assert r.json() == {"host": "h2", "status": "disabled"}
    services = (await cloud.call("GET", "/v2.1/os-services?host=h2",
                                 expect=200)).json()["services"]
    assert {s["binary"]: (s["status"], s["disabled_reason"]) for s in services} == {
        "nova-compute": ("disabled", None), "nova-conductor": ("enabled", None)}
    shown = (await cloud.call("GET", f"/v2.1/os-hypervisors/{node.id}",
                              expect=200)).json()["hypervisor"]
    assert shown["status"] == "disabled"
    # A disabled service leaves the list; the conductor of the same host stays.
    assert [h for h in await hosts_listed(cloud) if h["host_name"] == "h2"] == [
        {"host_name": "h2", "service": "conductor", "zone": "internal"}]
    # Disabling again is no error, and the host is still shown.
    r = await cloud.call("PUT", "/v2.1/os-hosts/h2", expect=200, json={"status": "Disable"})
    assert r.json() == {"host": "h2", "status": "disabled"}
    await cloud.call("GET", "/v2.1/os-hosts/h2", expect=200)


async def services_of(cloud: CloudClient, host: str) -> list[str]:
    r = await cloud.call("GET", f"/v2.1/os-services?host={host}", expect=200)
    return [s["status"] for s in r.json()["services"]]


async def test_update_errors(cloud: CloudClient) -> None:
    await add_host(cloud, "h3")
    await add_service(cloud, "ctl", binary="nova-conductor")
    path = "/v2.1/os-hosts/h3"
    # What Tempest's client sends for "no parameter" is both fields null.
    for bad in ({}, {"status": None, "maintenance_mode": None}, {"status": "invalid"},
                {"status": "enable", "maintenance_mode": "invalid"},
                {"status": "invalid", "maintenance_mode": "enable"},
                {"status": "enabled"}, {"status": " enable"}, {"status": True},
                {"status": "enable", "host": "h3"}, {"maintenance_mode": None}, []):
        r = await cloud.call("PUT", path, json=bad)
        assert r.status_code == 400, (bad, r.text)
        assert list(r.json()) == ["badRequest"]
    # Maintenance mode is a 501, before the status is touched.
    for body in ({"maintenance_mode": "enable"}, {"maintenance_mode": "DISABLE"},
                 {"status": "disable", "maintenance_mode": "enable"}):
        r = await cloud.call("PUT", path, expect=501, json=body)
        assert r.json() == {"notImplemented": {"code": 501, "message": NOT_SUPPORTED}}
    assert await services_of(cloud, "h3") == ["enabled"]
    for name in ("nonexistent_hostname", "ctl"):
        r = await cloud.call("PUT", f"/v2.1/os-hosts/{name}", expect=404,
                             json={"status": "enable", "maintenance_mode": "enable"})
        assert fault(r, "itemNotFound") == NOT_MAPPED.format(name)


async def test_power_actions_are_not_supported(cloud: CloudClient) -> None:
    await add_host(cloud, "h4")
    for action in POWER_ACTIONS:
        r = await cloud.call("GET", f"/v2.1/os-hosts/h4/{action}", expect=501)
        assert r.json() == {"notImplemented": {"code": 501, "message": NOT_SUPPORTED}}
        r = await cloud.call("GET", f"/v2.1/os-hosts/nonexistent_hostname/{action}",
                             expect=404)
        assert fault(r, "itemNotFound") == NOT_MAPPED.format("nonexistent_hostname")
        await cloud.call("POST", f"/v2.1/os-hosts/h4/{action}", expect=405)
    assert await services_of(cloud, "h4") == ["enabled"]


def every_route(host: str) -> list[tuple[str, str, dict[str, Any] | None]]:
    return [("GET", "/v2.1/os-hosts", None), ("GET", f"/v2.1/os-hosts/{host}", None),
            ("PUT", f"/v2.1/os-hosts/{host}", {"status": "disable"}),
            *(("GET", f"/v2.1/os-hosts/{host}/{action}", None) for action in POWER_ACTIONS)]


@pytest.mark.parametrize("role", ["member", "reader"])
async def test_non_admins_are_refused_every_route(cloud: CloudClient, role: str) -> None:
    await add_host(cloud, "h5")
    _, token = await cloud.project_user_token(role)
    for method, path, body in every_route("h5"):
        r = await cloud.call(method, path, token=token, json=body)
        assert r.status_code == 403, (method, path, r.text)
        assert list(r.json()) == ["forbidden"]
    assert await services_of(cloud, "h5") == ["enabled"]


async def test_gone_from_243(cloud: CloudClient) -> None:
    await add_host(cloud, "h6")
    _, token = await cloud.project_user_token("member")
    for v in ("2.43", "2.96"):
        for method, path, body in every_route("h6"):
            for who in (None, token):
                r = await cloud.call(method, path, token=who, json=body, headers=version(v))
                assert r.status_code == 404, (v, method, path, r.text)
                assert fault(r, "itemNotFound") == "The resource could not be found."
    assert await services_of(cloud, "h6") == ["enabled"]
    for method, path, body in every_route("h6")[:2]:
        await cloud.call(method, path, json=body, headers=version("2.42"), expect=200)


async def test_show_counts_servers_booted_through_the_api(compute: CloudClient) -> None:
    """On a cloud with a fake compute node: the servers two projects booted, as the
    flavors size them and as Placement counts them."""
    first = await owner(compute, vcpus=2, ram=512, disk=1)
    second = await owner(compute, vcpus=1, ram=256, disk=2)
    servers = [await boot_id(compute, first.token, first.image_id, first.flavor_id),
               await boot_id(compute, first.token, first.image_id, first.flavor_id),
               await boot_id(compute, second.token, second.image_id, second.flavor_id)]
    for server_id in servers:
        await wait_status(compute, None, server_id, "ACTIVE")
    hosts = await hosts_listed(compute)
    assert {"host_name": HOST, "service": "compute", "zone": "nova"} in hosts
    r = await compute.call("GET", f"/v2.1/os-hosts/{HOST}", expect=200)
    rows = {row["resource"]["project"]: row["resource"] for row in r.json()["host"]}
    assert list(rows) == ["(total)", "(used_now)", "(used_max)", first.project_id,
                          second.project_id]
    hypervisor = (await compute.call("GET", "/v2.1/os-hypervisors/detail",
                                     expect=200)).json()["hypervisors"][0]
    assert rows["(total)"] == {"host": HOST, "project": "(total)",
                               "cpu": hypervisor["vcpus"],
                               "memory_mb": hypervisor["memory_mb"],
                               "disk_gb": hypervisor["local_gb"]}
    reserved_mb = compute.svc.config.compute.reserved_host_memory_mb
    assert rows["(used_now)"] == {"host": HOST, "project": "(used_now)", "cpu": 5,
                                  "memory_mb": 1280 + reserved_mb, "disk_gb": 4}
    assert rows["(used_max)"] == {"host": HOST, "project": "(used_max)", "cpu": 5,
                                  "memory_mb": 1280, "disk_gb": 4}
    assert rows[first.project_id] == {"host": HOST, "project": first.project_id, "cpu": 4,
                                      "memory_mb": 1024, "disk_gb": 2}
    assert rows[second.project_id] == {"host": HOST, "project": second.project_id,
                                       "cpu": 1, "memory_mb": 256, "disk_gb": 2}


async def test_the_conductor_and_scheduler_are_listed_on_their_host(
        compute: CloudClient) -> None:
    """A running cloud lists its conductor and scheduler beside its compute service, in
    the internal zone, up while the conductor beats their rows, as Nova's register."""
    for _ in range(200):
        listed = await hosts_listed(compute)
        if len(listed) == 3:
            break
        await asyncio.sleep(0.05)
    assert sorted(listed, key=lambda h: h["service"]) == [
        {"host_name": HOST, "service": "compute", "zone": "nova"},
        {"host_name": HOST, "service": "conductor", "zone": "internal"},
        {"host_name": HOST, "service": "scheduler", "zone": "internal"}]
    assert await hosts_listed(compute, "?zone=internal") == [
        {"host_name": HOST, "service": "conductor", "zone": "internal"},
        {"host_name": HOST, "service": "scheduler", "zone": "internal"}]
    services = (await compute.call("GET", "/v2.1/os-services?binary=nova-scheduler",
                                   expect=200)).json()["services"]
    assert [(s["host"], s["zone"], s["state"], s["status"]) for s in services] == [
        (HOST, "internal", "up", "enabled")]
    # Only compute services are changed through os-services or os-hosts.
    await compute.call("PUT", f"/v2.1/os-services/{services[0]['id']}", expect=400,
                           json={"status": "disabled"}, headers=version("2.53"))
    zones = (await compute.call("GET", "/v2.1/os-availability-zone/detail",
                                expect=200)).json()["availabilityZoneInfo"]
    internal = next(z for z in zones if z["zoneName"] == "internal")
    assert set(internal["hosts"][HOST]) == {"nova-conductor", "nova-scheduler"}
    plain = (await compute.call("GET", "/v2.1/os-availability-zone",
                                expect=200)).json()["availabilityZoneInfo"]
    assert [z["zoneName"] for z in plain] == ["nova"]


async def test_a_conductor_beats_its_rows_back_up_and_remakes_a_deleted_one(
        compute: CloudClient) -> None:
    async def scheduler() -> ComputeService | None:
        async with compute.svc.read() as db:
            return (await db.execute(sa.select(ComputeService).where(
                ComputeService.binary == "nova-scheduler"))).scalar_one_or_none()

    for _ in range(200):
        found = await scheduler()
        if found is not None:
            break
        await asyncio.sleep(0.05)
    assert found is not None
    async with compute.svc.write() as db:
        await db.execute(sa.update(ComputeService).where(
            ComputeService.binary == "nova-conductor").values(last_seen_up=LONG_AGO))
    await compute.call("DELETE", f"/v2.1/os-services/{found.uuid}", expect=204,
                       headers=version("2.53"))
    for _ in range(200):
        r = await compute.call("GET", "/v2.1/os-services", expect=200)
        states = {s["binary"]: s["state"] for s in r.json()["services"]}
        if states.get("nova-conductor") == "up" and "nova-scheduler" in states:
            break
        await asyncio.sleep(0.05)
    assert states == {"nova-compute": "up", "nova-conductor": "up", "nova-scheduler": "up"}
    remade = await scheduler()
    assert remade is not None and remade.uuid != found.uuid

