"""``/resource_providers/{uuid}/aggregates`` (1.1+; generation-checked from 1.19)."""

from __future__ import annotations

from starlette.responses import Response

from ownstack.common.api.app import json_response
from ownstack.common.api.schema import Validator
from ownstack.placement.api import common, views
from ownstack.placement.api.schemas import aggregate as schema
from ownstack.placement.objects.aggregates import provider_aggregates, set_provider_aggregates
from ownstack.placement.objects.providers import Provider, get_provider
from ownstack.placement.state import Req

_PUT_1_1 = Validator(schema.PUT_1_1)
_PUT_1_19 = Validator(schema.PUT_1_19)


def _response(req: Req, provider: Provider, aggregates: list[str]) -> Response:
    return json_response(views.provider_aggregates(provider, aggregates, common.version_of(req)),
                         headers=common.cache_headers(req))


async def list_aggregates(req: Req) -> Response:
    common.allow_read(req, "placement:resource_providers:aggregates:list", since="1.1")
    async with req.svc.read() as db:
        provider = await get_provider(db, req.params["uuid"])
        aggregates = await provider_aggregates(db, provider.id)
    return _response(req, provider, aggregates)


async def set_aggregates(req: Req) -> Response:
    version = common.allow(req, "placement:resource_providers:aggregates:update", since="1.1")
    with_generation = common.at_least(version, "1.19")
    data = await common.body(req, _PUT_1_19 if with_generation else _PUT_1_1)
    aggregates, generation = ((data["aggregates"], data["resource_provider_generation"])
                              if with_generation else (data, None))
    async with req.svc.write() as db:
        provider = await get_provider(db, req.params["uuid"])
        await set_provider_aggregates(db, provider, aggregates, generation)
    return _response(req, provider, aggregates)
