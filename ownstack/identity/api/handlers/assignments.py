"""Grants and role assignments.

Grants: ``/v3/{projects|domains}/{id}/{users|groups}/{id}/roles[/{role_id}]`` and
``/v3/system/{users|groups}/{id}/roles[/{role_id}]``. Listing: ``/v3/role_assignments``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.responses import Response

from ownstack.common.api.app import empty_response, json_response
from ownstack.common.errors import BadRequest
from ownstack.identity.api import views
from ownstack.identity.api.handlers.common import query_bool
from ownstack.identity.objects import Session, grants, projects
from ownstack.identity.objects.assignments import (
    AssignmentFilter,
    find_role_assignments,
    names_of,
)
from ownstack.identity.objects.grants import Grant
from ownstack.identity.state import Req

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


def _named(req: Req) -> dict[str, str | None]:
    """The actor and target the grant URL names."""
    return {key: req.params.get(key) for key in ("user_id", "group_id", "project_id",
                                                 "domain_id")}


GrantCall = Callable[[Session, Grant, str], Awaitable[None]]


async def _on_grant(req: Req, action: str, call: GrantCall) -> Response:
    """Make, check or revoke the grant of the role the URL names: no body, 204."""
    _policy(req, action)
    async with (req.svc.read() if action == "check" else req.svc.write()) as db:
        grant = await grants.find_grant(db, **_named(req))
        await call(db, grant, req.params["role_id"])
    return empty_response()


async def create_grant(req: Req) -> Response:
    return await _on_grant(req, "create", grants.create_grant)


async def check_grant(req: Req) -> Response:
    return await _on_grant(req, "check", grants.check_grant)


async def revoke_grant(req: Req) -> Response:
    return await _on_grant(req, "revoke", grants.revoke_grant)


async def list_grants(req: Req) -> Response:
    _policy(req, "list")
    async with req.svc.read() as db:
        grant = await grants.find_grant(db, **_named(req))
        found = await grants.granted_roles(db, grant)
    return json_response(views.collection(req, "roles", [views.role(req, r) for r in found]))


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


async def list_role_assignments(req: Req) -> Response:
    subtree = query_bool(req, "include_subtree") is True
    req.svc.enforce(req.ctx, "identity:list_role_assignments_for_tree" if subtree
                    else "identity:list_role_assignments")
    wanted = _filter(req)
    async with req.svc.read() as db:
        if wanted.project_id is not None and subtree:
            await projects.get_project(db, wanted.project_id)
        refs = await find_role_assignments(db, wanted)
        with_names = query_bool(req, "include_names") is True
        names = await names_of(db, refs) if with_names else None
    return json_response(views.collection(req, "role_assignments", [
        views.role_assignment(req, r, names) for r in refs]))
