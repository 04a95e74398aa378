"""One compute agent: the node agent of one compute node, on the common agent runtime.

It learns what the node should run from the conductor (a nudge per instance on its bus
topic, and everything at start-up and every ``resync_interval``), compares it with what the
driver says runs, and closes the gap one instance at a time through its one controller,
the :class:`~ownstack.compute.agent.reconcile.Reconciler`. Three sources of nudges, none of
which has to be reliable:

* ``reconcile_instance`` casts on ``compute.<host>`` (the API and the conductor);
* the driver's power-state events (a guest killed behind the agent's back);
* the periodic full resync, which repairs whatever a lost nudge missed and destroys
  orphan guests.

The same topic answers other agents: a cold migration's destination pulls the guest's
disk from its source there (:mod:`ownstack.compute.agent.disk_transfer`).

Everything else (registration with backoff, heartbeats, the resync loop, per-instance
slots where nudges collapse, retries, stopping) is :mod:`ownstack.common.agent`'s.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from ownstack.common.agent import Agent
from ownstack.common.bus import Bus, Payload
from ownstack.common.config import Config
from ownstack.compute import rpc
from ownstack.compute.agent import disk_transfer
from ownstack.compute.agent.conductor_api import ConductorAPI
from ownstack.compute.agent.disk_transfer import DiskSource
from ownstack.compute.agent.reconcile import Reconciler
from ownstack.compute.drivers.base import ComputeDriver, ConsoleKind, GuestEvent
from ownstack.compute.rpc import carried_spec
from ownstack.compute.states import PowerState

log = logging.getLogger(__name__)

STARTUP_WAIT = 10.0             # how long start() waits for the conductor to answer


class ComputeAgent(Agent):
    """The agent of one node. With N fake nodes every node is its own compute host."""

    def __init__(self, *, config: Config, bus: Bus, driver: ComputeDriver, node: str,
                 reconciler: Reconciler, startup_wait: float = STARTUP_WAIT) -> None:
        super().__init__(name=f"compute agent {node}", bus=bus,
                         report_interval=config.compute.report_interval,
                         resync_interval=config.compute.resync_interval,
                         startup_wait=startup_wait)
        self.config = config
        self.driver = driver
        self.node = node
        self.host = node
        self.reconciler = reconciler
        self.conductor: ConductorAPI = reconciler.conductor
        self.instances = self.work_queue(reconciler)
        self.disks = DiskSource(driver)
        self.node_uuid: str | None = None
        self.service_disabled = False

    @property
    def topic(self) -> str:
        return rpc.compute_topic(self.host)

    async def prepare(self) -> None:
        await self.driver.init_host()
        self.consume(self.driver.events(), self._on_guest_event)

    def _on_guest_event(self, event: GuestEvent) -> None:
        """A guest's power changed. One that now runs is the echo of the pass that
        started it (a spawn, a start, a resume): no pass after it. One that stopped or
        went away may be the pass's own doing (a stop, a delete), or the guest dying
        behind the agent's back the very moment after a pass saw it run (killed right
        after its boot reported ACTIVE): a pass after the running one settles which, at
        the price of one pass that finds nothing to do after a stop."""
        self.instances.nudge(event.uuid, echo=event.power_state == PowerState.RUNNING)

    async def release(self) -> None:
        await self.driver.close()

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

    # -- reconciling --------------------------------------------------------------------

    def nudge(self, uuid: str) -> asyncio.Future[None]:
        """Reconcile ``uuid`` soon (see :meth:`WorkQueue.nudge`)."""
        return self.instances.nudge(uuid)

    async def reconcile(self, uuid: str) -> None:
        """Reconcile ``uuid`` and wait for it (for the resync and for tests)."""
        await self.instances.run(uuid)

    async def resync(self) -> None:
        """The runtime's resync (every instance whose guest differs, and every orphan),
        then the image cache keeps only what this node's guests use."""
        await super().resync()
        await self.reconciler.images.prune(self.config.compute.image_cache_max_age)

    # -- the node's topic ---------------------------------------------------------------

    async def handle(self, method: str, payload: Payload) -> Any:
        if method == "reconcile_instance":
            uuid = str(payload["uuid"])
            self.reconciler.carry(uuid, carried_spec(payload))
            self.nudge(uuid)
            return None
        if method == "console_output":
            return {"output": await self.console_output(str(payload["uuid"]),
                                                        payload.get("length"))}
        if method == "extend_volume":
            await self.reconciler.volumes.extend(str(payload["uuid"]),
                                                 str(payload["volume_id"]),
                                                 int(payload["new_size"]))
            return None
        if method == "console_socket":
            kind = ConsoleKind(str(payload["kind"]))
            path = await self.driver.console_socket(str(payload["uuid"]), kind)
            return {"host": self.host, "path": str(path)}
        if method == "host_uptime":
            return {"uptime": await host_uptime()}
        if method == disk_transfer.INFO:
            return await self.disks.info(payload)
        if method == disk_transfer.CHUNK:
            return await self.disks.chunk(payload)
        if method == "describe_instance":
            info = await self.driver.get_info(str(payload["uuid"]))
            return {"details": {**info.details, "power_state": int(info.power_state)}}
        raise ValueError(f"unknown compute agent method {method!r}")

    async def console_output(self, uuid: str, length: int | None) -> str:
        """The console log, cut to its last ``length`` lines as Nova's ``_tail_log`` does
        (lines split on ``\\n``, so a trailing newline counts as a last, empty line). The
        log may be a megabyte: it is cut in a worker thread, off the event loop."""
        output = await self.driver.console_output(uuid)
        if length is None:
            return output
        return await asyncio.to_thread(_tail, output, int(length))


def _tail(text: str, lines: int) -> str:
    if lines <= 0:
        return ""
    return "\n".join(text.split("\n")[-lines:])


async def host_uptime() -> str:
    """What ``uptime`` prints on this machine, as Nova's libvirt driver answers
    ``get_host_uptime`` (its nodes, fake ones included, are this machine)."""
    process = await asyncio.create_subprocess_exec(
        "uptime", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
        env={"LANG": "C", "PATH": "/usr/bin:/bin"})
    out, _ = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"uptime exited with {process.returncode}")
    return out.decode(errors="replace").rstrip("\n")
