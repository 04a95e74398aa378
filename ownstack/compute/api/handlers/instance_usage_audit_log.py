"""``/os-instance_usage_audit_log``: Nova's usage audit log, admin only, at every
microversion.

- ``GET /os-instance_usage_audit_log``: the log of the last audit period (a month) that
  ended before now;
- ``GET /os-instance_usage_audit_log/{before_timestamp}``: the same, before the time
  given as ``YYYY-MM-DD HH:MM:SS[.ffffff]`` (anything else is Nova's 400).

ownstack runs no usage audit (see :mod:`ownstack.compute.objects.usage_audit`): the log is
what Nova answers with its audit task off, every compute host not run. Query parameters
are ignored, as Nova's schema does before 2.102.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

from starlette.responses import Response

from ownstack.common.api.app import json_response
from ownstack.common.errors import BadRequest
from ownstack.compute.objects.usage_audit import AuditLog, PeriodOutOfRange, audit_log
from ownstack.compute.state import Req

_RULE: Final = "os_compute_api:os-instance-usage-audit-log:"


def audit_log_view(log: AuditLog) -> dict[str, Any]:
    not_run = log.hosts_not_run
    errors = sum(int(str(entry["errors"])) for entry in log.log.values())
    instances = sum(int(str(entry["instances"])) for entry in log.log.values())
    done = log.hosts_done
    share = "ALL" if done == len(log.hosts) else f"{done} of {len(log.hosts)}"
    return {"period_beginning": str(log.begin), "period_ending": str(log.end),
            "num_hosts": len(log.hosts), "num_hosts_done": done,
            "num_hosts_running": log.hosts_running, "num_hosts_not_run": len(not_run),
            "hosts_not_run": not_run, "total_instances": instances,
            "total_errors": errors, "overall_status": f"{share} hosts done. {errors} errors.",
            "log": log.log}


def _before(text: str) -> datetime:
    """Nova's two formats, read as Nova reads them (``strptime``)."""
    shape = "%Y-%m-%d %H:%M:%S.%f" if "." in text else "%Y-%m-%d %H:%M:%S"
    try:
        return datetime.strptime(text, shape)
    except ValueError:
        raise BadRequest(f"Invalid timestamp for date {text}") from None


async def _view(req: Req, before: datetime, text: str) -> dict[str, Any]:
    async with req.svc.read() as db:
        try:
            log = await audit_log(db, before)
        except PeriodOutOfRange:
            # The month before year 1's January: Nova fails with a 500 here.
            raise BadRequest(f"Invalid timestamp for date {text}") from None
    return audit_log_view(log)


async def list_audit_logs(req: Req) -> Response:
    req.svc.enforce(req.ctx, _RULE + "list", {})
    now = datetime.now(UTC).replace(tzinfo=None)     # naive UTC, as Nova's periods are
    return json_response({"instance_usage_audit_logs": await _view(req, now, str(now))})


async def show_audit_log(req: Req) -> Response:
    req.svc.enforce(req.ctx, _RULE + "show", {})
    text = req.params["before_timestamp"]
    return json_response({"instance_usage_audit_log": await _view(req, _before(text),
                                                                  text)})
