"""``/resource_providers/{uuid}/aggregates`` (1.1+; generation-checked from 1.19)."""

from __future__ import annotations

from starlette.responses import Response

from ownstack.common.api.app import json_response
from ownstack.common.api.microversion import Version
from ownstack.common.api.schema import Validator
from ownstack.placement.api import views
from ownstack.placement.api.common import (
    at_least,
    body,
    cache_headers,
    check_accept,
    require_version,
)
from ownstack.placement.api.schemas import aggregate as schema
from ownstack.placement.objects.aggregates import provider_aggregates, set_provider_aggregates
from ownstack.placement.objects.providers import Provider, get_provider
from ownstack.placement.state import Req

_PUT_1_1 = Validator(schema.PUT_1_1)
_PUT_1_19 = Validator(schema.PUT_1_19)


def _response(provider: Provider, aggregates: list[str], version: Version) -> Response:
    return json_response(views.provider_aggregates(provider, aggregates, version),
                         headers=cache_headers(version))


async def list_aggregates(req: Req) -> Response:
    version = require_version(req, "1.1")
    req.svc.enforce(req.ctx, "placement:resource_providers:aggregates:list")
    check_accept(req)
    async with req.svc.read() as db:
        provider = await get_provider(db, req.params["uuid"])
        aggregates = await provider_aggregates(db, provider.id)
    return _response(provider, aggregates, version)


async def set_aggregates(req: Req) -> Response:
    version = require_version(req, "1.1")
    req.svc.enforce(req.ctx, "placement:resource_providers:aggregates:update")
    with_generation = at_least(version, "1.19")
    data = await body(req, _PUT_1_19 if with_generation else _PUT_1_1)
    aggregates, generation = ((data["aggregates"], data["resource_provider_generation"])
                              if with_generation else (data, None))
    async with req.svc.write() as db:
        provider = await get_provider(db, req.params["uuid"])
        await set_provider_aggregates(db, provider, aggregates, generation)
    return _response(provider, aggregates, version)
