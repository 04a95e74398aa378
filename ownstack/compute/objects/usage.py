"""Usage reports (``os-simple-tenant-usage``): server hours in a window, per project.

A server counts from ``launched_at`` to ``terminated_at`` (or the end of the window), the
part inside the window only, as Nova's ``_hours_for`` does. Deleted servers count too:
their rows stay, with ``terminated_at`` set, exactly so these reports can be made. A
server that never launched used nothing. Sizes come from the flavor copied into the
instance at create, so a later flavor change never rewrites history.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from ownstack.common.errors import BadRequest
from ownstack.common.times import as_utc
from ownstack.compute.objects.models import Instance

# The formats Nova's _parse_datetime accepts; anything else is a 400.
_FORMATS: Final = ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%d %H:%M:%S.%f")


def parse_time(value: str | None, now: datetime) -> datetime:
    """A query's ``start``/``end``: absent means now; times are UTC."""
    if value is None or value == "":
        return now
    for fmt in _FORMATS:
        try:
            return datetime.strptime(value, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    raise BadRequest("Invalid input received: Datetime is in invalid format")


def window(start: str | None, end: str | None, now: datetime) -> tuple[datetime, datetime]:
    """The report's window, its end clamped to now as Nova does."""
    period_start, period_stop = parse_time(start, now), parse_time(end, now)
    if period_start > period_stop:
        raise BadRequest("Invalid start time. The start time cannot occur after the end "
                         "time.")
    return period_start, min(period_stop, now)


def hours_for(instance: Instance, start: datetime, stop: datetime) -> float:
    """The hours of ``[start, stop]`` the instance ran."""
    if instance.launched_at is None:
        return 0.0
    launched = as_utc(instance.launched_at)
    terminated = as_utc(instance.terminated_at) if instance.terminated_at else None
    if (terminated is not None and terminated < start) or launched > stop:
        return 0.0
    begin = max(launched, start)
    end = min(stop, terminated) if terminated is not None else stop
    return max((end - begin).total_seconds(), 0.0) / 3600.0


async def instances_in_window(db: AsyncSession, start: datetime, stop: datetime, *,
                              project_id: str | None, limit: int | None,
                              marker: str | None) -> list[Instance]:
    """Launched instances alive at some point of the window, deleted ones included, in
    (created_at, uuid) order; ``marker`` is the uuid of the last one of the previous page."""
    stmt = sa.select(Instance).where(
        sa.or_(Instance.terminated_at.is_(None), Instance.terminated_at > start),
        Instance.launched_at < stop)
    if project_id is not None:
        stmt = stmt.where(Instance.project_id == project_id)
    if marker is not None:
        row = (await db.execute(sa.select(Instance.created_at, Instance.uuid).where(
            Instance.uuid == marker))).first()
        if row is None:
            raise BadRequest(f"marker [{marker}] not found")
        stmt = stmt.where(sa.or_(Instance.created_at > row[0], sa.and_(
            Instance.created_at == row[0], Instance.uuid > row[1])))
    stmt = stmt.order_by(Instance.created_at, Instance.uuid)
    if limit is not None:
        stmt = stmt.limit(limit)
    return list((await db.execute(stmt)).scalars())


@dataclass(frozen=True)
class ServerUsage:
    """What one server used in a window; sizes are its flavor's at create."""

    instance: Instance
    hours: float
    memory_mb: int
    local_gb: int
    vcpus: int
    flavor: str | None
    started_at: datetime
    ended_at: datetime | None
    state: str
    uptime: int                 # seconds, to its end or to now


@dataclass(frozen=True)
class Sizes:
    """What a server's flavor gives it: Nova's ``vcpus``, ``memory_mb`` and
    ``root_gb + ephemeral_gb``."""

    vcpus: int
    memory_mb: int
    local_gb: int


def sizes_of(instance: Instance) -> Sizes:
    flavor = instance.flavor or {}
    return Sizes(vcpus=int(flavor.get("vcpus") or 0), memory_mb=int(flavor.get("ram") or 0),
                 local_gb=int(flavor.get("disk") or 0) + int(flavor.get("ephemeral") or 0))


def server_usage(instance: Instance, start: datetime, stop: datetime, now: datetime
                 ) -> ServerUsage:
    flavor = instance.flavor or {}
    sizes = sizes_of(instance)
    launched = as_utc(instance.launched_at) if instance.launched_at else now
    ended = as_utc(instance.terminated_at) if instance.terminated_at else None
    return ServerUsage(
        instance=instance, hours=hours_for(instance, start, stop),
        memory_mb=sizes.memory_mb, local_gb=sizes.local_gb, vcpus=sizes.vcpus,
        flavor=flavor.get("name"),
        started_at=launched, ended_at=ended,
        state="terminated" if ended else instance.vm_state,
        uptime=int(((ended or now) - launched).total_seconds()))


@dataclass
class ProjectUsage:
    tenant_id: str
    start: datetime
    stop: datetime
    servers: list[ServerUsage] = field(default_factory=list)


def by_project(instances: Sequence[Instance], start: datetime, stop: datetime,
               now: datetime) -> list[ProjectUsage]:
    """One report per project, in the order the projects' first servers come."""
    projects: dict[str, ProjectUsage] = {}
    for instance in instances:
        usage = projects.setdefault(instance.project_id,
                                    ProjectUsage(instance.project_id, start, stop))
        usage.servers.append(server_usage(instance, start, stop, now))
    return list(projects.values())
