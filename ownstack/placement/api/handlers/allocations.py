"""``/allocations/{consumer_uuid}``, ``POST /allocations`` (1.13+) and
``/resource_providers/{uuid}/allocations``."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from ownstack.common.api.app import empty_response, json_response
from ownstack.common.api.microversion import Version
from ownstack.common.api.schema import Validator
from ownstack.placement.api import common, views
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
    if not common.at_least(version, "1.12"):
        allocations = {a["resource_provider"]["uuid"]: {"resources": a["resources"]}
                       for a in allocations}
    return ConsumerWrite(
        uuid=consumer_uuid,
        project_id=data.get("project_id") or allocs.INCOMPLETE_PROJECT,
        user_id=data.get("user_id") or allocs.INCOMPLETE_USER,
        allocations={common.uuid_or_400(rp, "resource provider uuid"): dict(value["resources"])
                     for rp, value in allocations.items()},
        generation=data.get("consumer_generation"),
        check_generation=common.at_least(version, "1.28"),
        consumer_type_id=(await req.svc.names.consumer_type_id(req.svc, data["consumer_type"])
                          if data.get("consumer_type") else None))


async def show_consumer_allocations(req: Req) -> Response:
    version = common.allow_read(req, "placement:allocations:list")
    async with req.svc.read() as db:
        found = await allocs.consumer_allocations(db, req.svc.names, req.params["consumer_uuid"])
    return json_response(views.consumer_allocations(found, version),
                         headers=common.cache_headers(req, found.modified))


async def set_consumer_allocations(req: Req) -> Response:
    req.svc.enforce(req.ctx, "placement:allocations:update")
    version = common.version_of(req)
    consumer_uuid = common.uuid_or_400(req.params["consumer_uuid"], "consumer_uuid")
    data = await common.body(req, common.pick(version, _PUT))
    write = await consumer_write(req, consumer_uuid, data, version)
    async with req.svc.db.plain_write() as db:
        await allocs.replace_allocations(db, req.svc.names, [write])
    return empty_response(204)


async def set_allocations(req: Req) -> Response:
    version = common.allow(req, "placement:allocations:manage", since="1.13")
    data = await common.body(req, common.pick(version, _POST))
    writes = [await consumer_write(req, common.uuid_or_400(consumer, "consumer_uuid"), value,
                                   version) for consumer, value in data.items()]
    async with req.svc.db.plain_write() as db:
        await allocs.replace_allocations(db, req.svc.names, writes)
    return empty_response(204)


async def delete_consumer_allocations(req: Req) -> Response:
    req.svc.enforce(req.ctx, "placement:allocations:delete")
    async with req.svc.write() as db:
        await allocs.delete_consumer_allocations(db, req.params["consumer_uuid"])
    return empty_response(204)


async def list_provider_allocations(req: Req) -> Response:
    version = common.allow_read(req, "placement:resource_providers:allocations:list")
    async with req.svc.read() as db:
        provider = await get_provider(db, req.params["uuid"])
        found, modified = await allocs.provider_allocations(db, req.svc.names, provider.id)
    return json_response(views.provider_allocations(provider, found, version),
                         headers=common.cache_headers(req, modified))
