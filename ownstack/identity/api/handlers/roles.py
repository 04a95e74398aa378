"""Roles and implied roles: ``/v3/roles``, ``/v3/roles/{prior}/implies/{implied}``,
``/v3/role_inferences``."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from ownstack.common.api.app import empty_response, json_response
from ownstack.common.api.schema import DESCRIPTION, NAME, NULLABLE_ID, Validator
from ownstack.common.errors import BadRequest, Forbidden, NotFound
from ownstack.identity.api.handlers.common import (
    collection_links,
    extra_attrs,
    get_or_404,
    self_link,
)
from ownstack.identity.errors import DuplicateEntity
from ownstack.identity.objects.assignments import (
    delete_assignments,
    implication_rules,
    implies,
)
from ownstack.identity.objects.models import Assignment, Domain, ImpliedRole, Role
from ownstack.identity.state import Req

_OPTIONS = {"type": "object", "additionalProperties": False,
            "properties": {"immutable": {"type": ["boolean", "null"]}}}
_FIELDS = {"name": {**NAME, "pattern": r"\S"}, "description": DESCRIPTION,
           "domain_id": NULLABLE_ID, "options": _OPTIONS}

CREATE = Validator({
    "type": "object", "required": ["role"], "additionalProperties": False,
    "properties": {"role": {"type": "object", "required": ["name"], "properties": _FIELDS,
                            "not": {"anyOf": [{"required": ["id"]}]}}},
})
UPDATE = Validator({
    "type": "object", "required": ["role"], "additionalProperties": False,
    "properties": {"role": {"type": "object", "minProperties": 1, "properties": _FIELDS,
                            "not": {"anyOf": [{"required": ["id"]}]}}},
})

_RESERVED = {"id", "links", *_FIELDS}
# Keystone's [assignment] prohibited_implied_role default: nothing may imply admin.
PROHIBITED_IMPLIED_ROLES = frozenset({"admin"})


def view(req: Req, role: Role) -> dict[str, Any]:
    return {**role.extra, "id": role.id, "name": role.name,
            "domain_id": role.domain_id or None, "description": role.description,
            "options": dict(role.options or {}), "links": self_link(req, f"/v3/roles/{role.id}")}


def _ref(req: Req, role: Role) -> dict[str, Any]:
    return {"id": role.id, "name": role.name, "links": self_link(req, f"/v3/roles/{role.id}")}


def _duplicate(name: str | None) -> DuplicateEntity:
    return DuplicateEntity("role", f"Duplicate entry found with name {name}")


def _immutable(role: Role) -> bool:
    return bool((role.options or {}).get("immutable"))


async def list_roles(req: Req) -> Response:
    req.svc.enforce(req.ctx, "identity:list_roles")
    # Without a domain filter Keystone lists only global roles.
    stmt = select(Role).where(Role.domain_id == req.query.get("domain_id", "")).order_by(Role.name)
    if "name" in req.query:
        stmt = stmt.where(Role.name == req.query["name"])
    async with req.svc.read() as db:
        rows = (await db.scalars(stmt)).all()
    return json_response({"roles": [view(req, r) for r in rows], "links": collection_links(req)})


async def show_role(req: Req) -> Response:
    role_id = req.params["role_id"]
    req.svc.enforce(req.ctx, "identity:get_role", {"target.role.id": role_id})
    async with req.svc.read() as db:
        role = await get_or_404(db, Role, role_id, "role")
    return json_response({"role": view(req, role)})


async def create_role(req: Req) -> Response:
    req.svc.enforce(req.ctx, "identity:create_role")
    data = (await req.json(CREATE))["role"]
    options = {k: v for k, v in (data.get("options") or {}).items() if v is not None}
    role = Role(name=data["name"], domain_id=data.get("domain_id") or "",
                description=data.get("description"), options=options,
                extra=extra_attrs(data, _RESERVED))
    try:
        async with req.svc.write() as db:
            if role.domain_id:
                await get_or_404(db, Domain, role.domain_id, "domain")
            db.add(role)
    except IntegrityError:
        raise _duplicate(data["name"]) from None
    return json_response({"role": view(req, role)}, status=201)


async def update_role(req: Req) -> Response:
    role_id = req.params["role_id"]
    req.svc.enforce(req.ctx, "identity:update_role", {"target.role.id": role_id})
    data = (await req.json(UPDATE))["role"]
    try:
        async with req.svc.write() as db:
            role = await get_or_404(db, Role, role_id, "role")
            if _immutable(role) and data.get("options", {}).get("immutable", True):
                raise Forbidden(f"Role {role_id} is immutable: its resource option "
                                '"immutable" must be made false before it can change.')
            if "domain_id" in data and (data["domain_id"] or "") != role.domain_id:
                raise BadRequest("Update of `domain_id` is not allowed.")
            for key in ("name", "description"):
                if key in data:
                    setattr(role, key, data[key])
            if "options" in data:
                merged = {**(role.options or {}), **data["options"]}
                role.options = {k: v for k, v in merged.items() if v is not None}
            extra = extra_attrs(data, _RESERVED)
            if extra:
                role.extra = {**role.extra, **extra}
    except IntegrityError:
        raise _duplicate(data.get("name")) from None
    return json_response({"role": view(req, role)})


async def delete_role(req: Req) -> Response:
    role_id = req.params["role_id"]
    req.svc.enforce(req.ctx, "identity:delete_role", {"target.role.id": role_id})
    async with req.svc.write() as db:
        role = await get_or_404(db, Role, role_id, "role")
        if _immutable(role):
            raise Forbidden(f"Role {role_id} is immutable: its resource option "
                            '"immutable" must be made false before it can be deleted.')
        # Holders of the role lose it: their tokens carrying it are revoked.
        await delete_assignments(db, Assignment.role_id == role_id)
        await db.execute(delete(ImpliedRole).where(or_(ImpliedRole.prior_role_id == role_id,
                                                       ImpliedRole.implied_role_id == role_id)))
        await db.delete(role)
    return empty_response()


# --- implied roles --------------------------------------------------------------------

def _inference_link(req: Req, prior_id: str, implied_id: str) -> dict[str, str]:
    return self_link(req, f"/v3/roles/{prior_id}/implies/{implied_id}")


async def _pair(req: Req, db: AsyncSession) -> tuple[Role, Role]:
    return (await get_or_404(db, Role, req.params["prior_role_id"], "role"),
            await get_or_404(db, Role, req.params["implied_role_id"], "role"))


async def _existing_rule(req: Req, db: AsyncSession) -> tuple[Role, Role]:
    prior, implied = await _pair(req, db)
    if await db.get(ImpliedRole, (prior.id, implied.id)) is None:
        raise NotFound(f"{prior.id} does not imply {implied.id}.",
                       code="identity.implied_role_not_found")
    return prior, implied


def _inference(req: Req, prior: Role, implied: Role) -> dict[str, Any]:
    return {"role_inference": {"prior_role": _ref(req, prior), "implies": _ref(req, implied)},
            "links": _inference_link(req, prior.id, implied.id)}


def _duplicate_rule(req: Req) -> DuplicateEntity:
    return DuplicateEntity("implied_role", f"{req.params['prior_role_id']} already implies "
                           f"{req.params['implied_role_id']}")


async def create_implied_role(req: Req) -> Response:
    req.svc.enforce(req.ctx, "identity:create_implied_role")
    try:
        async with req.svc.write() as db:
            prior, implied = await _pair(req, db)
            if implied.name in PROHIBITED_IMPLIED_ROLES:
                raise Forbidden(f"{implied.id} cannot be an implied roles.")
            if not prior.domain_id and implied.domain_id:
                raise Forbidden("Global role cannot imply a domain-specific role.")
            rules = await implication_rules(db)
            if implied.id in rules.get(prior.id, ()):
                raise _duplicate_rule(req)
            if implies(rules, implied.id, prior.id):
                raise BadRequest(f"Role {prior.id} cannot imply role {implied.id}: "
                                 "the inference rules would form a cycle.")
            db.add(ImpliedRole(prior_role_id=prior.id, implied_role_id=implied.id))
    except IntegrityError:        # the same rule, made concurrently
        raise _duplicate_rule(req) from None
    return json_response(_inference(req, prior, implied), status=201)


async def show_implied_role(req: Req) -> Response:
    req.svc.enforce(req.ctx, "identity:get_implied_role")
    async with req.svc.read() as db:
        prior, implied = await _existing_rule(req, db)
    return json_response(_inference(req, prior, implied))


async def check_implied_role(req: Req) -> Response:
    req.svc.enforce(req.ctx, "identity:check_implied_role")
    async with req.svc.read() as db:
        await _existing_rule(req, db)
    return empty_response()


async def delete_implied_role(req: Req) -> Response:
    req.svc.enforce(req.ctx, "identity:delete_implied_role")
    async with req.svc.write() as db:
        prior, implied = await _existing_rule(req, db)
        await db.execute(delete(ImpliedRole).where(ImpliedRole.prior_role_id == prior.id,
                                                   ImpliedRole.implied_role_id == implied.id))
    return empty_response()


async def _inferences(req: Req, db: AsyncSession, prior_id: str | None = None
                      ) -> list[dict[str, Any]]:
    """Every rule (or those of one prior role), grouped by prior role."""
    rules = await implication_rules(db)
    if prior_id is not None:
        rules = {prior_id: rules.get(prior_id, [])}
    ids = {*rules, *(i for implied in rules.values() for i in implied)}
    roles = {r.id: r for r in (await db.scalars(select(Role).where(Role.id.in_(ids)))).all()}
    return [{"prior_role": _ref(req, roles[prior]),
             "implies": [_ref(req, roles[i]) for i in sorted(implied, key=lambda i: roles[i].name)]}
            for prior, implied in sorted(rules.items(), key=lambda kv: roles[kv[0]].name)]


async def list_implied_roles(req: Req) -> Response:
    req.svc.enforce(req.ctx, "identity:list_implied_roles")
    async with req.svc.read() as db:
        prior = await get_or_404(db, Role, req.params["prior_role_id"], "role")
        [inference] = await _inferences(req, db, prior.id)
    return json_response({"role_inference": inference,
                          "links": self_link(req, f"/v3/roles/{prior.id}/implies")})


async def list_role_inferences(req: Req) -> Response:
    req.svc.enforce(req.ctx, "identity:list_role_inference_rules")
    async with req.svc.read() as db:
        inferences = await _inferences(req, db)
    return json_response({"role_inferences": inferences, "links": collection_links(req)})
