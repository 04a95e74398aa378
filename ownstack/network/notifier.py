"""Telling compute about its ports, as Neutron's nova notifier does.

When a port of a server (``device_owner`` ``compute:...``) goes ACTIVE because its host's
agent wired it and, on a network with DHCP, its DHCP server loaded its entry (whichever
reported last), compute hears ``network-vif-plugged``; when it goes back DOWN,
``network-vif-unplugged``: ``POST /v2.1/os-server-external-events`` as the services' own
user, with the server as ``server_uuid`` and the port as ``tag``. A floating IP associated
with a server's port, moved off it or deleted is ``network-changed`` for that port (compute
then reads the port's addresses, floating ones with them, afresh). Compute waits for
``network-vif-plugged`` before it lets a booting guest run (a paused spawn), and refreshes
the server's addresses.

The port row is the record and the event only a courtesy: the status change is already
committed when the event is sent, in the background, and a failure (compute down, or an
older compute without the API) is logged and dropped, never retried forever and never an
error of the port's.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any, Final

import httpx

from ownstack.common.agent.tasks import TaskSet
from ownstack.common.peers import Peers
from ownstack.network.objects.bindings import PortState
from ownstack.network.rpc import ACTIVE, DOWN

log = logging.getLogger(__name__)

EVENTS_PATH: Final = "/v2.1/os-server-external-events"
VIF_PLUGGED: Final = "network-vif-plugged"
VIF_UNPLUGGED: Final = "network-vif-unplugged"
NETWORK_CHANGED: Final = "network-changed"
TIMEOUT: Final = 10.0


def vif_events(changes: Iterable[tuple[PortState | None, PortState | None]]
               ) -> list[dict[str, Any]]:
    """The events compute should hear of ``(before, after)`` port changes: a server's port
    that turned ACTIVE is plugged, one that turned DOWN from ACTIVE unplugged."""
    events = []
    for before, after in changes:
        if after is None or not after.of_server:
            continue
        was = before.status if before is not None else DOWN
        if was == after.status:
            continue
        if after.status == ACTIVE:
            name = VIF_PLUGGED
        elif after.status == DOWN and was == ACTIVE:
            name = VIF_UNPLUGGED
        else:
            continue
        events.append({"name": name, "server_uuid": after.device_id, "tag": after.id,
                       "status": "completed"})
    return events


class ComputeNotifier:
    """Sends server external events to the compute API of this cloud."""

    def __init__(self, peers: Peers) -> None:
        self.peers = peers
        self._http: httpx.AsyncClient | None = None
        self._tasks = TaskSet()

    def port_changes(self, changes: Iterable[tuple[PortState | None, PortState | None]]
                     ) -> None:
        """Send the events of ``changes`` in the background (see :func:`vif_events`)."""
        events = vif_events(changes)
        if events:
            self._tasks.spawn(self._send_in_background(events))

    def network_changed(self, ports: Iterable[tuple[str, str]]) -> None:
        """``network-changed`` for each ``(port id, server uuid)``, in the background."""
        events = [{"name": NETWORK_CHANGED, "server_uuid": server, "tag": port_id}
                  for port_id, server in ports]
        if events:
            self._tasks.spawn(self._send_in_background(events))

    async def _send_in_background(self, events: list[dict[str, Any]]) -> None:
        await self.send(events)

    async def send(self, events: list[dict[str, Any]]) -> bool:
        """POST ``events``; whether compute took them. Never raises."""
        try:
            if self._http is None:
                self._http = httpx.AsyncClient(base_url=self.peers.url("compute"),
                                               transport=self.peers.transport("compute"),
                                               timeout=TIMEOUT)
            token = await self.peers.service_auth()()
            r = await self._http.post(EVENTS_PATH, json={"events": events},
                                      headers={"X-Auth-Token": token})
        except Exception as exc:      # compute unreachable, identity down: never fatal
            log.warning("could not tell compute %s: %s", _names(events), exc)
            return False
        if r.status_code not in (200, 207):
            log.warning("compute refused %s: %s %s", _names(events), r.status_code,
                        r.text[:200])
            return False
        return True

    async def stop(self) -> None:
        await self._tasks.cancel()
        if self._http is not None:
            await self._http.aclose()
            self._http = None


def _names(events: list[dict[str, Any]]) -> str:
    return ", ".join(f"{e.get('name')} of port {e.get('tag')}" for e in events)
