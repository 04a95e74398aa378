"""``/os-quota-sets``: a project's compute limits (and a user's within it), their usage,
the defaults; admins change and revert them.

Project ids are not checked against the identity service, as in Nova: any string names a
project, and one with no overrides simply has the defaults.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from ownstack.common.api.app import empty_response, json_response
from ownstack.common.booleans import bool_from_string
from ownstack.compute.api.common import body, version_of
from ownstack.compute.api.schemas import quota_sets as schemas
from ownstack.compute.api.views import quota_sets as views
from ownstack.compute.objects import quotas
from ownstack.compute.state import Req

_RULE = "os_compute_api:os-quota-sets:"


def _target(req: Req, rule: str) -> tuple[str, str | None]:
    project_id, user_id = req.params["project_id"], req.query.get("user_id")
    req.svc.enforce(req.ctx, _RULE + rule, {"project_id": project_id,
                                           "user_id": user_id or req.ctx.user_id})
    return project_id, user_id


async def show_quota_set(req: Req) -> Response:
    project_id, user_id = _target(req, "show")
    async with req.svc.read() as db:
        limits = await quotas.limits(db, req.svc.config.compute.quota, project_id, user_id)
    return json_response({"quota_set": {"id": project_id,
                                        **views.quota_set(version_of(req), limits)}})


async def show_detail(req: Req) -> Response:
    project_id, user_id = _target(req, "detail")
    async with req.svc.read() as db:
        limits = await quotas.limits(db, req.svc.config.compute.quota, project_id, user_id)
        used = await quotas.usage(db, project_id, user_id,
                                  key_pairs_of=user_id or req.ctx.user_id)
    detail = views.quota_set_detail(version_of(req), limits, used)
    return json_response({"quota_set": {"id": project_id, **detail}})


async def show_defaults(req: Req) -> Response:
    project_id, _ = _target(req, "defaults")
    async with req.svc.read() as db:
        defaults = await quotas.defaults(db, req.svc.config.compute.quota)
    return json_response({"quota_set": {"id": project_id,
                                        **views.quota_set(version_of(req), defaults)}})


async def update_quota_set(req: Req) -> Response:
    version = version_of(req)
    project_id, user_id = _target(req, "update")
    data: dict[str, Any] = (await body(req, schemas.UPDATE(version)))["quota_set"]
    force = bool_from_string(data.pop("force", False))
    # The network resources of old microversions are accepted and have no effect.
    values = {name: int(value) for name, value in data.items()
              if name not in quotas.NETWORK_DEFAULTS}
    config = req.svc.config.compute.quota
    async with req.svc.write() as db:
        await quotas.set_limits(db, config, project_id, user_id, values, force=force)
        limits = await quotas.limits(db, config, project_id, user_id)
    return json_response({"quota_set": views.quota_set(version, limits)})


async def revert_quota_set(req: Req) -> Response:
    project_id, user_id = _target(req, "delete")
    async with req.svc.write() as db:
        await quotas.revert_limits(db, project_id, user_id)
    return empty_response(202)
