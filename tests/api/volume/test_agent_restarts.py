"""Killing the volume agent at any moment loses nothing: after a restart nothing stays
creating, deleting, extending or uploading, and no half-made volume is left; what the
control plane no longer wants is removed; a host that stays down ends its volumes' work
in error with the reason."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from helpers.volume import VolumeCloud, upload_raw_image, volume_cloud


@pytest.fixture
async def vc(tmp_path: Path) -> AsyncIterator[VolumeCloud]:
    async for cloud in volume_cloud(tmp_path):
        yield cloud


async def kill_agent_mid_work(vc: VolumeCloud) -> None:
    """Stop the agent while its driver is inside a slow step (as a SIGKILL would cut it:
    a half-made volume stays on the host), then start a new agent on the same host."""
    host = vc.agent.driver.host
    for _ in range(200):
        if host.partial:
            break
        await asyncio.sleep(0.01)
    assert host.partial, "the agent never started the work"
    await vc.agent.stop()
    host.delay = 0.0
    await vc.cloud.start_worker("volume")


async def test_killed_mid_create_from_an_image(vc: VolumeCloud) -> None:
    image_id = await upload_raw_image(vc, bytes([7]) * 65536)
    vc.agent.driver.host.delay = 5.0
    r = await vc.call("POST", "/v3/volumes", expect=202, json={"volume": {
        "size": 1, "imageRef": image_id}})
    volume_id = r.json()["volume"]["id"]
    await kill_agent_mid_work(vc)
    volume = await vc.wait(f"/v3/volumes/{volume_id}", "volume", "available")
    assert volume["bootable"] == "true"
    host = vc.agent.driver.host
    assert host.pattern(volume_id) == 7 and not host.partial
    assert list(vc.agent.images.work_dir.iterdir()) == []         # no download left


async def test_killed_mid_snapshot_and_mid_delete(vc: VolumeCloud) -> None:
    volume = await vc.volume()
    vc.agent.driver.host.delay = 5.0
    r = await vc.call("POST", "/v3/snapshots", expect=202, json={"snapshot": {
        "volume_id": volume["id"]}})
    snapshot_id = r.json()["snapshot"]["id"]
    await kill_agent_mid_work(vc)
    await vc.wait(f"/v3/snapshots/{snapshot_id}", "snapshot", "available")
    await vc.agent.stop()                       # down while asked to delete
    await vc.call("DELETE", f"/v3/volumes/{volume['id']}?cascade=true", expect=202)
    await vc.cloud.start_worker("volume")
    await vc.wait(f"/v3/volumes/{volume['id']}", "volume", "gone")
    assert vc.agent.driver.host.volumes == {} and vc.agent.driver.host.snapshots == {}


async def test_killed_mid_extend(vc: VolumeCloud) -> None:
    volume = await vc.volume()
    await vc.agent.stop()
    await vc.action(volume["id"], {"os-extend": {"new_size": 3}})
    await vc.cloud.start_worker("volume")
    extended = await vc.wait(f"/v3/volumes/{volume['id']}", "volume", "available")
    assert extended["size"] == 3 == vc.agent.driver.host.volumes[volume["id"]].size_gb


async def test_killed_mid_upload(vc: VolumeCloud) -> None:
    volume = await vc.volume()
    await vc.agent.stop()
    r = await vc.action(volume["id"], {"os-volume_upload_image": {
        "image_name": "up", "disk_format": "raw"}})
    image_id = r.json()["os-volume_upload_image"]["image_id"]
    await vc.cloud.start_worker("volume")
    await vc.wait(f"/v3/volumes/{volume['id']}", "volume", "available")
    image = (await vc.cloud.on("image", "GET", f"/v2/images/{image_id}", expect=200)).json()
    assert image["status"] == "active"


async def test_a_volume_forced_away_while_its_host_was_down_is_removed(
        vc: VolumeCloud) -> None:
    volume = await vc.volume()
    await vc.agent.stop()
    rows = vc.svc.settings
    vc.svc.settings = type(rows)(**{**rows.__dict__, "service_down_time": 0.0})
    try:
        await asyncio.sleep(0.01)
        await vc.action(volume["id"], {"os-force_delete": {}})
        await vc.call("GET", f"/v3/volumes/{volume['id']}", expect=404)
    finally:
        vc.svc.settings = rows
    await vc.cloud.start_worker("volume")
    assert volume["id"] not in vc.agent.driver.host.volumes     # the resync removed it


async def test_work_on_a_host_that_stays_down_ends_in_error(vc: VolumeCloud) -> None:
    volume = await vc.volume()
    await vc.agent.stop()
    await vc.call("DELETE", f"/v3/volumes/{volume['id']}", expect=202)
    rpc = vc.svc.rpc
    settings = rpc.settings
    rpc.settings = type(settings)(**{**settings.__dict__, "service_down_time": 0.0,
                                     "task_timeout": 0.0})
    try:
        await asyncio.sleep(0.01)
        assert volume["id"] in await rpc.sweep()
    finally:
        rpc.settings = settings
    shown = (await vc.call("GET", f"/v3/volumes/{volume['id']}", expect=200)).json()["volume"]
    assert shown["status"] == "error_deleting"


async def test_a_driver_failure_or_bug_never_leaves_a_volume_creating(vc: VolumeCloud) -> None:
    driver = vc.agent.driver
    original = driver.create_volume

    async def refuses(volume_id: str, size_gb: int) -> None:
        raise OSError(28, "No space left on device")

    async def breaks(volume_id: str, size_gb: int) -> None:
        raise KeyError("bug")

    try:
        driver.create_volume = refuses
        full = await vc.volume(wait="error")
        driver.create_volume = breaks
        broken = await vc.volume(wait="error")
    finally:
        driver.create_volume = original
    async with vc.svc.read() as db:
        from ownstack.volume.objects.models import Volume

        rows = {row.id: row for row in [await db.get(Volume, full["id"]),
                                        await db.get(Volume, broken["id"])] if row}
    assert "No space left" in rows[full["id"]].task["error"]
    assert rows[broken["id"]].task["error"] == "internal error: KeyError"
