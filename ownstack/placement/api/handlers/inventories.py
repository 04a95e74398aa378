"""``/resource_providers/{uuid}/inventories`` and ``.../inventories/{resource_class}``."""

from __future__ import annotations

from starlette.responses import Response

from ownstack.common.api.app import empty_response, json_response
from ownstack.common.api.schema import Validator
from ownstack.common.errors import MethodNotAllowed, NotFound
from ownstack.placement.api import common, views
from ownstack.placement.api.schemas import inventory as schema
from ownstack.placement.objects import inventories as inv
from ownstack.placement.objects.inventories import InventoryRecord
from ownstack.placement.objects.providers import get_provider
from ownstack.placement.state import Req

_POST = Validator(schema.POST)
_PUT_ONE = Validator(schema.BASE)
_PUT_ALL = Validator(schema.PUT_ALL)


def _zero_allowed(req: Req) -> bool:
    return common.at_least(common.version_of(req), "1.26")


async def list_inventories(req: Req) -> Response:
    common.allow_read(req, "placement:resource_providers:inventories:list")
    async with req.svc.read() as db:
        provider = await get_provider(db, req.params["uuid"])
        records = await inv.get_inventories(db, req.svc.names, provider)
    return json_response(views.inventories(records, provider), headers=common.cache_headers(
        req, (r.modified for r in records)))


async def show_inventory(req: Req) -> Response:
    common.allow_read(req, "placement:resource_providers:inventories:show")
    resource_class = req.params["resource_class"]
    async with req.svc.read() as db:
        provider = await get_provider(db, req.params["uuid"])
        records = await inv.get_inventories(db, req.svc.names, provider)
    record = next((r for r in records if r.resource_class == resource_class), None)
    if record is None:
        raise NotFound(f"No inventory of class {resource_class} for {provider.uuid}")
    return json_response(views.inventory(record, provider),
                         headers=common.cache_headers(req, [record.modified]))


async def create_inventory(req: Req) -> Response:
    req.svc.enforce(req.ctx, "placement:resource_providers:inventories:create")
    data = await common.body(req, _POST)
    async with req.svc.write() as db:
        provider = await get_provider(db, req.params["uuid"])
        record = InventoryRecord.from_body(data["resource_class"], data)
        inv.check_capacity(provider, [record], zero_allowed=_zero_allowed(req))
        await inv.add_inventory(db, req.svc.names, provider, record)
    return json_response(views.inventory(record, provider), status=201, headers={
        "Location": f"{common.rp_url(provider.uuid)}/inventories/{record.resource_class}",
        **common.cache_headers(req)})


async def set_inventories(req: Req) -> Response:
    req.svc.enforce(req.ctx, "placement:resource_providers:inventories:update")
    data = await common.body(req, _PUT_ALL)
    async with req.svc.write() as db:
        provider = await get_provider(db, req.params["uuid"])
        records = [InventoryRecord.from_body(rc, values)
                   for rc, values in data["inventories"].items()]
        inv.check_capacity(provider, records, zero_allowed=_zero_allowed(req))
        await inv.set_inventories(db, req.svc.names, provider,
                                  data["resource_provider_generation"], records)
    return json_response(views.inventories(records, provider),
                         headers=common.cache_headers(req))


async def update_inventory(req: Req) -> Response:
    req.svc.enforce(req.ctx, "placement:resource_providers:inventories:update")
    data = await common.body(req, _PUT_ONE)
    async with req.svc.write() as db:
        provider = await get_provider(db, req.params["uuid"])
        record = InventoryRecord.from_body(req.params["resource_class"], data)
        inv.check_capacity(provider, [record], zero_allowed=_zero_allowed(req))
        await inv.update_inventory(db, req.svc.names, provider,
                                   data["resource_provider_generation"], record)
    return json_response(views.inventory(record, provider), headers=common.cache_headers(req))


async def delete_inventories(req: Req) -> Response:
    if not common.at_least(common.version_of(req), "1.5"):
        raise MethodNotAllowed("The method specified is not allowed for this resource.",
                               headers={"Allow": "GET, POST, PUT"})
    req.svc.enforce(req.ctx, "placement:resource_providers:inventories:delete")
    async with req.svc.write() as db:
        provider = await get_provider(db, req.params["uuid"])
        await inv.set_inventories(db, req.svc.names, provider, provider.generation, [])
    return empty_response(204)


async def delete_inventory(req: Req) -> Response:
    req.svc.enforce(req.ctx, "placement:resource_providers:inventories:delete")
    async with req.svc.write() as db:
        provider = await get_provider(db, req.params["uuid"])
        await inv.delete_inventory(db, req.svc.names, provider, req.params["resource_class"])
    return empty_response(204)
