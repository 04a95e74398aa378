"""The operator's view: ``/scheduler-stats/get_pools`` (each volume service's one pool and
what it reported), ``/os-quota-sets`` (a project's limits and usage; the admin
changes them), ``/os-quota-class-sets`` (the admin's defaults) and ``/os-services`` (the
volume agents and the API's ``cinder-scheduler`` rows; the admin disables one)."""

from __future__ import annotations

import re
from typing import Any, NoReturn

from starlette.responses import Response

from ownstack.common.api.app import empty_response, json_response
from ownstack.common.db.base import utcnow
from ownstack.common.errors import BadRequest
from ownstack.volume.api.common import Version, body, query_flag, timestamp, version_of
from ownstack.volume.api.schemas import operator as schemas
from ownstack.volume.api.schemas.parameter_types import in_range
from ownstack.volume.errors import InvalidInput, NotSupported
from ownstack.volume.objects import capabilities, quotas, services, volume_hosts
from ownstack.volume.objects.models import VolumeService
from ownstack.volume.state import Req

_QUOTA = "volume_extension:quotas:"


def _quota_target(req: Req, rule: str) -> str:
    project_id = req.params["target_project_id"]
    req.svc.enforce(req.ctx, _QUOTA + rule, {"project_id": project_id})
    return project_id


async def show_quota_set(req: Req) -> Response:
    project_id = _quota_target(req, "show")
    settings = req.svc.settings.quota
    async with req.svc.read() as db:
        limits = await quotas.limits(db, settings, project_id)
        used = await quotas.usage(db, project_id) if query_flag(req, "usage") else None
    body_: dict[str, Any] = {"id": project_id}
    for name, limit in limits.items():
        body_[name] = limit if used is None else {
            "limit": limit, "in_use": used.get(name, 0), "reserved": 0, "allocated": 0}
    return json_response({"quota_set": body_})


async def show_quota_defaults(req: Req) -> Response:
    project_id = _quota_target(req, "show")
    async with req.svc.read() as db:
        defaults = await quotas.defaults(db, req.svc.settings.quota)
    return json_response({"quota_set": {"id": project_id, **defaults}})


# --- quota classes: only the default class has effect (decision 62) ---------------------

_QUOTA_CLASS = "volume_extension:quota_classes:"
# The length of the class name column.
MAX_CLASS_NAME = 255
_INTEGER = re.compile(r"-?[0-9]{1,10}")


async def show_quota_class_set(req: Req) -> Response:
    req.svc.enforce(req.ctx, _QUOTA_CLASS + "get")
    quota_class = req.params["quota_class"]
    async with req.svc.read() as db:
        limits = await quotas.class_limits(db, req.svc.settings.quota, quota_class)
    return json_response({"quota_class_set": {**limits, "id": quota_class}})


async def update_quota_class_set(req: Req) -> Response:
    req.svc.enforce(req.ctx, _QUOTA_CLASS + "update")
    quota_class = req.params["quota_class"]
    if len(quota_class) > MAX_CLASS_NAME:
        raise InvalidInput(f"quota_class_name has more than {MAX_CLASS_NAME} characters.")
    data: dict[str, Any] = (await body(req, schemas.QUOTA_CLASS_UPDATE))["quota_class_set"]
    settings = req.svc.settings.quota
    async with req.svc.write() as db:
        known = await quotas.class_limits(db, settings, quota_class)
        bad = [name for name in data if name not in known]
        if bad:
            raise InvalidInput(f"Bad key(s) in quota class set: {', '.join(sorted(bad))}")
        values = {}
        for name, value in data.items():
            if isinstance(value, bool) or not isinstance(value, int | str) \
                    or not _INTEGER.fullmatch(str(value)):
                raise InvalidInput(f"{name} must be an integer.")
            values[name] = in_range(value, name, -1)
        await quotas.set_class_limits(db, quota_class, values)
        limits = await quotas.class_limits(db, settings, quota_class)
    # Cinder's answer to an update has no id.
    return json_response({"quota_class_set": limits})


async def update_quota_set(req: Req) -> Response:
    project_id = _quota_target(req, "update")
    data: dict[str, Any] = (await body(req, schemas.QUOTA_UPDATE))["quota_set"]
    values = {name: in_range(value, name, -1) for name, value in data.items()}
    async with req.svc.write() as db:
        await quotas.set_limits(db, project_id, values)
        limits = await quotas.limits(db, req.svc.settings.quota, project_id)
    return json_response({"quota_set": limits})


async def revert_quota_set(req: Req) -> Response:
    project_id = _quota_target(req, "delete")
    async with req.svc.write() as db:
        await quotas.revert_limits(db, project_id)
    return empty_response(200)


# --- services --------------------------------------------------------------------------------

def _service(req: Req, row: VolumeService, version: Version) -> dict[str, Any]:
    settings = req.svc.settings
    up = services.is_up(row, utcnow(), settings.service_down_time)
    body_: dict[str, Any] = {
        "binary": row.binary, "host": services.display_host(row.host, row.backend),
        "zone": row.availability_zone, "status": "disabled" if row.disabled else "enabled",
        "state": "up" if up else "down", "updated_at": timestamp(row.last_seen),
        "disabled_reason": row.disabled_reason}
    volume = row.binary == services.BINARY
    if version >= Version(3, 7):
        body_["cluster"] = None
    # A backend's fields, as Cinder shows them of ``cinder-volume`` services only.
    if version >= Version(3, 49) and volume:
        body_["backend_state"] = "up" if up else "down"
    if volume:
        body_["replication_status"] = "disabled"
        body_["active_backend_id"] = None
        body_["frozen"] = False
    return body_


async def list_pools(req: Req) -> Response:
    """Cinder's ``get_pools``: one pool per volume service (ownstack's backends have one
    each, named as the backend), with ``detail`` the capabilities the scheduler matches
    volume types against (:mod:`~ownstack.volume.objects.capabilities`)."""
    req.svc.enforce(req.ctx, "scheduler_extension:scheduler_stats:get_pools")
    detail = query_flag(req, "detail")
    async with req.svc.read() as db:
        rows = await services.backends(db)
    pools = []
    for row in rows:
        pool: dict[str, Any] = {
            "name": f"{services.display_host(row.host, row.backend)}#{row.backend}"}
        if detail:
            pool["capabilities"] = {**capabilities.of_service(row),
                                    "timestamp": timestamp(row.last_seen)}
        pools.append(pool)
    return json_response({"pools": pools})


async def list_services(req: Req) -> Response:
    req.svc.enforce(req.ctx, "volume_extension:services:index")
    async with req.svc.read() as db:
        rows = await services.list_services(db, host=req.query.get("host"),
                                            binary=req.query.get("binary"))
    version = version_of(req)
    return json_response({"services": [_service(req, row, version) for row in rows]})


async def _refuse_freeze(req: Req, action: str) -> NoReturn:
    """Cinder freezes and thaws the volume services (``cinder-volume``) of the named host
    alone, so a host without one, such as a scheduler's, is its 400 ("No service found
    with host=..."); any other freeze or thaw is not served (no backend here replicates,
    so none has a frozen state to keep)."""
    data: dict[str, Any] = await body(req, schemas.SERVICE_FREEZE)
    host = str(data["host"])
    async with req.svc.read() as db:
        found = volume_hosts.matching(await services.backends(db), host)
    if not found:
        raise InvalidInput(f"No service found with host={host}")
    raise NotSupported(f"os-services/{action}")


async def update_service(req: Req) -> Response:
    req.svc.enforce(req.ctx, "volume_extension:services:update")
    action = req.params["action"]
    if action in ("freeze", "thaw"):
        await _refuse_freeze(req, action)
    if action in ("failover_host", "failover", "set-log", "get-log"):
        raise NotSupported(f"os-services/{action}")
    if action not in ("enable", "disable", "disable-log-reason"):
        raise NotSupported(f"os-services/{action}")
    data: dict[str, Any] = await body(req, schemas.SERVICE_UPDATE)
    disabled = action != "enable"
    reason = data.get("disabled_reason") if action == "disable-log-reason" else None
    if action == "disable-log-reason" and not (reason or "").strip():
        raise BadRequest("Invalid input received: Disabled reason contains invalid "
                         "characters or is too long")
    binary = str(data.get("binary") or services.BINARY)
    async with req.svc.write() as db:
        row = await services.set_disabled(db, str(data["host"]), binary, disabled, reason)
    # Cinder's answer: the binary also as ``service``; the reason except to ``disable``.
    answer: dict[str, Any] = {"host": services.display_host(row.host, row.backend),
                              "binary": row.binary, "service": row.binary,
                              "status": "disabled" if disabled else "enabled",
                              "disabled": disabled}
    if action != "disable":
        answer["disabled_reason"] = reason
    return json_response(answer)
