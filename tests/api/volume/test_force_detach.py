"""The admin's ways out of a stuck attach: ``os-force_detach`` (Cinder's roll-back of a
bad detach) and a force delete of a volume whose attach is still in flight, as Cinder has
them; neither ever cuts a volume away from a guest that is connected to it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from helpers.volume import VolumeCloud, fault, random_id, volume_cloud

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def vc(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[VolumeCloud]:
    async for cloud in volume_cloud(tmp_path_factory.mktemp("force-detach")):
        yield cloud


def connector() -> dict[str, Any]:
    return {"host": "test-node", "platform": "x86_64", "os_type": "linux",
            "multipath": False, "mountpoint": "/dev/vdb", "initiator": "iqn.ownstack"}


async def shown(vc: VolumeCloud, volume_id: str) -> dict[str, Any]:
    r = await vc.call("GET", f"/v3/volumes/{volume_id}", expect=200)
    return dict(r.json()["volume"])


async def test_force_detach_rolls_back_an_attach_no_guest_uses(vc: VolumeCloud) -> None:
    """Tempest's case: attached by the old action (no connection), reset to error, then
    force-detached by the admin: available, no attachments."""
    volume = await vc.volume()
    await vc.action(volume["id"], {"os-attach": {"instance_uuid": random_id(),
                                                 "mountpoint": "/dev/vdb"}})
    attachment_id = (await shown(vc, volume["id"]))["attachments"][0]["attachment_id"]
    await vc.action(volume["id"], {"os-reset_status": {"status": "error"}})
    await vc.action(volume["id"], {"os-force_detach": {"attachment_id": attachment_id,
                                                       "connector": None}})
    after = await shown(vc, volume["id"])
    assert (after["status"], after["attachments"]) == ("available", [])
    await vc.call("GET", f"/v3/attachments/{attachment_id}", expect=404)


async def test_force_detach_takes_the_only_attachment_or_none(vc: VolumeCloud) -> None:
    volume = await vc.volume()
    await vc.action(volume["id"], {"os-attach": {"instance_uuid": random_id(),
                                                 "mountpoint": "/dev/vdb"}})
    await vc.action(volume["id"], {"os-force_detach": {}})
    assert (await shown(vc, volume["id"]))["attachments"] == []
    # Nothing attached: the volume is made available, as Cinder's detach does.
    await vc.action(volume["id"], {"os-reset_status": {"status": "error"}})
    await vc.action(volume["id"], {"os-force_detach": {"connector": "any"}})
    assert (await shown(vc, volume["id"]))["status"] == "available"


async def test_force_detach_never_cuts_a_connected_guest(vc: VolumeCloud) -> None:
    """An attachment with a server and connection details is refused (409, Cinder's since
    bug 2004555) unless a service asks: the guest's device would stay behind."""
    volume = await vc.volume()
    server = random_id()
    r = await vc.call("POST", "/v3/attachments", expect=200, json={"attachment": {
        "volume_uuid": volume["id"], "instance_uuid": server, "connector": connector()}})
    attachment_id = r.json()["attachment"]["id"]
    await vc.call("POST", f"/v3/attachments/{attachment_id}/action", expect=204,
                  json={"os-complete": None})
    r = await vc.action(volume["id"], {"os-force_detach": {"attachment_id": attachment_id}},
                        expect=409)
    assert fault(r) == ("conflictingRequest",
                        f"Detach volume from instance {server} using the Compute API")
    assert (await shown(vc, volume["id"]))["status"] == "in-use"
    # A service (compute, say) may: an admin who also holds the service role.
    caller = await vc.caller("admin")
    identity = vc.cloud.identity
    await identity.call("PUT", f"/v3/projects/{caller.project_id}/users/{caller.user_id}"
                        f"/roles/{await identity.role_id('service')}", expect=204)
    project = (await identity.call("GET", f"/v3/projects/{caller.project_id}",
                                   expect=200)).json()["project"]
    user = (await identity.call("GET", f"/v3/users/{caller.user_id}",
                                expect=200)).json()["user"]
    token = await identity.token(user["name"], "pw", project=project["name"])
    await vc.action(volume["id"], {"os-force_detach": {"attachment_id": attachment_id}},
                    token=token)
    after = await shown(vc, volume["id"])
    assert (after["status"], after["attachments"]) == ("available", [])


@pytest.mark.parametrize(("body", "status", "text"), [
    ({"os-force_detach": {"attachment_id": "no-such-attachment"}}, 400,
     "VolumeAttachmentNotFound"),
    ({"os-force_detach": {"attachment": "x"}}, 400, "Additional properties"),
    ({"os-force_detach": {"attachment_id": 7}}, 400, "is not of type"),
    ({"os-force_detach": {"connector": 7}}, 400, "is not of type"),
])
async def test_force_detach_refusals(vc: VolumeCloud, body: dict[str, Any], status: int,
                                     text: str) -> None:
    volume = await vc.volume()
    await vc.action(volume["id"], {"os-attach": {"instance_uuid": random_id(),
                                                 "mountpoint": "/dev/vdb"}})
    r = await vc.action(volume["id"], body, expect=status)
    assert text in fault(r)[1]
    assert len((await shown(vc, volume["id"]))["attachments"]) == 1


async def test_force_detach_is_the_admins(vc: VolumeCloud) -> None:
    caller = await vc.caller()
    volume = await vc.volume(caller.token)
    r = await vc.action(volume["id"], {"os-force_detach": {}}, token=caller.token,
                        expect=403)
    assert fault(r)[0] == "forbidden"
    await vc.action(random_id(), {"os-force_detach": {}}, expect=404)


async def test_force_delete_takes_an_attach_in_flight_never_an_attached_volume(
        vc: VolumeCloud) -> None:
    """Cinder's condition: a force takes any status (Tempest resets one to attaching) and
    a reserved attachment, which goes with the volume; an attached one is refused, forced
    or not, and a plain delete refuses both."""
    reset = await vc.volume()
    await vc.action(reset["id"], {"os-reset_status": {"status": "attaching"}})
    await vc.call("DELETE", f"/v3/volumes/{reset['id']}", expect=400)
    await vc.action(reset["id"], {"os-force_delete": {}})
    await vc.wait(f"/v3/volumes/{reset['id']}", "volume", "gone")

    reserved = await vc.volume()
    r = await vc.call("POST", "/v3/attachments", expect=200, json={"attachment": {
        "volume_uuid": reserved["id"], "instance_uuid": random_id()}})
    attachment_id = r.json()["attachment"]["id"]
    await vc.call("DELETE", f"/v3/volumes/{reserved['id']}", expect=400)
    await vc.call("DELETE", f"/v3/volumes/{reserved['id']}?force=true", version="3.23",
                  expect=202)
    await vc.wait(f"/v3/volumes/{reserved['id']}", "volume", "gone")
    await vc.call("GET", f"/v3/attachments/{attachment_id}", expect=404)
    assert reserved["id"] not in vc.agent.driver.host.volumes

    attached = await vc.volume()
    await vc.action(attached["id"], {"os-attach": {"instance_uuid": random_id(),
                                                   "mountpoint": "/dev/vdb"}})
    await vc.action(attached["id"], {"os-reset_status": {"status": "error"}})
    r = await vc.action(attached["id"], {"os-force_delete": {}}, expect=400)
    assert "attached" in fault(r)[1]
    assert attached["id"] in vc.agent.driver.host.volumes


async def test_a_detach_of_a_detached_volume_is_nothing_to_do(vc: VolumeCloud) -> None:
    """Tempest's clean-up detaches again after a force-detach: Cinder answers 202 and the
    volume stays available; a volume in another status is still refused."""
    volume = await vc.volume()
    await vc.action(volume["id"], {"os-detach": {}})
    assert (await shown(vc, volume["id"]))["status"] == "available"
    await vc.action(volume["id"], {"os-reset_status": {"status": "error"}})
    r = await vc.action(volume["id"], {"os-detach": {}}, expect=400)
    assert "not attached" in fault(r)[1]
    assert (await shown(vc, volume["id"]))["status"] == "error"


async def test_update_snapshot_status_as_an_assisted_snapshot_reports(vc: VolumeCloud
                                                                      ) -> None:
    """Cinder's ``os-update_snapshot_status`` (a project member may): from creating to
    creating, available or error, from deleting to error_deleting, with a progress."""
    caller = await vc.caller()
    volume = await vc.volume(caller.token)
    snapshot = await vc.snapshot(volume["id"], caller.token)
    path = f"/v3/snapshots/{snapshot['id']}/action"

    async def update(body: dict[str, Any], expect: int, token: str = caller.token) -> str:
        r = await vc.call("POST", path, token=token, expect=expect,
                          json={"os-update_snapshot_status": body})
        return fault(r)[1] if expect >= 400 else ""

    assert "not allowed for update_snapshot_status" in await update({"status": "error"}, 400)
    await vc.call("POST", path, expect=202, json={"os-reset_status": {"status": "creating"}})
    assert "not allowed for snapshot with status creating" in await update(
        {"status": "deleting"}, 400)
    for bad in ("101%", "80", "x%", "-1%"):
        assert "integer percentage" in await update({"status": "error", "progress": bad}, 400)
    assert "required" in await update({"progress": "80%"}, 400)
    assert "Additional properties" in await update({"status": "error", "other": 1}, 400)
    await update({"status": "error", "progress": "80%"}, 202)
    shown_snapshot = (await vc.call("GET", f"/v3/snapshots/{snapshot['id']}",
                                    expect=200)).json()["snapshot"]
    assert shown_snapshot["status"] == "error"
    assert shown_snapshot["os-extended-snapshot-attributes:progress"] == "80%"
    await vc.call("POST", path, expect=202, json={"os-reset_status": {"status": "deleting"}})
    await update({"status": "error_deleting"}, 202)
    # Another project's snapshot is not found.
    other = await vc.caller()
    await update({"status": "error"}, 404, token=other.token)
    await vc.call("POST", path, expect=202, json={"os-reset_status": {"status": "available"}})
