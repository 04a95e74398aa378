"""``/v2.0/security-groups[/{id}]`` and ``/v2.0/security-group-rules[/{id}]``.

The URLs have hyphens, the bodies and policy rules underscores, as in Neutron.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from ownstack.common.api.app import empty_response, json_response
from ownstack.network.api import common
from ownstack.network.api.schemas import security_groups as schema
from ownstack.network.api.views import security_groups as views
from ownstack.network.errors import (
    SecurityGroupNotSingleGroupRules,
    SecurityGroupRuleNotFound,
    SecurityGroupRulesNotSingleProject,
)
from ownstack.network.objects import security_groups as groups
from ownstack.network.objects import sg_members
from ownstack.network.objects.listing import ListQuery, list_page
from ownstack.network.objects.models import SecurityGroup, SecurityGroupRule
from ownstack.network.objects.standard import tags_of
from ownstack.network.sg_rules import normalise_rule
from ownstack.network.state import Req


def _target(row: SecurityGroup) -> dict[str, Any]:
    return {"project_id": row.project_id}


def _rule_target(project_id: str, group: SecurityGroup) -> dict[str, Any]:
    return {"project_id": project_id, "security_group_id": group.id,
            "security_group:project_id": group.project_id}


async def _ensure_default(req: Req, project_id: str | None) -> None:
    """Make ``project_id``'s default group on its first use, as Neutron does when a
    project lists or creates groups or rules; never for another project unless admin."""
    if not project_id or (project_id != req.ctx.project_id and not req.ctx.is_admin):
        return
    async with req.svc.read() as db:
        if await groups.default_group_id(db, project_id) is not None:
            return
    async with req.svc.write() as db:
        await groups.ensure_default(db, req.svc.settings, project_id)


def _listed_project(req: Req, query: ListQuery) -> str | None:
    named = query.filters.get("project_id") or query.filters.get("tenant_id")
    return named[0] if named else req.ctx.project_id


async def _group_bodies(db: Any, rows: list[SecurityGroup]) -> list[dict[str, Any]]:
    ids = [row.id for row in rows]
    rules = await groups.rules_of(db, ids)
    tags = await tags_of(db, ids)
    return [views.group(row, rules=rules.get(row.id, []), tags=tags.get(row.id, []))
            for row in rows]


async def _rule_bodies(db: Any, rows: list[SecurityGroupRule]) -> list[dict[str, Any]]:
    defaults = await groups.default_groups(db, [row.security_group_id for row in rows])
    return [views.rule(row, in_default_group=row.security_group_id in defaults)
            for row in rows]


async def list_security_groups(req: Req) -> Response:
    query = common.list_query(req, groups.GROUPS)
    await _ensure_default(req, _listed_project(req, query))
    async with req.svc.read() as db:
        page = await list_page(db, groups.GROUPS, query, groups.visible_groups(req.ctx))
        items = await _group_bodies(db, page.rows)
    return common.list_response(req, groups.GROUPS, query, page, items)


async def show_security_group(req: Req) -> Response:
    async with req.svc.read() as db:
        row = await groups.get_group(db, req.ctx, req.params["security_group_id"])
        req.svc.enforce(req.ctx, "get_security_group", _target(row))
        (item,) = await _group_bodies(db, [row])
    return common.one("security_group", item, common.show_fields(req))


async def create_security_group(req: Req) -> Response:
    data = common.booleans(await common.body(req, schema.CREATE_GROUP, "security_group"),
                           "stateful")
    project_id = common.owner(req, data)
    req.svc.enforce(req.ctx, "create_security_group", {"project_id": project_id})
    async with req.svc.write() as db:
        row, rules = await groups.create_group(db, req.svc.settings, project_id, data)
        item = views.group(row, rules=rules, tags=[])       # a new group has no tags
    return common.one("security_group", item, status=201)


async def update_security_group(req: Req) -> Response:
    data = common.booleans(await common.body(req, schema.UPDATE_GROUP, "security_group"),
                           "stateful")
    async with req.svc.write() as db:
        row = await groups.get_group(db, req.ctx, req.params["security_group_id"])
        req.svc.enforce(req.ctx, "update_security_group", _target(row))
        row = await groups.update_group(db, row, data, common.revision(req))
        (item,) = await _group_bodies(db, [row])
    return common.one("security_group", item)


async def delete_security_group(req: Req) -> Response:
    async with req.svc.write() as db:
        row = await groups.get_group(db, req.ctx, req.params["security_group_id"])
        req.svc.enforce(req.ctx, "delete_security_group", _target(row))
        naming_it = await sg_members.groups_naming(db, row.id)
        await groups.delete_group(db, req.ctx, row, common.revision(req))
    await req.svc.security_groups_changed(naming_it)     # their rules naming it went too
    return empty_response(204)


async def list_security_group_rules(req: Req) -> Response:
    query = common.list_query(req, groups.RULES)
    await _ensure_default(req, _listed_project(req, query))
    async with req.svc.read() as db:
        page = await list_page(db, groups.RULES, query, groups.visible_rules(req.ctx))
        items = await _rule_bodies(db, page.rows)
    return common.list_response(req, groups.RULES, query, page, items)


async def show_security_group_rule(req: Req) -> Response:
    async with req.svc.read() as db:
        row = await groups.get_rule(db, req.ctx, req.params["security_group_rule_id"])
        group = await groups.get_group(db, req.ctx, row.security_group_id)
        if not req.svc.allowed(req.ctx, "get_security_group_rule",
                               _rule_target(row.project_id, group)):
            raise SecurityGroupRuleNotFound(row.id)
        (item,) = await _rule_bodies(db, [row])
    return common.one("security_group_rule", item, common.show_fields(req))


async def create_security_group_rules(req: Req) -> Response:
    """One rule, or several of one group at once (all or none)."""
    document = await req.json(schema.CREATE_RULES)
    bulk = "security_group_rules" in document
    bodies: list[dict[str, Any]] = (document["security_group_rules"] if bulk
                                    else [document["security_group_rule"]])
    specs = [groups.NewRule(normalise_rule(body), body.get("description") or "")
             for body in bodies]
    group_ids = {body["security_group_id"] for body in bodies}
    projects = {common.owner(req, body) for body in bodies}
    if len(group_ids) > 1:
        raise SecurityGroupNotSingleGroupRules()
    if len(projects) > 1:
        raise SecurityGroupRulesNotSingleProject()
    (group_id,), (project_id,) = group_ids, projects
    await _ensure_default(req, project_id)
    async with req.svc.write() as db:
        group = await groups.get_group(db, req.ctx, group_id)
        req.svc.enforce(req.ctx, "create_security_group_rule",
                        _rule_target(project_id, group))
        rows = await groups.create_rules(db, req.ctx, req.svc.settings, group, project_id,
                                         specs)
        items = [views.rule(row, in_default_group=bool(group.default_marker))
                 for row in rows]
    await req.svc.security_groups_changed({group_id})
    if bulk:
        return json_response({"security_group_rules": items}, status=201)
    return common.one("security_group_rule", items[0], status=201)


async def delete_security_group_rule(req: Req) -> Response:
    async with req.svc.write() as db:
        row = await groups.get_rule(db, req.ctx, req.params["security_group_rule_id"])
        group = await groups.get_group(db, req.ctx, row.security_group_id)
        req.svc.enforce(req.ctx, "delete_security_group_rule",
                        _rule_target(row.project_id, group))
        group_id = row.security_group_id
        await groups.delete_rule(db, row, common.revision(req))
    await req.svc.security_groups_changed({group_id})
    return empty_response(204)
