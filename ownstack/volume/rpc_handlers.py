"""The volume service's side of the bus (see :mod:`ownstack.volume.rpc`): the answers to
agents' calls on topic ``volume``, the nudges it casts to ``volume.<host>``, and the
sweeps that keep every volume out of a transitional status for good.

The API process serves the topic, as the network service does: the rows are its, so
agents' reports land in the same database its handlers write. Several API processes may
serve it at once (competing consumers); every answer is one transaction. The sweeps
(every ``SWEEP_INTERVAL``) roll back attaches and detaches compute never finished and
fail in-use extends compute never confirmed (``volume.attach_timeout``), and fail agent
work whose host's service is down
(``volume.task_timeout``); each change is a compare-and-swap, so two API processes
sweeping at once change a volume once.

Scheduling a new volume is the API's own decision, so the API process is this host's
``cinder-scheduler`` (decision 75): from :meth:`VolumeRpc.start` it beats that service's
row every ``volume.report_interval``, the first beat at once, as an agent beats its
``cinder-volume``. A failed beat is logged and the next one tries again; the row of an
API process that stopped goes down ``volume.service_down_time`` after its last beat.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, Final

from ownstack.common.agent.tasks import TaskSet
from ownstack.common.bus import Bus, BusError, Payload
from ownstack.common.bus.dispatch import TopicServer
from ownstack.common.clients.image import ImageClient, ImageClientError
from ownstack.common.config import VolumeConfig
from ownstack.common.db.database import Database
from ownstack.common.errors import OwnstackError
from ownstack.common.peers import Peers
from ownstack.volume import rpc
from ownstack.volume.notifier import ComputeNotifier
from ownstack.volume.objects import actions, attachments, messages, reports, services

log = logging.getLogger(__name__)

SERVERS: Final = 4              # messages of the topic handled at once by one process
SWEEP_INTERVAL: Final = 10.0    # seconds between two sweeps

class VolumeRpc:
    """Serves ``volume``, nudges agents and sweeps; started and stopped with the API."""

    def __init__(self, db: Database, bus: Bus, peers: Peers, settings: VolumeConfig,
                 notifier: ComputeNotifier, *, host: Callable[[], str],
                 sweep_interval: float = SWEEP_INTERVAL) -> None:
        self.db = db
        self.bus = bus
        self.peers = peers
        self.settings = settings
        self.notifier = notifier
        self.sweep_interval = sweep_interval
        self._host = host
        self._tasks = TaskSet()
        self._server = TopicServer(bus, rpc.VOLUME_TOPIC, {
            "report_service": self.report_service,
            "host_volumes": self.host_volumes,
            "get_volume": self.get_volume,
            "get_snapshot": self.get_snapshot,
            "volume_done": self.volume_done,
            "snapshot_done": self.snapshot_done,
        }, service="volume service", servers=SERVERS)

    async def start(self) -> None:
        await self._server.start()
        if self.settings.report_interval > 0:
            self._tasks.spawn(self._beat_forever())
        if self.sweep_interval > 0:
            self._tasks.spawn(self._sweep_forever())

    async def stop(self) -> None:
        await self._server.stop()
        await self._tasks.cancel()

    # -- calls from agents --------------------------------------------------------------

    async def report_service(self, payload: Payload) -> dict[str, Any]:
        async with self.db.write() as session:
            row = await services.report(session, payload)
            return {"id": row.id, "disabled": row.disabled}

    async def host_volumes(self, payload: Payload) -> dict[str, Any]:
        async with self.db.read() as session:
            volumes, snapshots = await reports.host_state(session, str(payload["host"]))
        return {"volumes": volumes, "snapshots": snapshots}

    async def get_volume(self, payload: Payload) -> dict[str, Any]:
        async with self.db.read() as session:
            return {"volume": await reports.get_volume(session, str(payload["volume_id"]))}

    async def get_snapshot(self, payload: Payload) -> dict[str, Any]:
        async with self.db.read() as session:
            return {"snapshot": await reports.get_snapshot(session,
                                                           str(payload["snapshot_id"]))}

    async def volume_done(self, payload: Payload) -> dict[str, Any]:
        async with self.db.write() as session:
            applied = await reports.volume_done(session, dict(payload),
                                                 message_ttl=self.settings.message_ttl)
        await self._after(applied)
        return {"applied": applied.applied, "status": applied.status}

    async def snapshot_done(self, payload: Payload) -> dict[str, Any]:
        async with self.db.write() as session:
            applied = await reports.snapshot_done(session, dict(payload),
                                                   message_ttl=self.settings.message_ttl)
        return {"applied": applied.applied, "status": applied.status}

    async def _after(self, applied: reports.Applied) -> None:
        """What a change tells others once committed: the image service of an upload
        that failed (its image deleted)."""
        if applied.image_to_delete:
            self._tasks.spawn(self._delete_image(applied.image_to_delete))

    async def _delete_image(self, image_id: str) -> None:
        client = ImageClient(self.peers.url("image"), self.peers.service_auth(),
                             transport=self.peers.transport("image"))
        try:
            await client.delete(image_id)
        except (ImageClientError, OwnstackError) as exc:
            log.warning("could not delete image %s of a failed upload: %s", image_id, exc)
        finally:
            await client.aclose()

    # -- nudges to agents ---------------------------------------------------------------

    async def volume_changed(self, host: str | None, volume_id: str) -> None:
        """Tell ``host``'s agent to look at a volume now; only a nudge (its resync
        would), so a bus that is down is logged, never an error of the request's."""
        await self._cast(host, "volume_changed", {"volume_id": volume_id})

    async def snapshot_changed(self, host: str | None, snapshot_id: str) -> None:
        await self._cast(host, "snapshot_changed", {"snapshot_id": snapshot_id})

    async def describe_volume(self, host: str, volume_id: str) -> dict[str, Any] | None:
        answer = await self.bus.call(rpc.agent_topic(host), "describe_volume",
                                     {"volume_id": volume_id}, timeout=10)
        details = answer.get("details") if isinstance(answer, dict) else None
        return dict(details) if isinstance(details, dict) else None

    async def _cast(self, host: str | None, method: str, payload: dict[str, Any]) -> None:
        if not host:
            return
        try:
            await self.bus.cast(rpc.agent_topic(host), method, payload)
        except BusError as exc:
            log.warning("could not tell the volume agent of %s (%s): %s; its resync will",
                        host, method, exc)

    # -- the scheduler's heartbeat ------------------------------------------------------

    async def beat(self) -> None:
        """This host's ``cinder-scheduler`` row: made where missing, heard from now."""
        host = self._host()
        async with self.db.write() as session:
            await services.beat_scheduler(session, host, self.settings.availability_zone)

    async def _beat_forever(self) -> None:
        while True:
            try:
                await self.beat()
            except Exception:       # the next beat tries again
                log.exception("volume service: the cinder-scheduler row could not be "
                              "reported")
            await asyncio.sleep(self.settings.report_interval)

    # -- sweeps -------------------------------------------------------------------------

    async def sweep(self) -> list[str]:
        """One sweep; the ids of the volumes and snapshots it changed."""
        async with self.db.write() as session:
            changed = await attachments.roll_back_stale(session,
                                                        self.settings.attach_timeout)
        async with self.db.write() as session:
            changed += await actions.fail_unconfirmed_extends(session,
                                                              self.settings.attach_timeout)
        async with self.db.write() as session:
            changed += await reports.fail_orphaned_work(
                session, down_time=self.settings.service_down_time,
                timeout=self.settings.task_timeout, message_ttl=self.settings.message_ttl)
        async with self.db.write() as session:
            reaped = await messages.reap(session)
        if reaped:
            log.info("volume sweep: %d expired user message(s) removed", reaped)
        if changed:
            log.warning("volume sweep: %d volume(s) or snapshot(s) left a transitional "
                        "status: %s", len(changed), ", ".join(changed))
        return changed

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(self.sweep_interval)
            try:
                await self.sweep()
            except OwnstackError as exc:        # a lost race: the next sweep looks again
                log.info("volume sweep: %s", exc)
            except Exception:
                log.exception("volume sweep failed")
