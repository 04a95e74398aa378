"""The builder's runner waits ``GATHER_SECONDS`` before a pass (decision 106): boots
enqueued a loop turn or so apart land in one pass, a lone boot waits that long and no
more, and a queue that keeps growing is taken at the bound."""

from __future__ import annotations

import asyncio
import time
import uuid as uuidlib

import pytest

from helpers.compute import instance
from helpers.conductor import insert_instance, report
from helpers.inprocess import CloudClient
from ownstack.compute import states
from ownstack.compute.conductor import build
from ownstack.compute.conductor.build import Builder


def record_passes(builder: Builder, monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The uuids of each scheduling pass, in order."""
    passes: list[list[str]] = []
    original = builder._schedule_queued

    async def counted(items: list[build._Queued]) -> None:
        passes.append([item.uuid for item in items])
        await original(items)
    monkeypatch.setattr(builder, "_schedule_queued", counted)
    return passes


async def test_boots_enqueued_over_loop_turns_are_placed_in_one_pass(
        cloud: CloudClient, monkeypatch: pytest.MonkeyPatch) -> None:
    for i in range(2):
        await report(cloud, f"n{i}", memory_mb=4096)
    # Longer than the default, so that a slow machine's turns still fall within it.
    monkeypatch.setattr(build, "GATHER_SECONDS", 0.2)
    builder = cloud.conductor.builder
    passes = record_passes(builder, monkeypatch)
    uuids = [await insert_instance(cloud) for _ in range(4)]
    waits = []
    for uuid in uuids:      # one POST /servers after another, each a loop turn later
        waits += builder.enqueue([uuid], "req-create")
        await asyncio.sleep(0)
    await asyncio.gather(*waits)
    assert passes == [uuids]        # without gathering: [[first], [the other three]]
    for uuid in uuids:
        assert (await instance(cloud, uuid)).task_state == states.SPAWNING


async def test_a_lone_boot_waits_the_bound_and_no_more(
        cloud: CloudClient, monkeypatch: pytest.MonkeyPatch) -> None:
    await report(cloud, "n1")
    builder = cloud.conductor.builder
    started: list[float] = []
    original = builder._schedule_queued

    async def counted(items: list[build._Queued]) -> None:
        started.append(time.perf_counter())
        await original(items)
    monkeypatch.setattr(builder, "_schedule_queued", counted)
    uuid = await insert_instance(cloud)
    at = time.perf_counter()
    await asyncio.gather(*builder.enqueue([uuid], "req-create"))
    (pass_at,) = started
    assert build.GATHER_SECONDS <= 0.002
    # The bound, and a margin for a loaded machine's loop.
    assert build.GATHER_SECONDS <= pass_at - at < build.GATHER_SECONDS + 0.1
    assert (await instance(cloud, uuid)).task_state == states.SPAWNING


async def test_a_queue_that_keeps_growing_is_taken_at_the_bound(
        cloud: CloudClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(build, "GATHER_SECONDS", 0.02)
    monkeypatch.setattr(build, "MAX_BATCH", 10**6)      # the time bound, not the size
    builder = cloud.conductor.builder
    passes = record_passes(builder, monkeypatch)
    feeding = True

    async def feed() -> None:       # a new boot every loop turn, without end
        while feeding:
            builder.enqueue([str(uuidlib.uuid4())], "req-create")
            await asyncio.sleep(0)
    at = time.perf_counter()
    feeder = asyncio.get_running_loop().create_task(feed())
    while not passes:
        await asyncio.sleep(0.001)
        assert time.perf_counter() - at < 2.0, "no pass began"
    feeding = False
    await feeder
    assert len(passes[0]) > 1
    while builder._queue or builder._runner is not None:
        await asyncio.sleep(0.01)


async def test_a_pass_takes_at_most_max_batch(cloud: CloudClient,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(build, "GATHER_SECONDS", 0.2)
    builder = cloud.conductor.builder
    passes = record_passes(builder, monkeypatch)
    waits = []
    for _ in range(build.MAX_BATCH + 3):     # a row each turn: the batch bound ends it
        waits += builder.enqueue([str(uuidlib.uuid4())], "req-create")
        await asyncio.sleep(0)
    await asyncio.gather(*waits)
    assert [len(p) for p in passes] == [build.MAX_BATCH, 3]
