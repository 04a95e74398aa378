"""Volume services: the rows volume agents' heartbeats keep, and where a new volume goes.

An agent reports itself over the bus (``report_service``, see :mod:`ownstack.volume.rpc`)
at start-up and every ``volume.report_interval``: the row of its ``(host, binary)`` is
upserted, settled by that unique constraint when two reports race. A service is *up*
while its last report is younger than ``volume.service_down_time``. An admin may disable
one (``os-services/disable``): it keeps its volumes but takes no new ones.

Scheduling is the API's own, small, decision: a new blank or image volume goes to the up,
enabled service of its zone whose backend meets its type's extra specs (Cinder's
capabilities filter, :mod:`~ownstack.volume.objects.capabilities`) with the most free
space it reported; a volume made from a snapshot or another volume goes where its source
is, since the file driver copies files, if that backend meets its type.

The process that makes that decision, the volume API, keeps its own row, as Cinder's
``cinder-scheduler`` does (decision 75): ``cinder-scheduler`` of its host (no backend:
Cinder names a scheduler by its host alone), beaten every ``volume.report_interval``
(:func:`beat_scheduler`), so it is up while an API process of that host runs and down
``service_down_time`` after the last one stopped. It is listed by ``os-services`` and
``os-hosts`` beside the backends, and is no backend: :func:`backends` (pools, zones,
candidates, a host's volumes) leaves it out. As in Cinder nothing reads its ``disabled``
flag or its state to schedule: a disabled or down scheduler row changes no create.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ownstack.common.db.base import utcnow
from ownstack.volume.errors import ServiceNotFound
from ownstack.volume.objects import capabilities
from ownstack.volume.objects.models import VolumeService

BINARY = "cinder-volume"
SCHEDULER_BINARY = "cinder-scheduler"


def is_up(row: VolumeService, now: datetime, down_time: float) -> bool:
    """Heard from within ``down_time``, either way, as Cinder counts (``abs``): a beat
    stamped ahead by a skewed clock does not keep a service up for good."""
    return abs(now - row.last_seen) <= timedelta(seconds=down_time)


def display_host(host: str, backend: str) -> str:
    """Cinder's ``host@backend``, as services and volumes show it; a scheduler, which has
    no backend, is its host alone."""
    return f"{host}@{backend}" if backend else host


async def report(db: AsyncSession, payload: Mapping[str, Any]) -> VolumeService:
    """An agent's heartbeat: its ``cinder-volume`` row, made or refreshed."""
    return await _beat(db, str(payload["host"]), BINARY, {
        "backend": str(payload.get("backend") or ""),
        "availability_zone": str(payload.get("availability_zone") or "nova"),
        "capabilities": dict(payload.get("capabilities") or {})})


async def beat_scheduler(db: AsyncSession, host: str, zone: str) -> VolumeService:
    """The volume API's heartbeat: the ``cinder-scheduler`` row of ``host``, made where
    missing (never made, or removed) and marked heard from now; its ``disabled`` flag
    is the admin's and stays."""
    return await _beat(db, host, SCHEDULER_BINARY, {"availability_zone": zone})


async def _beat(db: AsyncSession, host: str, binary: str,
                values: Mapping[str, Any]) -> VolumeService:
    now = utcnow()
    row = await find(db, host, binary)
    if row is None:
        row = VolumeService(uuid=str(uuid.uuid4()), host=host, binary=binary, disabled=False,
                            created_at=now, updated_at=now, last_seen=now,
                            **{"backend": "", "capabilities": {}, **values})
        try:
            async with db.begin_nested():
                db.add(row)
                await db.flush()
            return row
        except IntegrityError:
            # Another process of the host made the row at the same moment: beat that one.
            found = await find(db, host, binary)
            if found is None:
                raise
            row = found
    for name, value in values.items():
        setattr(row, name, value)
    row.last_seen = now
    await db.flush()
    return row


async def find(db: AsyncSession, host: str, binary: str = BINARY) -> VolumeService | None:
    return await db.scalar(sa.select(VolumeService).where(
        VolumeService.host == host, VolumeService.binary == binary))


async def list_services(db: AsyncSession, *, host: str | None = None,
                        binary: str | None = None) -> list[VolumeService]:
    stmt = sa.select(VolumeService).order_by(VolumeService.host, VolumeService.binary,
                                             VolumeService.id)
    if host is not None:
        name, _, backend = host.partition("@")
        stmt = stmt.where(VolumeService.host == name)
        if backend:
            stmt = stmt.where(VolumeService.backend == backend.partition("#")[0])
    if binary is not None:
        stmt = stmt.where(VolumeService.binary == binary)
    return list((await db.execute(stmt)).scalars())


async def backends(db: AsyncSession) -> list[VolumeService]:
    """The volume services (``cinder-volume``): the backends, without the schedulers."""
    return await list_services(db, binary=BINARY)


async def set_disabled(db: AsyncSession, host: str, binary: str, disabled: bool,
                       reason: str | None) -> VolumeService:
    """Disable or enable the service ``host`` (``host`` or ``host@backend``) names."""
    rows = await list_services(db, host=host, binary=binary)
    if not rows:
        raise ServiceNotFound(host, binary)
    for row in rows:
        row.disabled = disabled
        row.disabled_reason = reason if disabled else None
        row.updated_at = utcnow()
    await db.flush()
    return rows[0]


async def zones(db: AsyncSession, down_time: float) -> dict[str, bool]:
    """Every zone with a volume service, and whether any of its services is up."""
    now = utcnow()
    found: dict[str, bool] = {}
    for row in await backends(db):
        up = is_up(row, now, down_time) and not row.disabled
        found[row.availability_zone] = found.get(row.availability_zone, False) or up
    return found


async def pick_host(db: AsyncSession, zone: str | None, down_time: float,
                    specs: Mapping[str, str] | None = None) -> VolumeService | str:
    """The up, enabled service (of ``zone``, when one is named) whose backend meets the
    volume type's extra ``specs`` (:mod:`~ownstack.volume.objects.capabilities`) with the
    most free space it reported; else why there is none, as a sentence."""
    now = utcnow()
    candidates = [row for row in await backends(db)
                  if not row.disabled and is_up(row, now, down_time)
                  and (zone is None or row.availability_zone == zone)]
    if not candidates:
        return "no volume service is up" + (f" in zone {zone}" if zone else "")
    unmet = {row.host: capabilities.unmet(specs or {}, capabilities.of_service(row))
             for row in candidates}
    fitting = [row for row in candidates if unmet[row.host] is None]
    if not fitting:
        return ("no backend meets the volume type's extra specs (" +
                ", ".join(sorted({str(why) for why in unmet.values()})) + ")")
    return max(fitting, key=lambda row: (float(row.capabilities.get("free_gb") or 0),
                                         row.host))
