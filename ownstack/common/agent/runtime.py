"""What every node agent does besides its controllers' work (compute today; network and
volume next): start, register with the control plane, heartbeat, resync, stop.

An agent reaches the control plane only through the bus. :meth:`Agent.start` probes the
host, starts consuming the host's own events, serves the node's bus topic, and then in the
background registers (retrying with backoff until the control plane answers), makes a
first full resync and marks the agent ready; after that it heartbeats every
``report_interval`` and resyncs every ``resync_interval``. ``start`` returns once ready,
or after ``startup_wait`` with the agent still trying, so a control plane that starts
later (or in another process) never blocks the process that hosts the agent.

A subclass supplies the node-specific parts as the abstract methods below, and hands each
of its controllers to :meth:`Agent.work_queue`. The default :meth:`Agent.resync` surveys
every controller and runs a pass for each key whose desired and observed sides differ.
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Iterable
from typing import Any, TypeVar

from ownstack.common.agent.controller import Controller
from ownstack.common.agent.tasks import TaskSet
from ownstack.common.agent.workqueue import WorkQueue
from ownstack.common.bus import Bus, BusError, Payload, Subscription

log = logging.getLogger(__name__)

FIRST_RETRY = 0.1               # seconds before the first retry of the first report
MAX_RETRY = 10.0                # the longest wait between report attempts at start-up
STARTUP_WAIT = 10.0             # how long start() waits for the control plane to answer
RESYNC_CONCURRENCY = 8          # keys reconciled at once by a full resync

K = TypeVar("K", bound=Hashable)
E = TypeVar("E")


class Agent(ABC):
    """The runtime of one node agent."""

    def __init__(self, *, name: str, bus: Bus, report_interval: float,
                 resync_interval: float, startup_wait: float = STARTUP_WAIT) -> None:
        self.name = name
        self.bus = bus
        self.report_interval = report_interval
        self.resync_interval = resync_interval
        self.startup_wait = startup_wait
        self.ready = asyncio.Event()        # set after the first report and full resync
        self._tasks = TaskSet()
        self._queues: list[tuple[Controller[Any, Any, Any, Any], WorkQueue[Any]]] = []
        self._subscription: Subscription | None = None
        self._stopped = False

    # -- what a subclass supplies ---------------------------------------------------------

    @property
    @abstractmethod
    def topic(self) -> str:
        """The bus topic this node serves (its own name in it)."""

    @abstractmethod
    async def prepare(self) -> None:
        """Probe the host before anything else runs; raises when the node cannot work."""

    @abstractmethod
    async def report(self, *, timeout: float | None = None) -> None:
        """Tell the control plane the node is up, with its current resources. Raises
        :class:`~ownstack.common.bus.BusError` when it does not answer."""

    @abstractmethod
    async def handle(self, method: str, payload: Payload) -> Any:
        """Serve one message of :attr:`topic`. Must stay quick: a topic's messages are
        handled one at a time, so reconciles are only nudged here, never awaited."""

    @abstractmethod
    async def release(self) -> None:
        """Free what :meth:`prepare` took (driver connections); the host keeps running."""

    # -- controllers --------------------------------------------------------------------

    def work_queue(self, controller: Controller[K, Any, Any, Any]) -> WorkQueue[K]:
        """The queue that runs ``controller``'s passes; stopped with the agent."""
        queue: WorkQueue[K] = WorkQueue(controller.name, controller.reconcile,
                                        settle=controller.settle)
        self._queues.append((controller, queue))
        return queue

    def consume(self, events: AsyncIterator[E], handle: Callable[[E], object]) -> None:
        """Feed each of the host's own events (a guest that stopped) to ``handle``;
        started before the topic is served, so no change slips by unnoticed."""
        async def run() -> None:
            async for event in events:
                handle(event)
        self._tasks.spawn(run())

    async def resync(self) -> None:
        """Compare everything the node should have with everything it has, for every
        controller, and run a pass for each key where they differ."""
        limit = asyncio.Semaphore(RESYNC_CONCURRENCY)

        async def bounded(queue: WorkQueue[Any], key: Any) -> None:
            async with limit:
                await queue.run(key)

        for controller, queue in self._queues:
            todo = [item.key for item in await controller.survey() if controller.differs(item)]
            await asyncio.gather(*(bounded(queue, key) for key in todo))

    # -- lifecycle ----------------------------------------------------------------------

    async def start(self) -> None:
        await self.prepare()
        self._subscription = await self.bus.serve(self.topic, self.handle)
        self._tasks.spawn(self._run())
        try:
            await asyncio.wait_for(self.ready.wait(), self.startup_wait)
        except TimeoutError:
            log.warning("%s: no answer from the control plane yet; it keeps trying in the "
                        "background", self.name)

    async def stop(self) -> None:
        """Stop every task of the agent, mid-step or not, and release the host.

        What was cut short is still wanted in the control plane's records, so the next
        agent on this node does it again. Stopping twice is harmless.
        """
        if self._stopped:
            return
        self._stopped = True
        if self._subscription is not None:
            await self._subscription.cancel()
            self._subscription = None
        await self._tasks.cancel()
        for _, queue in self._queues:
            await queue.stop()
        await self.release()

    async def _run(self) -> None:
        await self._register()
        await self._resync_logged()
        self.ready.set()
        self._tasks.spawn(self._every(self.report_interval, self._heartbeat))
        await self._every(self.resync_interval, self._resync_logged)

    async def _every(self, interval: float, job: Callable[[], Awaitable[None]]) -> None:
        while not self._stopped:
            await asyncio.sleep(interval)
            await job()

    async def _register(self) -> None:
        """Report until the control plane answers, backing off up to :data:`MAX_RETRY`."""
        delay = FIRST_RETRY
        while True:
            try:
                await self.report(timeout=max(1.0, min(delay * 10, MAX_RETRY)))
            except BusError as exc:
                log.info("%s: control plane not answering (%s); retrying in %.1fs",
                         self.name, exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_RETRY)
            else:
                log.info("%s registered", self.name)
                return

    async def _heartbeat(self) -> None:
        try:
            await self.report(timeout=max(1.0, self.report_interval * 5))
        except BusError as exc:
            log.warning("%s: heartbeat failed: %s", self.name, exc)

    async def _resync_logged(self) -> None:
        try:
            await self.resync()
        except BusError as exc:
            log.warning("%s: resync failed, control plane unreachable: %s", self.name, exc)
        except Exception:
            log.exception("%s: resync failed", self.name)


async def stop_agents(agents: Iterable[Agent], *then: Callable[[], Awaitable[None]]) -> None:
    """Stop ``agents`` together, then run ``then`` in order (a client to close, a bus to
    release) even when a stop failed: how a process's group of agents ends."""
    try:
        await asyncio.gather(*(agent.stop() for agent in agents))
    finally:
        for step in then:
            await step()
