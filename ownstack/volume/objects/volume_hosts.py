"""Cinder's hosts as its deprecated ``os-hosts`` and ``/capabilities/{host}`` name them:
each volume service is the host ``host@backend``, and a name finds services as Cinder's
``_filter_host`` matches them (``h`` every backend of ``h``, ``h@b`` that backend; a name
with a pool, ``h@b#p``, must equal a service's host exactly, which none has)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from ownstack.volume.objects.models import Snapshot, Volume, VolumeService
from ownstack.volume.objects.services import display_host


def matching(rows: Sequence[VolumeService], name: str) -> list[VolumeService]:
    """The services ``name`` names, at Cinder's match level for it: a backend or a pool
    (which no service's host has) must be the whole ``host@backend``, a host its part."""
    if "#" in name or "@" in name:
        return [row for row in rows if display_host(row.host, row.backend) == name]
    return [row for row in rows if row.host == name]


@dataclass(frozen=True)
class Usage:
    """One row of a host's show: a project's (or every project's) volumes and snapshots."""

    project: str
    volume_count: int
    volume_gb: int
    snapshot_count: int
    snapshot_gb: int


async def host_usage(db: AsyncSession, service: VolumeService) -> list[Usage]:
    """What the volumes of ``service`` hold: ``(total)`` first, then one row per project
    with a volume there (its snapshots of those volumes too), by project id."""
    on_host = sa.and_(Volume.host == service.host, Volume.backend == service.backend)
    volumes = (await db.execute(
        sa.select(Volume.project_id, sa.func.count(), sa.func.coalesce(
            sa.func.sum(Volume.size), 0))
        .where(on_host).group_by(Volume.project_id))).all()
    snapshots = {project: (int(count), int(size)) for project, count, size in (
        await db.execute(
            sa.select(Snapshot.project_id, sa.func.count(), sa.func.coalesce(
                sa.func.sum(Snapshot.size), 0))
            .join(Volume, Volume.id == Snapshot.volume_id)
            .where(on_host).group_by(Snapshot.project_id))).all()}
    rows = [Usage(str(project), int(count), int(size), *snapshots.get(str(project), (0, 0)))
            for project, count, size in sorted(volumes, key=lambda row: str(row[0]))]
    total = Usage("(total)", sum(r.volume_count for r in rows), sum(r.volume_gb for r in rows),
                  sum(r.snapshot_count for r in rows), sum(r.snapshot_gb for r in rows))
    return [total, *rows]
