"""``os-volume_attachments``: volumes attached to a running server and detached from it,
as Nova does with Cinder's attachments API.

The whole cloud in process, one module's worth: the fake compute driver, the volume
service with its agent on the fake volume driver. An attach reserves the volume, the
agent connects it with its host's connector, plugs it into the fake guest and completes
the attachment (the volume ``in-use``); a detach begins detaching, unplugs, and deletes
the attachment (``available``). Every error path answers as Nova does.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from helpers.compute import fault, wait_status
from helpers.inprocess import CloudClient, cloud_config, make_cloud
from helpers.volume_attachments import (
    HOST,
    MISSING,
    attach,
    guest_volumes,
    mv,
    server,
    until_attached,
    until_detached,
    until_guest_has,
    url,
    volume,
    volume_status,
    who,
)
from ownstack.compute.objects import block_devices
from ownstack.compute.objects.instances import update_instance

pytestmark = pytest.mark.asyncio(loop_scope="module")

@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def cloud(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[CloudClient]:
    config = cloud_config(tmp_path_factory.mktemp("volatt"), "volume.report_interval=0.2",
                          "compute.volume_detach_timeout=0.2",
                          "compute.volume_detach_attempts=2")
    async for client in make_cloud(config):
        yield client


async def test_attach_list_show_and_detach_as_nova(cloud: CloudClient) -> None:
    w = await who(cloud)
    vm = await server(cloud, w)
    vol = await volume(cloud, w.token)
    r = await attach(cloud, w, vm["id"], vol["id"], v="2.79", device="/dev/vdz",
                     tag="data", delete_on_termination=True)
    # Nova's libvirt driver picks the device, ignoring the one asked for.
    assert r.json()["volumeAttachment"] == {
        "id": vol["id"], "serverId": vm["id"], "volumeId": vol["id"], "device": "/dev/vdb",
        "tag": "data", "delete_on_termination": True}
    shown = await volume_status(cloud, vol["id"], "in-use")
    assert [a["server_id"] for a in shown["attachments"]] == [vm["id"]]
    await until_guest_has(cloud, vm["id"], [vol["id"]])
    spec = cloud.agents.hypervisors[HOST].guests[vm["id"]].spec.volumes[0]
    assert (spec.path.name, spec.format, spec.serial) == (
        f"{vol['id']}", "raw", vol["id"][:20])
    r = await cloud.call("GET", url(vm["id"]), token=w.token, expect=200)
    assert r.json() == {"volumeAttachments": [{"id": vol["id"], "serverId": vm["id"],
                                               "volumeId": vol["id"], "device": "/dev/vdb"}]}
    r = await cloud.call("GET", url(vm["id"], vol["id"]), token=w.token, expect=200,
                         headers=mv("2.89"))
    view = r.json()["volumeAttachment"]
    assert "id" not in view and view["tag"] == "data" and view["delete_on_termination"]
    assert view["attachment_id"] == shown["attachments"][0]["attachment_id"]
    r = await cloud.call("GET", f"/v2.1/servers/{vm['id']}", token=w.token, expect=200)
    assert r.json()["server"]["os-extended-volumes:volumes_attached"] == [{"id": vol["id"]}]
    r = await cloud.call("GET", "/v2.1/servers/detail", token=w.token, expect=200,
                         headers=mv("2.3"))
    assert r.json()["servers"][0]["os-extended-volumes:volumes_attached"] == [
        {"id": vol["id"], "delete_on_termination": True}]
    r = await cloud.call("GET", f"/v2.1/servers/{vm['id']}/os-instance-actions",
                         token=w.token, expect=200)
    assert "attach_volume" in {a["action"] for a in r.json()["instanceActions"]}
    # Detach.
    await cloud.call("DELETE", url(vm["id"], vol["id"]), token=w.token, expect=202)
    await volume_status(cloud, vol["id"], "available")
    await until_guest_has(cloud, vm["id"], [])
    await until_detached(cloud, w, vm["id"], vol["id"])
    r = await cloud.call("GET", url(vm["id"], vol["id"]), token=w.token, expect=404)
    assert fault(r, "itemNotFound") == (f"Instance {vm['id']} is not attached to volume "
                                        f"{vol['id']}")
    r = await cloud.call("GET", f"/v2.1/servers/{vm['id']}", token=w.token, expect=200)
    assert r.json()["server"]["os-extended-volumes:volumes_attached"] == []


async def test_attach_errors_are_novas(cloud: CloudClient) -> None:
    w, other = await who(cloud), await who(cloud)
    vm, second = await server(cloud, w), await server(cloud, w)
    theirs = await volume(cloud, other.token)
    r = await attach(cloud, w, vm["id"], MISSING, 404)
    assert fault(r, "itemNotFound") == f"Volume {MISSING} could not be found."
    r = await attach(cloud, w, vm["id"], theirs["id"], 404)     # another project's
    assert fault(r, "itemNotFound") == f"Volume {theirs['id']} could not be found."
    await attach(cloud, other, vm["id"], theirs["id"], 404)     # another project's server
    vol = await volume(cloud, w.token)
    for bad in ({"volumeId": "nope"}, {"volumeId": vol["id"], "device": "vdb"},
                {"volumeId": vol["id"], "extra": 1}, {}):
        r = await cloud.call("POST", url(vm["id"]), token=w.token, expect=400,
                             json={"volumeAttachment": bad})
        assert "Invalid input" in fault(r, "badRequest")
    await attach(cloud, w, vm["id"], vol["id"], 400, v="2.48", tag="t")   # tag from 2.49
    await attach(cloud, w, vm["id"], vol["id"], 400, v="2.78",
                 delete_on_termination=True)                               # from 2.79
    await attach(cloud, w, vm["id"], vol["id"], 400, v="2.79", delete_on_termination="x")
    await attach(cloud, w, vm["id"], vol["id"])
    await until_attached(cloud, vm["id"], vol["id"])
    r = await attach(cloud, w, vm["id"], vol["id"], 400)
    assert fault(r, "badRequest") == (f"Invalid volume: volume {vol['id']} is already "
                                      f"attached to instances: {vm['id']}")
    r = await attach(cloud, w, second["id"], vol["id"], 400)
    assert "already attached to instances" in fault(r, "badRequest")
    # A volume the volume service will not reserve: Cinder's reason passes through.
    errored = await volume(cloud, w.token)
    await cloud.on("volume", "POST", f"/v3/volumes/{errored['id']}/action", expect=202,
                   json={"os-reset_status": {"status": "error"}})
    r = await attach(cloud, w, vm["id"], errored["id"], 400)
    assert fault(r, "badRequest").startswith(
        "Invalid input received: Invalid volume: Volume attachments can not be created")
    # Wrong state, lock, a task: Nova's 409s.
    await cloud.call("POST", f"/v2.1/servers/{second['id']}/action", token=w.token,
                     expect=202, json={"lock": None})
    free = await volume(cloud, w.token)
    r = await attach(cloud, w, second["id"], free["id"], 409)
    assert fault(r, "conflictingRequest") == f"Instance {second['id']} is locked"
    await cloud.call("POST", f"/v2.1/servers/{second['id']}/action", token=w.token,
                     expect=202, json={"unlock": None})
    async with cloud.svc.write() as db:
        await update_instance(db, second["id"], task_state="rebooting")
    r = await attach(cloud, w, second["id"], free["id"], 409)
    assert fault(r, "conflictingRequest") == (
        f"Cannot 'attach_volume' instance {second['id']} while it is in task_state "
        "rebooting")
    async with cloud.svc.write() as db:
        await update_instance(db, second["id"], task_state=None)
    assert (await volume_status(cloud, free["id"], "available"))["attachments"] == []


async def test_a_paused_server_takes_a_volume_and_a_suspended_one_refuses(
        cloud: CloudClient) -> None:
    """Nova's states: attach and detach work on a paused server (its guest keeps the
    device when it runs on); a suspended server is 409."""
    w = await who(cloud)
    vm, other = await server(cloud, w), await server(cloud, w)
    for server_id, action, status in ((vm["id"], "pause", "PAUSED"),
                                      (other["id"], "suspend", "SUSPENDED")):
        await cloud.call("POST", f"/v2.1/servers/{server_id}/action", token=w.token,
                         expect=202, json={action: None})
        await wait_status(cloud, w.token, server_id, status)
    vol = await volume(cloud, w.token)
    await attach(cloud, w, vm["id"], vol["id"])
    await until_attached(cloud, vm["id"], vol["id"])
    await until_guest_has(cloud, vm["id"], [vol["id"]])
    await cloud.call("DELETE", url(vm["id"], vol["id"]), token=w.token, expect=202)
    await volume_status(cloud, vol["id"], "available")
    await until_guest_has(cloud, vm["id"], [])
    r = await attach(cloud, w, other["id"], vol["id"], 409)
    assert fault(r, "conflictingRequest") == (
        f"Cannot 'attach_volume' instance {other['id']} while it is in vm_state suspended")


async def test_detach_errors_are_novas(cloud: CloudClient) -> None:
    w = await who(cloud)
    vm = await server(cloud, w)
    vol = await volume(cloud, w.token)
    r = await cloud.call("DELETE", url(vm["id"], MISSING), token=w.token, expect=404)
    assert fault(r, "itemNotFound") == f"Volume {MISSING} could not be found."
    r = await cloud.call("DELETE", url(vm["id"], vol["id"]), token=w.token, expect=404)
    assert fault(r, "itemNotFound") == (f"Instance {vm['id']} is not attached to volume "
                                        f"{vol['id']}")
    await attach(cloud, w, vm["id"], vol["id"])
    await until_attached(cloud, vm["id"], vol["id"])
    await cloud.call("POST", f"/v2.1/servers/{vm['id']}/action", token=w.token,
                     expect=202, json={"lock": None})
    r = await cloud.call("DELETE", url(vm["id"], vol["id"]), token=w.token, expect=409)
    assert fault(r, "conflictingRequest") == f"Instance {vm['id']} is locked"
    await cloud.call("POST", f"/v2.1/servers/{vm['id']}/action", token=w.token,
                     expect=202, json={"unlock": None})
    # A root volume (boot from volume) cannot be detached.
    async with cloud.svc.write() as db:
        bdm = await block_devices.find_volume(db, vm["id"], vol["id"])
        assert bdm is not None
        await block_devices.update_mapping(db, bdm.uuid, boot_index=0)
    r = await cloud.call("DELETE", url(vm["id"], vol["id"]), token=w.token, expect=400)
    assert fault(r, "badRequest") == "Cannot detach a root device volume"
    async with cloud.svc.write() as db:
        await block_devices.update_mapping(db, bdm.uuid, boot_index=None)
    await cloud.call("DELETE", url(vm["id"], vol["id"]), token=w.token, expect=202)
    await volume_status(cloud, vol["id"], "available")


async def test_update_changes_delete_on_termination_and_refuses_swaps(cloud: CloudClient
                                                                      ) -> None:
    w = await who(cloud)
    vm = await server(cloud, w)
    vol, other = await volume(cloud, w.token), await volume(cloud, w.token)
    await attach(cloud, w, vm["id"], vol["id"])
    await until_attached(cloud, vm["id"], vol["id"])
    body = {"volumeAttachment": {"volumeId": vol["id"], "delete_on_termination": True}}
    await cloud.call("PUT", url(vm["id"], vol["id"]), token=w.token, expect=400,
                     headers=mv("2.84"), json=body)
    await cloud.call("PUT", url(vm["id"], vol["id"]), token=w.token, expect=202,
                     headers=mv("2.85"), json=body)
    r = await cloud.call("GET", url(vm["id"], vol["id"]), token=w.token, expect=200,
                         headers=mv("2.85"))
    assert r.json()["volumeAttachment"]["delete_on_termination"] is True
    r = await cloud.call("PUT", url(vm["id"], vol["id"]), token=w.token, expect=400,
                         headers=mv("2.85"), json={"volumeAttachment": {
                             "volumeId": vol["id"], "device": "/dev/vdq"}})
    assert fault(r, "badRequest") == "The device property is not mutable"
    r = await cloud.call("PUT", url(vm["id"], MISSING), token=w.token, expect=404,
                         headers=mv("2.85"), json={"volumeAttachment": {"volumeId": MISSING}})
    # A swap is the admin's (Cinder's) and only for a migrating volume: never here.
    swap = {"volumeAttachment": {"volumeId": other["id"]}}
    await cloud.call("PUT", url(vm["id"], vol["id"]), token=w.token, expect=403, json=swap)
    r = await cloud.call("PUT", url(vm["id"], vol["id"]), expect=409, json=swap)
    assert fault(r, "conflictingRequest") == (
        f"volume {vol['id']} is not migrating; this API should only be called by Cinder")


async def test_a_detach_the_guest_refuses_rolls_back_with_a_fault(cloud: CloudClient
                                                                  ) -> None:
    w = await who(cloud)
    vm = await server(cloud, w)
    vol = await volume(cloud, w.token)
    await attach(cloud, w, vm["id"], vol["id"])
    await until_attached(cloud, vm["id"], vol["id"])
    await until_guest_has(cloud, vm["id"], [vol["id"]])
    cloud.agents.hypervisors[HOST].hold_volume(vm["id"], vol["id"])
    r = await cloud.call("DELETE", url(vm["id"], vol["id"]), token=w.token, expect=202)
    request_id = r.headers["X-Openstack-Request-Id"]
    for _ in range(500):        # the admin sees why, in the action's event (2.84)
        r = await cloud.call("GET", f"/v2.1/servers/{vm['id']}/os-instance-actions/"
                             f"{request_id}", expect=200, headers=mv("2.84"))
        events = r.json()["instanceAction"]["events"]
        if events:
            break
        await asyncio.sleep(0.02)
    assert [(e["event"], e["result"]) for e in events] == [("compute_detach_volume",
                                                            "Error")]
    assert events[0]["details"] == (
        f"Device detach failed for volume {vol['id']}: the guest did not release it "
        "within 0.4 s; it stays attached")
    r = await cloud.call("GET", f"/v2.1/servers/{vm['id']}", token=w.token)
    assert r.json()["server"]["status"] == "ACTIVE"
    await volume_status(cloud, vol["id"], "in-use")
    async with cloud.svc.read() as db:
        bdm = await block_devices.find_volume(db, vm["id"], vol["id"])
    assert bdm is not None and bdm.attach_state == block_devices.ATTACHED
    assert guest_volumes(cloud, vm["id"]) == [vol["id"]]
    # Once the guest lets go, the detach succeeds.
    cloud.agents.hypervisors[HOST].hold_volume(vm["id"], vol["id"], hold=False)
    await cloud.call("DELETE", url(vm["id"], vol["id"]), token=w.token, expect=202)
    await volume_status(cloud, vol["id"], "available")


async def test_a_stopped_server_gets_the_volume_at_its_next_start(cloud: CloudClient
                                                                  ) -> None:
    w = await who(cloud)
    vm = await server(cloud, w)
    await cloud.call("POST", f"/v2.1/servers/{vm['id']}/action", token=w.token,
                     expect=202, json={"os-stop": None})
    await wait_status(cloud, w.token, vm["id"], "SHUTOFF")
    vol = await volume(cloud, w.token)
    await attach(cloud, w, vm["id"], vol["id"])
    await until_attached(cloud, vm["id"], vol["id"])
    await until_guest_has(cloud, vm["id"], [vol["id"]])
    await cloud.call("POST", f"/v2.1/servers/{vm['id']}/action", token=w.token,
                     expect=202, json={"os-start": None})
    await wait_status(cloud, w.token, vm["id"], "ACTIVE")
    for action in ({"reboot": {"type": "SOFT"}}, {"reboot": {"type": "HARD"}}):
        await cloud.call("POST", f"/v2.1/servers/{vm['id']}/action", token=w.token,
                         expect=202, json=action)
        await wait_status(cloud, w.token, vm["id"], "ACTIVE")
    assert guest_volumes(cloud, vm["id"]) == [vol["id"]]


async def test_an_attach_made_while_the_agent_was_down_converges(cloud: CloudClient
                                                                 ) -> None:
    w = await who(cloud)
    vm = await server(cloud, w)
    vol = await volume(cloud, w.token)
    await cloud.agents.stop()
    try:
        await attach(cloud, w, vm["id"], vol["id"])
        async with cloud.svc.read() as db:
            bdm = await block_devices.find_volume(db, vm["id"], vol["id"])
        assert bdm is not None and bdm.attach_state == block_devices.ATTACHING
        assert (await volume_status(cloud, vol["id"], "reserved"))["attachments"] == []
    finally:
        await cloud.start_worker("compute")
    await volume_status(cloud, vol["id"], "in-use")
    await until_guest_has(cloud, vm["id"], [vol["id"]])


async def test_a_detach_as_soon_as_the_volume_is_in_use_is_taken(cloud: CloudClient
                                                                  ) -> None:
    """The conductor completes the attachment (in-use) a moment before it marks the
    server's mapping attached: a detach in between is taken, as Nova takes one once Cinder
    says in-use. A mapping the agent has not connected yet is refused, as before."""
    w = await who(cloud)
    vm = await server(cloud, w)
    vol, later = await volume(cloud, w.token), await volume(cloud, w.token)
    await attach(cloud, w, vm["id"], vol["id"])
    await until_attached(cloud, vm["id"], vol["id"])
    await cloud.agents.stop()
    try:
        async with cloud.svc.write() as db:     # the conductor between its two steps
            bdm = await block_devices.find_volume(db, vm["id"], vol["id"])
            assert bdm is not None and bdm.connection_info
            await block_devices.update_mapping(db, bdm.uuid,
                                               attach_state=block_devices.ATTACHING)
        await cloud.call("DELETE", url(vm["id"], vol["id"]), token=w.token, expect=202)
        async with cloud.svc.read() as db:
            bdm = await block_devices.find_volume(db, vm["id"], vol["id"])
        assert bdm is not None and bdm.attach_state == block_devices.DETACHING
        await volume_status(cloud, vol["id"], "detaching", timeout=0)
        # Attached while the agent is down: reserved, never connected: not detachable.
        await attach(cloud, w, vm["id"], later["id"])
        r = await cloud.call("DELETE", url(vm["id"], later["id"]), token=w.token,
                             expect=400)
        assert fault(r, "badRequest") == (f"Invalid volume: volume {later['id']} is "
                                          "attaching, not attached")
    finally:
        await cloud.start_worker("compute")
    await volume_status(cloud, vol["id"], "available")
    await until_attached(cloud, vm["id"], later["id"])
    await until_guest_has(cloud, vm["id"], [later["id"]])


async def test_deleting_the_server_detaches_and_deletes_on_termination(cloud: CloudClient
                                                                       ) -> None:
    w = await who(cloud)
    vm = await server(cloud, w)
    kept, dropped = await volume(cloud, w.token), await volume(cloud, w.token)
    await attach(cloud, w, vm["id"], kept["id"])
    await attach(cloud, w, vm["id"], dropped["id"], v="2.79", delete_on_termination=True)
    await volume_status(cloud, kept["id"], "in-use")
    await volume_status(cloud, dropped["id"], "in-use")
    await cloud.call("DELETE", f"/v2.1/servers/{vm['id']}", token=w.token, expect=204)
    await volume_status(cloud, kept["id"], "available")
    await volume_status(cloud, dropped["id"], "gone")


async def test_an_attached_volume_extended_in_the_volume_service_grows_in_the_guest(
        cloud: CloudClient) -> None:
    w = await who(cloud)
    vm = await server(cloud, w)
    vol = await volume(cloud, w.token)
    await attach(cloud, w, vm["id"], vol["id"])
    await until_attached(cloud, vm["id"], vol["id"])
    await until_guest_has(cloud, vm["id"], [vol["id"]])
    await cloud.on("volume", "POST", f"/v3/volumes/{vol['id']}/action", token=w.token,
                   expect=202, headers={"OpenStack-API-Version": "volume 3.42"},
                   json={"os-extend": {"new_size": 3}})
    grown = await volume_status(cloud, vol["id"], "in-use")
    guest = cloud.agents.hypervisors[HOST].guests[vm["id"]]
    for _ in range(500):
        if guest.volume_sizes.get(vol["id"]):
            break
        await asyncio.sleep(0.02)
    assert guest.volume_sizes[vol["id"]] == 3 * 1024 ** 3
    assert grown["size"] == 3
    r = await cloud.call("GET", f"/v2.1/servers/{vm['id']}/os-instance-actions",
                         token=w.token, expect=200)
    # Nova's extend_volume action (what Tempest waits for), the events on it.
    request_id = next(a["request_id"] for a in r.json()["instanceActions"]
                      if a["action"] == "extend_volume")
    for _ in range(500):
        r = await cloud.call("GET", f"/v2.1/servers/{vm['id']}/os-instance-actions/"
                             f"{request_id}", expect=200, headers=mv("2.51"))
        events = {e["event"]: e["result"] for e in r.json()["instanceAction"]["events"]}
        if "compute_extend_volume" in events:
            break
        await asyncio.sleep(0.02)
    assert events["compute_extend_volume"] == "Success"
    assert events["volume-extended"] == "Success"


async def test_a_guest_that_misses_the_first_unplug_request_gets_another(
        cloud: CloudClient) -> None:
    """A guest still booting misses an unplug request sent before its hotplug driver is
    up; the agent asks again (``compute.volume_detach_attempts``, 2 here, as Nova's
    libvirt driver retries), and the detach succeeds at the second request."""
    w = await who(cloud)
    vm = await server(cloud, w)
    vol = await volume(cloud, w.token)
    await attach(cloud, w, vm["id"], vol["id"])
    await until_attached(cloud, vm["id"], vol["id"])
    await until_guest_has(cloud, vm["id"], [vol["id"]])
    cloud.agents.hypervisors[HOST].hold_volume(vm["id"], vol["id"], requests=1)
    await cloud.call("DELETE", url(vm["id"], vol["id"]), token=w.token, expect=202)
    await volume_status(cloud, vol["id"], "available")
    assert guest_volumes(cloud, vm["id"]) == []
    await until_detached(cloud, w, vm["id"], vol["id"])
    # Two requests ignored is one more than two attempts allow: it stays attached.
    await attach(cloud, w, vm["id"], vol["id"])
    await until_attached(cloud, vm["id"], vol["id"])
    await until_guest_has(cloud, vm["id"], [vol["id"]])
    cloud.agents.hypervisors[HOST].hold_volume(vm["id"], vol["id"], requests=2)
    await cloud.call("DELETE", url(vm["id"], vol["id"]), token=w.token, expect=202)
    for _ in range(200):
        async with cloud.svc.read() as db:
            bdm = await block_devices.find_volume(db, vm["id"], vol["id"])
        if bdm is not None and bdm.attach_state == block_devices.ATTACHED:
            break
        await asyncio.sleep(0.02)
    assert bdm is not None and bdm.attach_state == block_devices.ATTACHED
    await volume_status(cloud, vol["id"], "in-use")
    assert guest_volumes(cloud, vm["id"]) == [vol["id"]]
