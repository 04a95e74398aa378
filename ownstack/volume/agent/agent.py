"""One volume agent: the node agent of one host's volumes, on the common agent runtime.

It learns which volumes and snapshots its host holds from the volume service (a
``volume_changed``/``snapshot_changed`` nudge per change on ``volume.<host>``, and all of
them at start-up and every ``volume.resync_interval``), compares them with what its driver
holds, and closes the gap one volume (:class:`~.volumes.VolumeController`) and one
snapshot (:class:`~.snapshots.SnapshotController`) at a time. It registers and heartbeats
as the host's ``cinder-volume`` service (``report_service``) every
``volume.report_interval``, with its driver's capabilities and free space, so
``openstack volume service list`` shows it up and the API schedules new volumes to it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from ownstack.common.agent import Agent
from ownstack.common.bus import Bus, Payload
from ownstack.common.config import Config
from ownstack.volume import rpc
from ownstack.volume.agent.images import Images
from ownstack.volume.agent.server_api import VolumeServerAPI
from ownstack.volume.agent.snapshots import SnapshotController
from ownstack.volume.agent.volumes import VolumeController
from ownstack.volume.drivers.base import DriverError, VolumeDriver

log = logging.getLogger(__name__)

STARTUP_WAIT = 10.0             # how long start() waits for the volume service to answer


class VolumeAgent(Agent):
    def __init__(self, *, config: Config, bus: Bus, driver: VolumeDriver, host: str,
                 images: Images, startup_wait: float = STARTUP_WAIT,
                 release: Callable[[], Awaitable[None]] | None = None) -> None:
        super().__init__(name=f"volume agent {host}", bus=bus,
                         report_interval=config.volume.report_interval,
                         resync_interval=config.volume.resync_interval,
                         startup_wait=startup_wait)
        self.config = config
        self.driver = driver
        self.host = host
        self.images = images
        self.server = VolumeServerAPI(bus, host)
        self.volume_controller = VolumeController(host=host, driver=driver,
                                                  server=self.server, images=images)
        self.volumes = self.work_queue(self.volume_controller)
        self.snapshot_controller = SnapshotController(host=host, driver=driver,
                                                      server=self.server)
        self.snapshots = self.work_queue(self.snapshot_controller)
        self.disabled = False
        self._release = release

    @property
    def topic(self) -> str:
        return rpc.agent_topic(self.host)

    async def prepare(self) -> None:
        await self.driver.init_host()
        await self.images.clean()

    async def release(self) -> None:
        try:
            await self.driver.close()
            await self.images.client.aclose()
        finally:
            if self._release is not None:
                await self._release()

    async def service_report(self) -> dict[str, Any]:
        capacity = await self.driver.capacity()
        return {"backend": self.driver.name,
                "availability_zone": self.config.volume.availability_zone,
                "capabilities": {**self.driver.capabilities, "total_gb": capacity.total_gb,
                                 "free_gb": capacity.free_gb}}

    async def report(self, *, timeout: float | None = None) -> None:
        answer = await self.server.report_service(await self.service_report(),
                                                  timeout=timeout)
        disabled = bool(answer.get("disabled", False))
        if disabled != self.disabled:
            log.info("volume service %s is now %s", self.host,
                     "disabled" if disabled else "enabled")
        self.disabled = disabled

    def nudge(self, volume_id: str) -> asyncio.Future[None]:
        return self.volumes.nudge(volume_id)

    async def reconcile(self, volume_id: str) -> None:
        """Reconcile one volume and wait for it (for tests)."""
        await self.volumes.run(volume_id)

    async def reconcile_snapshot(self, snapshot_id: str) -> None:
        await self.snapshots.run(snapshot_id)

    async def handle(self, method: str, payload: Payload) -> Any:
        if method == "volume_changed":
            self.nudge(str(payload["volume_id"]))
            return None
        if method == "snapshot_changed":
            self.snapshots.nudge(str(payload["snapshot_id"]))
            return None
        if method == "describe_volume":
            try:
                return {"details": await self.driver.describe_volume(
                    str(payload["volume_id"]))}
            except DriverError:
                return {"details": None}
        raise ValueError(f"unknown volume agent method {method!r}")
