"""The service catalog: ``/v3/regions``, ``/v3/services`` and ``/v3/endpoints``, plain
nouns (see :mod:`.crud`)."""

from __future__ import annotations

from starlette.responses import Response

from ownstack.identity.api import views
from ownstack.identity.api.handlers.crud import Noun
from ownstack.identity.api.schemas import catalog as schema
from ownstack.identity.objects import catalog
from ownstack.identity.state import Req

REGION = Noun("region", views.region, schema.CREATE_REGION, schema.UPDATE_REGION,
              find=catalog.list_regions, get=catalog.get_region, add=catalog.create_region,
              change=catalog.update_region, remove=catalog.delete_region,
              filters=("parent_region_id",))
list_regions, show_region, create_region = REGION.list, REGION.show, REGION.create
update_region, delete_region = REGION.update, REGION.delete


async def put_region(req: Req) -> Response:
    """``PUT /v3/regions/{id}``: create a region with the id the client chose."""
    req.svc.enforce(req.ctx, "identity:create_region")
    data = await REGION.body(req, schema.CREATE_REGION)
    async with req.svc.write() as db:
        region = await catalog.create_region(db, data, region_id=req.params["region_id"])
    return REGION.answer(req, region, status=201)


SERVICE = Noun("service", views.service, schema.CREATE_SERVICE, schema.UPDATE_SERVICE,
               find=catalog.list_services, get=catalog.get_service, add=catalog.create_service,
               change=catalog.update_service, remove=catalog.delete_service,
               filters=("type", "name"), flags=("enabled",))
list_services, show_service, create_service = SERVICE.list, SERVICE.show, SERVICE.create
update_service, delete_service = SERVICE.update, SERVICE.delete

ENDPOINT = Noun("endpoint", views.endpoint, schema.CREATE_ENDPOINT, schema.UPDATE_ENDPOINT,
                find=catalog.list_endpoints, get=catalog.get_endpoint,
                add=catalog.create_endpoint, change=catalog.update_endpoint,
                remove=catalog.delete_endpoint,
                filters=("service_id", "interface", "region_id"), flags=("enabled",))
list_endpoints, show_endpoint, create_endpoint = ENDPOINT.list, ENDPOINT.show, ENDPOINT.create
update_endpoint, delete_endpoint = ENDPOINT.update, ENDPOINT.delete
