"""Nova's instance usage audit log, as Nova answers it with its audit task off.

Nova's compute nodes write a ``task_log`` row per audit period when
``[DEFAULT]instance_usage_audit`` is on (it is off by default): the task sends one
``compute.instance.exists`` notification per instance for the billing systems that listen.
ownstack sends no such notifications, so it runs no audit and keeps no task log: every
compute host is one that has not run the audit in the period, which is what Nova reports
with the task off. The period is Nova's default ``instance_usage_audit_period``, a month.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from ownstack.compute.objects.hosts import list_services
from ownstack.compute.rpc import COMPUTE_BINARY


class PeriodOutOfRange(ValueError):
    """The period before the given time would start before year 1."""


def last_completed_period(before: datetime) -> tuple[datetime, datetime]:
    """The last whole month that ended before ``before`` (naive UTC): Nova's
    ``last_completed_audit_period`` for the period ``month``. A month ends at midnight of
    the 1st, so a ``before`` of exactly that midnight is still in the month before."""
    try:
        end = datetime(before.year, before.month, 1)
        if end >= before:
            end = _month_before(end)
        return _month_before(end), end
    except ValueError:
        raise PeriodOutOfRange(str(before)) from None


def _month_before(moment: datetime) -> datetime:
    if moment.month == 1:
        return datetime(moment.year - 1, 12, 1)
    return datetime(moment.year, moment.month - 1, 1)


@dataclass
class AuditLog:
    begin: datetime
    end: datetime
    hosts: list[str]
    # Per host, what its audit task recorded (state, instances, errors, message): none.
    log: dict[str, dict[str, object]] = field(default_factory=dict)

    @property
    def hosts_not_run(self) -> list[str]:
        return sorted(set(self.hosts) - set(self.log))

    @property
    def hosts_done(self) -> int:
        return sum(1 for entry in self.log.values() if entry["state"] == "DONE")

    @property
    def hosts_running(self) -> int:
        return sum(1 for entry in self.log.values() if entry["state"] == "RUNNING")


async def audit_log(db: AsyncSession, before: datetime) -> AuditLog:
    """The audit log of the last period completed before ``before``: every compute host
    (disabled ones too, which may hold instances, as Nova counts them)."""
    begin, end = last_completed_period(before)
    services = await list_services(db, binary=COMPUTE_BINARY)
    return AuditLog(begin, end, sorted({service.host for service in services}))
