"""Groups and their members: ``/v3/groups``, ``/v3/groups/{group_id}/users``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.responses import Response

from ownstack.common.api.app import empty_response, json_response
from ownstack.identity.api import views
from ownstack.identity.api.handlers.common import token_domain_id
from ownstack.identity.api.handlers.crud import Noun, enforce_on
from ownstack.identity.api.handlers.users import listed_users
from ownstack.identity.api.schemas import groups as schema
from ownstack.identity.objects import Session, groups
from ownstack.identity.state import Req

GROUP = Noun("group", views.group, schema.CREATE, schema.UPDATE,
             find=groups.list_groups, get=groups.get_group, change=groups.update_group,
             remove=groups.delete_group, filters=("name", "domain_id"))

list_groups, show_group, update_group = GROUP.list, GROUP.show, GROUP.update
delete_group = GROUP.delete


async def create_group(req: Req) -> Response:
    """A new group in the caller's domain unless the body names one (Keystone's rule)."""
    req.svc.enforce(req.ctx, "identity:create_group")
    data = await GROUP.body(req, schema.CREATE)
    async with req.svc.write() as db:
        group = await groups.create_group(db, data, default_domain_id=token_domain_id(req))
    return GROUP.answer(req, group, status=201)


# --- membership -----------------------------------------------------------------------

async def list_group_users(req: Req) -> Response:
    group_id = enforce_on(req, "identity:list_users_in_group", "group")
    async with req.svc.read() as db:
        body = await listed_users(req, db, await groups.members(db, group_id))
    return json_response(body)


Membership = Callable[[Session, str, str], Awaitable[None]]


async def _membership(req: Req, rule: str, act: Membership, *, write: bool) -> Response:
    """Add, check or remove the membership the URL names: no body, 204."""
    group_id = enforce_on(req, rule, "group")
    async with (req.svc.write() if write else req.svc.read()) as db:
        await act(db, group_id, req.params["user_id"])
    return empty_response()


async def add_user(req: Req) -> Response:
    return await _membership(req, "identity:add_user_to_group", groups.add_member,
                             write=True)


async def check_user(req: Req) -> Response:
    return await _membership(req, "identity:check_user_in_group", groups.check_member,
                             write=False)


async def remove_user(req: Req) -> Response:
    return await _membership(req, "identity:remove_user_from_group", groups.remove_member,
                             write=True)
