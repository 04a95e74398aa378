"""One contract, every bus: the in-process bus and RabbitMQ (on the CI machine's broker)."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from ownstack.common.bus import BusError, BusTimeout, InProcessBus, RemoteError, make_bus
from ownstack.common.bus.base import topic_matches
from ownstack.common.bus.rabbitmq import QUEUE_PREFIX, RabbitMQBus

AMQP_URL = os.environ.get("OWNSTACK_TEST_AMQP", "amqp://guest:guest@127.0.0.1:5672/")


@pytest.fixture(params=["memory", "rabbitmq"])
async def bus(request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    instance = InProcessBus() if request.param == "memory" else RabbitMQBus(AMQP_URL)
    await instance.start()
    yield instance
    if isinstance(instance, RabbitMQBus) and instance._channel is not None:
        for topic in instance._declared:    # durable queues outlive the test: remove ours
            await instance._channel.queue_delete(QUEUE_PREFIX + topic)
    await instance.close()


def topic() -> str:
    return f"test.{uuid.uuid4().hex[:10]}"


async def test_call_returns_the_servers_answer(bus: Any) -> None:
    name = topic()

    async def handler(method: str, payload: dict[str, Any]) -> Any:
        return {"method": method, "doubled": payload["n"] * 2}

    sub = await bus.serve(name, handler)
    assert await bus.call(name, "double", {"n": 21}, timeout=5) == {"method": "double",
                                                                    "doubled": 42}
    await sub.cancel()


async def test_handler_errors_reach_the_caller(bus: Any) -> None:
    name = topic()

    async def handler(method: str, payload: dict[str, Any]) -> Any:
        raise ValueError("no such instance")

    sub = await bus.serve(name, handler)
    with pytest.raises(RemoteError) as caught:
        await bus.call(name, "spawn", {}, timeout=5)
    assert caught.value.kind == "ValueError" and caught.value.message == "no such instance"
    await sub.cancel()


async def test_an_answer_that_is_not_json_reaches_the_caller_as_an_error(bus: Any) -> None:
    name = topic()

    async def handler(method: str, payload: dict[str, Any]) -> Any:
        return {"made": object()} if method == "bad" else {"ok": True}

    sub = await bus.serve(name, handler)
    with pytest.raises(RemoteError) as caught:
        await bus.call(name, "bad", {}, timeout=5)
    assert caught.value.kind == "BusError" and "not JSON" in caught.value.message
    assert await bus.call(name, "good", {}, timeout=5) == {"ok": True}   # still serving
    await sub.cancel()


async def test_call_without_a_server_times_out(bus: Any) -> None:
    with pytest.raises(BusTimeout):
        await bus.call(topic(), "ping", {}, timeout=0.3)


async def test_cast_waits_for_a_server_and_servers_share_work(bus: Any) -> None:
    name = topic()
    for i in range(10):
        await bus.cast(name, "work", {"i": i})       # no server yet: the messages wait
    seen: dict[str, list[int]] = {"a": [], "b": []}
    done = asyncio.Event()

    def make(which: str) -> Any:
        async def handler(method: str, payload: dict[str, Any]) -> None:
            seen[which].append(payload["i"])
            await asyncio.sleep(0.01)
            if len(seen["a"]) + len(seen["b"]) == 10:
                done.set()
        return handler

    subs = [await bus.serve(name, make("a")), await bus.serve(name, make("b"))]
    await asyncio.wait_for(done.wait(), 10)
    assert sorted(seen["a"] + seen["b"]) == list(range(10))   # each exactly once
    for sub in subs:
        await sub.cancel()


async def test_events_fan_out_by_pattern(bus: Any) -> None:
    prefix = f"ev{uuid.uuid4().hex[:8]}"
    got: dict[str, list[str]] = {"all": [], "instance": [], "other": []}
    arrived = asyncio.Event()

    def make(which: str) -> Any:
        async def handler(event: str, payload: dict[str, Any]) -> None:
            got[which].append(event)
            if len(got["all"]) == 2 and len(got["instance"]) == 1:
                arrived.set()
        return handler

    subs = [await bus.subscribe(f"{prefix}.#", make("all")),
            await bus.subscribe(f"{prefix}.instance.*", make("instance")),
            await bus.subscribe(f"{prefix}.volume.*", make("other"))]
    await bus.publish(f"{prefix}.instance.update", {"id": "x"})
    await bus.publish(f"{prefix}.host.up", {"host": "h"})
    await asyncio.wait_for(arrived.wait(), 10)
    assert sorted(got["all"]) == [f"{prefix}.host.up", f"{prefix}.instance.update"]
    assert got["instance"] == [f"{prefix}.instance.update"] and got["other"] == []
    for sub in subs:
        await sub.cancel()


async def test_payloads_must_be_json(bus: Any) -> None:
    with pytest.raises(BusError):
        await bus.cast(topic(), "x", {"bad": object()})


async def test_bad_topic_names_are_refused(bus: Any) -> None:
    with pytest.raises(ValueError, match="bad topic"):
        await bus.cast("spaces are bad", "x", {})


@pytest.mark.parametrize(("pattern", "key", "expected"), [
    ("a.*", "a.b", True), ("a.*", "a.b.c", False), ("a.#", "a", True),
    ("a.#", "a.b.c", True), ("#", "x.y", True), ("a.#.z", "a.z", True),
    ("a.#.z", "a.b.c.z", True), ("a.b", "a.c", False), ("*.b", "a.b", True),
])
def test_topic_matching_is_rabbitmqs(pattern: str, key: str, expected: bool) -> None:
    assert topic_matches(pattern, key) is expected


def test_make_bus_picks_by_url() -> None:
    assert isinstance(make_bus(""), InProcessBus)
    assert isinstance(make_bus("amqp://guest:guest@127.0.0.1/"), RabbitMQBus)
    with pytest.raises(ValueError):
        make_bus("kafka://x")
