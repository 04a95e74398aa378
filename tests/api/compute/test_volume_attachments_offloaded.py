"""``os-volume_attachments`` on a SHELVED_OFFLOADED server (2.20): as Nova, the API alone
attaches (the attachment completed with no host: the volume ``in-use``) and detaches (the
attachment deleted: ``available``); the unshelve connects the volumes on the host it
chose and the guest boots with them.

The whole cloud in process: the fake compute driver, the volume service with its agent
on the fake volume driver, ``compute.shelved_offload_time`` 0 (a shelve offloads at once).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from helpers.compute import fault, instance, set_columns, wait_released, wait_status
from helpers.inprocess import CloudClient, cloud_config, make_cloud
from helpers.volume_attachments import (
    HOST,
    MISSING,
    Who,
    attach,
    guest_volumes,
    mv,
    server,
    url,
    volume,
    volume_status,
    who,
)
from ownstack.common.clients.volume import VolumeClient, VolumeClientError, VolumeUnavailable
from ownstack.compute.objects import block_devices

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def cloud(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[CloudClient]:
    config = cloud_config(tmp_path_factory.mktemp("volshelve"), "volume.report_interval=0.2",
                          "compute.volume_detach_timeout=0.2")
    async for client in make_cloud(config):
        yield client


async def offloaded(cloud: CloudClient, w: Who) -> dict[str, Any]:
    vm = await server(cloud, w)
    await action(cloud, w, vm["id"], {"shelve": None})
    return await wait_status(cloud, w.token, vm["id"], "SHELVED_OFFLOADED")


async def action(cloud: CloudClient, w: Who, server_id: str, body: dict[str, Any],
                 expect: int = 202) -> Any:
    return await cloud.call("POST", f"/v2.1/servers/{server_id}/action", token=w.token,
                            expect=expect, json=body)


async def unshelve(cloud: CloudClient, w: Who, server_id: str) -> dict[str, Any]:
    await action(cloud, w, server_id, {"unshelve": None})
    return await wait_status(cloud, w.token, server_id, "ACTIVE")


async def attachments(cloud: CloudClient, w: Who, server_id: str, v: str = "2.20"
                      ) -> list[dict[str, Any]]:
    r = await cloud.call("GET", url(server_id), token=w.token, expect=200, headers=mv(v))
    return list(r.json()["volumeAttachments"])


async def test_attach_to_an_offloaded_server_boots_with_it_at_unshelve(
        cloud: CloudClient) -> None:
    """Tempest's ``test_attach_volume_shelved_or_offload_server``, and what it cannot see
    without SSH: the guest's disks and the attachment's host."""
    w = await who(cloud)
    vm = await offloaded(cloud, w)
    vol = await volume(cloud, w.token)
    r = await attach(cloud, w, vm["id"], vol["id"], v="2.79", device="/dev/vdq",
                     delete_on_termination=False)
    # Nova's answer: no device until a host names it at unshelve.
    assert r.json()["volumeAttachment"] == {
        "id": vol["id"], "serverId": vm["id"], "volumeId": vol["id"], "device": None,
        "tag": None, "delete_on_termination": False}
    # Completed with no host connection: in-use at once, as Tempest's waiter wants.
    shown = await volume_status(cloud, vol["id"], "in-use", timeout=0)
    assert [(a["server_id"], a["host_name"]) for a in shown["attachments"]] == [
        (vm["id"], None)]
    assert await attachments(cloud, w, vm["id"]) == [
        {"id": vol["id"], "serverId": vm["id"], "volumeId": vol["id"]}]
    r = await cloud.call("GET", f"/v2.1/servers/{vm['id']}/os-instance-actions",
                         token=w.token, expect=200)
    assert r.json()["instanceActions"][0]["action"] == "attach_volume"
    request_id = r.json()["instanceActions"][0]["request_id"]
    r = await cloud.call("GET", f"/v2.1/servers/{vm['id']}/os-instance-actions/{request_id}",
                         token=w.token, expect=200, headers=mv("2.51"))
    assert [(e["event"], e["result"]) for e in r.json()["instanceAction"]["events"]] == [
        ("api_attach_volume", "Success")]
    assert (await instance(cloud, vm["id"])).host is None
    # Unshelve: connected on the chosen host, named, and in the guest from its boot.
    await unshelve(cloud, w, vm["id"])
    assert guest_volumes(cloud, vm["id"]) == [vol["id"]]
    spec = cloud.agents.hypervisors[HOST].guests[vm["id"]].spec.volumes[0]
    assert (spec.path.name, spec.device_name) == (vol["id"], "/dev/vdb")
    r = await cloud.call("GET", url(vm["id"], vol["id"]), token=w.token, expect=200,
                         headers=mv("2.20"))
    assert r.json()["volumeAttachment"] == {"id": vol["id"], "serverId": vm["id"],
                                            "volumeId": vol["id"], "device": "/dev/vdb"}
    shown = await volume_status(cloud, vol["id"], "in-use", timeout=0)
    assert [(a["server_id"], a["host_name"], a["device"]) for a in shown["attachments"]] == [
        (vm["id"], HOST, "/dev/vdb")]
    # And it is an ordinary attached volume again: a detach unplugs it.
    await cloud.call("DELETE", url(vm["id"], vol["id"]), token=w.token, expect=202)
    await volume_status(cloud, vol["id"], "available")


async def test_detach_from_an_offloaded_server(cloud: CloudClient) -> None:
    """Tempest's ``test_detach_volume_shelved_or_offload_server`` (attached while
    offloaded), and a volume attached before the shelve: both available at once, and the
    guest unshelves without them."""
    w = await who(cloud)
    vm = await server(cloud, w)
    before, after = await volume(cloud, w.token), await volume(cloud, w.token)
    await attach(cloud, w, vm["id"], before["id"])
    await volume_status(cloud, before["id"], "in-use")
    await action(cloud, w, vm["id"], {"shelve": None})
    await wait_status(cloud, w.token, vm["id"], "SHELVED_OFFLOADED")
    await attach(cloud, w, vm["id"], after["id"], v="2.20")
    for vol in (after, before):
        await cloud.call("DELETE", url(vm["id"], vol["id"]), token=w.token, expect=202,
                         headers=mv("2.20"))
        assert (await volume_status(cloud, vol["id"], "available", timeout=0)
                )["attachments"] == []
    assert await attachments(cloud, w, vm["id"]) == []
    r = await cloud.call("GET", f"/v2.1/servers/{vm['id']}/os-instance-actions",
                         token=w.token, expect=200)
    assert [a["action"] for a in r.json()["instanceActions"][:2]] == ["detach_volume"] * 2
    await unshelve(cloud, w, vm["id"])
    assert guest_volumes(cloud, vm["id"]) == []
    r = await cloud.call("DELETE", url(vm["id"], before["id"]), token=w.token, expect=404)
    assert fault(r, "itemNotFound") == (f"Instance {vm['id']} is not attached to volume "
                                        f"{before['id']}")


async def test_detach_from_an_offloaded_server_deletes_on_termination(cloud: CloudClient
                                                                      ) -> None:
    """Nova's ``_local_cleanup_bdm_volumes``: a volume marked ``delete_on_termination``
    is deleted by the detach of an offloaded server."""
    w = await who(cloud)
    vm = await offloaded(cloud, w)
    vol = await volume(cloud, w.token)
    await attach(cloud, w, vm["id"], vol["id"], v="2.79", delete_on_termination=True)
    await cloud.call("DELETE", url(vm["id"], vol["id"]), token=w.token, expect=202,
                     headers=mv("2.79"))
    await volume_status(cloud, vol["id"], "gone")


async def test_before_2_20_and_on_a_shelved_server_it_is_a_409(cloud: CloudClient) -> None:
    w = await who(cloud)
    vm = await offloaded(cloud, w)
    vol = await volume(cloud, w.token)
    for v in ("2.1", "2.19"):
        r = await attach(cloud, w, vm["id"], vol["id"], 409, v=v)
        assert fault(r, "conflictingRequest") == (
            f"Cannot 'attach_volume' instance {vm['id']} while it is in vm_state "
            "shelved_offloaded")
    # Before the volume is looked at, as Nova's version check.
    r = await cloud.call("DELETE", url(vm["id"], MISSING), token=w.token, expect=409,
                         headers=mv("2.19"))
    assert fault(r, "conflictingRequest") == (
        f"Cannot 'detach_volume' instance {vm['id']} while it is in vm_state "
        "shelved_offloaded")
    await attach(cloud, w, vm["id"], vol["id"], v="2.20")
    r = await cloud.call("DELETE", url(vm["id"], vol["id"]), token=w.token, expect=409,
                         headers=mv("2.19"))
    assert "shelved_offloaded" in fault(r, "conflictingRequest")
    assert (await volume_status(cloud, vol["id"], "in-use", timeout=0))["attachments"]
    # SHELVED with its guest still on the host: not offered (the offload could destroy
    # the guest under the attach), at any version.
    shelved = await server(cloud, w)
    # (No host in the row: the conductor would offload a SHELVED row on a host at once,
    # with this cloud's shelved_offload_time 0; the vm_state is what is checked first.)
    await set_columns(cloud, shelved["id"], vm_state="shelved", power_state=4, host=None,
                      node=None)
    free = await volume(cloud, w.token)
    for v in ("2.19", "2.20", "2.96"):
        r = await attach(cloud, w, shelved["id"], free["id"], 409, v=v)
        assert fault(r, "conflictingRequest") == (
            f"Cannot 'attach_volume' instance {shelved['id']} while it is in vm_state "
            "shelved")
    assert (await volume_status(cloud, free["id"], "available", timeout=0)
            )["attachments"] == []


async def test_attach_errors_on_an_offloaded_server_are_novas(cloud: CloudClient) -> None:
    w, other = await who(cloud), await who(cloud)
    vm = await offloaded(cloud, w)
    r = await attach(cloud, w, vm["id"], MISSING, 404, v="2.20")
    assert fault(r, "itemNotFound") == f"Volume {MISSING} could not be found."
    theirs = await volume(cloud, other.token)
    await attach(cloud, w, vm["id"], theirs["id"], 404, v="2.20")
    # In use by another server: Nova's already-attached check.
    running = await server(cloud, w)
    used = await volume(cloud, w.token)
    await attach(cloud, w, running["id"], used["id"])
    await volume_status(cloud, used["id"], "in-use")
    r = await attach(cloud, w, vm["id"], used["id"], 400, v="2.20")
    assert fault(r, "badRequest") == (f"Invalid volume: volume {used['id']} is already "
                                      f"attached to instances: {running['id']}")
    # No tag and no multiattach volume: the next host is not known yet.
    vol = await volume(cloud, w.token)
    r = await attach(cloud, w, vm["id"], vol["id"], 400, v="2.49", tag="data")
    assert fault(r, "badRequest") == ("Tagged volume attachment is not supported for "
                                      "shelved-offloaded instances.")
    shared = await volume(cloud, w.token, multiattach=True)
    r = await attach(cloud, w, vm["id"], shared["id"], 400, v="2.20")
    assert fault(r, "badRequest") == ("Attaching multiattach volumes is not supported for "
                                      "shelved-offloaded instances.")
    # A volume the volume service will not reserve: Cinder's reason passes through.
    await cloud.on("volume", "POST", f"/v3/volumes/{vol['id']}/action", expect=202,
                   json={"os-reset_status": {"status": "error"}})
    r = await attach(cloud, w, vm["id"], vol["id"], 400, v="2.20")
    assert fault(r, "badRequest").startswith(
        "Invalid input received: Invalid volume: Volume attachments can not be created")
    # Locked, or with a task: Nova's 409s.
    await action(cloud, w, vm["id"], {"lock": None})
    free = await volume(cloud, w.token)
    r = await attach(cloud, w, vm["id"], free["id"], 409, v="2.20")
    assert fault(r, "conflictingRequest") == f"Instance {vm['id']} is locked"
    await action(cloud, w, vm["id"], {"unlock": None})
    await set_columns(cloud, vm["id"], task_state="unshelving")
    r = await attach(cloud, w, vm["id"], free["id"], 409, v="2.20")
    assert fault(r, "conflictingRequest") == (
        f"Cannot 'attach_volume' instance {vm['id']} while it is in task_state unshelving")
    await set_columns(cloud, vm["id"], task_state=None)
    for vol_id in (free["id"], shared["id"]):
        assert (await volume_status(cloud, vol_id, "available", timeout=0)
                )["attachments"] == []
    async with cloud.svc.read() as db:
        assert await block_devices.of_instance(db, vm["id"]) == []


async def test_detach_errors_on_an_offloaded_server_are_novas(cloud: CloudClient) -> None:
    w = await who(cloud)
    vm = await offloaded(cloud, w)
    vol = await volume(cloud, w.token)
    r = await cloud.call("DELETE", url(vm["id"], MISSING), token=w.token, expect=404,
                         headers=mv("2.20"))
    assert fault(r, "itemNotFound") == f"Volume {MISSING} could not be found."
    r = await cloud.call("DELETE", url(vm["id"], vol["id"]), token=w.token, expect=404,
                         headers=mv("2.20"))
    assert fault(r, "itemNotFound") == (f"Instance {vm['id']} is not attached to volume "
                                        f"{vol['id']}")
    await attach(cloud, w, vm["id"], vol["id"], v="2.20")
    await action(cloud, w, vm["id"], {"lock": None})
    r = await cloud.call("DELETE", url(vm["id"], vol["id"]), token=w.token, expect=409,
                         headers=mv("2.20"))
    assert fault(r, "conflictingRequest") == f"Instance {vm['id']} is locked"
    await action(cloud, w, vm["id"], {"unlock": None})
    async with cloud.svc.write() as db:
        bdm = await block_devices.find_volume(db, vm["id"], vol["id"])
        assert bdm is not None
        await block_devices.update_mapping(db, bdm.uuid, boot_index=0)
    r = await cloud.call("DELETE", url(vm["id"], vol["id"]), token=w.token, expect=400,
                         headers=mv("2.20"))
    assert fault(r, "badRequest") == "Cannot detach a root device volume"
    async with cloud.svc.write() as db:
        await block_devices.update_mapping(db, bdm.uuid, boot_index=None)
    # A detach in flight (its mapping detaching): another is refused.
    async with cloud.svc.write() as db:
        await block_devices.update_mapping(db, bdm.uuid,
                                           attach_state=block_devices.DETACHING)
    r = await cloud.call("DELETE", url(vm["id"], vol["id"]), token=w.token, expect=400,
                         headers=mv("2.20"))
    assert fault(r, "badRequest") == f"Invalid volume: volume {vol['id']} is detaching, " \
        "not attached"
    async with cloud.svc.write() as db:
        await block_devices.update_mapping(db, bdm.uuid,
                                           attach_state=block_devices.ATTACHED)
    assert (await volume_status(cloud, vol["id"], "in-use", timeout=0))["attachments"]
    await cloud.call("DELETE", url(vm["id"], vol["id"]), token=w.token, expect=202,
                     headers=mv("2.20"))
    await volume_status(cloud, vol["id"], "available", timeout=0)


async def test_an_unshelve_whose_volume_cannot_connect_stays_offloaded(cloud: CloudClient
                                                                       ) -> None:
    """The volume service refuses the new host's connector: the server is
    SHELVED_OFFLOADED again with the fault, its claim released, the volume still
    attached (unconnected); the next unshelve, once the volume can be, boots with it."""
    w = await who(cloud)
    vm = await offloaded(cloud, w)
    vol = await volume(cloud, w.token)
    await attach(cloud, w, vm["id"], vol["id"], v="2.20")
    await cloud.on("volume", "POST", f"/v3/volumes/{vol['id']}/action", expect=202,
                   json={"os-reset_status": {"status": "error"}})
    await action(cloud, w, vm["id"], {"unshelve": None})
    for _ in range(500):
        stored = await instance(cloud, vm["id"])
        if stored.task_state is None:
            break
        await asyncio.sleep(0.02)
    assert (stored.vm_state, stored.task_state, stored.host) == (
        "shelved_offloaded", None, None)
    message = str(stored.fault["message"])
    assert message.startswith(f"Unshelve of instance {vm['id']} aborted: volume "
                              f"{vol['id']} could not be attached on host {HOST}: "), message
    await wait_released(cloud, vm["id"])
    assert [a["volumeId"] for a in await attachments(cloud, w, vm["id"])] == [vol["id"]]
    await cloud.on("volume", "POST", f"/v3/volumes/{vol['id']}/action", expect=202,
                   json={"os-reset_status": {"status": "in-use"}})
    await unshelve(cloud, w, vm["id"])
    assert guest_volumes(cloud, vm["id"]) == [vol["id"]]



async def test_an_unshelve_that_begins_during_the_attach_or_detach_wins(
        cloud: CloudClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """The state is checked again in the transaction that writes the mapping: an unshelve
    that began meanwhile makes the attach (or detach) Nova's 409, and nothing is left
    reserved or half detached."""
    w = await who(cloud)
    vm = await offloaded(cloud, w)
    vol, kept = await volume(cloud, w.token), await volume(cloud, w.token)
    await attach(cloud, w, vm["id"], kept["id"], v="2.20")

    def racing(name: str) -> None:
        original = getattr(VolumeClient, name)

        async def call(self: VolumeClient, *args: Any, **kwargs: Any) -> Any:
            result = await original(self, *args, **kwargs)
            await set_columns(cloud, vm["id"], task_state="unshelving")
            return result
        monkeypatch.setattr(VolumeClient, name, call)

    racing("attachment_create")
    r = await attach(cloud, w, vm["id"], vol["id"], 409, v="2.20")
    assert fault(r, "conflictingRequest") == (
        f"Cannot 'attach_volume' instance {vm['id']} while it is in task_state unshelving")
    monkeypatch.undo()
    await set_columns(cloud, vm["id"], task_state=None)
    assert (await volume_status(cloud, vol["id"], "available", timeout=0)
            )["attachments"] == []
    racing("get_volume")        # the detach reads the volume before it acts
    r = await cloud.call("DELETE", url(vm["id"], kept["id"]), token=w.token, expect=409,
                         headers=mv("2.20"))
    assert fault(r, "conflictingRequest") == (
        f"Cannot 'detach_volume' instance {vm['id']} while it is in task_state unshelving")
    monkeypatch.undo()
    await set_columns(cloud, vm["id"], task_state=None)
    assert [a["volumeId"] for a in await attachments(cloud, w, vm["id"])] == [kept["id"]]
    assert (await volume_status(cloud, kept["id"], "in-use", timeout=0))["attachments"]


async def test_deleting_an_offloaded_server_releases_its_volumes(cloud: CloudClient) -> None:
    """The unconnected attachment goes with the server as any other: the volume is
    available again, or deleted when the mapping says ``delete_on_termination``."""
    w = await who(cloud)
    vm = await offloaded(cloud, w)
    kept, dropped = await volume(cloud, w.token), await volume(cloud, w.token)
    await attach(cloud, w, vm["id"], kept["id"], v="2.20")
    await attach(cloud, w, vm["id"], dropped["id"], v="2.79", delete_on_termination=True)
    await cloud.call("DELETE", f"/v2.1/servers/{vm['id']}", token=w.token, expect=204)
    assert (await volume_status(cloud, kept["id"], "available"))["attachments"] == []
    await volume_status(cloud, dropped["id"], "gone")


async def test_a_volume_service_that_fails_leaves_nothing_half_done(
        cloud: CloudClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """A refused completion undoes the attach; a failed attachment delete leaves the
    volume attached; a volume service down during the unshelve's connect leaves the
    unshelve (and its claim) for the sweep, which finishes it."""
    w = await who(cloud)
    vm = await offloaded(cloud, w)
    vol = await volume(cloud, w.token)
    calls: list[str] = []

    def failing(name: str, exc: VolumeClientError) -> None:
        async def call(self: VolumeClient, *args: Any, **kwargs: Any) -> Any:
            calls.append(name)
            raise exc
        monkeypatch.setattr(VolumeClient, name, call)

    failing("attachment_complete", VolumeClientError("the volume service said no", 400))
    r = await attach(cloud, w, vm["id"], vol["id"], 400, v="2.20")
    assert fault(r, "badRequest") == "Invalid input received: the volume service said no"
    monkeypatch.undo()
    assert (await volume_status(cloud, vol["id"], "available", timeout=0)
            )["attachments"] == []
    assert await attachments(cloud, w, vm["id"]) == []
    await attach(cloud, w, vm["id"], vol["id"], v="2.20")

    failing("attachment_delete", VolumeUnavailable("down", 503))
    r = await cloud.call("DELETE", url(vm["id"], vol["id"]), token=w.token, expect=503,
                         headers=mv("2.20"))
    monkeypatch.undo()
    assert [a["volumeId"] for a in await attachments(cloud, w, vm["id"])] == [vol["id"]]
    assert (await volume_status(cloud, vol["id"], "in-use", timeout=0))["attachments"]

    failing("attachment_update", VolumeUnavailable("down", 503))
    await action(cloud, w, vm["id"], {"unshelve": None})
    for _ in range(500):
        if calls[-1:] == ["attachment_update"]:
            break
        await asyncio.sleep(0.02)
    monkeypatch.undo()
    stored = await instance(cloud, vm["id"])
    assert (stored.vm_state, stored.task_state, stored.host) == (
        "shelved_offloaded", "unshelving", None)
    r = await cloud.on("placement", "GET", f"/allocations/{vm['id']}", expect=200)
    assert list(r.json()["allocations"]) != []          # the claim, kept for the retry
    assert await cloud.conductor.shelver.unshelve(vm["id"]) == HOST    # the sweep's call
    await wait_status(cloud, w.token, vm["id"], "ACTIVE")
    assert guest_volumes(cloud, vm["id"]) == [vol["id"]]
