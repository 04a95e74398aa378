"""``/resource_providers/{uuid}/aggregates`` (1.1+; generation-checked from 1.19)."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from ownstack.common.api.app import json_response
from ownstack.common.api.schema import Validator
from ownstack.common.errors import NotFound
from ownstack.placement.api.common import at_least, body, cache_headers, check_accept, version_of
from ownstack.placement.objects.aggregates import provider_aggregates, set_provider_aggregates
from ownstack.placement.objects.providers import Provider, get_provider
from ownstack.placement.schemas import aggregate as schema
from ownstack.placement.state import Req

_PUT_1_1 = Validator(schema.PUT_1_1)
_PUT_1_19 = Validator(schema.PUT_1_19)


def _require_1_1(req: Req) -> None:
    if not at_least(version_of(req), "1.1"):
        raise NotFound("The resource could not be found.")


def _view(req: Req, provider: Provider, aggregates: list[str]) -> Response:
    payload: dict[str, Any] = {"aggregates": aggregates}
    if at_least(version_of(req), "1.19"):
        payload["resource_provider_generation"] = provider.generation
    return json_response(payload, headers=cache_headers(version_of(req)))


async def list_aggregates(req: Req) -> Response:
    _require_1_1(req)
    req.svc.enforce(req.ctx, "placement:resource_providers:aggregates:list")
    check_accept(req)
    async with req.svc.read() as db:
        provider = await get_provider(db, req.params["uuid"])
        aggregates = await provider_aggregates(db, provider.id)
    return _view(req, provider, aggregates)


async def set_aggregates(req: Req) -> Response:
    _require_1_1(req)
    req.svc.enforce(req.ctx, "placement:resource_providers:aggregates:update")
    with_generation = at_least(version_of(req), "1.19")
    data = await body(req, _PUT_1_19 if with_generation else _PUT_1_1)
    aggregates, generation = ((data["aggregates"], data["resource_provider_generation"])
                              if with_generation else (data, None))
    async with req.svc.write() as db:
        provider = await get_provider(db, req.params["uuid"])
        await set_provider_aggregates(db, provider, aggregates, generation)
    return _view(req, provider, aggregates)
