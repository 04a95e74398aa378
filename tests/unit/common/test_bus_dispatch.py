"""TopicServer: a service's side of an RPC topic, on the in-process bus."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from ownstack.common.bus import BusTimeout, InProcessBus, RemoteError
from ownstack.common.bus.dispatch import TopicServer


async def test_methods_are_dispatched_by_name_and_unknown_ones_are_an_error() -> None:
    bus = InProcessBus()

    async def echo(payload: dict[str, Any]) -> dict[str, Any]:
        return {"echo": payload["x"]}

    server = TopicServer(bus, "svc", {"echo": echo}, service="test service", servers=2)
    await server.start()
    try:
        assert await bus.call("svc", "echo", {"x": 7}) == {"echo": 7}
        with pytest.raises(RemoteError) as error:
            await bus.call("svc", "reboot_everything", {})
        assert error.value.kind == "UnknownMethod"
        assert error.value.message == "the test service has no method 'reboot_everything'"
    finally:
        await server.stop()
        await server.stop()                      # twice is harmless
    with pytest.raises(BusTimeout):              # nobody serves the topic any more
        await bus.call("svc", "echo", {"x": 1}, timeout=0.2)
    await bus.close()


async def test_servers_are_competing_consumers() -> None:
    bus = InProcessBus()
    running = 0
    most = 0
    release = asyncio.Event()

    async def slow(payload: dict[str, Any]) -> None:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await release.wait()
        running -= 1

    server = TopicServer(bus, "svc", {"slow": slow}, service="test service", servers=3)
    await server.start()
    calls = [asyncio.create_task(bus.call("svc", "slow", {})) for _ in range(5)]
    for _ in range(50):
        if most == 3:
            break
        await asyncio.sleep(0.01)
    release.set()
    await asyncio.gather(*calls)
    await server.stop()
    await bus.close()
    assert most == 3                              # three at once, never more
