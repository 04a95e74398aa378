"""``/resource_providers/{uuid}/usages`` and ``/usages`` (1.9+)."""

from __future__ import annotations

from starlette.responses import Response

from ownstack.common.api.app import json_response
from ownstack.common.api.schema import Validator
from ownstack.placement.api import common, views
from ownstack.placement.api.schemas import usage as schema
from ownstack.placement.objects.providers import get_provider
from ownstack.placement.objects.usages import project_usages, provider_usages
from ownstack.placement.state import Req

_GET_1_9 = Validator(schema.GET_1_9)
_GET_1_38 = Validator(schema.GET_1_38)


async def list_provider_usages(req: Req) -> Response:
    common.allow_read(req, "placement:resource_providers:usages")
    async with req.svc.read() as db:
        provider = await get_provider(db, req.params["uuid"])
        usages = await provider_usages(db, req.svc.names, provider.id)
    return json_response(views.provider_usages(provider, usages),
                         headers=common.cache_headers(req))


async def total_usages(req: Req) -> Response:
    version = common.require_version(req, "1.9")
    by_type = common.at_least(version, "1.38")
    params = common.query(req, _GET_1_38 if by_type else _GET_1_9)
    req.svc.enforce(req.ctx, "placement:usages", {"project_id": params["project_id"]})
    common.check_accept(req)
    async with req.svc.read() as db:
        usages = await project_usages(db, req.svc.names, params["project_id"],
                                      params.get("user_id"), by_type=by_type,
                                      consumer_type=params.get("consumer_type"))
    return json_response({"usages": usages}, headers=common.cache_headers(req))
