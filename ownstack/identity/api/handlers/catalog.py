"""The service catalog: ``/v3/regions``, ``/v3/services`` and ``/v3/endpoints``.

Every change goes through ``svc.write()``, which moves the identity revision, so the
token provider renders the new catalog into the next token it builds or validates.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from ownstack.common.api.app import empty_response, json_response
from ownstack.common.api.schema import BOOLEAN, DESCRIPTION, NAME, Validator
from ownstack.common.db.base import new_id
from ownstack.common.errors import BadRequest, Forbidden
from ownstack.identity.api.handlers.common import (
    collection_links,
    extra_attrs,
    get_or_404,
    query_filters,
    self_link,
)
from ownstack.identity.errors import DuplicateEntity
from ownstack.identity.objects.models import Endpoint, Region, Service
from ownstack.identity.state import Req

INTERFACES = ("admin", "internal", "public")

_REGION_ID = {"type": "string", "minLength": 1, "maxLength": 255}
_REGION_FIELDS = {"id": _REGION_ID, "description": DESCRIPTION,
                  "parent_region_id": {"type": ["string", "null"], "maxLength": 255}}
_SERVICE_FIELDS = {"type": NAME, "name": {"type": "string", "maxLength": 255},
                   "description": DESCRIPTION, "enabled": BOOLEAN}
_ENDPOINT_FIELDS = {
    "interface": {"type": "string", "enum": list(INTERFACES)},
    "service_id": {"type": "string", "minLength": 1, "maxLength": 64},
    "region_id": {"type": ["string", "null"], "maxLength": 255},
    "region": {"type": ["string", "null"], "maxLength": 255},   # before v3.2; still sent
    # Keystone's url type: a scheme, a colon, something.
    "url": {"type": "string", "maxLength": 225, "pattern": "^[a-zA-Z0-9+.-]+:.+"},
    "enabled": BOOLEAN,
}


def _body(key: str, fields: dict[str, Any], *, required: tuple[str, ...] = (),
          update: bool = False) -> Validator:
    """Keystone's catalog schemas: named fields typed, any other attribute kept as extra."""
    inner: dict[str, Any] = {"type": "object", "properties": fields}
    if required:
        inner["required"] = list(required)
    if update:
        inner["minProperties"] = 1
    return Validator({"type": "object", "required": [key], "additionalProperties": False,
                      "properties": {key: inner}})


CREATE_REGION = _body("region", _REGION_FIELDS)
UPDATE_REGION = _body("region", _REGION_FIELDS, update=True)
CREATE_SERVICE = _body("service", _SERVICE_FIELDS, required=("type",))
UPDATE_SERVICE = _body("service", _SERVICE_FIELDS, update=True)
CREATE_ENDPOINT = _body("endpoint", _ENDPOINT_FIELDS,
                        required=("interface", "service_id", "url"))
UPDATE_ENDPOINT = _body("endpoint", _ENDPOINT_FIELDS, update=True)

_REGION_RESERVED = {"links", *_REGION_FIELDS}
_SERVICE_RESERVED = {"id", "links", *_SERVICE_FIELDS}
_ENDPOINT_RESERVED = {"id", "links", "legacy_endpoint_id", *_ENDPOINT_FIELDS}


# --- regions ---------------------------------------------------------------------------

def view_region(req: Req, region: Region) -> dict[str, Any]:
    return {**region.extra, "id": region.id, "description": region.description or "",
            "parent_region_id": region.parent_region_id,
            "links": self_link(req, f"/v3/regions/{region.id}")}


async def list_regions(req: Req) -> Response:
    req.svc.enforce(req.ctx, "identity:list_regions")
    stmt = select(Region).order_by(Region.id)
    if "parent_region_id" in req.query:
        stmt = stmt.where(Region.parent_region_id == req.query["parent_region_id"])
    async with req.svc.read() as db:
        rows = (await db.scalars(stmt)).all()
    return json_response({"regions": [view_region(req, r) for r in rows],
                          "links": collection_links(req)})


async def show_region(req: Req) -> Response:
    req.svc.enforce(req.ctx, "identity:get_region")
    async with req.svc.read() as db:
        region = await get_or_404(db, Region, req.params["region_id"], "region")
    return json_response({"region": view_region(req, region)})


async def create_region(req: Req) -> Response:
    req.svc.enforce(req.ctx, "identity:create_region")
    data = (await req.json(CREATE_REGION))["region"]
    return await _create_region(req, data.get("id") or new_id(), data)


async def put_region(req: Req) -> Response:
    """``PUT /v3/regions/{id}``: create a region with the id the client chose."""
    region_id = req.params["region_id"]
    req.svc.enforce(req.ctx, "identity:create_region")
    data = (await req.json(CREATE_REGION))["region"]
    if data.get("id", region_id) != region_id:
        raise BadRequest(f'Conflicting region IDs specified: "{region_id}" != "{data["id"]}"')
    return await _create_region(req, region_id, data)


async def _create_region(req: Req, region_id: str, data: dict[str, Any]) -> Response:
    region = Region(id=region_id, description=data.get("description") or "",
                    parent_region_id=data.get("parent_region_id"),
                    extra=extra_attrs(data, _REGION_RESERVED))
    duplicate = DuplicateEntity("region", f"Duplicate ID, {region_id}")
    try:
        async with req.svc.write() as db:
            if await db.get(Region, region_id) is not None:
                raise duplicate
            if region.parent_region_id is not None:
                await get_or_404(db, Region, region.parent_region_id, "region")
            db.add(region)
    except IntegrityError:
        raise duplicate from None
    return json_response({"region": view_region(req, region)}, status=201)


async def update_region(req: Req) -> Response:
    region_id = req.params["region_id"]
    req.svc.enforce(req.ctx, "identity:update_region")
    data = (await req.json(UPDATE_REGION))["region"]
    if data.get("id", region_id) != region_id:
        raise BadRequest("Cannot change ID")
    async with req.svc.write() as db:
        region = await get_or_404(db, Region, region_id, "region")
        if "parent_region_id" in data:
            await _check_parent(db, region_id, data["parent_region_id"])
            region.parent_region_id = data["parent_region_id"]
        if "description" in data:
            region.description = data["description"] or ""
        extra = extra_attrs(data, _REGION_RESERVED)
        if extra:
            region.extra = {**region.extra, **extra}
    return json_response({"region": view_region(req, region)})


async def _check_parent(db: AsyncSession, region_id: str, parent_id: str | None) -> None:
    """The new parent must exist and must not be the region or one of its descendants."""
    if parent_id is None:
        return
    await get_or_404(db, Region, parent_id, "region")
    if parent_id == region_id or parent_id in _descendants(await _parents(db), region_id):
        raise BadRequest(f"The specified parent region {parent_id} would create a circular "
                         "region hierarchy.")


async def _parents(db: AsyncSession) -> dict[str, str | None]:
    return {rid: parent for rid, parent in (await db.execute(
        select(Region.id, Region.parent_region_id))).all()}


def _descendants(parents: dict[str, str | None], root: str) -> list[str]:
    """Every region below ``root``, nearest first; safe on a corrupted, cyclic table."""
    children: dict[str, list[str]] = {}
    for rid, parent in parents.items():
        if parent is not None:
            children.setdefault(parent, []).append(rid)
    found: list[str] = []
    todo = list(children.get(root, ()))
    while todo:
        rid = todo.pop(0)
        if rid == root or rid in found:
            continue
        found.append(rid)
        todo.extend(children.get(rid, ()))
    return found


async def delete_region(req: Req) -> Response:
    """Delete a region and its child regions, as Keystone does; refuse (403) while any of
    them still has endpoints."""
    region_id = req.params["region_id"]
    req.svc.enforce(req.ctx, "identity:delete_region")
    async with req.svc.write() as db:
        await get_or_404(db, Region, region_id, "region")
        doomed = [region_id, *_descendants(await _parents(db), region_id)]
        if await db.scalar(select(exists().where(Endpoint.region_id.in_(doomed)))):
            raise Forbidden(f"Unable to delete region {region_id} because it or its child "
                            "regions have associated endpoints.")
        await db.execute(delete(Region).where(Region.id.in_(doomed)))
    return empty_response()


# --- services --------------------------------------------------------------------------

def view_service(req: Req, service: Service) -> dict[str, Any]:
    return {**service.extra, "id": service.id, "type": service.type, "name": service.name,
            "description": service.description or "", "enabled": service.enabled,
            "links": self_link(req, f"/v3/services/{service.id}")}


async def list_services(req: Req) -> Response:
    req.svc.enforce(req.ctx, "identity:list_services")
    stmt = select(Service).order_by(Service.type, Service.name).where(*query_filters(
        req, {"type": Service.type, "name": Service.name}, {"enabled": Service.enabled}))
    async with req.svc.read() as db:
        rows = (await db.scalars(stmt)).all()
    return json_response({"services": [view_service(req, s) for s in rows],
                          "links": collection_links(req)})


async def show_service(req: Req) -> Response:
    req.svc.enforce(req.ctx, "identity:get_service")
    async with req.svc.read() as db:
        service = await get_or_404(db, Service, req.params["service_id"], "service")
    return json_response({"service": view_service(req, service)})


async def create_service(req: Req) -> Response:
    req.svc.enforce(req.ctx, "identity:create_service")
    data = (await req.json(CREATE_SERVICE))["service"]
    service = Service(type=data["type"], name=data.get("name") or "",
                      description=data.get("description") or "",
                      enabled=data.get("enabled", True),
                      extra=extra_attrs(data, _SERVICE_RESERVED))
    async with req.svc.write() as db:
        db.add(service)
    return json_response({"service": view_service(req, service)}, status=201)


async def update_service(req: Req) -> Response:
    req.svc.enforce(req.ctx, "identity:update_service")
    data = (await req.json(UPDATE_SERVICE))["service"]
    if data.get("id", req.params["service_id"]) != req.params["service_id"]:
        raise BadRequest("Cannot change ID")
    async with req.svc.write() as db:
        service = await get_or_404(db, Service, req.params["service_id"], "service")
        for key in ("type", "enabled"):
            if key in data:
                setattr(service, key, data[key])
        for key in ("name", "description"):
            if key in data:
                setattr(service, key, data[key] or "")
        extra = extra_attrs(data, _SERVICE_RESERVED)
        if extra:
            service.extra = {**service.extra, **extra}
    return json_response({"service": view_service(req, service)})


async def delete_service(req: Req) -> Response:
    """Delete a service and, as Keystone does, every endpoint of it."""
    req.svc.enforce(req.ctx, "identity:delete_service")
    async with req.svc.write() as db:
        service = await get_or_404(db, Service, req.params["service_id"], "service")
        await db.execute(delete(Endpoint).where(Endpoint.service_id == service.id))
        await db.delete(service)
    return empty_response()


# --- endpoints -------------------------------------------------------------------------

def view_endpoint(req: Req, endpoint: Endpoint) -> dict[str, Any]:
    return {**endpoint.extra, "id": endpoint.id, "interface": endpoint.interface,
            "region": endpoint.region_id, "region_id": endpoint.region_id,
            "service_id": endpoint.service_id, "url": endpoint.url,
            "enabled": endpoint.enabled,
            "links": self_link(req, f"/v3/endpoints/{endpoint.id}")}


async def list_endpoints(req: Req) -> Response:
    req.svc.enforce(req.ctx, "identity:list_endpoints")
    stmt = select(Endpoint).order_by(Endpoint.service_id, Endpoint.interface, Endpoint.id)
    interface = req.query.get("interface")
    if interface is not None and interface not in INTERFACES:
        raise BadRequest(f"Invalid value for query parameter 'interface': {interface!r}; "
                         f"expected one of {', '.join(INTERFACES)}.")
    stmt = stmt.where(*query_filters(
        req, {"service_id": Endpoint.service_id, "interface": Endpoint.interface,
              "region_id": Endpoint.region_id}, {"enabled": Endpoint.enabled}))
    async with req.svc.read() as db:
        rows = (await db.scalars(stmt)).all()
    return json_response({"endpoints": [view_endpoint(req, e) for e in rows],
                          "links": collection_links(req)})


async def show_endpoint(req: Req) -> Response:
    req.svc.enforce(req.ctx, "identity:get_endpoint")
    async with req.svc.read() as db:
        endpoint = await get_or_404(db, Endpoint, req.params["endpoint_id"], "endpoint")
    return json_response({"endpoint": view_endpoint(req, endpoint)})


async def create_endpoint(req: Req) -> Response:
    req.svc.enforce(req.ctx, "identity:create_endpoint")
    data = (await req.json(CREATE_ENDPOINT))["endpoint"]
    endpoint = Endpoint(service_id=data["service_id"], interface=data["interface"],
                        url=data["url"], enabled=data.get("enabled", True),
                        extra=extra_attrs(data, _ENDPOINT_RESERVED))
    async with req.svc.write() as db:
        await _check_service(db, data["service_id"])
        endpoint.region_id = await _endpoint_region(db, data)
        db.add(endpoint)
    return json_response({"endpoint": view_endpoint(req, endpoint)}, status=201)


async def update_endpoint(req: Req) -> Response:
    req.svc.enforce(req.ctx, "identity:update_endpoint")
    data = (await req.json(UPDATE_ENDPOINT))["endpoint"]
    if data.get("id", req.params["endpoint_id"]) != req.params["endpoint_id"]:
        raise BadRequest("Cannot change ID")
    async with req.svc.write() as db:
        endpoint = await get_or_404(db, Endpoint, req.params["endpoint_id"], "endpoint")
        if "service_id" in data:
            await _check_service(db, data["service_id"])
        if "region_id" in data or "region" in data:
            endpoint.region_id = await _endpoint_region(db, data)
        for key in ("service_id", "interface", "url", "enabled"):
            if key in data:
                setattr(endpoint, key, data[key])
        extra = extra_attrs(data, _ENDPOINT_RESERVED)
        if extra:
            endpoint.extra = {**endpoint.extra, **extra}
    return json_response({"endpoint": view_endpoint(req, endpoint)})


async def delete_endpoint(req: Req) -> Response:
    req.svc.enforce(req.ctx, "identity:delete_endpoint")
    async with req.svc.write() as db:
        endpoint = await get_or_404(db, Endpoint, req.params["endpoint_id"], "endpoint")
        await db.delete(endpoint)
    return empty_response()


async def _check_service(db: AsyncSession, service_id: str) -> None:
    # Keystone answers 400 here, not 404: the body, not the URL, names a missing thing.
    if await db.get(Service, service_id) is None:
        raise BadRequest(f"Expecting to find endpoint service_id in service table: "
                         f"service {service_id} does not exist.")


async def _endpoint_region(db: AsyncSession, data: dict[str, Any]) -> str | None:
    """The endpoint's region id. ``region_id`` must name an existing region; the legacy
    ``region`` attribute (v3.0/3.1 clients) creates its region when missing, as Keystone
    does for backward compatibility."""
    region_id: str | None = data.get("region_id")
    if region_id is not None:
        if await db.get(Region, region_id) is None:
            raise BadRequest(f"Expecting to find endpoint region_id in region table: "
                             f"region {region_id} does not exist.")
        return region_id
    legacy: str | None = data.get("region")
    if legacy is not None and await db.get(Region, legacy) is None:
        db.add(Region(id=legacy, description="", parent_region_id=None, extra={}))
        try:
            await db.flush()
        except IntegrityError:
            raise DuplicateEntity("region", f"Duplicate ID, {legacy}") from None
    return legacy
