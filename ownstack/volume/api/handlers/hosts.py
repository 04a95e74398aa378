"""Cinder's deprecated ``/os-hosts`` (list and show) and ``/capabilities/{host}``, admin
only, from the volume services' rows: the agents' ``cinder-volume`` and the API
processes' ``cinder-scheduler`` (scheduling is the API's own, see
:mod:`ownstack.volume.objects.services`).

- ``GET /os-hosts[?zone=]``: every enabled service, schedulers too, as Cinder lists them
  (disabled ones are left out, so ``service-state`` is always ``enabled``),
  ``service-status`` ``available`` while its heartbeat is younger than
  ``service_down_time``;
- ``GET /os-hosts/{host}``: the volumes and snapshots on the host's volume service
  (``cinder-volume``, as Cinder looks it up: a scheduler's host name shows that host's
  backend, if it has one), in total and per project (Cinder's strings), disabled or not;
- ``GET /capabilities/{host}``: the backend, in Cinder's shape, as ``get_pools`` shows
  its pool; ``properties`` (Cinder's driver type options: thin provisioning, compression,
  QoS, replication, each a switch a volume type may set) are none, as ownstack's
  backends have no such switch (what a type may match is the pool's capabilities).

``PUT /os-hosts/{host}`` (Cinder's ``set_host_enabled``, which its volume API has never
implemented) is not served: ``os-services`` enables and disables.
"""

from __future__ import annotations

from typing import Any, Final

from starlette.responses import Response

from ownstack.common.api.app import json_response
from ownstack.common.db.base import utcnow
from ownstack.common.errors import NotFound
from ownstack.volume.api.common import timestamp
from ownstack.volume.objects import capabilities, services, volume_hosts
from ownstack.volume.objects.models import VolumeService
from ownstack.volume.state import Req

_HOSTS: Final = "volume_extension:hosts"
_CAPABILITIES: Final = "volume_extension:capabilities"


async def list_hosts(req: Req) -> Response:
    req.svc.enforce(req.ctx, _HOSTS)
    zone = req.query.get("zone") or ""
    now, down_time = utcnow(), req.svc.settings.service_down_time
    async with req.svc.read() as db:
        rows = await services.list_services(db)
    return json_response({"hosts": [
        {"host_name": services.display_host(row.host, row.backend), "service": row.binary,
         "zone": row.availability_zone,
         "service-status": "available" if services.is_up(row, now, down_time)
         else "unavailable",
         "service-state": "enabled", "last-update": timestamp(row.last_seen)}
        for row in rows if not row.disabled and (not zone or row.availability_zone == zone)]})


async def show_host(req: Req) -> Response:
    req.svc.enforce(req.ctx, _HOSTS)
    name = req.params["host"]
    async with req.svc.read() as db:
        found = volume_hosts.matching(await services.backends(db), name)
        if not found:
            raise NotFound(f"Service {services.BINARY} could not be found on host {name}.")
        usage = await volume_hosts.host_usage(db, found[0])
    return json_response({"host": [
        {"resource": {"host": name, "project": row.project,
                      "volume_count": str(row.volume_count),
                      "total_volume_gb": str(row.volume_gb),
                      "snapshot_count": str(row.snapshot_count),
                      "total_snapshot_gb": str(row.snapshot_gb)}}
        for row in usage]})


def capabilities_view(row: VolumeService) -> dict[str, Any]:
    """Cinder's capabilities view of one backend: its vendor, name, protocol and driver
    version are the ones ``get_pools`` reports for the backend's pool."""
    host = services.display_host(row.host, row.backend)
    pool = capabilities.of_service(row)
    return {"namespace": f"OS::Storage::Capabilities::{services.BINARY}.{host}",
            "vendor_name": pool["vendor_name"],
            "volume_backend_name": pool["volume_backend_name"], "pool_name": row.backend,
            "driver_version": pool["driver_version"],
            "storage_protocol": pool["storage_protocol"], "display_name": None,
            "description": None, "visibility": None, "replication_targets": [],
            "properties": {}}


async def show_capabilities(req: Req) -> Response:
    req.svc.enforce(req.ctx, _CAPABILITIES)
    name = req.params["host"]
    async with req.svc.read() as db:
        found = volume_hosts.matching(await services.backends(db), name)
    if not found:
        raise NotFound(f"Can't find service: {name}")
    return json_response(capabilities_view(found[0]))
