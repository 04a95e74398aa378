"""``/v3/auth``: tokens, and what a token may reach (catalog, projects, domains, system)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from starlette.responses import Response

from ownstack.common.api.app import empty_response, json_response
from ownstack.common.api.routing import public
from ownstack.common.errors import Forbidden, Unauthorized
from ownstack.identity.api.handlers.common import query_bool, self_link
from ownstack.identity.errors import AuthFailed, TokenNotFound
from ownstack.identity.objects import revocation
from ownstack.identity.objects.assignments import (
    GROUP_DOMAIN,
    USER_DOMAIN,
    effective_roles,
    group_ids_of,
    projects_with_roles,
)
from ownstack.identity.objects.models import Assignment, Domain
from ownstack.identity.state import Req
from ownstack.identity.tokens import methods
from ownstack.identity.tokens.provider import ValidatedToken


def _nocatalog(req: Req) -> bool:
    return "nocatalog" in req.query and query_bool(req, "nocatalog") is not False


@public
async def issue_token(req: Req) -> Response:
    body = await req.json(methods.AUTH)
    payload = await methods.issue(req.svc, body)
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
        raise TokenNotFound()
    allow_expired = query_bool(req, "allow_expired") is True
    validated = await req.svc.tokens.validate(subject, allow_expired=allow_expired)
    req.svc.enforce(req.ctx, rule, {"target.token.user_id": validated.payload.user_id})
    return subject, validated


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
    return json_response({"catalog": validated.catalog,
                          "links": {"self": req.url(), "previous": None, "next": None}})


async def list_auth_projects(req: Req) -> Response:
    user_id = req.ctx.user_id
    assert user_id is not None
    async with req.svc.read() as db:
        projects = [p for p in await projects_with_roles(db, user_id) if p.enabled]
    return json_response({
        "projects": [{"id": p.id, "name": p.name, "domain_id": p.domain_id,
                      "enabled": p.enabled, "description": p.description or "",
                      "is_domain": False, "parent_id": p.parent_id or p.domain_id,
                      "links": self_link(req, f"/v3/projects/{p.id}")} for p in projects],
        "links": {"self": req.url(), "previous": None, "next": None}})


async def list_auth_domains(req: Req) -> Response:
    user_id = req.ctx.user_id
    assert user_id is not None
    async with req.svc.read() as db:
        actors = [user_id, *await group_ids_of(db, user_id)]
        domain_ids = set((await db.scalars(select(Assignment.target_id).where(
            Assignment.actor_id.in_(actors), Assignment.type.in_((USER_DOMAIN, GROUP_DOMAIN)),
            Assignment.inherited.is_(False)))).all())
        domains = (await db.scalars(select(Domain).where(Domain.id.in_(domain_ids),
                                                         Domain.enabled.is_(True))
                                    .order_by(Domain.name))).all()
    return json_response({
        "domains": [{"id": d.id, "name": d.name, "enabled": d.enabled,
                     "description": d.description or "",
                     "links": self_link(req, f"/v3/domains/{d.id}")} for d in domains],
        "links": {"self": req.url(), "previous": None, "next": None}})


async def list_auth_system(req: Req) -> Response:
    user_id = req.ctx.user_id
    assert user_id is not None
    async with req.svc.read() as db:
        has_system = bool(await effective_roles(db, user_id, system=True))
    system: list[dict[str, Any]] = [{"all": True}] if has_system else []
    return json_response({"system": system, "links": {"self": req.url(), "previous": None,
                                                      "next": None}})
