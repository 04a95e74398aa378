"""The agent's side of the bus contract (:mod:`ownstack.volume.rpc`): typed calls to the
volume service on behalf of one host. Each raises :class:`~ownstack.common.bus.BusError`
when the service does not answer; the work queue retries and the resync tries again,
since the rows still hold what is wanted."""

from __future__ import annotations

from typing import Any, cast

from ownstack.common.agent.control_plane import ControlPlaneClient
from ownstack.volume.rpc import VOLUME_TOPIC, SnapshotInfo, VolumeInfo


class VolumeServerAPI(ControlPlaneClient):
    topic = VOLUME_TOPIC

    async def report_service(self, report: dict[str, Any], *, timeout: float | None = None
                             ) -> dict[str, Any]:
        return dict(await self._call("report_service", {**report, "host": self.host},
                                     timeout=timeout))

    async def host_state(self) -> tuple[list[VolumeInfo], list[SnapshotInfo]]:
        result = await self._call("host_volumes", {"host": self.host})
        return (cast(list[VolumeInfo], list(result["volumes"])),
                cast(list[SnapshotInfo], list(result["snapshots"])))

    async def get_volume(self, volume_id: str) -> VolumeInfo | None:
        result = await self._call("get_volume", {"volume_id": volume_id})
        return cast(VolumeInfo | None, result["volume"])

    async def get_snapshot(self, snapshot_id: str) -> SnapshotInfo | None:
        result = await self._call("get_snapshot", {"snapshot_id": snapshot_id})
        return cast(SnapshotInfo | None, result["snapshot"])

    async def volume_done(self, volume_id: str, work: str, outcome: str, *,
                          reason: str = "", location: str | None = None,
                          volume_format: str | None = None) -> bool:
        result = await self._call("volume_done", {
            "volume_id": volume_id, "host": self.host, "work": work, "outcome": outcome,
            "reason": reason, "location": location or "", "format": volume_format or ""})
        return bool(result["applied"])

    async def snapshot_done(self, snapshot_id: str, work: str, outcome: str, *,
                            reason: str = "", location: str | None = None) -> bool:
        result = await self._call("snapshot_done", {
            "snapshot_id": snapshot_id, "host": self.host, "work": work,
            "outcome": outcome, "reason": reason, "location": location or ""})
        return bool(result["applied"])
