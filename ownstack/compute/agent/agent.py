"""One compute agent: the level-triggered reconciler of one node.

It learns what the node should run from the conductor (a nudge per instance on its bus
topic, and everything at start-up and every ``resync_interval``), compares it with what the
driver says runs, and closes the gap one instance at a time (:mod:`.reconcile`). Three
sources of nudges, none of which has to be reliable:

* ``reconcile_instance`` casts on ``compute.<host>`` (the API and the conductor);
* the driver's power-state events (a guest killed behind the agent's back);
* the periodic full resync, which repairs whatever a lost nudge missed and destroys
  orphan guests.

Reconciles are serialised per uuid, and nudges for a uuid that is being reconciled
collapse into one more run after the current one, so a burst of events costs one extra
pass, never a queue.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from dataclasses import dataclass
from typing import Any

from ownstack.common.bus import Bus, BusError, Payload, Subscription
from ownstack.common.config import Config
from ownstack.compute import rpc
from ownstack.compute.agent.conductor_api import ConductorAPI
from ownstack.compute.agent.reconcile import Reconciler, Step, plan
from ownstack.compute.drivers.base import ComputeDriver, GuestInfo

log = logging.getLogger(__name__)

RESYNC_CONCURRENCY = 8          # instances reconciled at once by a full resync
FIRST_RETRY = 0.1               # seconds before the first retry of the first report
MAX_RETRY = 10.0                # the longest wait between report attempts at start-up
STARTUP_WAIT = 10.0             # how long start() waits for the conductor to answer


@dataclass
class _Slot:
    """The reconcile of one uuid: running now, with ``again`` set by nudges meanwhile."""

    done: asyncio.Future[None]
    again: bool = False
    task: asyncio.Task[None] | None = None


class ComputeAgent:
    """The agent of one node. With N fake nodes every node is its own compute host."""

    def __init__(self, *, config: Config, bus: Bus, driver: ComputeDriver, node: str,
                 reconciler: Reconciler,
                 startup_wait: float = STARTUP_WAIT) -> None:
        self.config = config
        self.bus = bus
        self.driver = driver
        self.node = node
        self.host = node
        self.reconciler = reconciler
        self.conductor: ConductorAPI = reconciler.conductor
        self.startup_wait = startup_wait
        self.node_uuid: str | None = None
        self.service_disabled = False
        self.ready = asyncio.Event()        # set after the first report and full resync
        self._slots: dict[str, _Slot] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._subscription: Subscription | None = None
        self._stopped = False

    @property
    def topic(self) -> str:
        return rpc.compute_topic(self.host)

    # -- lifecycle ----------------------------------------------------------------------

    async def start(self) -> None:
        """Probe the driver, serve the node's topic, then register and resync.

        Registration waits for the conductor (it may start later, or in another
        process), retrying with backoff in the background; ``start`` returns once the
        first full resync is done, or after ``startup_wait`` seconds with the agent still
        trying, so a missing conductor never blocks the process that hosts the agent.
        """
        await self.driver.init_host()
        self._spawn(self._consume_events())     # before the resync: no change slips by
        self._subscription = await self.bus.serve(self.topic, self.handle)
        self._spawn(self._run())
        try:
            await asyncio.wait_for(self.ready.wait(), self.startup_wait)
        except TimeoutError:
            log.warning("compute agent %s: no answer from the conductor yet; it keeps "
                        "trying in the background", self.host)

    async def stop(self) -> None:
        """Stop every task of the agent, mid-step or not, and release the driver.

        Guests keep running. Whatever was cut short is still recorded as a task in the
        instance row, so the next agent on this node does it again.
        """
        if self._stopped:
            return
        self._stopped = True
        if self._subscription is not None:
            await self._subscription.cancel()
            self._subscription = None
        await _cancel_all(list(self._tasks) +
                          [slot.task for slot in self._slots.values() if slot.task])
        await self.driver.close()

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _run(self) -> None:
        await self._register()
        await self._resync_logged()
        self.ready.set()
        self._spawn(self._every(self.config.compute.report_interval, self._heartbeat))
        await self._every(self.config.compute.resync_interval, self._resync_logged)

    async def _every(self, interval: float, job: Callable[[], Awaitable[None]]) -> None:
        while not self._stopped:
            await asyncio.sleep(interval)
            await job()

    # -- reporting ----------------------------------------------------------------------

    async def node_report(self) -> dict[str, Any]:
        resources = await self.driver.host_resources()
        return {"host": self.host, "node": self.node,
                "availability_zone": self.config.compute.availability_zone,
                "host_ip": self.config.cloud.public_host,
                "resources": {"vcpus": resources.vcpus, "memory_mb": resources.memory_mb,
                              "disk_gb": resources.disk_gb,
                              "hypervisor_type": resources.hypervisor_type,
                              "hypervisor_version": resources.hypervisor_version,
                              "traits": sorted(resources.traits)}}

    async def report(self, *, timeout: float | None = None) -> None:
        """Heartbeat: the service is up, and the node's inventory and traits are current."""
        answer = await self.conductor.report_node(await self.node_report(), timeout=timeout)
        self.node_uuid = str(answer.get("node_uuid") or "") or self.node_uuid
        disabled = bool(answer.get("service_disabled"))
        if disabled != self.service_disabled:
            log.info("compute service %s is now %s", self.host,
                     "disabled" if disabled else "enabled")
        self.service_disabled = disabled

    async def _register(self) -> None:
        """Report until the conductor answers, backing off up to :data:`MAX_RETRY`."""
        delay = FIRST_RETRY
        while True:
            try:
                await self.report(timeout=max(1.0, min(delay * 10, MAX_RETRY)))
            except BusError as exc:
                log.info("compute agent %s: conductor not answering (%s); retrying in "
                         "%.1fs", self.host, exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_RETRY)
            else:
                log.info("compute agent %s registered (node %s)", self.host, self.node_uuid)
                return

    async def _heartbeat(self) -> None:
        try:
            await self.report(timeout=max(1.0, self.config.compute.report_interval * 5))
        except BusError as exc:
            log.warning("compute agent %s: heartbeat failed: %s", self.host, exc)

    # -- reconciling --------------------------------------------------------------------

    def nudge(self, uuid: str, *, from_driver: bool = False) -> asyncio.Future[None]:
        """Reconcile ``uuid`` soon; the future resolves once no run for it is pending.

        A driver event for a guest whose reconcile is running does not ask for another
        run: that run caused it (a spawn's guest starting, a power-off's stopping) and
        reports what it made. A change behind the agent's back in that very moment is
        caught by the next resync.
        """
        slot = self._slots.get(uuid)
        if slot is not None:
            if not from_driver:
                slot.again = True
            return slot.done
        slot = _Slot(done=asyncio.get_running_loop().create_future())
        if self._stopped:
            slot.done.set_result(None)
            return slot.done
        self._slots[uuid] = slot
        slot.task = asyncio.get_running_loop().create_task(self._work(uuid, slot))
        # A callback, not a ``finally``: a task cancelled before it ever ran (an agent
        # stopped right after a nudge) runs no ``finally``, and its waiters would hang.
        slot.task.add_done_callback(lambda _: self._release(uuid, slot))
        return slot.done

    def _release(self, uuid: str, slot: _Slot) -> None:
        if self._slots.get(uuid) is slot:
            del self._slots[uuid]
        if not slot.done.done():
            slot.done.set_result(None)

    async def reconcile(self, uuid: str) -> None:
        """Reconcile ``uuid`` and wait for it (for the resync and for tests)."""
        await asyncio.shield(self.nudge(uuid))

    async def _work(self, uuid: str, slot: _Slot) -> None:
        while True:
            slot.again = False
            try:
                await self.reconciler.reconcile(uuid)
            except BusError as exc:
                log.warning("instance %s: conductor unreachable, retrying at the next "
                            "resync: %s", uuid, exc)
            except Exception:
                log.exception("instance %s: reconcile failed", uuid)
            if not slot.again or self._stopped:
                return

    async def resync(self) -> None:
        """Compare everything the node should run with everything it runs.

        Guests are listed *before* the desired state is fetched: a guest spawned in
        between then belongs to an instance already in the list, so it is never taken for
        an orphan. Orphans go through the normal per-uuid reconcile, which destroys them.
        """
        guests = {guest.uuid: guest for guest in await self.driver.list_guests()}
        desired = await self.conductor.node_instances(self.node)
        wanted = {spec["uuid"] for spec in desired}
        todo = [spec["uuid"] for spec in desired
                if plan(spec, guests.get(spec["uuid"]), self.host) != Step.NOTHING]
        todo += [uuid for uuid in guests if uuid not in wanted]
        self.reconciler.images.set_in_use(
            self.node, _images_in_use(desired, guests.values()))
        limit = asyncio.Semaphore(RESYNC_CONCURRENCY)

        async def bounded(uuid: str) -> None:
            async with limit:
                await self.reconcile(uuid)
        await asyncio.gather(*(bounded(uuid) for uuid in todo))
        await self.reconciler.images.prune(self.config.compute.image_cache_max_age)

    async def _resync_logged(self) -> None:
        try:
            await self.resync()
        except BusError as exc:
            log.warning("compute agent %s: resync failed, conductor unreachable: %s",
                        self.host, exc)
        except Exception:
            log.exception("compute agent %s: resync failed", self.host)

    async def _consume_events(self) -> None:
        async for event in self.driver.events():
            self.nudge(event.uuid, from_driver=True)

    # -- the node's topic ---------------------------------------------------------------

    async def handle(self, method: str, payload: Payload) -> Any:
        """Serve ``compute.<host>``. Must stay quick: the topic's messages are handled one
        at a time, so a reconcile is only started here, never awaited."""
        if method == "reconcile_instance":
            self.nudge(str(payload["uuid"]))
            return None
        if method == "console_output":
            return {"output": await self.console_output(str(payload["uuid"]),
                                                        payload.get("length"))}
        if method == "describe_instance":
            info = await self.driver.get_info(str(payload["uuid"]))
            return {"details": {**info.details, "power_state": int(info.power_state)}}
        raise ValueError(f"unknown compute agent method {method!r}")

    async def console_output(self, uuid: str, length: int | None) -> str:
        """The console log, cut to its last ``length`` lines as Nova's ``_tail_log`` does
        (lines split on ``\\n``, so a trailing newline counts as a last, empty line)."""
        output = await self.driver.console_output(uuid)
        if length is None:
            return output
        if int(length) <= 0:
            return ""
        return "\n".join(output.split("\n")[-int(length):])


async def _cancel_all(tasks: list[asyncio.Task[None]]) -> None:
    """Cancel ``tasks`` and wait until every one has ended.

    Cancelling once is not enough on Python 3.11: ``asyncio.wait_for`` (inside every bus
    call) swallows a cancellation that arrives as its awaited result lands, and the task
    runs on. So whatever is still running is cancelled again until nothing is.
    """
    pending = set(tasks)
    while pending:
        for task in pending:
            task.cancel()
        done, pending = await asyncio.wait(pending, timeout=0.1)
        for task in done:
            if not task.cancelled() and task.exception() is not None:
                log.error("compute agent task failed while stopping",
                          exc_info=task.exception())


def _images_in_use(desired: list[rpc.InstanceSpec], guests: Iterable[GuestInfo]) -> set[str]:
    """Every image a guest of this node booted from or may boot from next."""
    used = {spec["image_ref"] for spec in desired if spec["image_ref"]}
    used |= {str(spec["task_args"]["image_ref"]) for spec in desired
             if spec["task_args"].get("image_ref")}
    for guest in guests:
        if guest.details.get("image_id"):
            used.add(str(guest.details["image_id"]))
    return used
