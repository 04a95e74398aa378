"""The conductor's own service rows (``nova-conductor``, ``nova-scheduler``): made where
missing, beaten each sweep, shared by the conductors of one host."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from helpers.inprocess import CloudClient, quiet_cloud
from ownstack.compute.conductor import services
from ownstack.compute.objects.models import ComputeService


async def rows(cloud: CloudClient) -> list[tuple[str, str, str, int]]:
    async with cloud.svc.read() as db:
        found = (await db.execute(sa.select(
            ComputeService.host, ComputeService.binary, ComputeService.availability_zone,
            ComputeService.report_count).order_by(ComputeService.binary))).all()
    return [tuple(row) for row in found]


@pytest.fixture
async def quiet(tmp_path: Path) -> Any:
    async for cloud in quiet_cloud(tmp_path):
        yield cloud, SimpleNamespace(config=cloud.svc.config, db=cloud.svc)


async def test_conductors_of_one_host_beating_at_once_share_one_row_each(
        quiet: Any) -> None:
    cloud, env = quiet
    await asyncio.gather(*(services.beat(env) for _ in range(8)))
    assert await rows(cloud) == [("test-node", "nova-conductor", "internal", 8),
                                 ("test-node", "nova-scheduler", "internal", 8)]


async def test_an_insert_race_lost_is_read_again(quiet: Any,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Another conductor of the host made the rows between this one's read and insert:
    the insert fails on the unique (host, binary) and the beat reads the rows again."""
    cloud, env = quiet
    real = services._beat
    attempts: list[str] = []

    async def raced(env: Any, host: str) -> None:
        attempts.append(host)
        if len(attempts) == 1:
            await real(env, host)                       # the other conductor's beat
            raise IntegrityError("INSERT INTO compute_services", {}, Exception("unique"))
        await real(env, host)

    monkeypatch.setattr(services, "_beat", raced)
    await services.beat(env)
    assert attempts == ["test-node", "test-node"]
    assert [(binary, count) for _, binary, _, count in await rows(cloud)] == [
        ("nova-conductor", 2), ("nova-scheduler", 2)]


async def test_a_failing_beat_is_logged_and_the_sweep_still_runs(
        cloud: CloudClient, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    swept = asyncio.Event()

    async def broken(env: Any) -> None:
        raise RuntimeError("database gone")

    async def sweep() -> None:
        swept.set()

    monkeypatch.setattr(services, "beat", broken)
    monkeypatch.setattr(cloud.conductor.sweeper, "sweep", sweep)
    with caplog.at_level(logging.ERROR, logger="ownstack.compute.conductor"):
        await asyncio.wait_for(swept.wait(), timeout=10)
        swept.clear()
        await asyncio.wait_for(swept.wait(), timeout=10)    # the loop goes on
    assert "its service rows could not be reported" in caplog.text
