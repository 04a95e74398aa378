"""Application credentials: ``/v3/users/{user_id}/application_credentials``.

The secret is shown once, in the answer to the create.
"""

from __future__ import annotations

from starlette.responses import Response

from ownstack.common.api.app import empty_response, json_response
from ownstack.common.errors import Forbidden
from ownstack.identity.api import views
from ownstack.identity.api.schemas import app_creds as schema
from ownstack.identity.objects import app_creds
from ownstack.identity.state import Req


def refuse_restricted(req: Req) -> None:
    """Keystone: a restricted application credential cannot make or delete others, or a
    stolen one could renew itself forever."""
    if req.ctx.app_cred_id is not None and not req.ctx.app_cred_unrestricted:
        raise Forbidden("Using method 'application_credential' is not allowed for managing "
                        "additional application credentials.")


def refuse_oauth_delegation(req: Req) -> None:
    """Keystone: a token got with an OAuth1 access token may not touch application
    credentials or access rules; a credential made with it would outlive the delegation."""
    if req.ctx.extra.get("oauth_access_token_id"):
        raise Forbidden("Cannot manage application credentials with a token issued via "
                        "delegation.")


async def list_app_creds(req: Req) -> Response:
    user_id = req.params["user_id"]
    req.svc.enforce(req.ctx, "identity:list_application_credentials",
                    {"target.user.id": user_id})
    refuse_oauth_delegation(req)
    async with req.svc.read() as db:
        found = await app_creds.list_app_creds(db, user_id, name=req.query.get("name"))
        roles = await app_creds.roles_of(db, found)
        rules = await app_creds.access_rules_of(db, found)
    return json_response(views.collection(req, "application_credentials", [
        views.app_cred(req, c, roles[c.id], rules[c.id]) for c in found]))


async def show_app_cred(req: Req) -> Response:
    user_id = req.params["user_id"]
    req.svc.enforce(req.ctx, "identity:get_application_credential",
                    {"target.user.id": user_id})
    refuse_oauth_delegation(req)
    async with req.svc.read() as db:
        cred = await app_creds.get_app_cred(db, user_id, req.params["app_cred_id"])
        roles = await app_creds.roles_of(db, [cred])
        rules = await app_creds.access_rules_of(db, [cred])
    return json_response({"application_credential": views.app_cred(req, cred, roles[cred.id],
                                                                   rules[cred.id])})


async def create_app_cred(req: Req) -> Response:
    user_id = req.params["user_id"]
    req.svc.enforce(req.ctx, "identity:create_application_credential",
                    {"target.user.id": user_id})
    refuse_oauth_delegation(req)
    data = (await req.json(schema.CREATE))["application_credential"]
    refuse_restricted(req)
    if req.ctx.user_id != user_id:
        raise Forbidden("You are not authorized to perform the requested action: Cannot "
                        "create an application credential for another user.")
    if req.ctx.project_id is None:
        raise app_creds.invalid("an application credential is bound to the project of the "
                                "token that creates it; authenticate with a project-scoped "
                                "token.")
    expires_at = app_creds.parse_expiry(data.get("expires_at"))
    secret = data.get("secret") or app_creds.new_secret()
    secret_hash = await req.svc.hasher.hash(secret)
    # The credential may carry the roles of the token that creates it, and no others.
    token = await req.svc.tokens.validate(req.ctx.auth_token or "")
    token_role_ids = [r["id"] for r in token.body.get("roles", [])]
    async with req.svc.write() as db:
        cred, roles, rules = await app_creds.create_app_cred(
            db, data, user_id=user_id, project_id=req.ctx.project_id, expires_at=expires_at,
            secret_hash=secret_hash, token_role_ids=token_role_ids)
    return json_response({"application_credential": {**views.app_cred(req, cred, roles, rules),
                                                     "secret": secret}}, status=201)


async def delete_app_cred(req: Req) -> Response:
    user_id = req.params["user_id"]
    req.svc.enforce(req.ctx, "identity:delete_application_credential",
                    {"target.user.id": user_id})
    refuse_oauth_delegation(req)
    refuse_restricted(req)
    async with req.svc.write() as db:
        await app_creds.delete_app_cred(db, user_id, req.params["app_cred_id"])
    return empty_response()
