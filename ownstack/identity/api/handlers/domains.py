"""Domains: ``/v3/domains``."""

from __future__ import annotations

from starlette.responses import Response

from ownstack.common.api.app import empty_response, json_response
from ownstack.identity.api import views
from ownstack.identity.api.handlers.common import query_bool
from ownstack.identity.api.schemas import domains as schema
from ownstack.identity.objects import domains
from ownstack.identity.state import Req


async def list_domains(req: Req) -> Response:
    req.svc.enforce(req.ctx, "identity:list_domains")
    name, enabled = req.query.get("name"), query_bool(req, "enabled")
    async with req.svc.read() as db:
        found = await domains.list_domains(db, name=name, enabled=enabled)
    return json_response(views.collection(req, "domains",
                                          [views.domain(req, d) for d in found]))


async def show_domain(req: Req) -> Response:
    domain_id = req.params["domain_id"]
    req.svc.enforce(req.ctx, "identity:get_domain", {"target.domain.id": domain_id})
    async with req.svc.read() as db:
        domain = await domains.get_domain(db, domain_id)
    return json_response({"domain": views.domain(req, domain)})


async def create_domain(req: Req) -> Response:
    req.svc.enforce(req.ctx, "identity:create_domain")
    data = (await req.json(schema.CREATE))["domain"]
    async with req.svc.write() as db:
        domain = await domains.create_domain(db, data)
    return json_response({"domain": views.domain(req, domain)}, status=201)


async def update_domain(req: Req) -> Response:
    domain_id = req.params["domain_id"]
    req.svc.enforce(req.ctx, "identity:update_domain", {"target.domain.id": domain_id})
    data = (await req.json(schema.UPDATE))["domain"]
    async with req.svc.write() as db:
        domain = await domains.update_domain(db, domain_id, data)
    return json_response({"domain": views.domain(req, domain)})


async def delete_domain(req: Req) -> Response:
    domain_id = req.params["domain_id"]
    req.svc.enforce(req.ctx, "identity:delete_domain", {"target.domain.id": domain_id})
    async with req.svc.write() as db:
        await domains.delete_domain(db, domain_id)
    return empty_response()
