"""``POST /os-server-external-events``: what other services tell compute about servers.

The network service (Neutron's role) posts ``network-changed`` when a port of a server
changed, and ``network-vif-plugged``/``-unplugged`` when its agent wired or unwired one.
As in Nova: admins and the services only; each event answers with its own ``code``
(200, 404 for an unknown server, 422 for one not on a host yet) and ``status``; the
whole answer is 200, 207 when some events failed, 404 when none was accepted.

What ownstack does with them: ``network-changed`` and ``network-vif-deleted`` rebuild the
server's network info cache from its ports now; plugged and unplugged events mark the
port (``tag``) active or not in the cache, and are recorded as events of the server's
latest action; a port newly plugged nudges the server's agent, whose boot may be waiting
for it. ``volume-extended`` (the volume service grew an attached volume, ``tag``) asks the
server's host to grow the guest's disk to the volume's new size and to confirm it
(``os-extend_volume_completion``). Other events are accepted and recorded alike.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Final

from starlette.responses import Response

from ownstack.common.api.app import json_response
from ownstack.common.clients.network import NetworkClientError
from ownstack.common.clients.volume import VolumeClientError
from ownstack.common.errors import NotFound
from ownstack.compute import ports
from ownstack.compute.api.common import body, nudge, tell_host, version_of
from ownstack.compute.api.schemas import server_external_events as schemas
from ownstack.compute.objects import actions, block_devices
from ownstack.compute.objects.instances import (
    latest_request_ids,
    network_rows,
    set_network_info,
)
from ownstack.compute.state import Req

log = logging.getLogger(__name__)

_RULE: Final = "os_compute_api:os-server-external-events:create"
_REFRESH: Final = frozenset({"network-changed", "network-vif-deleted"})
_PLUGGED: Final = {"network-vif-plugged": True, "network-vif-unplugged": False}
VOLUME_EXTENDED: Final = "volume-extended"
GIB: Final = 1024 ** 3


async def create_events(req: Req) -> Response:
    req.svc.enforce(req.ctx, _RULE, {})
    events: list[dict[str, Any]] = (await body(req, schemas.CREATE(version_of(req))))["events"]
    uuids = sorted({event["server_uuid"] for event in events})
    async with req.svc.read() as db:
        rows = await network_rows(db, uuids)
        request_ids = await latest_request_ids(db, uuids)
    answered: list[dict[str, Any]] = []
    accepted: list[dict[str, Any]] = []
    for event in events:
        item = {**event, "status": event.get("status", "completed")}
        row = rows.get(event["server_uuid"])
        if row is None or row.deleted:
            item.update(code=404, status="failed")
        elif not row.host:
            item.update(code=422, status="failed")
        else:
            item["code"] = 200
            accepted.append(item)
        answered.append(item)
    if not accepted:
        raise NotFound("No instances found for any event")
    refreshed: set[str] = set()
    recorded: list[actions.Event] = []
    now = time.time()
    for item in accepted:
        uuid = item["server_uuid"]
        if item["name"] in _REFRESH and uuid not in refreshed:
            refreshed.add(uuid)
            await _refresh(req, uuid, rows[uuid])
        elif item["name"] == VOLUME_EXTENDED and item.get("tag"):
            # Nova records the extend as an action of the server's own (extend_volume),
            # under this request, and the event on it.
            async with req.svc.write() as db:
                await actions.start_action(db, req.ctx, uuid, actions.EXTEND_VOLUME)
            request_ids[uuid] = req.ctx.request_id
            await _volume_extended(req, uuid, rows[uuid].host, str(item["tag"]))
        elif item["name"] in _PLUGGED and item.get("tag") and uuid not in refreshed:
            plugged = _PLUGGED[item["name"]] and item["status"] != "failed"
            if await _mark_active(req, uuid, rows[uuid], str(item["tag"]), plugged) \
                    and plugged:
                await nudge(req, rows[uuid].host, uuid)
        request_id = request_ids.get(uuid)
        if request_id:
            result = actions.ERROR if item["status"] == "failed" else actions.SUCCESS
            recorded.append(actions.Event(uuid, request_id, item["name"], now, now, result,
                                          rows[uuid].host, item.get("tag")))
    if recorded:
        async with req.svc.write() as db:
            await actions.record_events(db, recorded)
    status = 200 if len(accepted) == len(answered) else 207
    return json_response({"events": answered}, status)


async def _mark_active(req: Req, uuid: str, row: Any, port_id: str, active: bool) -> bool:
    """A plugged (unplugged) port is active (not) in the cache; no network call. Whether
    the cache changed."""
    cache = [dict(item) for item in row.network_info or ()]
    changed = False
    for item in cache:
        if item.get("id") == port_id and item.get("active") != active:
            item["active"] = active
            changed = True
    if changed:
        async with req.svc.write() as db:
            await set_network_info(db, uuid, cache)
        log.debug("server %s: port %s active=%s", uuid, port_id, active)
    return changed


async def _volume_extended(req: Req, uuid: str, host: str, volume_id: str) -> None:
    """Cinder grew an attached volume: the server's host grows the guest's disk to the
    volume's new size (read as the services' user) and confirms to the volume service."""
    async with req.svc.read() as db:
        bdm = await block_devices.find_volume(db, uuid, volume_id)
    if bdm is None:
        log.warning("server %s: volume-extended for volume %s, which it does not have",
                    uuid, volume_id)
        return
    try:
        size = int((await req.svc.volume.get_volume(volume_id))["size"])
    except VolumeClientError as exc:
        log.warning("server %s: volume %s not extended: %s", uuid, volume_id, exc.message)
        return
    await tell_host(req, host, "extend_volume",
               {"uuid": uuid, "volume_id": volume_id, "new_size": size * GIB})


async def _refresh(req: Req, uuid: str, row: Any) -> None:
    """The info cache rebuilt from the server's ports, as the services' user. A network
    service that fails leaves the cache as it was (the next event refreshes it)."""
    try:
        info = await ports.refresh(req.svc.network, uuid, row.network_requests,
                                   row.network_info)
    except NetworkClientError as exc:
        log.warning("server %s: network info not refreshed: %s", uuid, exc)
        return
    async with req.svc.write() as db:
        await set_network_info(db, uuid, info)
