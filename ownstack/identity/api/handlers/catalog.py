"""The service catalog: ``/v3/regions``, ``/v3/services`` and ``/v3/endpoints``."""

from __future__ import annotations

from starlette.responses import Response

from ownstack.common.api.app import empty_response, json_response
from ownstack.identity.api import views
from ownstack.identity.api.handlers.common import query_bool
from ownstack.identity.api.schemas import catalog as schema
from ownstack.identity.objects import catalog
from ownstack.identity.state import Req

# --- regions ---------------------------------------------------------------------------

async def list_regions(req: Req) -> Response:
    req.svc.enforce(req.ctx, "identity:list_regions")
    parent = req.query.get("parent_region_id")
    async with req.svc.read() as db:
        found = await catalog.list_regions(db, parent_region_id=parent)
    return json_response(views.collection(req, "regions",
                                          [views.region(req, r) for r in found]))


async def show_region(req: Req) -> Response:
    req.svc.enforce(req.ctx, "identity:get_region")
    async with req.svc.read() as db:
        region = await catalog.get_region(db, req.params["region_id"])
    return json_response({"region": views.region(req, region)})


async def create_region(req: Req) -> Response:
    req.svc.enforce(req.ctx, "identity:create_region")
    data = (await req.json(schema.CREATE_REGION))["region"]
    async with req.svc.write() as db:
        region = await catalog.create_region(db, None, data)
    return json_response({"region": views.region(req, region)}, status=201)


async def put_region(req: Req) -> Response:
    """``PUT /v3/regions/{id}``: create a region with the id the client chose."""
    req.svc.enforce(req.ctx, "identity:create_region")
    data = (await req.json(schema.CREATE_REGION))["region"]
    async with req.svc.write() as db:
        region = await catalog.create_region(db, req.params["region_id"], data)
    return json_response({"region": views.region(req, region)}, status=201)


async def update_region(req: Req) -> Response:
    req.svc.enforce(req.ctx, "identity:update_region")
    data = (await req.json(schema.UPDATE_REGION))["region"]
    async with req.svc.write() as db:
        region = await catalog.update_region(db, req.params["region_id"], data)
    return json_response({"region": views.region(req, region)})


async def delete_region(req: Req) -> Response:
    req.svc.enforce(req.ctx, "identity:delete_region")
    async with req.svc.write() as db:
        await catalog.delete_region(db, req.params["region_id"])
    return empty_response()


# --- services --------------------------------------------------------------------------

async def list_services(req: Req) -> Response:
    req.svc.enforce(req.ctx, "identity:list_services")
    q = req.query
    kind, name, enabled = q.get("type"), q.get("name"), query_bool(req, "enabled")
    async with req.svc.read() as db:
        found = await catalog.list_services(db, type=kind, name=name, enabled=enabled)
    return json_response(views.collection(req, "services",
                                          [views.service(req, s) for s in found]))


async def show_service(req: Req) -> Response:
    req.svc.enforce(req.ctx, "identity:get_service")
    async with req.svc.read() as db:
        service = await catalog.get_service(db, req.params["service_id"])
    return json_response({"service": views.service(req, service)})


async def create_service(req: Req) -> Response:
    req.svc.enforce(req.ctx, "identity:create_service")
    data = (await req.json(schema.CREATE_SERVICE))["service"]
    async with req.svc.write() as db:
        service = await catalog.create_service(db, data)
    return json_response({"service": views.service(req, service)}, status=201)


async def update_service(req: Req) -> Response:
    req.svc.enforce(req.ctx, "identity:update_service")
    data = (await req.json(schema.UPDATE_SERVICE))["service"]
    async with req.svc.write() as db:
        service = await catalog.update_service(db, req.params["service_id"], data)
    return json_response({"service": views.service(req, service)})


async def delete_service(req: Req) -> Response:
    req.svc.enforce(req.ctx, "identity:delete_service")
    async with req.svc.write() as db:
        await catalog.delete_service(db, req.params["service_id"])
    return empty_response()


# --- endpoints -------------------------------------------------------------------------

async def list_endpoints(req: Req) -> Response:
    req.svc.enforce(req.ctx, "identity:list_endpoints")
    q = req.query
    async with req.svc.read() as db:
        found = await catalog.list_endpoints(
            db, service_id=q.get("service_id"), interface=q.get("interface"),
            region_id=q.get("region_id"), enabled=query_bool(req, "enabled"))
    return json_response(views.collection(req, "endpoints",
                                          [views.endpoint(req, e) for e in found]))


async def show_endpoint(req: Req) -> Response:
    req.svc.enforce(req.ctx, "identity:get_endpoint")
    async with req.svc.read() as db:
        endpoint = await catalog.get_endpoint(db, req.params["endpoint_id"])
    return json_response({"endpoint": views.endpoint(req, endpoint)})


async def create_endpoint(req: Req) -> Response:
    req.svc.enforce(req.ctx, "identity:create_endpoint")
    data = (await req.json(schema.CREATE_ENDPOINT))["endpoint"]
    async with req.svc.write() as db:
        endpoint = await catalog.create_endpoint(db, data)
    return json_response({"endpoint": views.endpoint(req, endpoint)}, status=201)


async def update_endpoint(req: Req) -> Response:
    req.svc.enforce(req.ctx, "identity:update_endpoint")
    data = (await req.json(schema.UPDATE_ENDPOINT))["endpoint"]
    async with req.svc.write() as db:
        endpoint = await catalog.update_endpoint(db, req.params["endpoint_id"], data)
    return json_response({"endpoint": views.endpoint(req, endpoint)})


async def delete_endpoint(req: Req) -> Response:
    req.svc.enforce(req.ctx, "identity:delete_endpoint")
    async with req.svc.write() as db:
        await catalog.delete_endpoint(db, req.params["endpoint_id"])
    return empty_response()
