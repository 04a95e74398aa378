"""Grants and role assignments.

Grants: ``/v3/{projects|domains}/{id}/{users|groups}/{id}/roles[/{role_id}]`` and
``/v3/system/{users|groups}/{id}/roles[/{role_id}]``. Listing: ``/v3/role_assignments``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from ownstack.common.api.app import empty_response, json_response
from ownstack.common.errors import BadRequest, ConcurrentUpdate, Forbidden, NotFound
from ownstack.identity.api.handlers.common import collection_links, get_or_404, query_bool
from ownstack.identity.api.handlers.roles import view as role_view
from ownstack.identity.objects.assignments import (
    SYSTEM_TARGET,
    AssignmentFilter,
    AssignmentRef,
    assignment_type,
    delete_assignments,
    find_role_assignments,
)
from ownstack.identity.objects.models import Assignment, Domain, Group, Project, Role, User
from ownstack.identity.state import Req


@dataclass(frozen=True)
class _Grant:
    """The actor and target a grant URL names, each checked to exist."""

    type: str
    actor_id: str
    target_id: str
    project_domain_id: str | None       # a domain-specific role must be of this domain


_RULES = {"create": "create_grant", "check": "check_grant", "revoke": "revoke_grant",
          "list": "list_grants"}
_SYSTEM_RULES = {"create": "create_system_grant_for_{}", "check": "check_system_grant_for_{}",
                 "revoke": "revoke_system_grant_for_{}", "list": "list_system_grants_for_{}"}


def _policy(req: Req, action: str) -> None:
    """Keystone's rule for the grant URL: project and domain grants share one rule,
    system grants have one per actor kind."""
    p = req.params
    if "project_id" in p or "domain_id" in p:
        rule = _RULES[action]
    else:
        rule = _SYSTEM_RULES[action].format("group" if "group_id" in p else "user")
    target = {f"target.{key.removesuffix('_id')}.id": value for key, value in p.items()}
    req.svc.enforce(req.ctx, f"identity:{rule}", target)


async def _grant(req: Req, db: AsyncSession) -> _Grant:
    p = req.params
    group = "group_id" in p
    project_domain = None
    if "project_id" in p:
        project = await get_or_404(db, Project, p["project_id"], "project")
        target_id, project_domain = project.id, project.domain_id
    elif "domain_id" in p:
        target_id = (await get_or_404(db, Domain, p["domain_id"], "domain")).id
    else:
        target_id = SYSTEM_TARGET
    if group:
        actor_id = (await get_or_404(db, Group, p["group_id"], "group")).id
    else:
        actor_id = (await get_or_404(db, User, p["user_id"], "user")).id
    kind = assignment_type(group=group, project="project_id" in p, domain="domain_id" in p)
    return _Grant(kind, actor_id, target_id, project_domain)


def _key(grant: _Grant, role_id: str) -> tuple[str, str, str, str, bool]:
    return (grant.type, grant.actor_id, grant.target_id, role_id, False)


def _not_granted(req: Req, role_id: str) -> NotFound:
    actor = req.params.get("user_id") or req.params.get("group_id")
    target = req.params.get("project_id") or req.params.get("domain_id") or "the system"
    return NotFound(f"Could not find role assignment with role: {role_id}, "
                    f"actor: {actor}, target: {target}.",
                    code="identity.role_assignment_not_found")


async def create_grant(req: Req) -> Response:
    _policy(req, "create")
    try:
        async with req.svc.write() as db:
            grant = await _grant(req, db)
            role = await get_or_404(db, Role, req.params["role_id"], "role")
            if role.domain_id and grant.target_id == SYSTEM_TARGET:
                raise BadRequest(f"Role {role.id} is a domain-specific role. Unable to use "
                                 "a domain-specific role in a system assignment.")
            if role.domain_id and grant.project_domain_id not in (None, role.domain_id):
                raise Forbidden(f"Project {grant.target_id} must be in the same domain as "
                                f"the role {role.id} being assigned.")
            if await db.get(Assignment, _key(grant, role.id)) is None:
                db.add(Assignment(type=grant.type, actor_id=grant.actor_id,
                                  target_id=grant.target_id, role_id=role.id, inherited=False))
    except IntegrityError:
        # A concurrent PUT of the same grant is success (PUT is idempotent); otherwise
        # something the URL names was deleted meanwhile.
        async with req.svc.read() as db:
            grant = await _grant(req, db)
            if await db.get(Assignment, _key(grant, req.params["role_id"])) is None:
                raise ConcurrentUpdate() from None
    return empty_response()


async def check_grant(req: Req) -> Response:
    _policy(req, "check")
    async with req.svc.read() as db:
        grant = await _grant(req, db)
        role = await get_or_404(db, Role, req.params["role_id"], "role")
        if await db.get(Assignment, _key(grant, role.id)) is None:
            raise _not_granted(req, role.id)
    return empty_response()


async def revoke_grant(req: Req) -> Response:
    _policy(req, "revoke")
    async with req.svc.write() as db:
        grant = await _grant(req, db)
        role = await get_or_404(db, Role, req.params["role_id"], "role")
        key = _key(grant, role.id)
        if await db.get(Assignment, key) is None:
            raise _not_granted(req, role.id)
        await delete_assignments(db, *(column == value for column, value in zip(
            (Assignment.type, Assignment.actor_id, Assignment.target_id, Assignment.role_id,
             Assignment.inherited), key, strict=True)))
    return empty_response()


async def list_grants(req: Req) -> Response:
    _policy(req, "list")
    async with req.svc.read() as db:
        grant = await _grant(req, db)
        roles = (await db.scalars(select(Role).join(Assignment, Assignment.role_id == Role.id)
                                  .where(Assignment.type == grant.type,
                                         Assignment.actor_id == grant.actor_id,
                                         Assignment.target_id == grant.target_id,
                                         Assignment.inherited.is_(False))
                                  .order_by(Role.name))).all()
    return json_response({"roles": [role_view(req, r) for r in roles],
                          "links": collection_links(req)})


# --- GET /v3/role_assignments ---------------------------------------------------------

_INHERITED = "scope.OS-INHERIT:inherited_to"


def _filter(req: Req) -> AssignmentFilter:
    q = req.query

    def both(a: str, b: str, message: str) -> None:
        if q.get(a) and q.get(b):
            raise BadRequest(message)

    both("scope.domain.id", "scope.project.id", "Specify a domain or project, not both")
    both("scope.system", "scope.domain.id", "Specify system or domain, not both")
    both("scope.system", "scope.project.id", "Specify system or project, not both")
    both("user.id", "group.id", "Specify a user or group, not both")
    inherited = q[_INHERITED] == "projects" if _INHERITED in q else None
    effective = query_bool(req, "effective") is True
    if effective and q.get("group.id"):
        raise BadRequest("Combining effective and group filter will always result in an "
                         "empty list.")
    if effective and inherited and q.get("scope.domain.id"):
        raise BadRequest("Combining effective, domain and inherited filters will always "
                         "result in an empty list.")
    include_subtree = query_bool(req, "include_subtree") is True
    if include_subtree and not q.get("scope.project.id"):
        raise BadRequest("scope.project.id must be specified if include_subtree is also "
                         "specified")
    return AssignmentFilter(
        role_id=q.get("role.id") or None, user_id=q.get("user.id") or None,
        group_id=q.get("group.id") or None, project_id=q.get("scope.project.id") or None,
        domain_id=q.get("scope.domain.id") or None, system=q.get("scope.system") == "all",
        include_subtree=include_subtree, inherited=inherited, effective=effective)


class _Ids:
    """How an assignment names its parts by default: by id alone."""

    def user(self, ident: str) -> dict[str, Any]:
        return {"id": ident}

    group = project = domain = role = user


class _Names(_Ids):
    """With ``include_names``: names too, loaded in one query per kind."""

    def __init__(self) -> None:
        self.domains: dict[str, str] = {}
        self.owned: dict[str, tuple[str, str]] = {}       # id -> (name, domain id)

    @classmethod
    async def load(cls, db: AsyncSession, refs: list[AssignmentRef]) -> _Names:
        names = cls()
        ids = {i for r in refs for i in (r.user_id, r.group_id, r.project_id, r.role_id) if i}
        for model in (User, Group, Project, Role):
            rows = await db.execute(select(model.id, model.name, model.domain_id)
                                    .where(model.id.in_(ids)))
            names.owned.update((i, (n, d)) for i, n, d in rows)
        domain_ids = {r.domain_id for r in refs if r.domain_id} | {
            d for _, d in names.owned.values()}
        domains = await db.execute(select(Domain.id, Domain.name)
                                   .where(Domain.id.in_(domain_ids)))
        names.domains.update((i, n) for i, n in domains)
        return names

    def domain(self, ident: str) -> dict[str, Any]:
        return {"id": ident, "name": self.domains.get(ident, "")}

    def user(self, ident: str) -> dict[str, Any]:
        name, domain_id = self.owned.get(ident, ("", ""))
        return {"id": ident, "name": name, "domain": self.domain(domain_id)}

    group = project = user

    def role(self, ident: str) -> dict[str, Any]:
        name, domain_id = self.owned.get(ident, ("", ""))
        return {"id": ident, "name": name, **({"domain": self.domain(domain_id)}
                                               if domain_id else {})}


def _format(req: Req, ref: AssignmentRef, names: _Ids) -> dict[str, Any]:
    """Keystone's rendering: the assignment link points at the grant that caused it."""
    base = f"{req.base_url()}/v3"
    links: dict[str, str] = {}
    inherited = ref.inherited
    scope: dict[str, Any]
    if ref.project_id is not None:
        scope = {"project": names.project(ref.project_id)}
        inherited = inherited or bool(ref.via_domain or ref.via_project)
        link = (f"/domains/{ref.via_domain}" if ref.via_domain else
                f"/projects/{ref.via_project or ref.project_id}")
    elif ref.domain_id is not None:
        scope = {"domain": names.domain(ref.domain_id)}
        link = f"/domains/{ref.domain_id}"
    else:
        scope = {"system": {"all": True}}
        link = "/system"
    entity: dict[str, Any] = {"scope": scope}
    if ref.user_id is not None:
        entity["user"] = names.user(ref.user_id)
        if ref.via_group:
            links["membership"] = f"{base}/groups/{ref.via_group}/users/{ref.user_id}"
        link += f"/groups/{ref.via_group}" if ref.via_group else f"/users/{ref.user_id}"
    elif ref.group_id is not None:
        entity["group"] = names.group(ref.group_id)
        link += f"/groups/{ref.group_id}"
    entity["role"] = names.role(ref.role_id)
    link += f"/roles/{ref.prior_role or ref.role_id}"
    if inherited:
        scope["OS-INHERIT:inherited_to"] = "projects"
        links["assignment"] = f"{base}/OS-INHERIT{link}/inherited_to_projects"
    else:
        links["assignment"] = f"{base}{link}"
    if ref.prior_role:
        links["prior_role"] = f"{base}/roles/{ref.prior_role}/implies/{ref.role_id}"
    entity["links"] = links
    return entity


async def list_role_assignments(req: Req) -> Response:
    subtree = query_bool(req, "include_subtree") is True
    req.svc.enforce(req.ctx, "identity:list_role_assignments_for_tree" if subtree
                    else "identity:list_role_assignments")
    wanted = _filter(req)
    async with req.svc.read() as db:
        if wanted.project_id is not None and subtree:
            await get_or_404(db, Project, wanted.project_id, "project")
        refs = await find_role_assignments(db, wanted)
        names = await _Names.load(db, refs) if query_bool(req, "include_names") else _Ids()
    return json_response({"role_assignments": [_format(req, r, names) for r in refs],
                          "links": collection_links(req)})
