"""The agent's side of the bus contract (:mod:`ownstack.compute.rpc`): typed conductor calls.

An agent never touches the database; everything it learns or reports goes through these
calls. Each one raises :class:`~ownstack.common.bus.BusError` when the conductor does not
answer (:class:`~ownstack.common.bus.BusTimeout`) or fails
(:class:`~ownstack.common.bus.RemoteError`): the agent then gives up this round and the
next resync tries again, since the instance row still holds what was wanted.
"""

from __future__ import annotations

from typing import Any, cast

from ownstack.common.agent.control_plane import ControlPlaneClient
from ownstack.compute.rpc import CONDUCTOR_TOPIC, InstanceSpec

ANY_TASK = "*"


class ConductorAPI(ControlPlaneClient):
    """Conductor calls made on behalf of one compute host."""

    topic = CONDUCTOR_TOPIC

    async def report_node(self, report: dict[str, Any], *, timeout: float | None = None
                          ) -> dict[str, Any]:
        return dict(await self._call("report_node", report, timeout=timeout))

    async def node_instances(self, node: str) -> list[InstanceSpec]:
        result = await self._call("node_instances", {"host": self.host, "node": node})
        return cast(list[InstanceSpec], list(result["instances"]))

    async def get_instance(self, uuid: str) -> InstanceSpec | None:
        result = await self._call("get_instance", {"uuid": uuid})
        return cast(InstanceSpec | None, result["instance"])

    async def update_instance(self, uuid: str, expected_task_state: str | None, *,
                              events: list[dict[str, Any]] | None = None,
                              migration: dict[str, str] | None = None,
                              **updates: Any) -> bool:
        """Apply ``updates`` if the instance is still on this host with that task state,
        and record ``events`` (made with :meth:`event`) in the same transaction.

        ``False`` means a user action (or another agent) won the race: not an error, the
        agent reconciles again on the next nudge. The events are recorded either way: the
        work they describe was done. ``migration`` (``{"uuid", "status"}``) moves a resize
        on with the update.
        """
        payload: dict[str, Any] = {
            "uuid": uuid, "host": self.host, "expected_task_state": expected_task_state,
            "updates": updates}
        if events:
            payload["events"] = events
        if migration is not None:
            payload["migration"] = migration
        result = await self._call("update_instance", payload)
        return bool(result["applied"])

    async def refresh_network_info(self, uuid: str) -> list[dict[str, Any]] | None:
        """The instance's NICs with the ports' states read afresh from the network
        service; ``None`` when the instance is gone."""
        result = await self._call("refresh_network_info", {"uuid": uuid, "host": self.host})
        nics = result["nics"]
        return None if nics is None else [dict(nic) for nic in nics]

    async def connect_volume(self, uuid: str, bdm_uuid: str, connector: dict[str, Any]
                             ) -> tuple[dict[str, Any] | None, str | None]:
        """The volume's connection info for this host's ``connector`` (``None`` when the
        mapping is gone or no longer attaching), or why the volume service refused."""
        result = await self._call("connect_volume", {"uuid": uuid, "host": self.host,
                                                     "bdm_uuid": bdm_uuid,
                                                     "connector": connector})
        info, error = result.get("connection_info"), result.get("error")
        return (dict(info) if isinstance(info, dict) else None,
                str(error) if error else None)

    async def volume_changed(self, method: str, uuid: str, bdm_uuid: str) -> bool:
        """``volume_attached``, ``volume_attach_failed``, ``volume_detached`` or
        ``volume_detach_failed`` (see :mod:`ownstack.compute.rpc`): whether it applied."""
        result = await self._call(method, {"uuid": uuid, "host": self.host,
                                           "bdm_uuid": bdm_uuid})
        return bool(result["applied"])

    async def volume_extended(self, uuid: str, volume_id: str, *, error: bool) -> bool:
        result = await self._call("volume_extended", {"uuid": uuid, "host": self.host,
                                                      "volume_id": volume_id, "error": error})
        return bool(result["applied"])

    async def instance_destroyed(self, uuid: str) -> None:
        await self._call("instance_destroyed", {"uuid": uuid, "host": self.host})

    async def shelve_offloaded(self, uuid: str) -> bool:
        """The guest of a server being offloaded is gone: free the host."""
        result = await self._call("shelve_offloaded", {"uuid": uuid, "host": self.host})
        return bool(result["offloaded"])

    async def reschedule(self, uuid: str, reason: str) -> None:
        await self._call("reschedule", {"uuid": uuid, "host": self.host, "reason": reason})

    async def record_event(self, uuid: str, request_id: str, event: str, *, start: float,
                           finish: float, error: str | None = None) -> None:
        await self._call("record_event", self.event(uuid, request_id, event, start=start,
                                                    finish=finish, error=error))

    async def record_events(self, events: list[dict[str, Any]]) -> None:
        """Events made with :meth:`event`, recorded in one conductor transaction."""
        if events:
            await self._call("record_events", {"events": events})

    def event(self, uuid: str, request_id: str, event: str, *, start: float,
              finish: float, error: str | None = None) -> dict[str, Any]:
        return {"uuid": uuid, "request_id": request_id, "event": event, "start": start,
                "finish": finish, "result": "Error" if error else "Success",
                "host": self.host, "details": error}
