"""The service catalog: regions, services and their endpoints.

Every change happens in an identity write transaction, which moves the identity revision,
so the token provider renders the new catalog into the next token it builds or validates.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import delete, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from ownstack.common.db.base import new_id
from ownstack.common.errors import BadRequest, Forbidden
from ownstack.identity.errors import DuplicateEntity
from ownstack.identity.objects import rows
from ownstack.identity.objects.models import Endpoint, Region, Service

INTERFACES = ("admin", "internal", "public")

_Row = TypeVar("_Row", Region, Service, Endpoint)

_REGION_RESERVED = {"id", "links", "description", "parent_region_id"}
_SERVICE_RESERVED = {"id", "links", "type", "name", "description", "enabled"}
_ENDPOINT_RESERVED = {"id", "links", "legacy_endpoint_id", "interface", "service_id",
                      "region_id", "region", "url", "enabled"}


async def _to_update(db: AsyncSession, model: type[_Row], ident: str, data: Mapping[str, Any],
                     kind: str) -> _Row:
    """The row an update names; a body naming another id is a 400: ids never change."""
    if data.get("id", ident) != ident:
        raise BadRequest("Cannot change ID")
    return await rows.get_or_404(db, model, ident, kind)


# --- regions ---------------------------------------------------------------------------

async def get_region(db: AsyncSession, region_id: str) -> Region:
    return await rows.get_or_404(db, Region, region_id, "region")


async def list_regions(db: AsyncSession, *, parent_region_id: str | None = None
                       ) -> Sequence[Region]:
    return (await db.scalars(select(Region).order_by(Region.id).where(
        *rows.matching((Region.parent_region_id, parent_region_id))))).all()


async def create_region(db: AsyncSession, data: Mapping[str, Any],
                        region_id: str | None = None) -> Region:
    """A new region, with the id the URL names (``PUT``), else the body's, else a new one."""
    if region_id is not None and data.get("id", region_id) != region_id:
        raise BadRequest(f'Conflicting region IDs specified: "{region_id}" != "{data["id"]}"')
    region_id = region_id or data.get("id") or new_id()
    region = Region(id=region_id, description=data.get("description") or "",
                    parent_region_id=data.get("parent_region_id"),
                    extra=rows.extra_attrs(data, _REGION_RESERVED))
    duplicate = DuplicateEntity("region", f"Duplicate ID, {region_id}")
    if await db.get(Region, region_id) is not None:
        raise duplicate
    if region.parent_region_id is not None:
        await get_region(db, region.parent_region_id)
    db.add(region)
    await rows.flush_unique(db, duplicate)
    return region


async def ensure_region(db: AsyncSession, region_id: str) -> None:
    if await db.get(Region, region_id) is None:
        db.add(Region(id=region_id, description="", parent_region_id=None, extra={}))


async def update_region(db: AsyncSession, region_id: str, data: Mapping[str, Any]) -> Region:
    region = await _to_update(db, Region, region_id, data, "region")
    if "parent_region_id" in data:
        await _check_parent(db, region_id, data["parent_region_id"])
        region.parent_region_id = data["parent_region_id"]
    if "description" in data:
        region.description = data["description"] or ""
    rows.merge_extra(region, data, _REGION_RESERVED)
    return region


async def _check_parent(db: AsyncSession, region_id: str, parent_id: str | None) -> None:
    """The new parent must exist and must not be the region or one of its descendants."""
    if parent_id is None:
        return
    await get_region(db, parent_id)
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


async def delete_region(db: AsyncSession, region_id: str) -> None:
    """Delete a region and its child regions, as Keystone does; refuse (403) while any of
    them still has endpoints."""
    await get_region(db, region_id)
    doomed = [region_id, *_descendants(await _parents(db), region_id)]
    if await db.scalar(select(exists().where(Endpoint.region_id.in_(doomed)))):
        raise Forbidden(f"Unable to delete region {region_id} because it or its child "
                        "regions have associated endpoints.")
    await db.execute(delete(Region).where(Region.id.in_(doomed)))


# --- services --------------------------------------------------------------------------

async def get_service(db: AsyncSession, service_id: str) -> Service:
    return await rows.get_or_404(db, Service, service_id, "service")


async def list_services(db: AsyncSession, *, type: str | None = None,
                        name: str | None = None, enabled: bool | None = None
                        ) -> Sequence[Service]:
    return (await db.scalars(select(Service).order_by(Service.type, Service.name).where(
        *rows.matching((Service.type, type), (Service.name, name),
                  (Service.enabled, enabled))))).all()


async def create_service(db: AsyncSession, data: Mapping[str, Any]) -> Service:
    return await rows.added(db, Service(
        type=data["type"], name=data.get("name") or "",
        description=data.get("description") or "", enabled=data.get("enabled", True),
        extra=rows.extra_attrs(data, _SERVICE_RESERVED)))


async def update_service(db: AsyncSession, service_id: str, data: Mapping[str, Any]
                         ) -> Service:
    service = await _to_update(db, Service, service_id, data, "service")
    rows.assign(service, data, ("type", "enabled"))
    for key in ("name", "description"):
        if key in data:
            setattr(service, key, data[key] or "")
    rows.merge_extra(service, data, _SERVICE_RESERVED)
    return service


async def delete_service(db: AsyncSession, service_id: str) -> None:
    """Delete a service and, as Keystone does, every endpoint of it."""
    service = await get_service(db, service_id)
    await db.execute(delete(Endpoint).where(Endpoint.service_id == service.id))
    await db.delete(service)


async def ensure_service(db: AsyncSession, *, type: str, name: str, description: str,
                         url: str, region_id: str) -> None:
    """The service of this type and name, with one endpoint per interface in the region,
    each at ``url``: made when missing, moved when the address changed."""
    service = await db.scalar(select(Service).where(Service.type == type,
                                                    Service.name == name))
    if service is None:
        service = await rows.added(db, Service(type=type, name=name, description=description,
                                               enabled=True, extra={}))
    existing = {e.interface: e for e in (await db.scalars(
        select(Endpoint).where(Endpoint.service_id == service.id,
                               Endpoint.region_id == region_id))).all()}
    for interface in INTERFACES:
        endpoint = existing.get(interface)
        if endpoint is None:
            db.add(Endpoint(service_id=service.id, interface=interface, url=url,
                            region_id=region_id, enabled=True, extra={}))
        elif endpoint.url != url:
            # The address moved (new host or port): keep the catalog true.
            endpoint.url = url


# --- endpoints -------------------------------------------------------------------------

async def get_endpoint(db: AsyncSession, endpoint_id: str) -> Endpoint:
    return await rows.get_or_404(db, Endpoint, endpoint_id, "endpoint")


async def list_endpoints(db: AsyncSession, *, service_id: str | None = None,
                         interface: str | None = None, region_id: str | None = None,
                         enabled: bool | None = None) -> Sequence[Endpoint]:
    if interface is not None and interface not in INTERFACES:
        raise BadRequest(f"Invalid value for query parameter 'interface': {interface!r}; "
                         f"expected one of {', '.join(INTERFACES)}.")
    return (await db.scalars(select(Endpoint).order_by(
        Endpoint.service_id, Endpoint.interface, Endpoint.id).where(*rows.matching(
            (Endpoint.service_id, service_id), (Endpoint.interface, interface),
            (Endpoint.region_id, region_id), (Endpoint.enabled, enabled))))).all()


async def create_endpoint(db: AsyncSession, data: Mapping[str, Any]) -> Endpoint:
    endpoint = Endpoint(service_id=data["service_id"], interface=data["interface"],
                        url=data["url"], enabled=data.get("enabled", True),
                        extra=rows.extra_attrs(data, _ENDPOINT_RESERVED))
    await _check_service(db, data["service_id"])
    endpoint.region_id = await _endpoint_region(db, data)
    return await rows.added(db, endpoint)


async def update_endpoint(db: AsyncSession, endpoint_id: str, data: Mapping[str, Any]
                          ) -> Endpoint:
    endpoint = await _to_update(db, Endpoint, endpoint_id, data, "endpoint")
    if "service_id" in data:
        await _check_service(db, data["service_id"])
    if "region_id" in data or "region" in data:
        endpoint.region_id = await _endpoint_region(db, data)
    rows.assign(endpoint, data, ("service_id", "interface", "url", "enabled"))
    rows.merge_extra(endpoint, data, _ENDPOINT_RESERVED)
    return endpoint


async def delete_endpoint(db: AsyncSession, endpoint_id: str) -> None:
    await db.delete(await get_endpoint(db, endpoint_id))


async def _check_service(db: AsyncSession, service_id: str) -> None:
    # Keystone answers 400 here, not 404: the body, not the URL, names a missing thing.
    if await db.get(Service, service_id) is None:
        raise BadRequest(f"Expecting to find endpoint service_id in service table: "
                         f"service {service_id} does not exist.")


async def _endpoint_region(db: AsyncSession, data: Mapping[str, Any]) -> str | None:
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
        await rows.flush_unique(db, DuplicateEntity("region", f"Duplicate ID, {legacy}"))
    return legacy


async def load_catalog(db: AsyncSession) -> list[dict[str, Any]]:
    """The enabled services with their enabled endpoints, as a token's catalog lists them
    (before project ids are put into endpoint URLs)."""
    services = (await db.scalars(select(Service).where(Service.enabled.is_(True))
                                 .order_by(Service.type))).all()
    endpoints = (await db.scalars(select(Endpoint).where(Endpoint.enabled.is_(True)))).all()
    by_service: dict[str, list[dict[str, Any]]] = {}
    for e in endpoints:
        by_service.setdefault(e.service_id, []).append({
            "id": e.id, "interface": e.interface, "region": e.region_id,
            "region_id": e.region_id, "url": e.url})
    return [{"id": s.id, "type": s.type, "name": s.name,
             "endpoints": sorted(by_service.get(s.id, []), key=lambda e: e["interface"])}
            for s in services]
