"""``/v2.0/rbac-policies``: a network's owner shares it with other projects."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from ownstack.common.api.app import empty_response
from ownstack.network.api import common
from ownstack.network.api.schemas import rbac as schema
from ownstack.network.api.views import rbac as views
from ownstack.network.errors import BadNetworkRequest, InvalidInput
from ownstack.network.objects import networks, rbac
from ownstack.network.objects.listing import list_page
from ownstack.network.objects.models import Network, RbacPolicy
from ownstack.network.state import Req


def _target_project(data: dict[str, Any]) -> str | None:
    tenant, project = data.pop("target_tenant", None), data.pop("target_project", None)
    if tenant and project and tenant != project:
        raise BadNetworkRequest("rbac_policy",
                                "'target_tenant' and 'target_project' do not match")
    chosen = tenant or project
    return str(chosen) if chosen else None


def _enforce(req: Req, action: str, row_project: str, target: str) -> None:
    policy_target = {"project_id": row_project, "target_tenant": target}
    req.svc.enforce(req.ctx, f"{action}_rbac_policy", policy_target)
    if target == rbac.EVERYONE:
        req.svc.enforce(req.ctx, f"{action}_rbac_policy:target_tenant", policy_target)


async def _owned_network(req: Req, db: Any, network_id: str) -> Network:
    network = await networks.get_network(db, req.ctx, network_id)
    if not req.ctx.is_admin and network.project_id != req.ctx.project_id:
        raise InvalidInput("Only admins can manipulate policies on networks they do not own")
    return network


async def list_rbac_policies(req: Req) -> Response:
    query = common.list_query(req, rbac.RBAC_POLICIES)
    async with req.svc.read() as db:
        page = await list_page(db, rbac.RBAC_POLICIES, query, rbac.visible(req.ctx))
    return common.list_response(req, rbac.RBAC_POLICIES, query, page,
                                [views.rbac_policy(row) for row in page.rows])


async def show_rbac_policy(req: Req) -> Response:
    async with req.svc.read() as db:
        row = await rbac.get_policy(db, req.ctx, req.params["policy_id"])
    req.svc.enforce(req.ctx, "get_rbac_policy", {"project_id": row.project_id})
    return common.one("rbac_policy", views.rbac_policy(row), common.show_fields(req))


async def create_rbac_policy(req: Req) -> Response:
    data = await common.body(req, schema.CREATE, "rbac_policy")
    target = _target_project(data)
    if not target:
        raise BadNetworkRequest("rbac_policy", "Failed to parse request. Required attribute "
                                "'target_tenant' not specified")
    project_id = common.owner(req, data)
    _enforce(req, "create", project_id, target)
    async with req.svc.write() as db:
        network = await _owned_network(req, db, data["object_id"])
        row: RbacPolicy = await rbac.grant(db, network, project_id, data["action"], target,
                                           config=req.svc.settings)
    return common.one("rbac_policy", views.rbac_policy(row), status=201)


async def update_rbac_policy(req: Req) -> Response:
    data = await common.body(req, schema.UPDATE, "rbac_policy")
    target = _target_project(data)
    async with req.svc.write() as db:
        row = await rbac.get_policy(db, req.ctx, req.params["policy_id"])
        if target:
            _enforce(req, "update", row.project_id, target)
            network = await _owned_network(req, db, row.object_id)
            row = await rbac.retarget(db, row, network, target)
        else:
            req.svc.enforce(req.ctx, "update_rbac_policy", {"project_id": row.project_id})
    return common.one("rbac_policy", views.rbac_policy(row))


async def delete_rbac_policy(req: Req) -> Response:
    async with req.svc.write() as db:
        row = await rbac.get_policy(db, req.ctx, req.params["policy_id"])
        req.svc.enforce(req.ctx, "delete_rbac_policy", {"project_id": row.project_id})
        network = await networks.get_network(db, req.ctx, row.object_id)
        await rbac.revoke(db, row, network)
    return empty_response(204)
