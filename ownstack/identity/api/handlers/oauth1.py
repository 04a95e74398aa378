"""OS-OAUTH1: ``/v3/OS-OAUTH1/...`` (consumers, the three-legged flow) and a user's
access tokens, ``/v3/users/{user_id}/OS-OAUTH1/access_tokens``.

Consumers are a plain noun (see :mod:`.crud`) but for their create, which shows the secret
once. ``request_token`` and ``access_token`` take no Keystone token: the consumer signs
them (OAuth1, RFC 5849), and they answer form-encoded bodies, as Keystone does. A token
got with an access token is a delegation: it may not authorize request tokens nor manage
access tokens (Keystone's 403s).
"""

from __future__ import annotations

from starlette.responses import Response

from ownstack.common.api.app import empty_response, json_response
from ownstack.common.api.routing import public
from ownstack.common.errors import Forbidden
from ownstack.identity.api import views
from ownstack.identity.api.handlers.common import signed_request
from ownstack.identity.api.handlers.crud import Noun
from ownstack.identity.api.schemas import oauth1 as schema
from ownstack.identity.errors import EntityNotFound, OAuthFailed, OAuthNotFound
from ownstack.identity.oauth1_signing import (
    NONCE_MEMORY,
    check_access_token_request,
    check_request_token_request,
    expecting,
    known,
)
from ownstack.identity.objects import oauth1, projects
from ownstack.identity.objects.assignments import effective_roles
from ownstack.identity.objects.models import OAuthAccessToken
from ownstack.identity.state import Req
from ownstack.identity.tokens.provider import isotime

_FORM = "application/x-www-form-urlencoded"


# --- consumers -----------------------------------------------------------------------------

CONSUMER = Noun("consumer", views.consumer, schema.CREATE_CONSUMER, schema.UPDATE_CONSUMER,
                find=oauth1.list_consumers, get=oauth1.get_consumer,
                change=oauth1.update_consumer, remove=oauth1.delete_consumer)

list_consumers, show_consumer = CONSUMER.list, CONSUMER.show
update_consumer, delete_consumer = CONSUMER.update, CONSUMER.delete


async def create_consumer(req: Req) -> Response:
    req.svc.enforce(req.ctx, "identity:create_consumer")
    data = await CONSUMER.body(req, schema.CREATE_CONSUMER)
    async with req.svc.write() as db:
        consumer, secret = await oauth1.create_consumer(db, req.svc.credential_keys, data)
    return json_response({"consumer": {**views.consumer(req, consumer), "secret": secret}},
                         status=201)


# --- the three legs ------------------------------------------------------------------------

def _form(token_id: str, secret: str, expires_at: str | None) -> Response:
    body = f"oauth_token={token_id}&oauth_token_secret={secret}"
    if expires_at is not None:
        body += f"&oauth_expires_at={expires_at}"
    return Response(body, status_code=201, media_type=_FORM)


@public
async def create_request_token(req: Req) -> Response:
    """A consumer asks for a request token on the project of ``Requested-Project-Id``."""
    signed = signed_request(req)
    params = signed.oauth_params()
    consumer_id = params.get("oauth_consumer_key")
    project_id = req.headers.get("requested-project-id")
    if not consumer_id:
        raise expecting("oauth_consumer_key")
    if not project_id:
        raise expecting("Requested-Project-Id")
    keys = req.svc.credential_keys
    async with req.svc.write() as db:
        await projects.get_project(db, project_id)
        consumer = await oauth1.get_consumer(db, consumer_id)
        check_request_token_request(signed, known(keys, consumer))
        await oauth1.use_nonce(db, consumer.id, params["oauth_nonce"], keep=NONCE_MEMORY)
        token, secret = await oauth1.create_request_token(
            db, keys, consumer_id=consumer.id, project_id=project_id,
            duration=req.svc.config.identity.oauth1.request_token_duration)
    return _form(token.id, secret, isotime(token.expires_at) if token.expires_at else None)


def _refuse_delegation(req: Req, message: str) -> None:
    """Keystone's 403 for a token that is itself a delegation (an application credential's
    or an OAuth1 access token's)."""
    if req.ctx.app_cred_id is not None or req.ctx.extra.get("oauth_access_token_id"):
        raise Forbidden(message)


async def authorize_request_token(req: Req) -> Response:
    """The caller delegates some of its roles on the request token's project; the answer's
    verifier goes to the consumer, out of band."""
    req.svc.enforce(req.ctx, "identity:authorize_request_token")
    refs = (await req.json(schema.AUTHORIZE))["roles"]
    _refuse_delegation(req, "Cannot authorize a request token with a token issued via "
                            "delegation.")
    user_id = req.ctx.user_id or ""
    async with req.svc.write() as db:
        token = await oauth1.get_request_token(db, req.params["request_token_id"])
        oauth1.check_not_expired(token.expires_at, "Request token")
        wanted = await oauth1.named_role_ids(db, refs)
        held = {r.id for r in await effective_roles(db, user_id, project_id=token.project_id)}
        if not wanted <= held:
            raise OAuthFailed("authorizing user does not have role required")
        verifier = await oauth1.authorize_request_token(db, token, user_id=user_id,
                                                        role_ids=wanted)
    return json_response({"token": {"oauth_verifier": verifier}})


@public
async def create_access_token(req: Req) -> Response:
    """A consumer exchanges an authorized request token and its verifier for an access
    token; the request token is used up."""
    signed = signed_request(req)
    params = signed.oauth_params()
    consumer_id = params.get("oauth_consumer_key")
    token_id = params.get("oauth_token")
    verifier = params.get("oauth_verifier")
    if not consumer_id:
        raise expecting("oauth_consumer_key")
    if not token_id:
        raise expecting("oauth_token")
    if not verifier:
        raise expecting("oauth_verifier")
    keys = req.svc.credential_keys
    async with req.svc.write() as db:
        request_token = await oauth1.get_request_token(db, token_id)
        oauth1.check_not_expired(request_token.expires_at, "Request token")
        consumer = await oauth1.find_consumer(db, consumer_id)
        check_access_token_request(signed, known(keys, consumer), known(keys, request_token),
                                   client_key=consumer_id, verifier=verifier)
        await oauth1.use_nonce(db, consumer_id, params["oauth_nonce"], keep=NONCE_MEMORY)
        access, secret = await oauth1.exchange_request_token(
            db, keys, request_token,
            duration=req.svc.config.identity.oauth1.access_token_duration)
    return _form(access.id, secret, isotime(access.expires_at) if access.expires_at else None)


# --- a user's access tokens ----------------------------------------------------------------

_NO_DELEGATED_MANAGEMENT = "Cannot manage OAuth access tokens with a token issued via " \
                           "delegation."


def _enforce(req: Req, action: str) -> str:
    user_id = req.params["user_id"]
    req.svc.enforce(req.ctx, f"identity:{action}", {"target.user.id": user_id})
    return user_id


async def _users_access_token(req: Req, user_id: str) -> OAuthAccessToken:
    """The user's access token; another user's is as missing as one that does not exist."""
    async with req.svc.read() as db:
        token = await oauth1.get_access_token(db, req.params["access_token_id"])
    if token.user_id != user_id:
        raise OAuthNotFound("Access token")
    return token


async def list_access_tokens(req: Req) -> Response:
    user_id = _enforce(req, "list_access_tokens")
    _refuse_delegation(req, _NO_DELEGATED_MANAGEMENT)
    async with req.svc.read() as db:
        found = await oauth1.list_access_tokens(db, user_id)
    return json_response(views.collection(req, "access_tokens", [
        views.oauth_access_token(req, t) for t in found]))


async def show_access_token(req: Req) -> Response:
    user_id = _enforce(req, "get_access_token")
    _refuse_delegation(req, _NO_DELEGATED_MANAGEMENT)
    token = await _users_access_token(req, user_id)
    return json_response({"access_token": views.oauth_access_token(req, token)})


async def delete_access_token(req: Req) -> Response:
    user_id = _enforce(req, "delete_access_token")
    _refuse_delegation(req, _NO_DELEGATED_MANAGEMENT)
    async with req.svc.write() as db:
        await oauth1.delete_access_token(db, user_id, req.params["access_token_id"])
    return empty_response()


async def list_access_token_roles(req: Req) -> Response:
    user_id = _enforce(req, "list_access_token_roles")
    token = await _users_access_token(req, user_id)
    async with req.svc.read() as db:
        roles = await oauth1.roles_of(db, token)
    return json_response(views.collection(req, "roles", [
        views.oauth_role(req, r) for r in roles]))


async def show_access_token_role(req: Req) -> Response:
    user_id = _enforce(req, "get_access_token_role")
    role_id = req.params["role_id"]
    async with req.svc.read() as db:
        token = await oauth1.get_access_token(db, req.params["access_token_id"])
        if token.user_id != user_id:
            raise OAuthFailed("User IDs do not match")      # Keystone's answer here
        role = next((r for r in await oauth1.roles_of(db, token) if r.id == role_id), None)
    if role is None:
        raise EntityNotFound("role", role_id)
    return json_response({"role": views.oauth_role(req, role)})
