"""The snapshot controller, per snapshot, as :mod:`.volumes` is per volume, by the
snapshot's ``work`` (never its status alone: decision 59):

* ``creating``: not here -> CREATE (a copy of its volume); here -> REPORT;
* ``deleting``: here -> DELETE; gone -> REPORT;
* here with no row any more -> REMOVE; no work (whatever the status, a reset one
  included) -> NOTHING.
"""

from __future__ import annotations

import logging
from enum import StrEnum

from ownstack.common.agent import Controller, Outcome, Surveyed
from ownstack.volume import rpc
from ownstack.volume.agent.server_api import VolumeServerAPI
from ownstack.volume.drivers.base import DriverError, StoredSnapshot, VolumeDriver

log = logging.getLogger(__name__)


class Step(StrEnum):
    NOTHING = "nothing"
    CREATE = "create"
    DELETE = "delete"
    REPORT = "report"
    REMOVE = "remove"


def plan(desired: rpc.SnapshotInfo | None, observed: StoredSnapshot | None, host: str
         ) -> Step:
    if desired is None:
        return Step.REMOVE if observed is not None else Step.NOTHING
    if desired["host"] != host:
        return Step.NOTHING
    if desired["work"] == "creating":
        return Step.REPORT if observed is not None else Step.CREATE
    if desired["work"] == "deleting":
        return Step.DELETE if observed is not None else Step.REPORT
    return Step.NOTHING


class SnapshotController(Controller[str, rpc.SnapshotInfo, StoredSnapshot, Step]):
    name = "snapshot"

    def __init__(self, *, host: str, driver: VolumeDriver, server: VolumeServerAPI) -> None:
        self.host = host
        self.driver = driver
        self.server = server

    async def desired(self, key: str) -> rpc.SnapshotInfo | None:
        return await self.server.get_snapshot(key)

    async def observed(self, key: str) -> StoredSnapshot | None:
        for snapshot in await self.driver.snapshots():
            if snapshot.snapshot_id == key:
                return snapshot
        return None

    def plan(self, desired: rpc.SnapshotInfo | None, observed: StoredSnapshot | None
             ) -> Step:
        return plan(desired, observed, self.host)

    def idle(self, plan: Step) -> bool:
        return plan == Step.NOTHING

    async def survey(self) -> list[Surveyed[str, rpc.SnapshotInfo, StoredSnapshot]]:
        stored = {snapshot.snapshot_id: snapshot for snapshot in await self.driver.snapshots()}
        desired = {snapshot["id"]: snapshot
                   for snapshot in (await self.server.host_state())[1]}
        return [Surveyed(key, desired.get(key), stored.get(key))
                for key in [*desired, *(k for k in stored if k not in desired)]]

    async def apply(self, key: str, plan: Step, desired: rpc.SnapshotInfo | None,
                    observed: StoredSnapshot | None) -> Outcome:
        if plan == Step.REMOVE:
            await self.driver.delete_snapshot(key)
            log.info("snapshot %s removed from %s: no row wants it", key, self.host)
            return None
        work = desired["work"] if desired is not None else None
        if desired is None or work is None:
            return None
        location = observed.location if observed else None
        try:
            if plan == Step.CREATE:
                location = (await self.driver.create_snapshot(key, desired["volume_id"])
                            ).location
            elif plan == Step.DELETE:
                await self.driver.delete_snapshot(key)
        except (DriverError, OSError) as exc:
            log.warning("snapshot %s: %s failed: %s", key, work, exc)
            await self.server.snapshot_done(key, work, rpc.FAILED, reason=str(exc))
            return None
        except Exception as exc:
            log.exception("snapshot %s: %s failed unexpectedly", key, work)
            await self.server.snapshot_done(key, work, rpc.FAILED,
                                            reason=f"internal error: {type(exc).__name__}")
            return None
        await self.server.snapshot_done(key, work, rpc.DONE, location=location)
        log.info("snapshot %s: %s done on %s", key, work, self.host)
        return None
