"""Groups and their members: ``/v3/groups``, ``/v3/groups/{group_id}/users``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from ownstack.common.api.app import empty_response, json_response
from ownstack.common.api.schema import DESCRIPTION, NAME, NULLABLE_ID, Validator
from ownstack.common.errors import BadRequest, ConcurrentUpdate, NotFound
from ownstack.identity.api.handlers.common import (
    collection_links,
    extra_attrs,
    get_or_404,
    query_filters,
    self_link,
    token_domain_id,
)
from ownstack.identity.errors import DuplicateEntity
from ownstack.identity.objects import cleanup, revocation
from ownstack.identity.objects.models import (
    Domain,
    Group,
    GroupMembership,
    Password,
    User,
)
from ownstack.identity.state import Req
from ownstack.identity.tokens.provider import isotime

_FIELDS = {"name": NAME, "description": DESCRIPTION, "domain_id": NULLABLE_ID}

CREATE = Validator({
    "type": "object", "required": ["group"], "additionalProperties": False,
    "properties": {"group": {"type": "object", "required": ["name"], "properties": _FIELDS,
                             "not": {"anyOf": [{"required": ["id"]}]}}},
})
UPDATE = Validator({
    "type": "object", "required": ["group"], "additionalProperties": False,
    "properties": {"group": {"type": "object", "minProperties": 1, "properties": _FIELDS,
                             "not": {"anyOf": [{"required": ["id"]}]}}},
})

_RESERVED = {"id", "links", *_FIELDS}


def view(req: Req, group: Group) -> dict[str, Any]:
    return {**group.extra, "id": group.id, "name": group.name, "domain_id": group.domain_id,
            "description": group.description or "",
            "links": self_link(req, f"/v3/groups/{group.id}")}


def _user_view(req: Req, user: User, password_expires: datetime | None) -> dict[str, Any]:
    """A user as Keystone lists group members."""
    optional = {k: getattr(user, k) for k in ("default_project_id", "description", "email")
                if getattr(user, k) is not None}
    return {**user.extra, **optional, "id": user.id, "name": user.name,
            "domain_id": user.domain_id, "enabled": user.enabled,
            "password_expires_at": isotime(password_expires) if password_expires else None,
            "options": dict(user.options or {}),
            "links": self_link(req, f"/v3/users/{user.id}")}


def _duplicate(name: str | None) -> DuplicateEntity:
    return DuplicateEntity("group", f"Duplicate entry found with name {name}")


def _target(group_id: str) -> dict[str, Any]:
    return {"target.group.id": group_id}


async def list_groups(req: Req) -> Response:
    req.svc.enforce(req.ctx, "identity:list_groups")
    stmt = select(Group).order_by(Group.name).where(
        *query_filters(req, {"name": Group.name, "domain_id": Group.domain_id}))
    async with req.svc.read() as db:
        rows = (await db.scalars(stmt)).all()
    return json_response({"groups": [view(req, g) for g in rows],
                          "links": collection_links(req)})


async def show_group(req: Req) -> Response:
    group_id = req.params["group_id"]
    req.svc.enforce(req.ctx, "identity:get_group", _target(group_id))
    async with req.svc.read() as db:
        group = await get_or_404(db, Group, group_id, "group")
    return json_response({"group": view(req, group)})


async def create_group(req: Req) -> Response:
    req.svc.enforce(req.ctx, "identity:create_group")
    data = (await req.json(CREATE))["group"]
    group = Group(name=data["name"], description=data.get("description") or "",
                  domain_id=data.get("domain_id") or token_domain_id(req),
                  extra=extra_attrs(data, _RESERVED))
    try:
        async with req.svc.write() as db:
            await get_or_404(db, Domain, group.domain_id, "domain")
            db.add(group)
    except IntegrityError:
        raise _duplicate(data["name"]) from None
    return json_response({"group": view(req, group)}, status=201)


async def update_group(req: Req) -> Response:
    group_id = req.params["group_id"]
    req.svc.enforce(req.ctx, "identity:update_group", _target(group_id))
    data = (await req.json(UPDATE))["group"]
    try:
        async with req.svc.write() as db:
            group = await get_or_404(db, Group, group_id, "group")
            if "domain_id" in data and data["domain_id"] != group.domain_id:
                raise BadRequest("Cannot change Domain ID.")
            for key in ("name", "description"):
                if key in data:
                    setattr(group, key, data[key])
            extra = extra_attrs(data, _RESERVED)
            if extra:
                group.extra = {**group.extra, **extra}
    except IntegrityError:
        raise _duplicate(data.get("name")) from None
    return json_response({"group": view(req, group)})


async def delete_group(req: Req) -> Response:
    group_id = req.params["group_id"]
    req.svc.enforce(req.ctx, "identity:delete_group", _target(group_id))
    async with req.svc.write() as db:
        await get_or_404(db, Group, group_id, "group")
        # Memberships and grants go with it; members' tokens are revoked.
        await cleanup.delete_groups(db, [group_id])
    return empty_response()


# --- membership -----------------------------------------------------------------------

async def _membership(req: Req, db: AsyncSession) -> GroupMembership | None:
    group_id, user_id = req.params["group_id"], req.params["user_id"]
    await get_or_404(db, Group, group_id, "group")
    await get_or_404(db, User, user_id, "user")
    return await db.get(GroupMembership, (user_id, group_id))


def _not_member(req: Req) -> NotFound:
    return NotFound(f"User '{req.params['user_id']}' not found in group "
                    f"'{req.params['group_id']}'.", code="identity.membership_not_found")


async def list_group_users(req: Req) -> Response:
    group_id = req.params["group_id"]
    req.svc.enforce(req.ctx, "identity:list_users_in_group", _target(group_id))
    async with req.svc.read() as db:
        await get_or_404(db, Group, group_id, "group")
        users = (await db.scalars(select(User).join(
            GroupMembership, GroupMembership.user_id == User.id)
            .where(GroupMembership.group_id == group_id).order_by(User.name))).all()
        # Ordered oldest first, so each user's newest password wins.
        rows = await db.execute(
            select(Password.user_id, Password.expires_at)
            .where(Password.user_id.in_([u.id for u in users])).order_by(Password.id))
        expiry = {user_id: expires for user_id, expires in rows}     # newest password wins
    return json_response({"users": [_user_view(req, u, expiry.get(u.id)) for u in users],
                          "links": collection_links(req)})


async def add_user(req: Req) -> Response:
    req.svc.enforce(req.ctx, "identity:add_user_to_group", _target(req.params["group_id"]))
    try:
        async with req.svc.write() as db:
            if await _membership(req, db) is None:
                db.add(GroupMembership(user_id=req.params["user_id"],
                                       group_id=req.params["group_id"]))
    except IntegrityError:
        # Added concurrently (success: PUT is idempotent), or user or group deleted meanwhile.
        async with req.svc.read() as db:
            if await _membership(req, db) is None:
                raise ConcurrentUpdate() from None
    return empty_response()


async def check_user(req: Req) -> Response:
    req.svc.enforce(req.ctx, "identity:check_user_in_group", _target(req.params["group_id"]))
    async with req.svc.read() as db:
        if await _membership(req, db) is None:
            raise _not_member(req)
    return empty_response()


async def remove_user(req: Req) -> Response:
    req.svc.enforce(req.ctx, "identity:remove_user_from_group",
                    _target(req.params["group_id"]))
    async with req.svc.write() as db:
        membership = await _membership(req, db)
        if membership is None:
            raise _not_member(req)
        await db.delete(membership)
        # The user may lose roles the group gave them.
        await revocation.revoke(db, user_id=membership.user_id)
    return empty_response()
