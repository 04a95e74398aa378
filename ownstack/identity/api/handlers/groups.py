"""Groups and their members: ``/v3/groups``, ``/v3/groups/{group_id}/users``."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from ownstack.common.api.app import empty_response, json_response
from ownstack.identity.api import views
from ownstack.identity.api.handlers.common import token_domain_id
from ownstack.identity.api.schemas import groups as schema
from ownstack.identity.objects import groups, passwords
from ownstack.identity.state import Req


def _target(group_id: str) -> dict[str, Any]:
    return {"target.group.id": group_id}


async def list_groups(req: Req) -> Response:
    req.svc.enforce(req.ctx, "identity:list_groups")
    name, domain_id = req.query.get("name"), req.query.get("domain_id")
    async with req.svc.read() as db:
        found = await groups.list_groups(db, name=name, domain_id=domain_id)
    return json_response(views.collection(req, "groups", [views.group(req, g) for g in found]))


async def show_group(req: Req) -> Response:
    group_id = req.params["group_id"]
    req.svc.enforce(req.ctx, "identity:get_group", _target(group_id))
    async with req.svc.read() as db:
        group = await groups.get_group(db, group_id)
    return json_response({"group": views.group(req, group)})


async def create_group(req: Req) -> Response:
    req.svc.enforce(req.ctx, "identity:create_group")
    data = (await req.json(schema.CREATE))["group"]
    async with req.svc.write() as db:
        group = await groups.create_group(db, data, default_domain_id=token_domain_id(req))
    return json_response({"group": views.group(req, group)}, status=201)


async def update_group(req: Req) -> Response:
    group_id = req.params["group_id"]
    req.svc.enforce(req.ctx, "identity:update_group", _target(group_id))
    data = (await req.json(schema.UPDATE))["group"]
    async with req.svc.write() as db:
        group = await groups.update_group(db, group_id, data)
    return json_response({"group": views.group(req, group)})


async def delete_group(req: Req) -> Response:
    group_id = req.params["group_id"]
    req.svc.enforce(req.ctx, "identity:delete_group", _target(group_id))
    async with req.svc.write() as db:
        await groups.delete_group(db, group_id)
    return empty_response()


# --- membership -----------------------------------------------------------------------

async def list_group_users(req: Req) -> Response:
    group_id = req.params["group_id"]
    req.svc.enforce(req.ctx, "identity:list_users_in_group", _target(group_id))
    async with req.svc.read() as db:
        members = await groups.members(db, group_id)
        expiries = await passwords.expiries(db, members)
    return json_response(views.users(req, members, expiries))


async def add_user(req: Req) -> Response:
    group_id, user_id = req.params["group_id"], req.params["user_id"]
    req.svc.enforce(req.ctx, "identity:add_user_to_group", _target(group_id))
    async with req.svc.write() as db:
        await groups.add_member(db, group_id, user_id)
    return empty_response()


async def check_user(req: Req) -> Response:
    group_id, user_id = req.params["group_id"], req.params["user_id"]
    req.svc.enforce(req.ctx, "identity:check_user_in_group", _target(group_id))
    async with req.svc.read() as db:
        await groups.check_member(db, group_id, user_id)
    return empty_response()


async def remove_user(req: Req) -> Response:
    group_id, user_id = req.params["group_id"], req.params["user_id"]
    req.svc.enforce(req.ctx, "identity:remove_user_from_group", _target(group_id))
    async with req.svc.write() as db:
        await groups.remove_member(db, group_id, user_id)
    return empty_response()
