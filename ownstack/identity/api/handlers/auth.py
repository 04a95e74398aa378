"""``/v3/auth``: tokens, and what a token may reach (catalog, projects, domains, system)."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from ownstack.common.api.access_rules import ACCESS_RULES_HEADER, ACCESS_RULES_MIN_VERSION
from ownstack.common.api.app import empty_response, json_response
from ownstack.common.api.routing import public
from ownstack.common.errors import Forbidden, Unauthorized
from ownstack.identity.api import views
from ownstack.identity.api.handlers.common import query_bool, signed_request
from ownstack.identity.api.schemas.auth import AUTH
from ownstack.identity.errors import AuthFailed, TokenNotFound
from ownstack.identity.objects import revocation
from ownstack.identity.objects.assignments import (
    domains_with_roles,
    effective_roles,
    projects_with_roles,
)
from ownstack.identity.state import Req
from ownstack.identity.tokens import methods
from ownstack.identity.tokens.provider import ValidatedToken


def _nocatalog(req: Req) -> bool:
    return query_bool(req, "nocatalog") is True


@public
async def issue_token(req: Req) -> Response:
    body = await req.json(AUTH)
    payload = await methods.issue(req.svc, body, signed_request(req))
    token = req.svc.tokens.seal(payload)
    try:
        validated = await req.svc.tokens.validate(token)
    except TokenNotFound:
        # What the new token names no longer grants anything, e.g. the user holds none
        # of an application credential's roles any more: an authentication failure.
        raise AuthFailed() from None
    return json_response(validated.response(nocatalog=_nocatalog(req)), status=201,
                         headers={"X-Subject-Token": token})


async def _subject(req: Req, rule: str) -> tuple[str, ValidatedToken]:
    subject = req.headers.get("x-subject-token")
    if not subject:
        raise TokenNotFound("No token in the request")
    allow_expired = query_bool(req, "allow_expired") is True
    validated = await req.svc.tokens.validate(subject, allow_expired=allow_expired)
    req.svc.enforce(req.ctx, rule, {"target.token.user_id": validated.payload.user_id})
    if validated.context.get("access_rules") is not None and \
            not _understands_access_rules(req.headers.get(ACCESS_RULES_HEADER)):
        # Keystone's rule: a validator that would not enforce the access rules never
        # learns that the token is valid (keystonemiddleware sends the header).
        raise TokenNotFound()
    return subject, validated


def _understands_access_rules(version: str | None) -> bool:
    try:
        return version is not None and float(version) >= ACCESS_RULES_MIN_VERSION
    except ValueError:
        return False


async def validate_token(req: Req) -> Response:
    subject, validated = await _subject(req, "identity:validate_token")
    return json_response(validated.response(nocatalog=_nocatalog(req)),
                         headers={"X-Subject-Token": subject})


async def check_token(req: Req) -> Response:
    subject, _ = await _subject(req, "identity:check_token")
    return empty_response(200, headers={"X-Subject-Token": subject})


async def revoke_token(req: Req) -> Response:
    subject, validated = await _subject(req, "identity:revoke_token")
    async with req.svc.write() as db:
        await revocation.revoke(db, audit_id=validated.payload.audit_ids[0])
    req.svc.tokens.forget(subject)
    return empty_response()


async def _own_token(req: Req) -> ValidatedToken:
    if req.ctx.auth_token is None:
        raise Unauthorized()
    return await req.svc.tokens.validate(req.ctx.auth_token)


async def show_catalog(req: Req) -> Response:
    if req.ctx.project_id is None:
        raise Forbidden("A project-scoped token is required to produce a service catalog.")
    validated = await _own_token(req)
    return json_response(views.collection(req, "catalog", validated.catalog))


def _caller(req: Req) -> str:
    # Every /v3/auth route but the token ones needs a token, so the caller is known.
    if req.ctx.user_id is None:
        raise Unauthorized()
    return req.ctx.user_id


async def list_auth_projects(req: Req) -> Response:
    async with req.svc.read() as db:
        found = [p for p in await projects_with_roles(db, _caller(req)) if p.enabled]
    return json_response(views.collection(req, "projects",
                                          [views.auth_project(req, p) for p in found]))


async def list_auth_domains(req: Req) -> Response:
    async with req.svc.read() as db:
        found = await domains_with_roles(db, _caller(req))
    return json_response(views.collection(req, "domains",
                                          [views.auth_domain(req, d) for d in found]))


async def list_auth_system(req: Req) -> Response:
    async with req.svc.read() as db:
        has_system = bool(await effective_roles(db, _caller(req), system=True))
    system: list[dict[str, Any]] = [{"all": True}] if has_system else []
    return json_response(views.collection(req, "system", system))
