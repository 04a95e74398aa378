"""An admin's reset-status writes statuses and nothing else, as Cinder's (decision 59).

The volume agent acts on the work an action asked for, never on a status alone: a volume
or snapshot reset to ``deleting`` keeps its data through agent passes and restarts until
a real delete asks for it, one reset to ``creating`` stays so, and a reset ends the work
the row had (the agent's later report of it changes nothing). The wire is Cinder's:
403 for a non-admin, 404 for an unknown volume, 400 for a status, attach status or
migration status Cinder refuses (statuses read case-insensitively).
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from helpers.volume import VolumeCloud, fault, random_id, volume_cloud


@pytest.fixture
async def vc(tmp_path: Path) -> AsyncIterator[VolumeCloud]:
    async for cloud in volume_cloud(tmp_path):
        yield cloud


@pytest.fixture
async def file_vc(tmp_path: Path) -> AsyncIterator[VolumeCloud]:
    """The cloud with the real file driver: raw files under ``tmp_path/volumes``."""
    async for cloud in volume_cloud(tmp_path, "volume.driver=file",
                                    f"volume.volumes_dir={tmp_path / 'volumes'}",
                                    "volume.volume_format=raw"):
        yield cloud


async def restart_agent(vc: VolumeCloud) -> None:
    """A new agent on the same host; its start-up resync is a full pass over the host."""
    await vc.agent.stop()
    await vc.cloud.start_worker("volume")


async def shown(vc: VolumeCloud, kind: str, item_id: str) -> dict[str, Any]:
    r = await vc.call("GET", f"/v3/{kind}s/{item_id}", expect=200)
    body: dict[str, Any] = r.json()[kind]
    return body


async def reset(vc: VolumeCloud, kind: str, item_id: str, body: dict[str, Any], *,
                token: str | None = None, expect: int = 202) -> Any:
    return await vc.call("POST", f"/v3/{kind}s/{item_id}/action", token=token,
                         expect=expect, json={"os-reset_status": body})


async def test_the_wire_is_cinders(vc: VolumeCloud) -> None:
    caller = await vc.caller()
    volume = await vc.volume(caller.token)
    snapshot = await vc.snapshot(volume["id"], caller.token)
    for kind, item in (("volume", volume), ("snapshot", snapshot)):
        r = await reset(vc, kind, item["id"], {"status": "error"}, token=caller.token,
                        expect=403)
        assert fault(r)[0] == "forbidden"
        r = await reset(vc, kind, random_id(), {"status": "error"}, expect=404)
        assert fault(r)[0] == "itemNotFound"
        for bad in ({"status": "nonsense"}, {"status": ""}, {}, {"status": 3},
                    {"status": "error", "surprise": 1}):
            r = await reset(vc, kind, item["id"], bad, expect=400)
            assert fault(r)[0] == "badRequest", bad
        assert (await shown(vc, kind, item["id"]))["status"] == "available"
    for bad in ({"attach_status": "attaching"}, {"attach_status": "bogus"},
                {"migration_status": "migrating"}, {"status": "error",
                                                    "attach_status": "nope"}):
        r = await reset(vc, "volume", volume["id"], bad, expect=400)
        assert fault(r)[0] == "badRequest", bad
    assert (await shown(vc, "volume", volume["id"]))["status"] == "available"
    # Cinder lower-cases what it is given.
    await reset(vc, "volume", volume["id"], {"status": "ERROR"})
    assert (await shown(vc, "volume", volume["id"]))["status"] == "error"
    await reset(vc, "snapshot", snapshot["id"], {"status": "Error"})
    assert (await shown(vc, "snapshot", snapshot["id"]))["status"] == "error"
    # attach_status and migration_status alone, without a status, are requests too.
    await reset(vc, "volume", volume["id"], {"attach_status": "detached"})
    await reset(vc, "volume", volume["id"], {"migration_status": "none"})
    assert (await shown(vc, "volume", volume["id"]))["status"] == "error"


async def test_a_volume_reset_to_deleting_keeps_its_data_until_a_real_delete(
        vc: VolumeCloud) -> None:
    host = vc.agent.driver.host
    volume = await vc.volume()
    host.write(volume["id"], 0x5A)
    await reset(vc, "volume", volume["id"], {"status": "deleting"})
    await vc.agent.reconcile(volume["id"])
    await vc.agent.resync()
    await restart_agent(vc)
    assert (await shown(vc, "volume", volume["id"]))["status"] == "deleting"
    assert host.pattern(volume["id"]) == 0x5A
    # Nor does the sweep put it in error: there is no work to fail.
    assert await vc.svc.rpc.sweep() == []
    # Cinder's way out of a stuck deleting: a plain delete is refused, a forced one works.
    r = await vc.call("DELETE", f"/v3/volumes/{volume['id']}", expect=400)
    assert "deleting" in fault(r)[1]
    await vc.call("DELETE", f"/v3/volumes/{volume['id']}?force=true", expect=202)
    await vc.wait(f"/v3/volumes/{volume['id']}", "volume", "gone")
    assert volume["id"] not in host.volumes


async def test_a_volume_reset_to_creating_stays_so_and_is_never_made(
        vc: VolumeCloud) -> None:
    host = vc.agent.driver.host
    volume = await vc.volume()
    host.write(volume["id"], 0x11)
    await reset(vc, "volume", volume["id"], {"status": "creating"})
    await restart_agent(vc)
    await vc.svc.rpc.sweep()
    assert (await shown(vc, "volume", volume["id"]))["status"] == "creating"
    assert host.pattern(volume["id"]) == 0x11       # not made again over the data
    # Until an action changes it: back to available, the volume works again.
    await reset(vc, "volume", volume["id"], {"status": "available"})
    await vc.action(volume["id"], {"os-extend": {"new_size": 2}})
    grown = await vc.wait(f"/v3/volumes/{volume['id']}", "volume", "available")
    assert grown["size"] == 2
    assert (host.volumes[volume["id"]].size_gb, host.pattern(volume["id"])) == (2, 0x11)


async def test_a_reset_ends_the_work_the_volume_had(vc: VolumeCloud) -> None:
    # A create that takes long, reset to deleting by an admin while the agent is at it:
    # the agent's report of the create, when it comes, changes nothing, and the volume
    # it made is kept.
    host = vc.agent.driver.host
    host.delay = 0.5
    r = await vc.call("POST", "/v3/volumes", expect=202,
                      json={"volume": {"size": 1, "name": "slow"}})
    volume_id = r.json()["volume"]["id"]
    for _ in range(200):
        if host.partial:
            break
        await asyncio.sleep(0.01)
    assert host.partial, "the agent never started the create"
    await reset(vc, "volume", volume_id, {"status": "deleting"})
    for _ in range(200):
        if volume_id in host.volumes:
            break
        await asyncio.sleep(0.01)
    assert volume_id in host.volumes, "the create never finished"
    host.delay = 0.0
    await vc.agent.reconcile(volume_id)
    await restart_agent(vc)
    assert (await shown(vc, "volume", volume_id))["status"] == "deleting"
    assert volume_id in host.volumes


async def test_a_snapshot_reset_to_deleting_keeps_its_data_until_a_real_delete(
        vc: VolumeCloud) -> None:
    host = vc.agent.driver.host
    volume = await vc.volume()
    host.write(volume["id"], 0x42)
    snapshot = await vc.snapshot(volume["id"])
    await reset(vc, "snapshot", snapshot["id"], {"status": "deleting"})
    await vc.agent.reconcile_snapshot(snapshot["id"])
    await restart_agent(vc)
    assert await vc.svc.rpc.sweep() == []
    assert (await shown(vc, "snapshot", snapshot["id"]))["status"] == "deleting"
    assert host.snapshots[snapshot["id"]].pattern == 0x42
    # Nothing reads or writes the volume for that snapshot: its volume can be extended.
    await vc.action(volume["id"], {"os-extend": {"new_size": 2}})
    await vc.wait(f"/v3/volumes/{volume['id']}", "volume", "available")
    # A snapshot reset to creating is not made again either.
    await reset(vc, "snapshot", snapshot["id"], {"status": "creating"})
    host.snapshots[snapshot["id"]].pattern = 0x43
    await restart_agent(vc)
    assert (await shown(vc, "snapshot", snapshot["id"]))["status"] == "creating"
    assert host.snapshots[snapshot["id"]].pattern == 0x43
    await vc.call("POST", f"/v3/snapshots/{snapshot['id']}/action", expect=202,
                  json={"os-force_delete": {}})
    await vc.wait(f"/v3/snapshots/{snapshot['id']}", "snapshot", "gone")
    assert snapshot["id"] not in host.snapshots
    assert host.pattern(volume["id"]) == 0x42


async def test_an_in_use_extend_reset_is_not_completed_nor_failed_later(
        vc: VolumeCloud) -> None:
    volume = await vc.volume()
    await vc.action(volume["id"], {"os-attach": {"instance_uuid": random_id(),
                                                 "mountpoint": "/dev/vdb"}})
    await vc.action(volume["id"], {"os-extend": {"new_size": 3}})
    await reset(vc, "volume", volume["id"], {"status": "in-use"})
    r = await vc.action(volume["id"], {"os-extend_volume_completion": {"error": False}},
                        expect=400)
    assert "not waiting for compute" in fault(r)[1]
    # A status reset to extending is not compute's extend either: no sweep fails it.
    await reset(vc, "volume", volume["id"], {"status": "extending"})
    vc.svc.rpc.settings = dataclasses.replace(vc.svc.settings, attach_timeout=0.0)
    await asyncio.sleep(0.01)
    await vc.svc.rpc.sweep()
    assert (await shown(vc, "volume", volume["id"]))["status"] == "extending"


async def test_the_file_of_a_volume_reset_to_deleting_is_kept_byte_for_byte(
        file_vc: VolumeCloud, tmp_path: Path) -> None:
    vc = file_vc
    volume = await vc.volume()
    [path] = (tmp_path / "volumes").glob(f"*/volume-{volume['id']}.raw")
    with path.open("r+b") as disk:              # what a guest wrote on it
        disk.write(bytes(range(256)) * 256)
    written = hashlib.sha256(path.read_bytes()).hexdigest()
    await reset(vc, "volume", volume["id"], {"status": "deleting"})
    await vc.agent.reconcile(volume["id"])
    await vc.agent.resync()
    await restart_agent(vc)
    assert await vc.svc.rpc.sweep() == []
    assert (await shown(vc, "volume", volume["id"]))["status"] == "deleting"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == written
    await vc.call("DELETE", f"/v3/volumes/{volume['id']}?force=true", expect=202)
    await vc.wait(f"/v3/volumes/{volume['id']}", "volume", "gone")
    assert not path.exists()
