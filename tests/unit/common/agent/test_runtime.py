"""The agent runtime on a toy controller (a dict of wanted values and a dict the "host"
has), so every rule of the runtime is seen apart from any real agent: a pass per key at a
time, nudges that collapse, typed outcomes, bounded retries, resyncs that touch only what
differs, registration that waits for the control plane, and a stop that ends everything.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

import pytest

from ownstack.common.agent import Agent, Controller, Fatal, Outcome, Retry, Surveyed, WorkQueue
from ownstack.common.agent import workqueue as workqueue_module
from ownstack.common.bus import BusTimeout, InProcessBus, Payload


class Toy(Controller[str, int, int, int]):
    """Makes ``have[key]`` equal ``want[key]``; the plan is the difference."""

    name = "toy"

    def __init__(self) -> None:
        self.want: dict[str, int] = {}
        self.have: dict[str, int] = {}
        self.passes: list[str] = []
        self.outcomes: list[Outcome] = []       # what the next passes return, in order
        self.fail_desired: Exception | None = None
        self.slow = 0.0

    async def desired(self, key: str) -> int | None:
        if self.fail_desired is not None:
            raise self.fail_desired
        return self.want.get(key)

    async def observed(self, key: str) -> int | None:
        return self.have.get(key)

    def plan(self, desired: int | None, observed: int | None) -> int:
        return (desired or 0) - (observed or 0)

    def idle(self, plan: int) -> bool:
        return plan == 0

    async def apply(self, key: str, plan: int, desired: int | None, observed: int | None
                    ) -> Outcome:
        self.passes.append(key)
        if self.slow:
            await asyncio.sleep(self.slow)
        if self.outcomes:
            return self.outcomes.pop(0)
        self.have[key] = (observed or 0) + plan
        return None

    async def survey(self) -> list[Surveyed[str, int, int]]:
        keys = set(self.want) | set(self.have)
        return [Surveyed(k, self.want.get(k), self.have.get(k)) for k in sorted(keys)]


async def until(predicate: Callable[[], Any], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met"
        await asyncio.sleep(0.005)


async def test_a_pass_reads_both_sides_and_applies_only_a_difference() -> None:
    toy = Toy()
    toy.want["a"] = 3
    assert await toy.reconcile("a") is None
    assert toy.have == {"a": 3} and toy.passes == ["a"]
    assert await toy.reconcile("a") is None        # converged: apply is not called
    assert toy.passes == ["a"]


async def test_nudges_during_a_pass_collapse_into_one_more() -> None:
    toy = Toy()
    toy.want["a"], toy.slow = 1, 0.05
    queue: WorkQueue[str] = WorkQueue("toy", toy.reconcile)
    first = queue.nudge("a")
    for _ in range(10):
        queue.nudge("a")
    await first
    assert toy.passes == ["a"]                    # the second pass found nothing to do
    echo = queue.nudge("a")
    assert queue.busy("a")
    queue.nudge("a", echo=True)                   # an echo asks for no further pass
    await echo
    await queue.stop()


async def test_a_settle_time_serves_a_burst_of_nudges_with_one_pass() -> None:
    """Nudges that arrive while a queue with a settle time waits are all served by the
    pass that follows: one reconcile, which reads what the last of them changed."""
    toy = Toy()
    calls: list[str] = []
    real = toy.reconcile

    async def counted(key: str) -> Outcome:
        calls.append(key)
        return await real(key)
    queue: WorkQueue[str] = WorkQueue("toy", counted, settle=0.05)
    done = []
    for value in range(1, 6):           # a burst: each nudge about a newer value
        toy.want["a"] = value
        done.append(queue.nudge("a"))
        await asyncio.sleep(0.001)
    await asyncio.gather(*done)
    assert calls == ["a"] and toy.have["a"] == 5
    # Without one, the same burst costs a pass for the first nudge and one more after it.
    calls.clear()
    eager: WorkQueue[str] = WorkQueue("toy", counted)
    toy.slow = 0.01
    done = []
    for value in range(6, 11):
        toy.want["a"] = value
        done.append(eager.nudge("a"))
        await asyncio.sleep(0.001)
    await asyncio.gather(*done)
    assert calls == ["a", "a"] and toy.have["a"] == 10
    await queue.stop()
    await eager.stop()


async def test_a_nudge_as_a_pass_ends_is_not_lost() -> None:
    """A nudge that lands after a pass returned but before its slot was released (the
    same turn of the event loop) starts a pass of its own, instead of joining the one
    that is over."""
    toy = Toy()
    toy.want["a"] = 1
    queue: WorkQueue[str] = WorkQueue("toy", toy.reconcile)
    real = toy.reconcile
    nudged: list[asyncio.Future[None]] = []

    async def reconcile_then_nudged(key: str) -> Outcome:
        outcome = await real(key)
        if len(toy.passes) == 1:        # lands once the pass has returned
            asyncio.get_running_loop().call_soon(lambda: nudged.append(queue.nudge(key)))
        toy.want[key] = 2               # what the nudge is about
        return outcome
    queue._reconcile = reconcile_then_nudged
    await queue.nudge("a")
    while not nudged:
        await asyncio.sleep(0)
    await nudged[0]
    assert toy.passes == ["a", "a"] and toy.have["a"] == 2
    await queue.stop()


async def test_a_retry_runs_the_key_again_after_its_delay() -> None:
    toy = Toy()
    toy.want["a"] = 1
    toy.outcomes = [Retry(0.05, "device busy")]
    queue: WorkQueue[str] = WorkQueue("toy", toy.reconcile)
    await queue.run("a")
    assert toy.have == {} and queue.retrying("a") == 1
    await until(lambda: toy.have == {"a": 1})
    assert toy.passes == ["a", "a"] and queue.retrying("a") == 0
    await queue.stop()


async def test_retries_are_bounded_then_left_to_the_resync(
        caplog: pytest.LogCaptureFixture) -> None:
    toy = Toy()
    toy.want["a"] = 1
    toy.outcomes = [Retry(0.01, "device busy")] * 10
    queue: WorkQueue[str] = WorkQueue("toy", toy.reconcile, max_retries=2)
    with caplog.at_level(logging.WARNING):
        await queue.run("a")
        await until(lambda: "not converged after 2 retries" in caplog.text)
    await asyncio.sleep(0.05)
    assert toy.passes == ["a"] * 3 and toy.have == {}   # the first pass and two retries
    await queue.stop()


async def test_fatal_is_logged_and_never_retried(caplog: pytest.LogCaptureFixture) -> None:
    toy = Toy()
    toy.want["a"] = 1
    toy.outcomes = [Fatal("the image does not boot")]
    queue: WorkQueue[str] = WorkQueue("toy", toy.reconcile)
    with caplog.at_level(logging.WARNING):
        await queue.run("a")
    await asyncio.sleep(0.05)
    assert toy.passes == ["a"] and queue.retrying("a") == 0
    assert "toy a: gave up: the image does not boot" in caplog.text
    await queue.stop()


async def test_an_unanswered_control_plane_is_a_retry_with_backoff(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(workqueue_module, "FIRST_BACKOFF", 0.02)
    toy = Toy()
    toy.want["a"] = 1
    toy.fail_desired = BusTimeout("no conductor")
    queue: WorkQueue[str] = WorkQueue("toy", toy.reconcile)
    await queue.run("a")
    assert queue.retrying("a") == 1
    toy.fail_desired = None
    await until(lambda: toy.have == {"a": 1})
    await queue.stop()


async def test_an_unexpected_error_is_logged_with_its_traceback(
        caplog: pytest.LogCaptureFixture) -> None:
    toy = Toy()
    toy.fail_desired = RuntimeError("a bug")
    queue: WorkQueue[str] = WorkQueue("toy", toy.reconcile)
    with caplog.at_level(logging.ERROR):
        await queue.run("a")
    assert "toy a: reconcile failed" in caplog.text and "RuntimeError: a bug" in caplog.text
    assert queue.retrying("a") == 0
    await queue.stop()


async def test_stop_cancels_passes_and_pending_retries() -> None:
    toy = Toy()
    toy.want["a"], toy.want["b"] = 1, 1
    toy.outcomes = [Retry(0.05, "busy")]
    queue: WorkQueue[str] = WorkQueue("toy", toy.reconcile)
    await queue.run("a")                          # a retry of "a" is now pending
    toy.slow = 10.0
    running = queue.nudge("b")
    await until(lambda: "b" in toy.passes)
    await queue.stop()
    assert running.done()
    await asyncio.sleep(0.1)
    assert toy.passes == ["a", "b"]               # no retry ran after the stop
    assert (await asyncio.wait_for(queue.nudge("c"), 1)) is None


class ToyAgent(Agent):
    def __init__(self, bus: InProcessBus, toy: Toy, **kw: Any) -> None:
        super().__init__(name="toy agent", bus=bus, report_interval=0.02,
                         resync_interval=3600, **kw)
        self.toy = toy
        self.queue = self.work_queue(toy)
        self.reports = 0
        self.prepared = self.released = False

    @property
    def topic(self) -> str:
        return "toy.node"

    async def prepare(self) -> None:
        self.prepared = True

    async def release(self) -> None:
        self.released = True

    async def report(self, *, timeout: float | None = None) -> None:
        await self.bus.call("toy.plane", "report", {}, timeout=timeout or 1.0)
        self.reports += 1

    async def handle(self, method: str, payload: Payload) -> Any:
        self.queue.nudge(str(payload["key"]))
        return None


async def test_an_agent_registers_resyncs_heartbeats_and_stops() -> None:
    bus = InProcessBus()
    await bus.start()

    async def plane(method: str, payload: Payload) -> None:
        return None
    await bus.serve("toy.plane", plane)
    toy = Toy()
    toy.want = {"a": 1, "b": 2}
    toy.have = {"b": 2, "orphan": 5}
    agent = ToyAgent(bus, toy)
    await agent.start()
    assert agent.prepared and agent.ready.is_set()
    assert toy.have == {"a": 1, "b": 2, "orphan": 0}
    assert sorted(toy.passes) == ["a", "orphan"]       # "b" did not differ
    await until(lambda: agent.reports >= 3)            # heartbeats
    toy.want["c"] = 7
    await bus.cast("toy.node", "nudge", {"key": "c"})
    await until(lambda: toy.have.get("c") == 7)
    await agent.stop()
    await agent.stop()                                 # twice is harmless
    assert agent.released
    await bus.close()


async def test_an_agent_waits_for_a_control_plane_that_comes_later() -> None:
    bus = InProcessBus()
    await bus.start()
    toy = Toy()
    toy.want = {"a": 1}
    agent = ToyAgent(bus, toy, startup_wait=0.05)
    await agent.start()                                # returns without a control plane
    assert not agent.ready.is_set() and toy.have == {}

    async def plane(method: str, payload: Payload) -> None:
        return None
    await bus.serve("toy.plane", plane)
    await until(agent.ready.is_set)
    assert toy.have == {"a": 1}
    await agent.stop()
    await bus.close()
