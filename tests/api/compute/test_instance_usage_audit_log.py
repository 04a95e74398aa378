"""``/os-instance_usage_audit_log``: Nova's view of its usage audit, admin only, as Nova
answers with the audit task off (no task log: every compute host not run)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import pytest
import sqlalchemy as sa

from helpers.compute import fault
from helpers.compute_rows import add_service
from helpers.inprocess import CloudClient, quiet_cloud
from ownstack.compute.objects.models import ComputeService
from ownstack.compute.objects.usage_audit import last_completed_period

LOGS = "/v2.1/os-instance_usage_audit_log"
KEYS = {"hosts_not_run", "log", "num_hosts", "num_hosts_done", "num_hosts_not_run",
        "num_hosts_running", "overall_status", "period_beginning", "period_ending",
        "total_errors", "total_instances"}


@pytest.fixture
async def cloud(tmp_path: Path) -> AsyncIterator[CloudClient]:
    async for client in quiet_cloud(tmp_path):
        yield client


def test_the_period_is_the_last_whole_month_before() -> None:
    def period(text: str) -> tuple[str, str]:
        begin, end = last_completed_period(datetime.fromisoformat(text))
        return str(begin), str(end)

    assert period("2026-12-06 01:30:00") == ("2026-11-01 00:00:00", "2026-12-01 00:00:00")
    # The 1st's midnight still belongs to the month before (Nova's end >= before).
    assert period("2026-12-01 00:00:00") == ("2026-10-01 00:00:00", "2026-11-01 00:00:00")
    assert period("2026-12-01 00:00:00.000001") == ("2026-11-01 00:00:00",
                                                    "2026-12-01 00:00:00")
    assert period("2026-01-15 12:00:00") == ("2025-12-01 00:00:00", "2026-01-01 00:00:00")
    assert period("2026-02-01 00:00:00") == ("2025-12-01 00:00:00", "2026-01-01 00:00:00")
    assert period("9999-12-31 23:59:59") == ("9999-11-01 00:00:00", "9999-12-01 00:00:00")


async def test_every_compute_host_has_not_run(cloud: CloudClient) -> None:
    await add_service(cloud, "c1")
    await add_service(cloud, "c0", disabled=True)       # disabled hosts count, as in Nova
    await add_service(cloud, "c2", up=False)
    await add_service(cloud, "ctl", binary="nova-conductor")   # not a compute host
    r = await cloud.call("GET", LOGS, expect=200)
    assert list(r.json()) == ["instance_usage_audit_logs"]
    log = r.json()["instance_usage_audit_logs"]
    begin, end = last_completed_period(datetime.now(UTC).replace(tzinfo=None))
    # The cloud's own compute host (if it has one) and the three; not the conductor's.
    hosts = log["hosts_not_run"]
    assert {"c0", "c1", "c2"} <= set(hosts) and "ctl" not in hosts
    assert hosts == sorted(hosts)
    assert log == {"period_beginning": str(begin), "period_ending": str(end),
                   "num_hosts": len(hosts), "num_hosts_done": 0, "num_hosts_running": 0,
                   "num_hosts_not_run": len(hosts), "hosts_not_run": hosts,
                   "total_instances": 0, "total_errors": 0,
                   "overall_status": f"0 of {len(hosts)} hosts done. 0 errors.",
                   "log": {}}


async def test_show_before_a_time(cloud: CloudClient) -> None:
    r = await cloud.call("GET", LOGS, expect=200)
    hosts = r.json()["instance_usage_audit_logs"]["hosts_not_run"]
    # As Tempest sends it: quoted, with a space; and with microseconds.
    for text, begin, end in (
            ("2026-03-15 10:20:30", "2026-02-01 00:00:00", "2026-03-01 00:00:00"),
            ("2026-03-01 00:00:00.5", "2026-02-01 00:00:00", "2026-03-01 00:00:00"),
            ("2026-03-01 00:00:00", "2026-01-01 00:00:00", "2026-02-01 00:00:00")):
        r = await cloud.call("GET", f"{LOGS}/{quote(text)}", expect=200)
        assert list(r.json()) == ["instance_usage_audit_log"]
        log = r.json()["instance_usage_audit_log"]
        assert set(log) == KEYS
        assert (log["period_beginning"], log["period_ending"]) == (begin, end)
        assert log["hosts_not_run"] == hosts
    # Unknown query parameters are ignored (Nova's schema before 2.102).
    await cloud.call("GET", f"{LOGS}?whatever=1", expect=200)


async def test_no_compute_host_is_all_done(cloud: CloudClient) -> None:
    async with cloud.svc.write() as db:
        await db.execute(sa.delete(ComputeService))
    r = await cloud.call("GET", LOGS, expect=200)
    log = r.json()["instance_usage_audit_logs"]
    assert (log["num_hosts"], log["hosts_not_run"], log["overall_status"]) == (
        0, [], "ALL hosts done. 0 errors.")


@pytest.mark.parametrize("text", [
    "invalid_time", "2026-13-01 00:00:00", "2026-02-30 00:00:00", "2026-03-01",
    "2026-03-01T00:00:00", "2026-03-01 00:00:00.abc", "2026-03-01 25:00:00",
    "0001-01-01 00:00:00", "0001-01-15 00:00:00", " ", "-1", "x" * 300])
async def test_an_invalid_timestamp_is_a_400(cloud: CloudClient, text: str) -> None:
    r = await cloud.call("GET", f"{LOGS}/{quote(text)}", expect=400)
    assert fault(r, "badRequest") == f"Invalid timestamp for date {text}"


async def test_admin_only(cloud: CloudClient) -> None:
    for role in ("member", "reader"):
        _, token = await cloud.project_user_token(role=role)
        for path in (LOGS, f"{LOGS}/{quote('2026-03-15 10:20:30')}", f"{LOGS}/garbage"):
            r = await cloud.call("GET", path, token=token, expect=403)
            assert fault(r, "forbidden")
    # Every microversion has it.
    for v in ("2.1", "2.96"):
        await cloud.call("GET", LOGS, expect=200,
                         headers={"OpenStack-API-Version": f"compute {v}"})
    r = await cloud.call("POST", LOGS, expect=405, json={})
    assert r.headers["allow"] == "GET, HEAD"
