"""``/resource_providers`` and ``/resource_providers/{uuid}``."""

from __future__ import annotations

import uuid as uuidlib

from starlette.responses import Response

from ownstack.common.api.app import empty_response, json_response
from ownstack.common.api.schema import Validator
from ownstack.placement.api import common, views
from ownstack.placement.api.request_groups import parse_provider_filters
from ownstack.placement.api.schemas import resource_provider as schema
from ownstack.placement.objects import providers as rps
from ownstack.placement.objects.provider_filters import find_providers
from ownstack.placement.state import Req

_POST = ((("1.14", Validator(schema.POST_1_14)), ("1.0", Validator(schema.POST_1_0))))
_PUT = ((("1.14", Validator(schema.PUT_1_14)), ("1.0", Validator(schema.PUT_1_0))))
_LIST = (("1.18", Validator(schema.LIST_1_18)), ("1.14", Validator(schema.LIST_1_14)),
         ("1.4", Validator(schema.LIST_1_4)), ("1.3", Validator(schema.LIST_1_3)),
         ("1.0", Validator(schema.LIST_1_0)))


async def list_resource_providers(req: Req) -> Response:
    version = common.allow_read(req, "placement:resource_providers:list")
    params = common.query(req, common.pick(version, _LIST))
    wanted = parse_provider_filters(req.query, version)
    async with req.svc.read() as db:
        found = await find_providers(db, req.svc.names, wanted, name=params.get("name"),
                                     uuid=params.get("uuid"))
    return json_response({"resource_providers": [views.provider(p, version) for p in found]},
                         headers=common.cache_headers(req, (p.modified for p in found)))


async def create_resource_provider(req: Req) -> Response:
    req.svc.enforce(req.ctx, "placement:resource_providers:create")
    version = common.version_of(req)
    data = await common.body(req, common.pick(version, _POST))
    rp_uuid = str(uuidlib.UUID(data["uuid"])) if data.get("uuid") else str(uuidlib.uuid4())
    parent = data.get("parent_provider_uuid")
    async with req.svc.write() as db:
        provider = await rps.create_provider(
            db, rp_uuid, data["name"], str(uuidlib.UUID(parent)) if parent else None)
    headers = {"Location": common.rp_url(provider.uuid)}
    if common.at_least(version, "1.20"):
        return json_response(views.provider(provider, version), headers={
            **headers, **common.cache_headers(req, [provider.modified])})
    return empty_response(201, headers=headers)


async def show_resource_provider(req: Req) -> Response:
    version = common.allow_read(req, "placement:resource_providers:show")
    async with req.svc.read() as db:
        provider = await rps.get_provider(db, req.params["uuid"])
    return json_response(views.provider(provider, version),
                         headers=common.cache_headers(req, [provider.modified]))


async def update_resource_provider(req: Req) -> Response:
    req.svc.enforce(req.ctx, "placement:resource_providers:update")
    version = common.version_of(req)
    data = await common.body(req, common.pick(version, _PUT))
    async with req.svc.write() as db:
        provider = await rps.get_provider(db, req.params["uuid"])
        if data.get("parent_provider_uuid"):
            data["parent_provider_uuid"] = str(uuidlib.UUID(data["parent_provider_uuid"]))
        provider = await rps.update_provider(db, provider, data,
                                             allow_reparenting=common.at_least(version, "1.37"))
    return json_response(views.provider(provider, version),
                         headers=common.cache_headers(req, [provider.modified]))


async def delete_resource_provider(req: Req) -> Response:
    req.svc.enforce(req.ctx, "placement:resource_providers:delete")
    async with req.svc.write() as db:
        provider = await rps.get_provider(db, req.params["uuid"])
        await rps.delete_provider(db, provider)
    return empty_response(204)
