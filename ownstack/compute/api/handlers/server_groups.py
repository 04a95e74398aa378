"""``/os-server-groups``: create, list, show and delete server groups.

Before 2.64 a group has a one-item ``policies`` list and an always-empty ``metadata``;
from 2.64 a ``policy`` and ``rules`` (``max_server_per_host``, anti-affinity only).
Soft policies need 2.15; ``project_id`` and ``user_id`` show from 2.13.
"""

from __future__ import annotations

from starlette.responses import Response

from ownstack.common.api.app import empty_response, json_response
from ownstack.common.errors import BadRequest
from ownstack.compute.api.common import (
    MAX_LIMIT,
    body,
    count_query,
    reject_unknown_query,
    version_of,
)
from ownstack.compute.api.schemas import server_groups as schemas
from ownstack.compute.api.views.server_groups import server_group
from ownstack.compute.objects import server_groups
from ownstack.compute.state import Req


async def create_group(req: Req) -> Response:
    req.svc.enforce(req.ctx, "os_compute_api:os-server-groups:create")
    version = version_of(req)
    data = (await body(req, schemas.CREATE(version)))["server_group"]
    policy = data["policy"] if "policy" in data else data["policies"][0]
    rules = {key: int(value) for key, value in data.get("rules", {}).items()}
    if rules and policy != "anti-affinity":
        raise BadRequest("Only anti-affinity policy supports rules.")
    async with req.svc.write() as db:
        record = await server_groups.create_group(
            db, req.ctx, req.svc.config.compute.quota, name=data["name"], policy=policy,
            rules=rules)
    return json_response({"server_group": server_group(version, record)})


async def list_groups(req: Req) -> Response:
    req.svc.enforce(req.ctx, "os_compute_api:os-server-groups:index")
    version = version_of(req)
    reject_unknown_query(req, schemas.LIST_QUERY)
    all_projects = "all_projects" in req.query
    if all_projects:
        req.svc.enforce(req.ctx, "os_compute_api:os-server-groups:index:all_projects")
    async with req.svc.read() as db:
        found = await server_groups.list_groups(
            db, req.ctx, all_projects=all_projects,
            limit=count_query(req, "limit", MAX_LIMIT, minimum=0),
            offset=count_query(req, "offset", 0, minimum=0))
    return json_response({"server_groups": [server_group(version, r) for r in found]})


async def show_group(req: Req) -> Response:
    async with req.svc.read() as db:
        record = await server_groups.get_group(db, req.ctx, req.params["group_id"])
    req.svc.enforce(req.ctx, "os_compute_api:os-server-groups:show",
                    {"project_id": record.group.project_id})
    return json_response({"server_group": server_group(version_of(req), record)})


async def delete_group(req: Req) -> Response:
    async with req.svc.write() as db:
        record = await server_groups.get_group(db, req.ctx, req.params["group_id"])
        req.svc.enforce(req.ctx, "os_compute_api:os-server-groups:delete",
                        {"project_id": record.group.project_id})
        await server_groups.delete_group(db, record.group)
    return empty_response(204)
