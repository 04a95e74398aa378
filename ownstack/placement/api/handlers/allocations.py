"""``/allocations/{consumer_uuid}``, ``POST /allocations`` (1.13+) and
``/resource_providers/{uuid}/allocations``."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from ownstack.common.api.app import empty_response, json_response
from ownstack.common.api.microversion import Version
from ownstack.common.api.schema import Validator
from ownstack.placement.api import views
from ownstack.placement.api.common import (
    at_least,
    body,
    cache_headers,
    check_accept,
    pick,
    require_version,
    uuid_or_400,
    version_of,
)
from ownstack.placement.api.schemas import allocation as schema
from ownstack.placement.objects import allocations as allocs
from ownstack.placement.objects.allocations import ConsumerWrite
from ownstack.placement.objects.providers import get_provider
from ownstack.placement.state import Req

_PUT = (("1.38", Validator(schema.PUT_1_38)), ("1.34", Validator(schema.PUT_1_34)),
        ("1.28", Validator(schema.PUT_1_28)), ("1.12", Validator(schema.PUT_1_12)),
        ("1.8", Validator(schema.PUT_1_8)), ("1.0", Validator(schema.PUT_1_0)))
_POST = (("1.38", Validator(schema.POST_1_38)), ("1.34", Validator(schema.POST_1_34)),
         ("1.28", Validator(schema.POST_1_28)), ("1.13", Validator(schema.POST_1_13)))


async def consumer_write(req: Req, consumer_uuid: str, data: dict[str, Any], version: Version
                 ) -> ConsumerWrite:
    allocations = data["allocations"]
    if not at_least(version, "1.12"):
        allocations = {a["resource_provider"]["uuid"]: {"resources": a["resources"]}
                       for a in allocations}
    return ConsumerWrite(
        uuid=consumer_uuid,
        project_id=data.get("project_id") or allocs.INCOMPLETE_PROJECT,
        user_id=data.get("user_id") or allocs.INCOMPLETE_USER,
        allocations={uuid_or_400(rp, "resource provider uuid"): dict(value["resources"])
                     for rp, value in allocations.items()},
        generation=data.get("consumer_generation"),
        check_generation=at_least(version, "1.28"),
        consumer_type_id=(await req.svc.names.consumer_type_id(req.svc, data["consumer_type"])
                          if data.get("consumer_type") else None))


async def show_consumer_allocations(req: Req) -> Response:
    req.svc.enforce(req.ctx, "placement:allocations:list")
    check_accept(req)
    version = version_of(req)
    async with req.svc.read() as db:
        found = await allocs.consumer_allocations(db, req.svc.names, req.params["consumer_uuid"])
    return json_response(views.consumer_allocations(found, version),
                         headers=cache_headers(version, found.modified))


async def set_consumer_allocations(req: Req) -> Response:
    req.svc.enforce(req.ctx, "placement:allocations:update")
    version = version_of(req)
    consumer_uuid = uuid_or_400(req.params["consumer_uuid"], "consumer_uuid")
    write = await consumer_write(req, consumer_uuid, await body(req, pick(version, _PUT)), version)
    async with req.svc.write() as db:
        await allocs.replace_allocations(db, req.svc.names, [write])
    return empty_response(204)


async def set_allocations(req: Req) -> Response:
    version = require_version(req, "1.13")
    req.svc.enforce(req.ctx, "placement:allocations:manage")
    data = await body(req, pick(version, _POST))
    writes = [await consumer_write(req, uuid_or_400(consumer, "consumer_uuid"), value, version)
              for consumer, value in data.items()]
    async with req.svc.write() as db:
        await allocs.replace_allocations(db, req.svc.names, writes)
    return empty_response(204)


async def delete_consumer_allocations(req: Req) -> Response:
    req.svc.enforce(req.ctx, "placement:allocations:delete")
    async with req.svc.write() as db:
        await allocs.delete_consumer_allocations(db, req.params["consumer_uuid"])
    return empty_response(204)


async def list_provider_allocations(req: Req) -> Response:
    req.svc.enforce(req.ctx, "placement:resource_providers:allocations:list")
    check_accept(req)
    version = version_of(req)
    async with req.svc.read() as db:
        provider = await get_provider(db, req.params["uuid"])
        found, modified = await allocs.provider_allocations(db, req.svc.names, provider.id)
    return json_response(views.provider_allocations(provider, found, version),
                         headers=cache_headers(version, modified))
