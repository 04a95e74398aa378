"""``POST /reshaper`` (1.30+): move inventory and allocations in one transaction."""

from __future__ import annotations

from starlette.responses import Response

from ownstack.common.api.app import empty_response
from ownstack.common.api.schema import Validator
from ownstack.common.errors import BadRequest
from ownstack.placement.api import common
from ownstack.placement.api.handlers.allocations import consumer_write
from ownstack.placement.api.schemas import reshaper as schema
from ownstack.placement.errors import RESOURCE_PROVIDER_NOT_FOUND, ProviderNotFound
from ownstack.placement.objects.inventories import InventoryRecord, check_capacity
from ownstack.placement.objects.providers import get_provider
from ownstack.placement.objects.reshaper import reshape
from ownstack.placement.state import Req

_POST = (("1.38", Validator(schema.POST_1_38)), ("1.34", Validator(schema.POST_1_34)),
         ("1.30", Validator(schema.POST_1_30)))


async def post_reshaper(req: Req) -> Response:
    version = common.allow(req, "placement:reshaper:reshape", since="1.30")
    data = await common.body(req, common.pick(version, _POST))
    writes = [await consumer_write(req, common.uuid_or_400(consumer, "consumer_uuid"), value,
                                   version) for consumer, value in data["allocations"].items()]
    async with req.svc.write() as db:
        inventories = []
        for rp_uuid, inventory in data["inventories"].items():
            try:
                provider = await get_provider(db, rp_uuid)
            except ProviderNotFound as exc:
                raise BadRequest(f"Resource provider {rp_uuid} in inventories not found: "
                                 f"{exc.message}", code=RESOURCE_PROVIDER_NOT_FOUND) from None
            records = [InventoryRecord.from_body(rc, values)
                       for rc, values in inventory["inventories"].items()]
            check_capacity(provider, records, zero_allowed=True)
            inventories.append((provider, inventory["resource_provider_generation"], records))
        await reshape(db, req.svc.names, inventories, writes)
    return empty_response(204)
