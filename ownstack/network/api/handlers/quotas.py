"""``/v2.0/quotas``: Neutron's quota API (the ``quotas`` and ``quota_details`` extensions).

A project reads its own limits without any rule; another project's need ``get_quota``
(admin), its details an admin (Neutron's ``AdminRequired``). Only an admin changes or
resets limits; a new limit below what the project already uses is refused unless the
body says ``"force": true``.
"""

from __future__ import annotations

from typing import Any, Final

from starlette.responses import Response

from ownstack.common.api.app import empty_response, json_response
from ownstack.common.api.schema import Validator
from ownstack.common.errors import BadRequest
from ownstack.network.errors import (
    AdminRequired,
    InvalidInput,
    QuotaMissingTenant,
    TenantQuotaNotFound,
)
from ownstack.network.objects import quotas
from ownstack.network.state import Req

MAX_LIMIT: Final = 2**31 - 1

_UPDATE = Validator({
    "type": "object",
    "properties": {"quota": {"type": "object"}},
    "required": ["quota"],
    "additionalProperties": False,
})


def _check_reader(req: Req, project_id: str) -> None:
    if project_id != req.ctx.project_id:
        req.svc.enforce(req.ctx, "get_quota", {"project_id": project_id})


async def list_quotas(req: Req) -> Response:
    """The projects whose limits differ from the defaults, each with all its limits."""
    req.svc.enforce(req.ctx, "get_quota", {"project_id": req.ctx.project_id})
    async with req.svc.read() as db:
        found = []
        for project_id in await quotas.projects_with_quotas(db):
            limits = await quotas.limits(db, req.svc.settings, project_id)
            found.append({**limits, "project_id": project_id, "tenant_id": project_id})
    return json_response({"quotas": found})


async def show_quota(req: Req) -> Response:
    project_id = req.params["project_id"]
    _check_reader(req, project_id)
    async with req.svc.read() as db:
        limits = await quotas.limits(db, req.svc.settings, project_id)
    return json_response({"quota": limits})


async def show_default_quota(req: Req) -> Response:
    _check_reader(req, req.params["project_id"])
    return json_response({"quota": quotas.default_limits(req.svc.settings)})


async def show_quota_details(req: Req) -> Response:
    project_id = req.params["project_id"]
    if project_id != req.ctx.project_id and not req.ctx.is_admin:
        raise AdminRequired("Only admin is authorized to access quotas for another project")
    async with req.svc.read() as db:
        details = await quotas.detailed(db, req.svc.settings, project_id)
    return json_response({"quota": details})


async def update_quota(req: Req) -> Response:
    project_id = req.params["project_id"]
    req.svc.enforce(req.ctx, "update_quota", {"project_id": project_id})
    body: dict[str, Any] = (await req.json(_UPDATE))["quota"]
    force = body.pop("force", None)
    body.pop("check_limit", None)           # Neutron always checks now; the flag is ignored
    values = _limits(req, body)
    async with req.svc.write() as db:
        if force is not True:
            await quotas.check_not_below_usage(db, project_id, values)
        await quotas.set_limits(db, project_id, values)
        limits = await quotas.limits(db, req.svc.settings, project_id)
    return json_response({"quota": limits})


async def delete_quota(req: Req) -> Response:
    project_id = req.params["project_id"]
    req.svc.enforce(req.ctx, "delete_quota", {"project_id": project_id})
    async with req.svc.write() as db:
        if not await quotas.reset(db, project_id):
            raise TenantQuotaNotFound(project_id)
    return empty_response(204)


async def show_own_project(req: Req) -> Response:
    """``GET /v2.0/quotas/project`` (and the older ``/tenant``): the caller's project."""
    if not req.ctx.project_id:
        raise QuotaMissingTenant()
    key = "tenant" if req.request.url.path.rstrip("/").endswith("/tenant") else "project"
    return json_response({key: {f"{key}_id": req.ctx.project_id}})


def _limits(req: Req, body: dict[str, Any]) -> dict[str, int]:
    """The new limits, as Neutron converts and checks them: known resources, integers
    (or strings of them) from -1 up."""
    known = quotas.resources(req.svc.settings)
    unknown = sorted(name for name in body if name not in known)
    if unknown:
        raise BadRequest(f"Unrecognized attribute(s) '{', '.join(unknown)}'")
    values: dict[str, int] = {}
    for name, raw in body.items():
        value = _as_int(raw)
        if value is None:
            raise InvalidInput(f"'{raw}' is not an integer")
        if value < quotas.UNLIMITED:
            raise BadRequest(f"Invalid input for {name}. Reason: '{value}' is too small - "
                             "must be at least '-1'.")
        if value > MAX_LIMIT:
            raise BadRequest(f"Invalid input for {name}. Reason: '{value}' is too large - "
                             f"must be no larger than '{MAX_LIMIT}'.")
        values[name] = value
    return values


def _as_int(raw: object) -> int | None:
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw
    if isinstance(raw, str):
        try:
            return int(raw.strip())
        except ValueError:
            return None
    return None
