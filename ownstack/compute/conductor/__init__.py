"""The conductor: the control plane's side of the instance state machine.

It serves the ``conductor`` topic (see :mod:`ownstack.compute.rpc` for every method) with
:data:`SERVERS` competing consumers, because one bus server handles one message at a time
and agents' calls should not wait behind each other, and runs the periodic sweep
(:mod:`ownstack.compute.conductor.sweep`) that repairs what lost messages and killed
processes leave behind. Several conductors may run at once: they share nothing but the
database and Placement, where every change is a compare-and-swap.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Final

from ownstack.common.bus import Payload, Subscription
from ownstack.compute import rpc, states
from ownstack.compute.conductor import cold_migrate, networks, rpc_handlers, services, volumes
from ownstack.compute.conductor.build import Builder
from ownstack.compute.conductor.env import ConductorEnv
from ownstack.compute.conductor.nodes import NodeReporter
from ownstack.compute.conductor.resize import Resizer
from ownstack.compute.conductor.shelve import Shelver
from ownstack.compute.conductor.sweep import Sweeper

log = logging.getLogger(__name__)

SERVERS: Final = 8
MAX_SWEEP_INTERVAL: Final = 10.0
MIN_SWEEP_INTERVAL: Final = 0.05

Handler = Callable[[Payload], Awaitable[Any]]


def _retrieved(done: asyncio.Future[None]) -> None:
    """Mark a failure nobody awaits as seen (it was logged where it happened)."""
    if not done.cancelled():
        done.exception()


class UnknownMethod(ValueError):
    def __init__(self, method: str) -> None:
        super().__init__(f"the conductor has no method {method!r}")


class Conductor:
    def __init__(self, env: ConductorEnv) -> None:
        self.env = env
        self.nodes = NodeReporter(env)
        self.builder = Builder(env)
        self.resizer = Resizer(env, self.builder)
        self.builder.on_delete = self.resizer.abandon_for
        self.shelver = Shelver(env, self.builder)
        self.sweeper = Sweeper(env, self.builder, self.resizer, self.shelver)
        # Heartbeats and sweeps share a cadence, capped so repairs never wait long.
        self.sweep_interval = max(MIN_SWEEP_INTERVAL,
                                  min(env.config.compute.report_interval, MAX_SWEEP_INTERVAL))
        db = env.db
        self._subscriptions: list[Subscription] = []
        self._sweep_task: asyncio.Task[None] | None = None
        self._stopped = False
        self._handlers: dict[str, Handler] = {
            "schedule_instances": self._schedule_instances,
            "report_node": self.nodes.report,
            "node_instances": lambda p: rpc_handlers.node_instances(db, p),
            "get_instance": lambda p: rpc_handlers.one_instance(db, p),
            "update_instance": self._update_instance,
            "resize_instance": self._resize_instance,
            "shelve_offloaded": self._shelve_offloaded,
            "unshelve_instance": self._unshelve_instance,
            "instance_destroyed": self._instance_destroyed,
            "reschedule": self._reschedule,
            "record_event": lambda p: rpc_handlers.add_event(db, p),
            "record_events": lambda p: rpc_handlers.add_events(db, p),
            "refresh_network_info": self._refresh_network_info,
            "connect_volume": lambda p: volumes.connect(env, p),
            "volume_attached": lambda p: volumes.attached(env, p),
            "volume_attach_failed": lambda p: volumes.attach_failed(env, p),
            "volume_detached": lambda p: volumes.detached(env, p),
            "volume_detach_failed": lambda p: volumes.detach_failed(env, p),
            "volume_extended": lambda p: volumes.extended(env, p),
        }

    async def start(self) -> None:
        for _ in range(SERVERS):
            self._subscriptions.append(await self.env.bus.serve(rpc.CONDUCTOR_TOPIC,
                                                                self.handle))
        self._sweep_task = asyncio.get_running_loop().create_task(self._sweep_loop())

    async def stop(self) -> None:
        """Stop serving and sweeping, and close what was made for this conductor; calling
        it twice is harmless."""
        if self._stopped:
            return
        self._stopped = True
        if self._sweep_task is not None:
            self._sweep_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweep_task
            self._sweep_task = None
        for subscription in self._subscriptions:
            await subscription.cancel()
        self._subscriptions.clear()
        await self.builder.stop()
        await self.env.close()

    async def handle(self, method: str, payload: Payload) -> Any:
        handler = self._handlers.get(method)
        if handler is None:
            raise UnknownMethod(method)
        return await handler(payload)

    async def _sweep_loop(self) -> None:
        while True:
            try:
                await services.beat(self.env)
            except asyncio.CancelledError:
                raise
            except Exception:       # the next beat tries again; the sweep still runs
                log.exception("conductor: its service rows could not be reported")
            await self.sweeper.sweep()
            await asyncio.sleep(self.sweep_interval)

    async def _schedule_instances(self, payload: Payload) -> None:
        # Queued, not awaited: the bus server is free for the next message at once, and
        # instances queued meanwhile are placed together (see ``build``). Failures are
        # logged there, and the sweep tries again.
        for done in self.builder.enqueue(list(payload["instance_uuids"]),
                                         payload.get("request_id")):
            done.add_done_callback(_retrieved)

    async def _instance_destroyed(self, payload: Payload) -> dict[str, Any]:
        return {"destroyed": await self.builder.finish_delete(payload["uuid"],
                                                              payload.get("host"))}

    async def _update_instance(self, payload: Payload) -> dict[str, Any]:
        result = await rpc_handlers.apply_agent_update(self.env.db, payload)
        settle = result.pop("settle", None)
        rebind = result.pop("rebind", None)
        if rebind is not None:      # a cold migration moved the server: its ports follow
            await cold_migrate.rebind_ports(self.env, str(payload["uuid"]), str(rebind))
        for host in result.pop("nudge", ()):     # a cold migration's other host
            await self.env.bus.cast(rpc.compute_topic(str(host)), "reconcile_instance",
                                    {"uuid": str(payload["uuid"]), "request_id": None})
        if settle is not None:      # if this fails, the sweep settles it
            await self.resizer.settle_one(settle)
        if result["applied"] and (payload.get("updates") or {}).get("vm_state") == \
                states.SHELVED and self.env.config.compute.shelved_offload_time == 0:
            await self.shelver.offload_due(str(payload["uuid"]))
        return result

    async def _shelve_offloaded(self, payload: Payload) -> dict[str, Any]:
        return {"offloaded": await self.shelver.offloaded(str(payload["uuid"]),
                                                          str(payload["host"]))}

    async def _unshelve_instance(self, payload: Payload) -> None:
        try:
            await self.shelver.unshelve(str(payload["uuid"]))
        except Exception:           # the sweep tries again
            log.exception("instance %s: unshelve failed", payload.get("uuid"))

    async def _resize_instance(self, payload: Payload) -> None:
        try:
            await self.resizer.prepare(str(payload["uuid"]), str(payload["migration"]))
        except Exception:           # the sweep tries again
            log.exception("instance %s: preparing the resize failed", payload.get("uuid"))

    async def _refresh_network_info(self, payload: Payload) -> dict[str, Any]:
        return {"nics": await networks.refresh_nics(self.env, str(payload["uuid"]))}

    async def _reschedule(self, payload: Payload) -> dict[str, Any]:
        return {"rescheduled": await self.builder.reschedule(
            payload["uuid"], payload["host"], str(payload.get("reason") or "unknown"))}
