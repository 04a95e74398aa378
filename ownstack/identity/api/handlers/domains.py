"""Domains: ``/v3/domains``."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from starlette.responses import Response

from ownstack.common.api.app import empty_response, json_response
from ownstack.common.api.schema import BOOLEAN, DESCRIPTION, NAME, Validator
from ownstack.common.errors import Forbidden
from ownstack.identity.api.handlers.common import (
    collection_links,
    get_or_404,
    query_filters,
    self_link,
)
from ownstack.identity.bootstrap import DEFAULT_DOMAIN_ID
from ownstack.identity.errors import DuplicateEntity
from ownstack.identity.objects import cleanup, revocation
from ownstack.identity.objects.models import Domain
from ownstack.identity.state import Req

_FIELDS = {"name": NAME, "description": DESCRIPTION, "enabled": BOOLEAN,
           "tags": {"type": "array", "items": {"type": "string"}}, "options": {"type": "object"}}

CREATE = Validator({
    "type": "object", "required": ["domain"], "additionalProperties": False,
    "properties": {"domain": {"type": "object", "required": ["name"], "properties": {
        **_FIELDS, "explicit_domain_id": {"type": "string", "pattern": "^[a-zA-Z0-9_-]{1,64}$"},
    }}},
})
UPDATE = Validator({
    "type": "object", "required": ["domain"], "additionalProperties": False,
    "properties": {"domain": {"type": "object", "minProperties": 1, "properties": _FIELDS,
                              "not": {"anyOf": [{"required": ["id"]}]}}},
})

_RESERVED = {"id", "links", "name", "description", "enabled", "explicit_domain_id"}


def view(req: Req, domain: Domain) -> dict[str, Any]:
    return {**domain.extra, "id": domain.id, "name": domain.name,
            "description": domain.description or "", "enabled": domain.enabled, "tags": [],
            "options": {}, "links": self_link(req, f"/v3/domains/{domain.id}")}


async def list_domains(req: Req) -> Response:
    req.svc.enforce(req.ctx, "identity:list_domains")
    stmt = select(Domain).order_by(Domain.name).where(
        *query_filters(req, {"name": Domain.name}, {"enabled": Domain.enabled}))
    async with req.svc.read() as db:
        rows = (await db.scalars(stmt)).all()
    return json_response({"domains": [view(req, d) for d in rows],
                          "links": collection_links(req)})


async def show_domain(req: Req) -> Response:
    domain_id = req.params["domain_id"]
    req.svc.enforce(req.ctx, "identity:get_domain", {"target.domain.id": domain_id})
    async with req.svc.read() as db:
        domain = await get_or_404(db, Domain, domain_id, "domain")
    return json_response({"domain": view(req, domain)})


async def create_domain(req: Req) -> Response:
    req.svc.enforce(req.ctx, "identity:create_domain")
    data = (await req.json(CREATE))["domain"]
    domain = Domain(name=data["name"], description=data.get("description"),
                    enabled=data.get("enabled", True),
                    extra={k: v for k, v in data.items() if k not in _RESERVED})
    if data.get("explicit_domain_id"):
        domain.id = data["explicit_domain_id"]
    try:
        async with req.svc.write() as db:
            db.add(domain)
    except IntegrityError:
        raise DuplicateEntity("domain", f"Duplicate entry found with name {data['name']}"
                              ) from None
    return json_response({"domain": view(req, domain)}, status=201)


async def update_domain(req: Req) -> Response:
    domain_id = req.params["domain_id"]
    req.svc.enforce(req.ctx, "identity:update_domain", {"target.domain.id": domain_id})
    data = (await req.json(UPDATE))["domain"]
    try:
        async with req.svc.write() as db:
            domain = await get_or_404(db, Domain, domain_id, "domain")
            for key in ("name", "description", "enabled"):
                if key in data:
                    setattr(domain, key, data[key])
            extra = {k: v for k, v in data.items() if k not in _RESERVED}
            if extra:
                domain.extra = {**domain.extra, **extra}
            if data.get("enabled") is False:
                await revocation.revoke(db, domain_id=domain_id)
    except IntegrityError:
        raise DuplicateEntity("domain", f"Duplicate entry found with name {data.get('name')}"
                              ) from None
    return json_response({"domain": view(req, domain)})


async def delete_domain(req: Req) -> Response:
    """Keystone's cascade: a disabled domain goes with its projects, users, groups and
    domain-specific roles. The default domain is never deleted (clients and the admin
    user depend on it), so that is a 403 whatever its state."""
    domain_id = req.params["domain_id"]
    req.svc.enforce(req.ctx, "identity:delete_domain", {"target.domain.id": domain_id})
    async with req.svc.write() as db:
        domain = await get_or_404(db, Domain, domain_id, "domain")
        if domain.id == DEFAULT_DOMAIN_ID:
            raise Forbidden("The default domain cannot be deleted: ownstack and its admin "
                            "user rely on it.")
        if domain.enabled:
            raise Forbidden("Cannot delete a domain that is enabled, please disable it first.")
        await cleanup.delete_domain(db, domain_id)
    return empty_response()
