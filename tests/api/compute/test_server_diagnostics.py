"""GET /servers/{id}/diagnostics: the host-side objects behind a server, admin only.

The fake driver's details stand in for QEMU's here; tests/e2e/test_qemu_cloud.py reads
the real ones (pid, command line, QMP socket) through ``ownstack show server``.
"""

from __future__ import annotations

from helpers.compute import boot_id, boot_setup, version, wait_status
from helpers.inprocess import CloudClient


async def test_admin_sees_the_drivers_objects_below_2_48(compute: CloudClient) -> None:
    image_id, flavor_id = await boot_setup(compute)
    server_id = await boot_id(compute, None, image_id, flavor_id)
    await wait_status(compute, None, server_id, "ACTIVE")
    r = await compute.call("GET", f"/v2.1/servers/{server_id}/diagnostics", expect=200)
    body = r.json()
    assert body["driver"] == "fake" and body["power_state"] == 1
    assert body["image_id"] == image_id and body["boots"] == 1


async def test_2_48_answers_novas_standard_body(compute: CloudClient) -> None:
    image_id, flavor_id = await boot_setup(compute, vcpus=2, ram=256)
    server_id = await boot_id(compute, None, image_id, flavor_id)
    await wait_status(compute, None, server_id, "ACTIVE")
    r = await compute.call("GET", f"/v2.1/servers/{server_id}/diagnostics",
                           headers=version("2.48"), expect=200)
    body = r.json()
    assert body["state"] == "running" and body["driver"] == "fake"
    assert body["num_cpus"] == 2 and body["memory_details"] == {"maximum": 256, "used": None}
    assert body["num_nics"] == 0 and body["nic_details"] == []
    assert set(body) == {"state", "driver", "hypervisor", "hypervisor_os", "uptime",
                         "config_drive", "num_cpus", "num_disks", "num_nics",
                         "memory_details", "cpu_details", "disk_details", "nic_details"}


async def test_a_project_member_gets_403_and_another_project_404(
        compute: CloudClient) -> None:
    image_id, flavor_id = await boot_setup(compute)
    _, member = await compute.project_user_token("member")
    server_id = await boot_id(compute, member, image_id, flavor_id)
    await wait_status(compute, member, server_id, "ACTIVE")
    r = await compute.call("GET", f"/v2.1/servers/{server_id}/diagnostics", token=member,
                           expect=403)
    assert "forbidden" in r.text.lower()
    _, other = await compute.project_user_token("member")
    await compute.call("GET", f"/v2.1/servers/{server_id}/diagnostics", token=other,
                       expect=404)
    await compute.call("GET", "/v2.1/servers/not-a-uuid/diagnostics", expect=404)


async def test_a_server_without_a_host_is_a_409(compute: CloudClient) -> None:
    image_id, _ = await boot_setup(compute)
    _, huge = await boot_setup(compute, ram=40000)     # more than the node, within quota
    server_id = await boot_id(compute, None, image_id, huge)
    await wait_status(compute, None, server_id, "ERROR")       # NoValidHost: no host
    r = await compute.call("GET", f"/v2.1/servers/{server_id}/diagnostics", expect=409)
    assert r.json()["conflictingRequest"]["message"] == f"Instance {server_id} is not ready"
