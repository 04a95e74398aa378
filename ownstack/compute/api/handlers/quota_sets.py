"""``/os-quota-sets``: a project's compute limits (and a user's within it), their usage,
the defaults; admins change and revert them.

Project ids are not checked against the identity service, as in Nova: any string names a
project, and one with no overrides simply has the defaults.
"""

from __future__ import annotations

from typing import Any, Final

from starlette.responses import Response

from ownstack.common.api.app import empty_response, json_response
from ownstack.common.api.schema import Validator
from ownstack.compute.api.common import Version, at_least, body, version_of
from ownstack.compute.objects import quotas
from ownstack.compute.state import Req

_RULE = "os_compute_api:os-quota-sets:"
_LIMIT: Final = {"type": ["integer", "string"], "pattern": "^-?[0-9]+$", "minimum": -1,
                 "maximum": 2147483647}
_FORCE: Final = {"type": ["boolean", "string"], "enum": [
    True, "True", "TRUE", "true", "1", "ON", "On", "on", "YES", "Yes", "yes",
    False, "False", "FALSE", "false", "0", "OFF", "Off", "off", "NO", "No", "no"]}


def _resources(version: Version) -> list[str]:
    """The resources a quota set names at ``version``, in Nova's order."""
    names = [r for r in quotas.RESOURCES
             if not at_least(version, "2.57") or r not in quotas.INJECTED]
    if not at_least(version, "2.36"):
        names += list(quotas.NETWORK_DEFAULTS)
    return names


def _update_validator(version: Version) -> Validator:
    properties: dict[str, Any] = {name: _LIMIT for name in _resources(version)}
    properties["force"] = _FORCE
    return Validator({"type": "object", "required": ["quota_set"],
                      "additionalProperties": False,
                      "properties": {"quota_set": {"type": "object", "properties": properties,
                                                   "additionalProperties": False}}})


_UPDATE: Final = {step: _update_validator(Version.parse(step))
                  for step in ("2.1", "2.36", "2.57")}


def _target(req: Req, rule: str) -> tuple[str, str | None]:
    project_id, user_id = req.params["project_id"], req.query.get("user_id")
    req.svc.enforce(req.ctx, _RULE + rule, {"project_id": project_id,
                                           "user_id": user_id or req.ctx.user_id})
    return project_id, user_id


def _values(version: Version, limits: dict[str, int]) -> dict[str, int]:
    every = {**limits, **quotas.NETWORK_DEFAULTS}
    return {name: every[name] for name in _resources(version)}


async def show_quota_set(req: Req) -> Response:
    project_id, user_id = _target(req, "show")
    async with req.svc.read() as db:
        limits = await quotas.limits(db, req.svc.config.compute.quota, project_id, user_id)
    return json_response({"quota_set": {"id": project_id,
                                        **_values(version_of(req), limits)}})


async def show_detail(req: Req) -> Response:
    project_id, user_id = _target(req, "detail")
    async with req.svc.read() as db:
        limits = await quotas.limits(db, req.svc.config.compute.quota, project_id, user_id)
        used = await quotas.usage(db, project_id, user_id,
                                  key_pairs_of=user_id or req.ctx.user_id)
    detail = {name: {"in_use": used.get(name, 0), "limit": limit, "reserved": 0}
              for name, limit in _values(version_of(req), limits).items()}
    return json_response({"quota_set": {"id": project_id, **detail}})


async def show_defaults(req: Req) -> Response:
    project_id, _ = _target(req, "defaults")
    defaults = quotas.defaults(req.svc.config.compute.quota)
    return json_response({"quota_set": {"id": project_id,
                                        **_values(version_of(req), defaults)}})


async def update_quota_set(req: Req) -> Response:
    version = version_of(req)
    project_id, user_id = _target(req, "update")
    step = "2.57" if at_least(version, "2.57") else "2.36" if at_least(version, "2.36") \
        else "2.1"
    data: dict[str, Any] = (await body(req, _UPDATE[step]))["quota_set"]
    force = str(data.pop("force", False)).lower() in ("true", "1", "on", "yes")
    # The network resources of old microversions are accepted and have no effect.
    values = {name: int(value) for name, value in data.items()
              if name not in quotas.NETWORK_DEFAULTS}
    config = req.svc.config.compute.quota
    async with req.svc.write() as db:
        await quotas.set_limits(db, config, project_id, user_id, values, force=force)
        limits = await quotas.limits(db, config, project_id, user_id)
    return json_response({"quota_set": _values(version, limits)})


async def revert_quota_set(req: Req) -> Response:
    project_id, user_id = _target(req, "delete")
    async with req.svc.write() as db:
        await quotas.revert_limits(db, project_id, user_id)
    return empty_response(202)
