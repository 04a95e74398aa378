"""Roles and implied roles: ``/v3/roles``, ``/v3/roles/{prior}/implies/{implied}``,
``/v3/role_inferences``."""

from __future__ import annotations

from starlette.responses import Response

from ownstack.common.api.app import empty_response, json_response
from ownstack.identity.api import views
from ownstack.identity.api.schemas import roles as schema
from ownstack.identity.objects import roles
from ownstack.identity.state import Req


async def list_roles(req: Req) -> Response:
    req.svc.enforce(req.ctx, "identity:list_roles")
    domain_id, name = req.query.get("domain_id"), req.query.get("name")
    async with req.svc.read() as db:
        found = await roles.list_roles(db, domain_id=domain_id, name=name)
    return json_response(views.collection(req, "roles", [views.role(req, r) for r in found]))


async def show_role(req: Req) -> Response:
    role_id = req.params["role_id"]
    req.svc.enforce(req.ctx, "identity:get_role", {"target.role.id": role_id})
    async with req.svc.read() as db:
        role = await roles.get_role(db, role_id)
    return json_response({"role": views.role(req, role)})


async def create_role(req: Req) -> Response:
    req.svc.enforce(req.ctx, "identity:create_role")
    data = (await req.json(schema.CREATE))["role"]
    async with req.svc.write() as db:
        role = await roles.create_role(db, data)
    return json_response({"role": views.role(req, role)}, status=201)


async def update_role(req: Req) -> Response:
    role_id = req.params["role_id"]
    req.svc.enforce(req.ctx, "identity:update_role", {"target.role.id": role_id})
    data = (await req.json(schema.UPDATE))["role"]
    async with req.svc.write() as db:
        role = await roles.update_role(db, role_id, data)
    return json_response({"role": views.role(req, role)})


async def delete_role(req: Req) -> Response:
    role_id = req.params["role_id"]
    req.svc.enforce(req.ctx, "identity:delete_role", {"target.role.id": role_id})
    async with req.svc.write() as db:
        await roles.delete_role(db, role_id)
    return empty_response()


# --- implied roles --------------------------------------------------------------------

def _rule(req: Req) -> tuple[str, str]:
    return req.params["prior_role_id"], req.params["implied_role_id"]


async def create_implied_role(req: Req) -> Response:
    req.svc.enforce(req.ctx, "identity:create_implied_role")
    async with req.svc.write() as db:
        prior, implied = await roles.create_rule(db, *_rule(req))
    return json_response(views.implied_role(req, prior, implied), status=201)


async def show_implied_role(req: Req) -> Response:
    req.svc.enforce(req.ctx, "identity:get_implied_role")
    async with req.svc.read() as db:
        prior, implied = await roles.get_rule(db, *_rule(req))
    return json_response(views.implied_role(req, prior, implied))


async def check_implied_role(req: Req) -> Response:
    req.svc.enforce(req.ctx, "identity:check_implied_role")
    async with req.svc.read() as db:
        await roles.get_rule(db, *_rule(req))
    return empty_response()


async def delete_implied_role(req: Req) -> Response:
    req.svc.enforce(req.ctx, "identity:delete_implied_role")
    async with req.svc.write() as db:
        await roles.delete_rule(db, *_rule(req))
    return empty_response()


async def list_implied_roles(req: Req) -> Response:
    req.svc.enforce(req.ctx, "identity:list_implied_roles")
    prior_id = req.params["prior_role_id"]
    async with req.svc.read() as db:
        [(prior, implied)] = await roles.inferences(db, prior_id)
    return json_response({"role_inference": views.inference(req, prior, implied),
                          "links": views.link(req, f"/v3/roles/{prior.id}/implies")})


async def list_role_inferences(req: Req) -> Response:
    req.svc.enforce(req.ctx, "identity:list_role_inference_rules")
    async with req.svc.read() as db:
        found = await roles.inferences(db)
    return json_response(views.collection(req, "role_inferences", [
        views.inference(req, prior, implied) for prior, implied in found]))
