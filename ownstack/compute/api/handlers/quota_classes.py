"""``/os-quota-class-sets/{quota_class}``: the admin reads and sets a quota class's limits.

As in Nova, only the ``default`` class has effect: its limits are the defaults of every
project without its own override, at every check (decision 62). Any other class name is
kept and shown, and applies to no project.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from ownstack.common.api.app import json_response
from ownstack.common.errors import BadRequest
from ownstack.compute.api.common import body, version_of
from ownstack.compute.api.schemas import quota_sets as schemas
from ownstack.compute.api.views import quota_sets as views
from ownstack.compute.objects import quotas
from ownstack.compute.state import Req

_RULE = "os_compute_api:os-quota-class-sets:"
# The length of the class name column.
MAX_CLASS_NAME = 255


def _quota_class(req: Req, rule: str) -> str:
    quota_class = req.params["quota_class"]
    req.svc.enforce(req.ctx, _RULE + rule, {"quota_class": quota_class})
    return quota_class


async def show_quota_class_set(req: Req) -> Response:
    quota_class = _quota_class(req, "show")
    async with req.svc.read() as db:
        limits = await quotas.class_limits(db, req.svc.config.compute.quota, quota_class)
    return json_response({"quota_class_set": {
        "id": quota_class, **views.quota_class_set(version_of(req), limits)}})


async def update_quota_class_set(req: Req) -> Response:
    version = version_of(req)
    quota_class = _quota_class(req, "update")
    data: dict[str, Any] = (await body(req, schemas.UPDATE_CLASS(version)))["quota_class_set"]
    if len(quota_class) > MAX_CLASS_NAME:
        raise BadRequest(f"Quota class name is longer than {MAX_CLASS_NAME} characters.")
    values = {name: int(value) for name, value in data.items() if name != "networks"}
    config = req.svc.config.compute.quota
    async with req.svc.write() as db:
        await quotas.set_class_limits(db, quota_class, values)
        limits = await quotas.class_limits(db, config, quota_class)
    # Nova's answer to an update has no id.
    return json_response({"quota_class_set": views.quota_class_set(version, limits)})
