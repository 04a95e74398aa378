"""Application credential access rules: ``/v3/users/{user_id}/access_rules``.

Rules are made with the credentials that name them; a user lists, shows and deletes
their own. One still used by a credential cannot be deleted (403, as Keystone); as in
Keystone a restricted application credential's token may delete its user's rules.
"""

from __future__ import annotations

from starlette.responses import Response

from ownstack.common.api.app import empty_response, json_response
from ownstack.identity.api import views
from ownstack.identity.api.handlers.app_creds import refuse_oauth_delegation
from ownstack.identity.objects import app_creds
from ownstack.identity.state import Req


async def list_access_rules(req: Req) -> Response:
    user_id = req.params["user_id"]
    req.svc.enforce(req.ctx, "identity:list_access_rules", {"target.user.id": user_id})
    refuse_oauth_delegation(req)
    async with req.svc.read() as db:
        found = await app_creds.list_access_rules(
            db, user_id, service=req.query.get("service"), path=req.query.get("path"),
            method=req.query.get("method"))
    return json_response(views.collection(req, "access_rules", [
        views.access_rule(req, r) for r in found]))


async def show_access_rule(req: Req) -> Response:
    user_id = req.params["user_id"]
    req.svc.enforce(req.ctx, "identity:get_access_rule", {"target.user.id": user_id})
    refuse_oauth_delegation(req)
    async with req.svc.read() as db:
        rule = await app_creds.get_access_rule(db, user_id, req.params["access_rule_id"])
    return json_response({"access_rule": views.access_rule(req, rule)})


async def delete_access_rule(req: Req) -> Response:
    user_id = req.params["user_id"]
    req.svc.enforce(req.ctx, "identity:delete_access_rule", {"target.user.id": user_id})
    refuse_oauth_delegation(req)
    async with req.svc.write() as db:
        await app_creds.delete_access_rule(db, user_id, req.params["access_rule_id"])
    return empty_response()
