"""Telling compute about its volumes, as Cinder's nova notifier does: an in-use volume
whose file grew is ``volume-extended`` (``POST /v2.1/os-server-external-events`` as the
services' own user, the server as ``server_uuid`` and the volume as ``tag``), so compute
can tell the guest (``block_resize``). The volume row is the record: the event is a
courtesy sent after the commit, in the background; a failure is logged, never retried.
"""

from __future__ import annotations

import logging
from typing import Any, Final

import httpx

from ownstack.common.agent.tasks import TaskSet
from ownstack.common.peers import Peers

log = logging.getLogger(__name__)

EVENTS_PATH: Final = "/v2.1/os-server-external-events"
VOLUME_EXTENDED: Final = "volume-extended"
EVENTS_VERSION: Final = "compute 2.51"      # the first to know volume-extended, as Cinder's
TIMEOUT: Final = 10.0


class ComputeNotifier:
    def __init__(self, peers: Peers) -> None:
        self.peers = peers
        self._http: httpx.AsyncClient | None = None
        self._tasks = TaskSet()

    def volume_extended(self, volume_id: str, servers: list[str]) -> None:
        events = [{"name": VOLUME_EXTENDED, "server_uuid": server, "tag": volume_id}
                  for server in servers]
        if events:
            self._tasks.spawn(self._send(events))

    async def _send(self, events: list[dict[str, Any]]) -> None:
        try:
            if self._http is None:
                self._http = httpx.AsyncClient(base_url=self.peers.url("compute"),
                                               transport=self.peers.transport("compute"),
                                               timeout=TIMEOUT)
            token = await self.peers.service_auth()()
            r = await self._http.post(EVENTS_PATH, json={"events": events},
                                      headers={"X-Auth-Token": token,
                                               "OpenStack-API-Version": EVENTS_VERSION})
        except Exception as exc:      # compute unreachable, identity down: never fatal
            log.warning("could not tell compute of %d volume event(s): %s", len(events), exc)
            return
        if r.status_code not in (200, 207):
            log.warning("compute refused volume events: %s %s", r.status_code, r.text[:200])

    async def stop(self) -> None:
        await self._tasks.cancel()
        if self._http is not None:
            await self._http.aclose()
            self._http = None
