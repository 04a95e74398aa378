"""Roles and implied roles: ``/v3/roles``, ``/v3/roles/{prior}/implies/{implied}``,
``/v3/role_inferences``."""

from __future__ import annotations

from starlette.responses import Response

from ownstack.common.api.app import empty_response, json_response
from ownstack.identity.api import views
from ownstack.identity.api.handlers.crud import Noun
from ownstack.identity.api.schemas import roles as schema
from ownstack.identity.objects import roles
from ownstack.identity.state import Req

ROLE = Noun("role", views.role, schema.CREATE, schema.UPDATE,
            find=roles.list_roles, get=roles.get_role, add=roles.create_role,
            change=roles.update_role, remove=roles.delete_role, filters=("domain_id", "name"))

list_roles, show_role, create_role = ROLE.list, ROLE.show, ROLE.create
update_role, delete_role = ROLE.update, ROLE.delete


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
