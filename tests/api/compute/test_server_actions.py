"""POST /servers/{id}/action: each action from the states Nova allows, and refused (409)
from the others; locks; bad bodies; the nudge to the host's agent."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from helpers.compute import (
    Owner,
    act,
    boot_id,
    fake_agent,
    fault,
    instance,
    make_image,
    next_cast,
    owner,
    reader_token,
    server,
    set_columns,
    show,
    ssh_public_key,
    version,
    wait_status,
)
from helpers.inprocess import CloudClient, quiet_cloud
from ownstack.common.clients.image import ImageClient
from ownstack.compute.api.handlers import server_actions as handler
from ownstack.compute.objects.models import InstanceAction, InstanceMetadata


@pytest.fixture
async def cloud(tmp_path: Path) -> AsyncIterator[CloudClient]:
    async for client in quiet_cloud(tmp_path):
        yield client


async def _actions(cloud: CloudClient, server_id: str) -> list[str]:
    async with cloud.svc.read() as db:
        rows = await db.execute(select(InstanceAction.action).where(
            InstanceAction.instance_uuid == server_id).order_by(InstanceAction.id))
        return list(rows.scalars())


# --- power actions ------------------------------------------------------------------------

@pytest.mark.parametrize(("body", "vm_state", "task_state", "status"), [
    ({"os-stop": None}, "active", "powering-off", "ACTIVE"),
    ({"os-stop": None}, "error", "powering-off", "ERROR"),
    ({"os-start": None}, "stopped", "powering-on", "SHUTOFF"),
    ({"reboot": {"type": "SOFT"}}, "active", "rebooting", "REBOOT"),
    ({"reboot": {"type": "hard"}}, "active", "rebooting_hard", "HARD_REBOOT"),
    ({"reboot": {"type": "HARD"}}, "stopped", "rebooting_hard", "SHUTOFF"),
    ({"reboot": {"type": "HARD"}}, "error", "rebooting_hard", "ERROR"),
])
async def test_power_action_sets_the_task_records_it_and_nudges_the_agent(
        cloud: CloudClient, body: dict[str, Any], vm_state: str, task_state: str,
        status: str) -> None:
    who = await owner(cloud)
    agent = await fake_agent(cloud)
    server_id = await server(cloud, who, vm_state=vm_state)
    r = await act(cloud, who.token, server_id, body, expect=202)
    assert r.content == b""
    shown = (await show(cloud, who.token, server_id))["server"]
    assert shown["OS-EXT-STS:task_state"] == task_state
    assert shown["OS-EXT-STS:vm_state"] == vm_state and shown["status"] == status
    method, payload = await next_cast(agent)
    assert method == "reconcile_instance"
    assert payload == {"uuid": server_id, "request_id": r.headers["x-openstack-request-id"]}
    assert (await _actions(cloud, server_id))[-1] == ("stop" if "os-stop" in body else
                                                      "start" if "os-start" in body
                                                      else "reboot")


@pytest.mark.parametrize(("body", "vm_state", "task_state", "message"), [
    ({"os-stop": None}, "stopped", None, "Cannot 'stop' instance {id} while it is in "
     "vm_state stopped"),
    ({"os-stop": None}, "active", "powering-off", "Cannot 'stop' instance {id} while it "
     "is in task_state powering-off"),
    ({"os-start": None}, "active", None, "Cannot 'start' instance {id} while it is in "
     "vm_state active"),
    ({"os-start": None}, "error", None, "Cannot 'start' instance {id} while it is in "
     "vm_state error"),
    ({"reboot": {"type": "SOFT"}}, "stopped", None, "Cannot 'reboot' instance {id} while "
     "it is in vm_state stopped"),
    ({"reboot": {"type": "SOFT"}}, "active", "rebooting", "Cannot 'reboot' instance {id} "
     "while it is in task_state rebooting"),
    ({"reboot": {"type": "HARD"}}, "active", "powering-off", "Cannot 'reboot' instance "
     "{id} while it is in task_state powering-off"),
    ({"reboot": {"type": "HARD"}}, "building", "spawning", "Cannot 'reboot' instance {id} "
     "while it is in vm_state building"),
])
async def test_action_in_the_wrong_state_is_a_409_naming_the_state(
        cloud: CloudClient, body: dict[str, Any], vm_state: str, task_state: str | None,
        message: str) -> None:
    who = await owner(cloud)
    server_id = await server(cloud, who, vm_state=vm_state, task_state=task_state)
    r = await act(cloud, who.token, server_id, body, expect=409)
    assert fault(r, "conflictingRequest") == message.format(id=server_id)
    stored = await instance(cloud, server_id)
    assert (stored.vm_state, stored.task_state) == (vm_state, task_state)
    assert await _actions(cloud, server_id) == ["create"]


# --- pause, unpause, suspend, resume ---------------------------------------------------------

@pytest.mark.parametrize(("body", "vm_state", "task_state", "status", "action"), [
    ({"pause": None}, "active", "pausing", "ACTIVE", "pause"),
    ({"unpause": None}, "paused", "unpausing", "PAUSED", "unpause"),
    ({"suspend": None}, "active", "suspending", "ACTIVE", "suspend"),
    ({"resume": None}, "suspended", "resuming", "SUSPENDED", "resume"),
    ({"reboot": {"type": "HARD"}}, "paused", "rebooting_hard", "PAUSED", "reboot"),
    ({"reboot": {"type": "HARD"}}, "suspended", "rebooting_hard", "SUSPENDED", "reboot"),
    ({"createImage": {"name": "s"}}, "paused", "image_snapshot", "PAUSED", "createImage"),
    ({"createImage": {"name": "s"}}, "suspended", "image_snapshot", "SUSPENDED",
     "createImage"),
])
async def test_pause_and_suspend_set_the_task_record_the_action_and_nudge(
        cloud: CloudClient, body: dict[str, Any], vm_state: str, task_state: str,
        status: str, action: str) -> None:
    who = await owner(cloud)
    agent = await fake_agent(cloud)
    server_id = await server(cloud, who, vm_state=vm_state)
    r = await act(cloud, who.token, server_id, body, expect=202)
    assert r.content == b""
    shown = (await show(cloud, who.token, server_id))["server"]
    assert (shown["OS-EXT-STS:vm_state"], shown["OS-EXT-STS:task_state"],
            shown["status"]) == (vm_state, task_state, status)
    method, payload = await next_cast(agent)
    assert method == "reconcile_instance" and payload["uuid"] == server_id
    assert (await _actions(cloud, server_id))[-1] == action


@pytest.mark.parametrize(("body", "vm_state", "task_state", "message"), [
    ({"pause": None}, "paused", None, "Cannot 'pause' instance {id} while it is in "
     "vm_state paused"),
    ({"pause": None}, "stopped", None, "Cannot 'pause' instance {id} while it is in "
     "vm_state stopped"),
    ({"pause": None}, "active", "rebooting", "Cannot 'pause' instance {id} while it is in "
     "task_state rebooting"),
    ({"unpause": None}, "active", None, "Cannot 'unpause' instance {id} while it is in "
     "vm_state active"),
    ({"unpause": None}, "suspended", None, "Cannot 'unpause' instance {id} while it is in "
     "vm_state suspended"),
    ({"suspend": None}, "paused", None, "Cannot 'suspend' instance {id} while it is in "
     "vm_state paused"),
    ({"suspend": None}, "suspended", None, "Cannot 'suspend' instance {id} while it is in "
     "vm_state suspended"),
    ({"resume": None}, "active", None, "Cannot 'resume' instance {id} while it is in "
     "vm_state active"),
    ({"resume": None}, "paused", None, "Cannot 'resume' instance {id} while it is in "
     "vm_state paused"),
    ({"resume": None}, "suspended", "resuming", "Cannot 'resume' instance {id} while it "
     "is in task_state resuming"),
    # Nova: a suspended server is resumed, never started or stopped.
    ({"os-start": None}, "suspended", None, "Cannot 'start' instance {id} while it is in "
     "vm_state suspended"),
    ({"os-stop": None}, "suspended", None, "Cannot 'stop' instance {id} while it is in "
     "vm_state suspended"),
    ({"os-stop": None}, "paused", None, "Cannot 'stop' instance {id} while it is in "
     "vm_state paused"),
    ({"reboot": {"type": "SOFT"}}, "paused", None, "Cannot 'reboot' instance {id} while "
     "it is in vm_state paused"),
])
async def test_pause_and_suspend_in_the_wrong_state_are_409(
        cloud: CloudClient, body: dict[str, Any], vm_state: str, task_state: str | None,
        message: str) -> None:
    who = await owner(cloud)
    server_id = await server(cloud, who, vm_state=vm_state, task_state=task_state)
    r = await act(cloud, who.token, server_id, body, expect=409)
    assert fault(r, "conflictingRequest") == message.format(id=server_id)
    stored = await instance(cloud, server_id)
    assert (stored.vm_state, stored.task_state) == (vm_state, task_state)


async def test_a_locked_server_refuses_its_owners_pause_and_suspend(cloud: CloudClient
                                                                    ) -> None:
    who = await owner(cloud)
    server_id = await server(cloud, who)
    await act(cloud, None, server_id, {"lock": None}, expect=202)
    for name in ("pause", "suspend"):
        r = await act(cloud, who.token, server_id, {name: None}, expect=409)
        assert fault(r, "conflictingRequest") == f"Instance {server_id} is locked"
    await act(cloud, None, server_id, {"suspend": None}, expect=202)   # an admin may


async def test_hard_reboot_may_interrupt_a_reboot(cloud: CloudClient) -> None:
    who = await owner(cloud)
    server_id = await server(cloud, who, task_state="rebooting")
    await act(cloud, who.token, server_id, {"reboot": {"type": "HARD"}}, expect=202)
    await act(cloud, who.token, server_id, {"reboot": {"type": "HARD"}}, expect=202)
    assert (await instance(cloud, server_id)).task_state == "rebooting_hard"


async def test_a_server_without_a_host_is_not_ready(cloud: CloudClient) -> None:
    who = await owner(cloud)
    server_id = await server(cloud, who, vm_state="error", host=None)
    r = await act(cloud, who.token, server_id, {"os-stop": None}, expect=409)
    assert fault(r, "conflictingRequest") == f"Instance {server_id} is not ready"
    # A server still being scheduled, as POST /servers leaves it here.
    building = await server(cloud, who, vm_state="building", task_state="scheduling",
                            host=None)
    await act(cloud, who.token, building, {"reboot": {"type": "HARD"}}, expect=409)


# --- bodies, names, who may ---------------------------------------------------------------

BAD_BODIES: list[tuple[Any, str]] = [
    ({"os-stop": None, "os-start": None}, "exactly one key"),
    ([{"os-stop": None}], "exactly one key"),
    ({}, "exactly one key"),
    ({"fly": {}}, "There is no such action: fly"),
    ({"evacuate": {}}, "not supported by ownstack yet"),
    ({"evacuate": {"host": "h"}}, "not supported by ownstack yet"),
    ({"createBackup": {}}, "name"),
    ({"createBackup": {"name": "b", "backup_type": "daily", "rotation": -1}}, "rotation"),
    ({"createBackup": {"name": "b", "backup_type": "daily", "rotation": "two"}},
     "rotation"),
    ({"createBackup": {"name": "b", "backup_type": "daily", "rotation": 1, "x": 1}}, "x"),
    ({"os-resetState": {"state": "deleted"}}, "state"),
    ({"os-resetState": {}}, "state"),
    ({"os-resetState": {"state": "error", "extra": 1}}, "extra"),
    ({"reboot": {"type": "WARM"}}, "reboot.type"),
    ({"reboot": {}}, "reboot"),
    ({"reboot": {"type": "SOFT", "force": True}}, "reboot"),
    ({"rebuild": {}}, "imageRef"),
    ({"rebuild": {"imageRef": "not-a-uuid"}}, "imageRef"),
    ({"createImage": {}}, "name"),
    ({"createImage": {"name": "snap", "metadata": {"k": 1}}}, "createImage.metadata.k"),
    ({"os-getConsoleOutput": {"length": "ten"}}, "length"),
    ({"os-getConsoleOutput": {"length": -2}}, "length"),
    ({"os-getConsoleOutput": {"length": "-2"}}, "minimum of -1"),
    ({"os-getConsoleOutput": {"lines": 5}}, "lines"),
]


async def test_bad_bodies_are_400(cloud: CloudClient) -> None:
    who = await owner(cloud)
    server_id = await server(cloud, who)
    for body, message in BAD_BODIES:
        r = await act(cloud, who.token, server_id, body, expect=400)
        assert message in fault(r, "badRequest"), body
    assert await _actions(cloud, server_id) == ["create"]


async def test_other_projects_servers_and_bad_ids_are_404(cloud: CloudClient) -> None:
    who, other = await owner(cloud), await owner(cloud)
    server_id = await server(cloud, who)
    for body in ({"os-stop": None}, {"lock": None}, {"os-getConsoleOutput": {}},
                 {"pause": None}, {"suspend": None}, {"rescue": None},
                 {"createImage": {"name": "x"}}, {"rebuild": {"imageRef": who.image_id}}):
        r = await act(cloud, other.token, server_id, body, expect=404)
        assert fault(r, "itemNotFound") == f"Instance {server_id} could not be found."
    await act(cloud, who.token, "not-a-uuid", {"os-stop": None}, expect=404)
    assert (await instance(cloud, server_id)).task_state is None


# A valid body for each action the API has (the table is the handler's, so a new action
# must be added here).
ACTION_BODIES: dict[str, Any] = {
    "os-stop": None, "os-start": None, "reboot": {"type": "SOFT"}, "rebuild": {},
    "pause": None, "unpause": None, "suspend": None, "resume": None, "rescue": None,
    "unrescue": None, "os-resetState": {"state": "error"}, "restore": None, "forceDelete": None,
    "createImage": {"name": "snap"}, "lock": None, "unlock": None,
    "createBackup": {"name": "b", "backup_type": "daily", "rotation": 1},
    "os-getConsoleOutput": {}, "addSecurityGroup": {"name": "default"},
    "removeSecurityGroup": {"name": "default"}, "addFloatingIp": {"address": "192.0.2.9"},
    "removeFloatingIp": {"address": "192.0.2.9"}, "resize": {"flavorRef": "1"},
    "confirmResize": None, "revertResize": None, "migrate": None,
    "shelve": None, "shelveOffload": None,
    "unshelve": None, "os-getVNCConsole": {"type": "novnc"},
    "os-getSerialConsole": {"type": "serial"}, "os-getSPICEConsole": {"type": "spice-html5"},
    "os-getRDPConsole": {"type": "rdp-html5"}, "injectNetworkInfo": None}
# Actions Nova removed: 410 for everyone, before any policy, as Nova answers.
GONE_ACTIONS: frozenset[str] = frozenset({"resetNetwork"})


async def test_a_reader_may_not_act_403(cloud: CloudClient) -> None:
    """Every action is a write, the console log included (os-console-output is a
    member's): the project's reader gets a 403 for each, and nothing changes."""
    assert set(ACTION_BODIES) | GONE_ACTIONS == set(handler._ACTIONS)
    who = await owner(cloud)
    server_id = await server(cloud, who)
    token = await reader_token(cloud, who)
    for name in GONE_ACTIONS:
        await act(cloud, token, server_id, {name: None}, expect=410)
    r = await act(cloud, token, server_id, {"os-stop": None}, expect=403)
    assert "os_compute_api:servers:stop" in fault(r, "forbidden")
    for name, body in ACTION_BODIES.items():
        if name == "rebuild":
            body = {"imageRef": who.image_id}
        r = await act(cloud, token, server_id, {name: body}, expect=403)
        fault(r, "forbidden")
    stored = await instance(cloud, server_id)
    assert (stored.task_state, stored.vm_state, stored.locked) == (None, "active", False)


async def test_an_admin_acts_on_any_projects_server(cloud: CloudClient) -> None:
    who = await owner(cloud)
    server_id = await server(cloud, who)
    await act(cloud, None, server_id, {"os-stop": None}, expect=202)
    assert (await instance(cloud, server_id)).task_state == "powering-off"


# --- lock, unlock -------------------------------------------------------------------------

async def test_a_locked_server_refuses_its_owner_but_not_an_admin(cloud: CloudClient) -> None:
    who = await owner(cloud)
    agent = await fake_agent(cloud)
    server_id = await server(cloud, who)
    await act(cloud, who.token, server_id, {"lock": None}, expect=202)
    shown = (await show(cloud, who.token, server_id, "2.73"))["server"]
    assert shown["locked"] is True and shown["locked_reason"] is None
    for body in ({"os-stop": None}, {"reboot": {"type": "HARD"}},
                 {"rebuild": {"imageRef": who.image_id}}):
        r = await act(cloud, who.token, server_id, body, expect=409)
        assert fault(r, "conflictingRequest") == f"Instance {server_id} is locked"
    # Reading the console and snapshotting change nothing: allowed, as in Nova.
    await act(cloud, who.token, server_id, {"os-getConsoleOutput": {}}, expect=200)
    await act(cloud, who.token, server_id, {"createImage": {"name": "snap"}}, v="2.45",
              expect=202)
    await set_columns(cloud, server_id, task_state=None)
    await act(cloud, None, server_id, {"os-stop": None}, expect=202)     # admin
    await act(cloud, who.token, server_id, {"unlock": None}, expect=202)
    assert (await instance(cloud, server_id)).locked is False
    assert await _actions(cloud, server_id) == [
        "create", "lock", "createImage", "stop", "unlock"]
    assert [(await next_cast(agent))[0] for _ in range(3)] == [
        "console_output", "reconcile_instance", "reconcile_instance"]


async def test_lock_reason_from_273_and_owner_relock_is_a_no_op(cloud: CloudClient) -> None:
    who = await owner(cloud)
    server_id = await server(cloud, who)
    # Below 2.73 the body's value is ignored, whatever it is.
    await act(cloud, who.token, server_id, {"lock": {"locked_reason": "x"}}, expect=202)
    assert (await instance(cloud, server_id)).locked_reason is None
    await act(cloud, who.token, server_id, {"unlock": None}, expect=202)
    r = await act(cloud, who.token, server_id, {"lock": {"reason": "x"}}, v="2.73",
                  expect=400)
    assert "reason" in fault(r, "badRequest")
    await act(cloud, who.token, server_id, {"lock": {"locked_reason": "maintenance"}},
              v="2.73", expect=202)
    await act(cloud, who.token, server_id, {"lock": {"locked_reason": "again"}}, v="2.73",
              expect=202)
    stored = await instance(cloud, server_id)
    assert (stored.locked, stored.locked_by, stored.locked_reason) == (
        True, "owner", "maintenance")
    assert (await _actions(cloud, server_id)).count("lock") == 2
    shown = (await show(cloud, who.token, server_id, "2.73"))["server"]
    assert shown["locked_reason"] == "maintenance"


async def test_an_admins_lock_needs_an_admin_to_lift_it(cloud: CloudClient) -> None:
    who = await owner(cloud)
    server_id = await server(cloud, who)
    await act(cloud, None, server_id, {"lock": None}, expect=202)
    assert (await instance(cloud, server_id)).locked_by == "admin"
    r = await act(cloud, who.token, server_id, {"unlock": None}, expect=403)
    assert "unlock:unlock_override" in fault(r, "forbidden")
    await act(cloud, None, server_id, {"unlock": None}, expect=202)
    stored = await instance(cloud, server_id)
    assert (stored.locked, stored.locked_by) == (False, None)
    # An owner's lock, taken over by an admin re-locking it.
    await act(cloud, who.token, server_id, {"lock": None}, expect=202)
    await act(cloud, None, server_id, {"lock": None}, expect=202)
    assert (await instance(cloud, server_id)).locked_by == "admin"


# --- os-getConsoleOutput ------------------------------------------------------------------

async def test_console_output_comes_from_the_hosts_agent(cloud: CloudClient) -> None:
    who = await owner(cloud)
    agent = await fake_agent(cloud)
    agent.console = "line 1\n\x07line 2\x1b[0m\tend\n"
    server_id = await server(cloud, who)
    for length, sent in ((None, None), (-1, None), ("-1", None), (5, 5), ("12", 12), (0, 0)):
        body = {"os-getConsoleOutput": {} if length is None else {"length": length}}
        r = await act(cloud, who.token, server_id, body, expect=200)
        assert r.json() == {"output": "line 1\nline 2[0m\tend\n"}
        assert agent.casts.pop() == ("console_output", {"uuid": server_id, "length": sent})


async def test_console_output_when_no_agent_can_answer_is_a_409(
        cloud: CloudClient, monkeypatch: pytest.MonkeyPatch) -> None:
    who = await owner(cloud)
    server_id = await server(cloud, who, host="silent-node")
    monkeypatch.setattr(handler, "CONSOLE_TIMEOUT", 0.05)
    r = await act(cloud, who.token, server_id, {"os-getConsoleOutput": {}}, expect=409)
    assert "Console log is not available" in fault(r, "conflictingRequest")
    agent = await fake_agent(cloud)
    agent.console = RuntimeError("no console log for this guest")
    await set_columns(cloud, server_id, host="test-node")
    r = await act(cloud, who.token, server_id, {"os-getConsoleOutput": {}}, expect=409)
    assert fault(r, "conflictingRequest") == (
        "Console log is not available: no console log for this guest")


async def test_console_output_needs_a_built_server(cloud: CloudClient) -> None:
    who = await owner(cloud)
    unplaced = await server(cloud, who, vm_state="building", task_state="scheduling",
                            host=None)
    r = await act(cloud, who.token, unplaced, {"os-getConsoleOutput": {}}, expect=409)
    assert fault(r, "conflictingRequest") == f"Instance {unplaced} is not ready"
    deleting = await server(cloud, who, task_state="deleting")
    r = await act(cloud, who.token, deleting, {"os-getConsoleOutput": {}}, expect=409)
    assert "task_state deleting" in fault(r, "conflictingRequest")


# --- rebuild ------------------------------------------------------------------------------

async def test_rebuild_answers_the_server_with_its_new_image_and_password(
        cloud: CloudClient) -> None:
    who = await owner(cloud, disk=1)
    agent = await fake_agent(cloud)
    server_id = await server(cloud, who, vm_state="stopped")
    await cloud.call("POST", f"/v2.1/servers/{server_id}/metadata", token=who.token,
                     json={"metadata": {"old": "1"}}, expect=200)
    new_image = await make_image(cloud, token=who.token, hw_disk_bus="virtio")
    r = await act(cloud, who.token, server_id, {"rebuild": {
        "imageRef": new_image, "name": "rebuilt", "metadata": {"role": "db"},
        "accessIPv4": "192.0.2.7", "accessIPv6": "2001:DB8:0:0:0:0:0:7",
        "preserve_ephemeral": "true"}}, expect=202)
    body = r.json()["server"]
    assert r.headers["location"].endswith(f"/v2.1/servers/{server_id}")
    assert body["image"]["id"] == new_image and body["name"] == "rebuilt"
    assert body["status"] == "REBUILD"
    assert (await show(cloud, who.token, server_id))["server"][
        "OS-EXT-STS:task_state"] == "rebuilding"
    assert body["metadata"] == {"role": "db"} and body["accessIPv4"] == "192.0.2.7"
    assert body["accessIPv6"] == "2001:db8::7"
    assert len(body["adminPass"]) == 12 and "user_data" not in body
    stored = await instance(cloud, server_id)
    assert stored.task_args == {"image_ref": new_image, "preserve_ephemeral": True}
    assert stored.image_ref == new_image and stored.admin_pass == body["adminPass"]
    assert stored.image_meta["properties"]["hw_disk_bus"] == "virtio"
    assert await next_cast(agent) == ("reconcile_instance", {
        "uuid": server_id, "request_id": r.headers["x-openstack-request-id"]})
    assert (await _actions(cloud, server_id))[-1] == "rebuild"


# Nova's rebuild answer below 2.75 (a server in REBUILD): show's base fields, less what
# show_all_attributes adds, with adminPass.
REBUILT_21 = {"id", "name", "status", "tenant_id", "user_id", "metadata", "hostId", "image",
              "flavor", "created", "updated", "addresses", "accessIPv4", "accessIPv6", "links",
              "OS-DCF:diskConfig", "progress", "adminPass"}
LATER = {"locked", "description", "tags", "trusted_image_certificates"}


@pytest.mark.parametrize(("v", "added"), [
    ("2.1", set()),
    ("2.26", {"locked", "description", "tags"}),
    ("2.54", LATER - {"trusted_image_certificates"} | {"key_name"}),
    ("2.57", LATER - {"trusted_image_certificates"} | {"key_name", "user_data"}),
    ("2.74", LATER | {"key_name", "user_data", "server_groups", "locked_reason"}),
])
async def test_rebuild_answers_the_fields_of_its_microversion(
        cloud: CloudClient, v: str, added: set[str]) -> None:
    """What Tempest's strict schemas allow: not the show view below 2.75, even to an admin
    (no states, zone, times, volumes, groups, extended attributes; key_name from 2.54)."""
    who = await owner(cloud)
    await fake_agent(cloud)
    server_id = await server(cloud, who)
    for token in (who.token, None):
        await set_columns(cloud, server_id, task_state=None)
        r = await act(cloud, token, server_id, {"rebuild": {"imageRef": who.image_id}},
                      v=v, expect=202)
        assert set(r.json()["server"]) == REBUILT_21 | added


async def test_rebuild_answers_the_show_view_from_275(cloud: CloudClient) -> None:
    who = await owner(cloud)
    await fake_agent(cloud)
    server_id = await server(cloud, who)
    for token in (who.token, None):     # a member, and the admin (extended attributes)
        await set_columns(cloud, server_id, task_state=None)
        r = await act(cloud, token, server_id, {"rebuild": {"imageRef": who.image_id}},
                      v="2.75", expect=202)
        shown = (await show(cloud, token, server_id, v="2.75"))["server"]
        # user_data is its own field from 2.57, never the extended attribute.
        assert set(r.json()["server"]) == (set(shown) - {"OS-EXT-SRV-ATTR:user_data"}
                                           | {"adminPass", "user_data"})


async def test_rebuild_microversion_fields(cloud: CloudClient) -> None:
    who = await owner(cloud)
    server_id = await server(cloud, who)
    key = ssh_public_key()
    await cloud.call("POST", "/v2.1/os-keypairs", token=who.token, expect=201,
                     headers=version("2.2"),
                     json={"keypair": {"name": "k1", "public_key": key}})
    r = await act(cloud, who.token, server_id, {"rebuild": {
        "imageRef": who.image_id, "adminPass": "s3cret", "key_name": "k1",
        "description": "db", "user_data": "IyEvYmluL3NoCg=="}}, v="2.57", expect=202)
    body = r.json()["server"]
    assert body["adminPass"] == "s3cret" and body["key_name"] == "k1"
    assert body["description"] == "db" and body["user_data"] == "IyEvYmluL3NoCg=="
    stored = await instance(cloud, server_id)
    assert stored.key_data == key and stored.user_data == "IyEvYmluL3NoCg=="
    await set_columns(cloud, server_id, task_state=None)
    r = await act(cloud, who.token, server_id, {"rebuild": {
        "imageRef": who.image_id, "key_name": None, "user_data": None}}, v="2.57",
        expect=202)
    assert r.json()["server"]["key_name"] is None
    stored = await instance(cloud, server_id)
    assert (stored.key_name, stored.key_data, stored.user_data) == (None, None, None)
    await set_columns(cloud, server_id, task_state=None)
    r = await act(cloud, who.token, server_id, {"rebuild": {
        "imageRef": who.image_id, "hostname": "db-1"}}, v="2.90", expect=202)
    assert r.json()["server"]["OS-EXT-SRV-ATTR:hostname"] == "db-1"
    await set_columns(cloud, server_id, task_state=None)
    await act(cloud, who.token, server_id, {"rebuild": {
        "imageRef": who.image_id, "hostname": "db-1.example.org"}}, v="2.94", expect=202)
    assert (await instance(cloud, server_id)).hostname == "db-1.example.org"
    for body_, v in (({"key_name": "k1"}, "2.53"), ({"description": "x"}, "2.18"),
                     ({"user_data": "eA=="}, "2.56"), ({"personality": []}, "2.57"),
                     ({"hostname": "db-2"}, "2.89"), ({"hostname": "x"}, "2.90"),
                     ({"hostname": "a b"}, "2.94")):
        await set_columns(cloud, server_id, task_state=None)
        await act(cloud, who.token, server_id,
                  {"rebuild": {"imageRef": who.image_id, **body_}}, v=v, expect=400)


@pytest.mark.parametrize(("change", "v", "message"), [
    ({"key_name": "nokey"}, "2.54", "Invalid key_name provided."),
    ({"user_data": "not base64!"}, "2.57", "base64"),
    ({"personality": [{"path": "/etc/motd", "contents": "aGk="}]}, "2.56", "Personality"),
    ({"metadata": {"k": "v" * 256}}, "2.1", "rebuild.metadata.k"),
])
async def test_rebuild_bad_requests(cloud: CloudClient, change: dict[str, Any], v: str,
                                    message: str) -> None:
    who = await owner(cloud)
    server_id = await server(cloud, who)
    r = await act(cloud, who.token, server_id,
                  {"rebuild": {"imageRef": who.image_id, **change}}, v=v, expect=400)
    assert message in fault(r, "badRequest")
    assert (await instance(cloud, server_id)).task_state is None


async def test_rebuild_needs_an_active_image_that_fits(cloud: CloudClient) -> None:
    who = await owner(cloud, disk=1)
    server_id = await server(cloud, who)
    missing = "00000000-0000-4000-8000-000000000000"
    cases = {
        missing: "Cannot find image for rebuild",
        await make_image(cloud, upload=False): "is not active.",
        await make_image(cloud, min_disk=5): "Flavor's disk is too small",
        await make_image(cloud, min_ram=100000): "Flavor's memory is too small",
        # Another project's private image is missing, for this caller.
        await make_image(cloud, token=(await owner(cloud)).token): "Cannot find image",
    }
    for image_id, message in cases.items():
        r = await act(cloud, who.token, server_id, {"rebuild": {"imageRef": image_id}},
                      expect=400)
        assert message in fault(r, "badRequest")
    assert (await instance(cloud, server_id)).task_state is None


async def test_rebuild_in_the_wrong_state_and_over_metadata_quota(cloud: CloudClient) -> None:
    who = await owner(cloud)
    server_id = await server(cloud, who, task_state="powering-off")
    r = await act(cloud, who.token, server_id, {"rebuild": {"imageRef": who.image_id}},
                  expect=409)
    assert "task_state powering-off" in fault(r, "conflictingRequest")
    await set_columns(cloud, server_id, task_state=None)
    await cloud.call("PUT", f"/v2.1/os-quota-sets/{who.project_id}", expect=200,
                     json={"quota_set": {"metadata_items": 1}})
    r = await act(cloud, who.token, server_id, {"rebuild": {
        "imageRef": who.image_id, "metadata": {"a": "1", "b": "2"}}}, expect=403)
    assert "Quota exceeded for metadata_items" in fault(r, "forbidden")
    assert (await instance(cloud, server_id)).task_state is None


# --- createImage --------------------------------------------------------------------------

async def test_create_backup_makes_a_backup_image_and_hands_it_to_the_agent(
        cloud: CloudClient) -> None:
    who = await owner(cloud)
    agent = await fake_agent(cloud)
    server_id = await server(cloud, who)
    r = await act(cloud, who.token, server_id, {"createBackup": {
        "name": "b-1", "backup_type": "daily", "rotation": "2"}}, expect=202)
    image_id = r.headers["location"].rsplit("/", 1)[-1]
    image = (await cloud.on("image", "GET", f"/v2/images/{image_id}", token=who.token,
                            expect=200)).json()
    assert (image["status"], image["name"]) == ("queued", "b-1")
    assert (image["image_type"], image["backup_type"], image["instance_uuid"]) == (
        "backup", "daily", server_id)
    stored = await instance(cloud, server_id)
    assert (stored.task_state, stored.task_args) == (
        "image_backup", {"image_id": image_id, "backup_type": "daily", "rotation": 2})
    assert (await next_cast(agent))[0] == "reconcile_instance"
    assert (await _actions(cloud, server_id))[-1] == "createBackup"
    shown = (await show(cloud, who.token, server_id))["server"]
    assert (shown["status"], shown["OS-EXT-STS:task_state"]) == ("ACTIVE", "image_backup")
    r = await act(cloud, who.token, server_id, {"createBackup": {
        "name": "b-2", "backup_type": "daily", "rotation": 1}}, expect=409)
    assert fault(r, "conflictingRequest") == (
        f"Cannot 'createBackup' instance {server_id} while it is in task_state image_backup")


async def test_create_backup_answers_per_version_and_rotation(cloud: CloudClient) -> None:
    who = await owner(cloud)
    body = {"createBackup": {"name": "b", "backup_type": "weekly", "rotation": 1}}
    r = await act(cloud, who.token, await server(cloud, who), body, v="2.45", expect=202)
    assert "location" not in r.headers
    await cloud.on("image", "GET", f"/v2/images/{r.json()['image_id']}", token=who.token,
                   expect=200)
    # Rotation 0 keeps no backup: nothing to point at (Nova answers no id either).
    body["createBackup"]["rotation"] = 0
    r = await act(cloud, who.token, await server(cloud, who), body, v="2.45", expect=202)
    assert r.content == b"" and "location" not in r.headers
    r = await act(cloud, who.token, await server(cloud, who, vm_state="error"), body,
                  expect=409)
    assert "Cannot 'createBackup' instance" in fault(r, "conflictingRequest")
    volume_backed = await server(cloud, who, image_ref="")
    r = await act(cloud, who.token, volume_backed, body, expect=400)
    assert fault(r, "badRequest") == "Backup is not supported for volume-backed instances."
    await act(cloud, await reader_token(cloud, who), volume_backed, body, expect=403)
    await act(cloud, (await owner(cloud)).token, volume_backed, body, expect=404)


async def test_create_image_makes_a_queued_snapshot_and_hands_it_to_the_agent(
        cloud: CloudClient) -> None:
    who = await owner(cloud, disk=2, ram=512)
    agent = await fake_agent(cloud)
    server_id = await server(cloud, who, vm_state="stopped")
    r = await act(cloud, who.token, server_id, {"createImage": {
        "name": "snap-1", "metadata": {"purpose": "backup"}}}, expect=202)
    assert r.content == b""
    image_id = r.headers["location"].rsplit("/", 1)[-1]
    assert r.headers["location"].endswith(f"/v2/images/{image_id}")
    image = (await cloud.on("image", "GET", f"/v2/images/{image_id}", token=who.token,
                            expect=200)).json()
    assert image["status"] == "queued" and image["name"] == "snap-1"
    assert image["visibility"] == "private" and image["owner"] == who.project_id
    # The base image's format, as Nova's API does; a driver writing another says so.
    assert (image["disk_format"], image["container_format"]) == ("raw", "bare")
    assert image["min_disk"] == 2
    assert image["image_type"] == "snapshot" and image["instance_uuid"] == server_id
    assert image["base_image_ref"] == who.image_id and image["purpose"] == "backup"
    stored = await instance(cloud, server_id)
    assert (stored.task_state, stored.task_args) == ("image_snapshot",
                                                     {"image_id": image_id})
    assert (await next_cast(agent))[0] == "reconcile_instance"
    assert (await _actions(cloud, server_id))[-1] == "createImage"
    # While the snapshot runs, a second one is refused and leaves no image behind.
    before = (await cloud.on("image", "GET", "/v2/images", token=who.token)).json()
    r = await act(cloud, who.token, server_id, {"createImage": {"name": "snap-2"}},
                  v="2.45", expect=409)
    assert "task_state image_snapshot" in fault(r, "conflictingRequest")
    after = (await cloud.on("image", "GET", "/v2/images", token=who.token)).json()
    assert len(after["images"]) == len(before["images"])


async def test_create_image_from_245_answers_the_image_id(cloud: CloudClient) -> None:
    who = await owner(cloud)
    server_id = await server(cloud, who)
    r = await act(cloud, who.token, server_id, {"createImage": {"name": "s"}}, v="2.45",
                  expect=202)
    assert "location" not in r.headers
    image_id = r.json()["image_id"]
    await cloud.on("image", "GET", f"/v2/images/{image_id}", token=who.token, expect=200)


async def test_create_image_that_loses_the_race_deletes_its_image(
        cloud: CloudClient, monkeypatch: pytest.MonkeyPatch) -> None:
    who = await owner(cloud)
    server_id = await server(cloud, who)
    created: list[str] = []
    original = ImageClient.create

    async def create_then_someone_stops_the_server(self: ImageClient, *args: Any,
                                                   **kwargs: Any) -> Any:
        info = await original(self, *args, **kwargs)
        created.append(info.id)
        await set_columns(cloud, server_id, task_state="powering-off")
        return info

    monkeypatch.setattr(ImageClient, "create", create_then_someone_stops_the_server)
    r = await act(cloud, who.token, server_id, {"createImage": {"name": "s"}}, v="2.45",
                  expect=409)
    assert "task_state powering-off" in fault(r, "conflictingRequest")
    await cloud.on("image", "GET", f"/v2/images/{created[0]}", token=who.token, expect=404)
    assert "createImage" not in await _actions(cloud, server_id)


async def test_create_image_states_and_metadata_quota(cloud: CloudClient) -> None:
    who = await owner(cloud)
    server_id = await server(cloud, who, vm_state="error")
    r = await act(cloud, who.token, server_id, {"createImage": {"name": "s"}}, expect=409)
    assert fault(r, "conflictingRequest") == (
        f"Cannot 'createImage' instance {server_id} while it is in vm_state error")
    await set_columns(cloud, server_id, vm_state="active")
    await cloud.call("PUT", f"/v2.1/os-quota-sets/{who.project_id}", expect=200,
                     json={"quota_set": {"metadata_items": 1}})
    body = {"createImage": {"name": "s", "metadata": {"a": "1", "b": "2"}}}
    r = await act(cloud, who.token, server_id, body, v="2.38", expect=403)
    assert "metadata_items" in fault(r, "forbidden")
    # From 2.39 image metadata is no longer counted against the server quota.
    await act(cloud, who.token, server_id, body, v="2.39", expect=202)
    async with cloud.svc.read() as db:   # the server's own metadata is untouched
        assert (await db.execute(select(InstanceMetadata).where(
            InstanceMetadata.instance_uuid == server_id))).first() is None


# --- the whole control loop ---------------------------------------------------------------

async def test_a_servers_life_through_the_agent(compute: CloudClient) -> None:
    """With the conductor and a fake agent running, every action finishes by itself."""
    who = await owner(compute, disk=1)
    server_id = (await act_boot(compute, who))
    await wait_status(compute, who.token, server_id, "ACTIVE")
    await act(compute, who.token, server_id, {"os-stop": None}, expect=202)
    await wait_status(compute, who.token, server_id, "SHUTOFF")
    await act(compute, who.token, server_id, {"os-start": None}, expect=202)
    await wait_status(compute, who.token, server_id, "ACTIVE")
    await act(compute, who.token, server_id, {"reboot": {"type": "SOFT"}}, expect=202)
    active = await wait_status(compute, who.token, server_id, "ACTIVE")
    assert active["OS-EXT-STS:task_state"] is None
    r = await act(compute, who.token, server_id, {"os-getConsoleOutput": {"length": 5}},
                  expect=200)
    assert isinstance(r.json()["output"], str)
    r = await act(compute, who.token, server_id, {"createImage": {"name": "snap"}},
                  v="2.45", expect=202)
    image_id = r.json()["image_id"]
    await wait_task_done(compute, who.token, server_id)
    image = (await compute.on("image", "GET", f"/v2/images/{image_id}", token=who.token,
                              expect=200)).json()
    assert image["status"] == "active" and image["size"] > 0
    r = await act(compute, who.token, server_id, {"rebuild": {"imageRef": image_id}},
                  expect=202)
    assert r.json()["server"]["status"] == "REBUILD"
    rebuilt = await wait_status(compute, who.token, server_id, "ACTIVE")
    assert rebuilt["image"]["id"] == image_id
    listed = await compute.call("GET", f"/v2.1/servers/{server_id}/os-instance-actions",
                                token=who.token, expect=200)
    assert [a["action"] for a in listed.json()["instanceActions"]] == [
        "rebuild", "createImage", "reboot", "start", "stop", "create"]


async def act_boot(compute: CloudClient, who: Owner) -> str:
    return await boot_id(compute, who.token, who.image_id, who.flavor_id)


async def wait_task_done(compute: CloudClient, token: str, server_id: str,
                         timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while (await show(compute, token, server_id))["server"]["OS-EXT-STS:task_state"]:
        assert asyncio.get_running_loop().time() < deadline, "the task never finished"
        await asyncio.sleep(0.02)


async def test_pause_and_suspend_through_the_agent_with_their_events(
        compute: CloudClient) -> None:
    """With the conductor and a fake agent: each action ends by itself in Nova's status,
    power state and instance action, with the compute event the agent timed."""
    who = await owner(compute, disk=1)
    server_id = await act_boot(compute, who)
    await wait_status(compute, who.token, server_id, "ACTIVE")
    steps = [("pause", "PAUSED", 3), ("unpause", "ACTIVE", 1), ("suspend", "SUSPENDED", 7),
             ("resume", "ACTIVE", 1)]
    for name, status, power in steps:
        r = await act(compute, who.token, server_id, {name: None}, expect=202)
        shown = await wait_status(compute, who.token, server_id, status)
        assert shown["OS-EXT-STS:power_state"] == power
        assert shown["OS-EXT-STS:task_state"] is None
        request_id = r.headers["x-openstack-request-id"]
        action = (await compute.call(
            "GET", f"/v2.1/servers/{server_id}/os-instance-actions/{request_id}",
            token=who.token, headers={"OpenStack-API-Version": "compute 2.51"},
            expect=200)).json()["instanceAction"]
        assert action["action"] == name
        assert [e["event"] for e in action["events"]] == [f"compute_{name}_instance"]
        assert action["events"][0]["result"] == "Success"


# --- rescue, unrescue -----------------------------------------------------------------------

async def test_rescue_answers_the_password_and_sets_the_task(cloud: CloudClient) -> None:
    who = await owner(cloud)
    agent = await fake_agent(cloud)
    server_id = await server(cloud, who, vm_state="stopped")
    r = await act(cloud, who.token, server_id, {"rescue": {"adminPass": "s3cret"}},
                  expect=200)
    assert r.json() == {"adminPass": "s3cret"}
    stored = await instance(cloud, server_id)
    assert (stored.vm_state, stored.task_state) == ("stopped", "rescuing")
    assert stored.task_args == {"rescue_image_ref": who.image_id}    # its own image
    assert stored.admin_pass == "s3cret"
    method, _ = await next_cast(agent)
    assert method == "reconcile_instance"
    assert (await _actions(cloud, server_id))[-1] == "rescue"
    await set_columns(cloud, server_id, vm_state="rescued", task_state=None)
    assert (await show(cloud, who.token, server_id))["server"]["status"] == "RESCUE"
    await act(cloud, who.token, server_id, {"unrescue": None}, expect=202)
    assert (await instance(cloud, server_id)).task_state == "unrescuing"
    assert (await _actions(cloud, server_id))[-1] == "unrescue"


async def test_rescue_with_a_generated_password_and_an_image_of_ones_choice(
        cloud: CloudClient) -> None:
    who = await owner(cloud)
    server_id = await server(cloud, who)
    other_image = await make_image(cloud, token=who.token)
    r = await act(cloud, who.token, server_id, {"rescue": {"rescue_image_ref": other_image}},
                  expect=200)
    assert len(r.json()["adminPass"]) >= 8
    assert (await instance(cloud, server_id)).task_args == {"rescue_image_ref": other_image}


@pytest.mark.parametrize(("body", "vm_state", "status", "message"), [
    ({"rescue": None}, "rescued", 409, "Cannot 'rescue' instance {id} while it is in "
     "vm_state rescued"),
    ({"rescue": None}, "paused", 409, "Cannot 'rescue' instance {id} while it is in "
     "vm_state paused"),
    ({"unrescue": None}, "active", 409, "Cannot 'unrescue' instance {id} while it is in "
     "vm_state active"),
    ({"rescue": {"rescue_image_ref": "7c1e5a4e-0000-4000-8000-000000000000"}}, "active",
     400, "Cannot find image for rescue"),
    ({"rescue": {"rescue_image_ref": "not-a-uuid"}}, "active", 400, "rescue_image_ref"),
    ({"rescue": {"adminPass": 5}}, "active", 400, "adminPass"),
    ({"rescue": {"bogus": 1}}, "active", 400, "bogus"),
])
async def test_rescue_refusals(cloud: CloudClient, body: dict[str, Any], vm_state: str,
                               status: int, message: str) -> None:
    who = await owner(cloud)
    server_id = await server(cloud, who, vm_state=vm_state)
    r = await act(cloud, who.token, server_id, body, expect=status)
    text = fault(r, "conflictingRequest" if status == 409 else "badRequest")
    assert message.format(id=server_id) in text
    stored = await instance(cloud, server_id)
    assert (stored.vm_state, stored.task_state) == (vm_state, None)


async def test_the_new_statuses_filter_the_server_list(cloud: CloudClient) -> None:
    who = await owner(cloud)
    ids = {state: await server(cloud, who, vm_state=state)
           for state in ("paused", "suspended", "rescued", "active")}
    for status, state in (("PAUSED", "paused"), ("SUSPENDED", "suspended"),
                          ("RESCUE", "rescued")):
        listed = (await cloud.call("GET", f"/v2.1/servers/detail?status={status}",
                                   token=who.token, expect=200)).json()["servers"]
        assert [(s["id"], s["status"]) for s in listed] == [(ids[state], status)]


# --- os-resetState, restore, forceDelete ----------------------------------------------------

@pytest.mark.parametrize(("vm_state", "task_state", "wanted", "status"), [
    ("active", "rebooting", "error", "ERROR"),
    ("error", None, "active", "ACTIVE"),
    ("stopped", "powering-on", "active", "ACTIVE"),
])
async def test_an_admin_resets_a_servers_state(cloud: CloudClient, vm_state: str,
                                               task_state: str | None, wanted: str,
                                               status: str) -> None:
    """Nova's os-resetState: the vm_state named, no task, even when locked; a finished
    resetState action; the host's agent is nudged to report what the guest does."""
    agent = await fake_agent(cloud)
    who = await owner(cloud)
    server_id = await server(cloud, who, vm_state=vm_state, task_state=task_state,
                             locked=True, locked_by="owner")
    r = await act(cloud, None, server_id, {"os-resetState": {"state": wanted}}, expect=202)
    assert r.content == b""
    shown = (await show(cloud, who.token, server_id))["server"]
    assert (shown["status"], shown["OS-EXT-STS:task_state"]) == (status, None)
    assert shown["OS-EXT-STS:vm_state"] == wanted
    assert (await next_cast(agent))[1]["uuid"] == server_id
    async with cloud.svc.read() as db:
        row = (await db.execute(select(InstanceAction).where(
            InstanceAction.instance_uuid == server_id).order_by(
            InstanceAction.id.desc()))).scalars().first()
    assert row is not None and row.action == "resetState" and row.finish_time is not None


async def test_reset_state_is_for_admins(cloud: CloudClient) -> None:
    who = await owner(cloud)
    server_id = await server(cloud, who)
    r = await act(cloud, who.token, server_id, {"os-resetState": {"state": "error"}},
                  expect=403)
    assert "os-admin-actions:reset_state" in fault(r, "forbidden")
    other = await owner(cloud)
    await act(cloud, other.token, server_id, {"os-resetState": {"state": "error"}},
              expect=404)
    await act(cloud, None, "00000000-0000-0000-0000-000000000000",
              {"os-resetState": {"state": "error"}}, expect=404)
    assert (await instance(cloud, server_id)).vm_state == "active"


@pytest.mark.parametrize("name", ["restore", "forceDelete"])
async def test_restore_and_force_delete_find_no_soft_deleted_server(
        cloud: CloudClient, name: str) -> None:
    """ownstack deletes at once (Nova's reclaim_instance_interval 0), so a server these
    find is never soft-deleted: Nova's 409, the lock first; another project's is 404."""
    who = await owner(cloud)
    server_id = await server(cloud, who)
    r = await act(cloud, who.token, server_id, {name: None}, expect=409)
    assert fault(r, "conflictingRequest") == \
        f"Cannot '{name}' instance {server_id} while it is in vm_state active"
    await set_columns(cloud, server_id, locked=True, locked_by="admin")
    r = await act(cloud, who.token, server_id, {name: None}, expect=409)
    assert "is locked" in fault(r, "conflictingRequest")
    await act(cloud, (await owner(cloud)).token, server_id, {name: None}, expect=404)
    await act(cloud, await reader_token(cloud, who), server_id, {name: None}, expect=403)
