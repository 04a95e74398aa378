"""The volume API's own ``cinder-scheduler`` service row (decision 75): registered and
beaten by the process that schedules volumes, listed by ``os-services`` and ``os-hosts``
as Cinder lists its scheduler, disabled as Cinder disables one (a flag nothing schedules
by), and never taken for a backend."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio
import sqlalchemy as sa

from helpers.volume import VolumeCloud, fault, volume_cloud
from ownstack.common.db.base import utcnow
from ownstack.volume.objects import services
from ownstack.volume.objects.models import Volume, VolumeService
from ownstack.volume.rpc_handlers import VolumeRpc

pytestmark = pytest.mark.asyncio(loop_scope="module")

HOST = "test-node"              # the cloud's host: its API's scheduler and its agent's


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def vc(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[VolumeCloud]:
    async for cloud in volume_cloud(tmp_path_factory.mktemp("scheduler")):
        yield cloud


async def _services(vc: VolumeCloud, query: str = "", version: str = "3.71"
                    ) -> list[dict[str, Any]]:
    r = await vc.call("GET", f"/v3/os-services{query}", expect=200, version=version)
    return list(r.json()["services"])


async def _scheduler(vc: VolumeCloud, host: str = HOST) -> dict[str, Any]:
    [row] = [s for s in await _services(vc, "?binary=cinder-scheduler") if s["host"] == host]
    return row


async def _row(vc: VolumeCloud, host: str = HOST) -> VolumeService:
    async with vc.svc.read() as db:
        row = await services.find(db, host, services.SCHEDULER_BINARY)
    assert row is not None
    return row


async def _age(vc: VolumeCloud, host: str, seconds: float,
               binary: str = services.SCHEDULER_BINARY) -> None:
    """The row as if its last beat were ``seconds`` ago (negative: ahead of now)."""
    async with vc.svc.write() as db:
        await db.execute(sa.update(VolumeService).where(
            VolumeService.host == host, VolumeService.binary == binary).values(
            last_seen=utcnow() - timedelta(seconds=seconds)))


async def _beaten_after(vc: VolumeCloud, when: datetime, host: str = HOST,
                        timeout: float = 5.0) -> VolumeService:
    """The row once a beat later than ``when`` reached it (the API's own loop)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        async with vc.svc.read() as db:
            row = await services.find(db, host, services.SCHEDULER_BINARY)
        if row is not None and row.last_seen > when:
            return row
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"no beat of {host}'s cinder-scheduler after {when}")
        await asyncio.sleep(0.05)


async def _add(vc: VolumeCloud, host: str, binary: str, *, backend: str = "",
               zone: str = "nova", seen_ago: float = 0.0) -> None:
    seen = utcnow() - timedelta(seconds=seen_ago)
    async with vc.svc.write() as db:
        db.add(VolumeService(uuid=str(uuid.uuid4()), host=host, binary=binary,
                             backend=backend, availability_zone=zone, disabled=False,
                             capabilities={}, created_at=seen, updated_at=seen,
                             last_seen=seen))


async def test_the_api_registers_its_scheduler_as_cinder_shows_one(vc: VolumeCloud) -> None:
    await _beaten_after(vc, utcnow() - timedelta(seconds=60))
    listed = await _services(vc)
    assert [(s["binary"], s["host"]) for s in listed] == [
        ("cinder-scheduler", HOST), ("cinder-volume", f"{HOST}@fake")]
    scheduler, volume = listed
    # A scheduler is named by its host alone and has none of a backend's fields.
    assert scheduler == {"binary": "cinder-scheduler", "host": HOST, "zone": "nova",
                         "status": "enabled", "state": "up",
                         "updated_at": scheduler["updated_at"], "disabled_reason": None,
                         "cluster": None}
    assert {"backend_state", "replication_status", "active_backend_id", "frozen"} <= \
        set(volume)
    assert set(await _scheduler_at(vc, "3.0")) == {
        "binary", "host", "zone", "status", "state", "updated_at", "disabled_reason"}
    # Cinder's filters: the binary; the host names both services, host@backend one.
    assert [s["binary"] for s in await _services(vc, "?binary=cinder-scheduler")] == [
        "cinder-scheduler"]
    assert [s["binary"] for s in await _services(vc, f"?host={HOST}")] == [
        "cinder-scheduler", "cinder-volume"]
    assert [s["binary"] for s in await _services(vc, f"?host={HOST}@fake")] == [
        "cinder-volume"]
    assert await _services(vc, "?binary=cinder-backup") == []
    # os-hosts lists it beside the backend: two hosts on one node, as Cinder's.
    r = await vc.call("GET", "/v3/os-hosts", expect=200)
    hosts = {h["host_name"]: h for h in r.json()["hosts"]}
    assert set(hosts) == {HOST, f"{HOST}@fake"}
    assert (hosts[HOST]["service"], hosts[HOST]["zone"], hosts[HOST]["service-status"],
            hosts[HOST]["service-state"]) == ("cinder-scheduler", "nova", "available",
                                              "enabled")


async def _scheduler_at(vc: VolumeCloud, version: str) -> dict[str, Any]:
    [row] = await _services(vc, "?binary=cinder-scheduler", version=version)
    return row


async def test_the_beat_keeps_it_up(vc: VolumeCloud) -> None:
    """A row left an hour behind (down: see the failing beats' test) is brought up by the
    API's next beat, which comes within ``volume.report_interval`` (0.2 s here)."""
    first = await _row(vc)
    await _age(vc, HOST, 3600)
    beaten = await _beaten_after(vc, utcnow() - timedelta(seconds=1))
    assert beaten.uuid == first.uuid
    assert (await _scheduler(vc))["state"] == "up"


async def test_a_stopped_process_beats_no_more_and_goes_down(vc: VolumeCloud) -> None:
    """A second API process (another host's, beside this cloud's) beats while it runs; once
    stopped its row is never heard from again, so it is listed down when its last beat is
    older than ``service_down_time``; the running process's row stays up."""
    settings = dataclasses.replace(vc.svc.settings, report_interval=0.05)
    other = VolumeRpc(vc.svc.db, vc.svc.bus, vc.svc.peers, settings, vc.svc.notifier,
                      host=lambda: "other-api", sweep_interval=0)
    await other.start()
    try:
        made = await _beaten_after(vc, utcnow() - timedelta(seconds=60), host="other-api")
        again = await _beaten_after(vc, made.last_seen, host="other-api")
        assert again.uuid == made.uuid
        assert (await _scheduler(vc, "other-api"))["state"] == "up"
    finally:
        await other.stop()
    last = (await _row(vc, "other-api")).last_seen
    await asyncio.sleep(0.3)                    # six of its beats, had it run
    assert (await _row(vc, "other-api")).last_seen == last
    await _age(vc, "other-api", vc.svc.settings.service_down_time + 1)
    assert (await _scheduler(vc, "other-api"))["state"] == "down"
    r = await vc.call("GET", "/v3/os-hosts", expect=200)
    assert {h["host_name"]: h["service-status"] for h in r.json()["hosts"]}[
        "other-api"] == "unavailable"
    assert (await _scheduler(vc))["state"] == "up"


async def test_a_beat_stamped_ahead_does_not_keep_a_row_up(vc: VolumeCloud) -> None:
    """Cinder counts a heartbeat's age either way (``abs``): a row stamped an hour ahead by
    a skewed clock is down, not up for an hour."""
    await _add(vc, "skewed", services.BINARY, backend="file", seen_ago=-3600)
    await _add(vc, "skewed", services.SCHEDULER_BINARY, seen_ago=-3600)
    states = {s["binary"]: s["state"] for s in await _services(vc, "?host=skewed")}
    assert states == {"cinder-scheduler": "down", "cinder-volume": "down"}


async def test_disabling_the_scheduler_is_a_flag_nothing_schedules_by(
        vc: VolumeCloud) -> None:
    """As in Cinder: the flag is stored and shown, the disabled scheduler leaves
    ``os-hosts``, and volumes are scheduled as before; a beat keeps the flag."""
    r = await vc.call("PUT", "/v3/os-services/disable", expect=200,
                      json={"host": HOST, "binary": "cinder-scheduler"})
    assert r.json() == {"host": HOST, "binary": "cinder-scheduler",
                        "service": "cinder-scheduler", "status": "disabled",
                        "disabled": True}
    assert (await _scheduler(vc))["status"] == "disabled"
    # The agent's row is untouched.
    [volume_service] = await _services(vc, "?binary=cinder-volume&host=test-node@fake")
    assert volume_service["status"] == "enabled"
    r = await vc.call("GET", "/v3/os-hosts", expect=200)
    assert [h["host_name"] for h in r.json()["hosts"]
            if h["host_name"].partition("@")[0] == HOST] == [f"{HOST}@fake"]
    volume = await vc.volume()
    assert volume["os-vol-host-attr:host"] == f"{HOST}@fake#fake"
    await _beaten_after(vc, utcnow())
    assert (await _scheduler(vc))["status"] == "disabled"
    r = await vc.call("PUT", "/v3/os-services/disable-log-reason", expect=200, json={
        "host": HOST, "binary": "cinder-scheduler", "disabled_reason": "maintenance"})
    assert (r.json()["binary"], r.json()["disabled_reason"]) == ("cinder-scheduler",
                                                                 "maintenance")
    assert (await _scheduler(vc))["disabled_reason"] == "maintenance"
    r = await vc.call("PUT", "/v3/os-services/enable", expect=200,
                      json={"host": HOST, "binary": "cinder-scheduler"})
    assert (r.json()["status"], r.json()["disabled_reason"]) == ("enabled", None)
    scheduler = await _scheduler(vc)
    assert (scheduler["status"], scheduler["disabled_reason"]) == ("enabled", None)
    r = await vc.call("GET", "/v3/os-hosts", expect=200)
    assert HOST in {h["host_name"] for h in r.json()["hosts"]}
    # A scheduler has no backend: host@backend names none.
    r = await vc.call("PUT", "/v3/os-services/disable", expect=404,
                      json={"host": f"{HOST}@fake", "binary": "cinder-scheduler"})
    assert fault(r)[0] == "itemNotFound"


async def test_a_down_scheduler_row_changes_no_create(
        vc: VolumeCloud, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    """Cinder's API casts a create to the scheduler without looking at its row; here the
    API schedules itself, so a row that is down (its beats failing) changes nothing: the
    create is accepted and the volume made. A failing beat is logged, the next one comes."""
    failures = 0

    async def broken(*args: Any, **kwargs: Any) -> VolumeService:
        nonlocal failures
        failures += 1
        raise RuntimeError("database away")

    real = services.beat_scheduler
    monkeypatch.setattr(services, "beat_scheduler", broken)
    with caplog.at_level(logging.ERROR, logger="ownstack.volume.rpc_handlers"):
        await _age(vc, HOST, 3600)
        while failures < 2:
            await asyncio.sleep(0.05)
        assert (await _scheduler(vc))["state"] == "down"
        volume = await vc.volume()
        assert volume["status"] == "available"
    assert "cinder-scheduler row could not be reported" in caplog.text
    monkeypatch.setattr(services, "beat_scheduler", real)
    await _beaten_after(vc, utcnow())
    assert (await _scheduler(vc))["state"] == "up"


async def test_a_removed_row_is_made_again(vc: VolumeCloud) -> None:
    async with vc.svc.write() as db:
        await db.execute(sa.delete(VolumeService).where(
            VolumeService.host == HOST, VolumeService.binary == services.SCHEDULER_BINARY))
    before = utcnow()
    row = await _beaten_after(vc, before - timedelta(seconds=1))
    assert (row.disabled, row.availability_zone, row.backend) == (False, "nova", "")
    assert row.created_at >= before - timedelta(seconds=1)


async def test_processes_of_one_host_share_its_row(vc: VolumeCloud) -> None:
    await asyncio.gather(*(vc.svc.rpc.beat() for _ in range(8)))
    async with vc.svc.read() as db:
        count = await db.scalar(sa.select(sa.func.count()).select_from(VolumeService).where(
            VolumeService.host == HOST, VolumeService.binary == services.SCHEDULER_BINARY))
    assert count == 1


async def test_an_insert_race_lost_beats_the_winners_row(
        vc: VolumeCloud, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another process of the host made the row between this one's read and insert: the
    insert fails on the unique (host, binary) and the beat refreshes the row made."""
    await _add(vc, "race-host", services.SCHEDULER_BINARY, seen_ago=3600)
    real = services.find
    reads: list[str] = []

    async def stale_first(db: Any, host: str, binary: str = services.BINARY
                          ) -> VolumeService | None:
        reads.append(host)
        return None if len(reads) == 1 else await real(db, host, binary)

    monkeypatch.setattr(services, "find", stale_first)
    async with vc.svc.write() as db:
        await services.beat_scheduler(db, "race-host", "nova")
    monkeypatch.undo()
    assert reads == ["race-host", "race-host"]
    assert (await _scheduler(vc, "race-host"))["state"] == "up"
    async with vc.svc.read() as db:
        rows = await services.list_services(db, host="race-host")
    assert len(rows) == 1


async def test_a_scheduler_is_no_backend(vc: VolumeCloud) -> None:
    """A host with only a scheduler (an API-only controller) has no pool, makes no zone,
    holds no volumes to show, has no capabilities, and cannot be frozen (Cinder freezes
    the ``cinder-volume`` services of a host: none is its 400)."""
    await _add(vc, "api-only", services.SCHEDULER_BINARY, zone="sched-zone")
    r = await vc.call("GET", "/v3/scheduler-stats/get_pools", expect=200)
    # The backends alone: the cloud's own, and none of the scheduler's host. (Which other
    # backends the module's earlier tests added depends on the worker that ran them.)
    pools = {pool["name"] for pool in r.json()["pools"]}
    assert f"{HOST}@fake#fake" in pools
    assert not any(name.startswith("api-only@") for name in pools), pools
    r = await vc.call("GET", "/v3/os-availability-zone", expect=200)
    assert [z["zoneName"] for z in r.json()["availabilityZoneInfo"]] == ["nova"]
    r = await vc.call("POST", "/v3/volumes", expect=400, json={"volume": {
        "size": 1, "availability_zone": "sched-zone"}})
    assert fault(r) == ("badRequest", "Invalid input received: Availability zone "
                        "'sched-zone' is invalid.")
    r = await vc.call("GET", "/v3/os-hosts/api-only", expect=404)
    assert fault(r) == ("itemNotFound",
                        "Service cinder-volume could not be found on host api-only.")
    r = await vc.call("GET", "/v3/capabilities/api-only", expect=404)
    assert fault(r) == ("itemNotFound", "Can't find service: api-only")
    # The scheduler's own host name shows that host's backend, as Cinder looks it up.
    r = await vc.call("GET", f"/v3/os-hosts/{HOST}", expect=200)
    assert r.json()["host"][0]["resource"]["project"] == "(total)"
    for action in ("freeze", "thaw"):
        for host in ("api-only", "nowhere"):
            r = await vc.call("PUT", f"/v3/os-services/{action}", expect=400,
                              json={"host": host})
            assert fault(r) == ("badRequest",
                                f"Invalid input received: No service found with host={host}")
        # A host with a backend: freezing is not served (no backend here replicates).
        r = await vc.call("PUT", f"/v3/os-services/{action}", expect=400,
                          json={"host": HOST})
        assert fault(r) == ("badRequest",
                            f"os-services/{action} is not supported by ownstack yet.")
        for body in ({}, {"host": ""}, {"host": HOST, "binary": "cinder-volume"},
                     {"host": HOST, "cluster": "c"}):
            await vc.call("PUT", f"/v3/os-services/{action}", expect=400, json=body)


async def test_work_on_a_host_whose_agent_is_gone_fails_though_its_scheduler_is_up(
        vc: VolumeCloud) -> None:
    """The sweep that fails agent work asks whether the host's *agent* is up: a scheduler
    of the same host beating away does not keep a volume ``creating`` for good."""
    await _add(vc, "lonely", services.SCHEDULER_BINARY)
    await _add(vc, "lonely", services.BINARY, backend="file", seen_ago=3600)
    volume = await vc.volume()
    long_ago = utcnow() - timedelta(seconds=vc.svc.settings.task_timeout + 60)
    async with vc.svc.write() as db:
        await db.execute(sa.update(Volume).where(Volume.id == volume["id"]).values(
            host="lonely", backend="file", status="creating", work="creating",
            status_at=long_ago))
    changed = await vc.svc.rpc.sweep()
    assert volume["id"] in changed
    await vc.wait(f"/v3/volumes/{volume['id']}", "volume", "error")
