"""Users: ``/v3/users``, self-service password change, a user's projects and groups.

The password rules (Keystone's ``[security_compliance]``) are in
:mod:`ownstack.identity.objects.passwords`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.responses import Response

from ownstack.common.api.app import empty_response, json_response
from ownstack.common.api.routing import public
from ownstack.identity.api import views
from ownstack.identity.api.handlers.common import query_bool, token_domain_id
from ownstack.identity.api.handlers.crud import enforce_on
from ownstack.identity.api.handlers.projects import listed_projects, project_filter
from ownstack.identity.api.schemas import users as schema
from ownstack.identity.errors import AuthFailed, PasswordExpired
from ownstack.identity.objects import Session, groups, passwords, users
from ownstack.identity.objects.assignments import projects_with_roles
from ownstack.identity.objects.models import User
from ownstack.identity.state import IdentityState, Req
from ownstack.identity.tokens import methods


async def listed_users(req: Req, db: Session, found: Sequence[User]) -> dict[str, Any]:
    """Users as Keystone lists them: each with when its password expires."""
    return views.users(req, found, await passwords.expiries(db, found))


async def _shown(req: Req, db: Session, user: User) -> dict[str, Any]:
    expiries = await passwords.expiries(db, [user])
    return {"user": views.user(req, user, expiries[user.id])}


async def list_users(req: Req) -> Response:
    req.svc.enforce(req.ctx, "identity:list_users")
    q = req.query
    name, domain_id, enabled = q.get("name"), q.get("domain_id"), query_bool(req, "enabled")
    async with req.svc.read() as db:
        found = await users.list_users(db, name=name, domain_id=domain_id, enabled=enabled)
        body = await listed_users(req, db, found)
    return json_response(body)


async def show_user(req: Req) -> Response:
    user_id = req.params["user_id"]
    async with req.svc.read() as db:
        user = await users.get_user(db, user_id)
        req.svc.enforce(req.ctx, "identity:get_user", {"target.user.id": user_id})
        body = await _shown(req, db, user)
    return json_response(body)


async def create_user(req: Req) -> Response:
    req.svc.enforce(req.ctx, "identity:create_user")
    data = (await req.json(schema.CREATE))["user"]
    hashed = await req.svc.passwords.hash_new(data["password"]) \
        if data.get("password") is not None else None
    async with req.svc.write() as db:
        user = await users.create_user(db, data, default_domain_id=token_domain_id(req),
                                       hashed=hashed, rules=req.svc.passwords)
        body = await _shown(req, db, user)
    return json_response(body, status=201)


async def update_user(req: Req) -> Response:
    user_id = enforce_on(req, "identity:update_user", "user")
    data = (await req.json(schema.UPDATE))["user"]
    hashed = await req.svc.passwords.hash_new(data["password"]) if "password" in data else None
    async with req.svc.write() as db:
        user = await users.update_user(db, user_id, data, hashed=hashed,
                                       rules=req.svc.passwords)
        body = await _shown(req, db, user)
    return json_response(body)


async def delete_user(req: Req) -> Response:
    user_id = enforce_on(req, "identity:delete_user", "user")
    async with req.svc.write() as db:
        await users.delete_user(db, user_id)
    return empty_response()


async def _authenticate_original(svc: IdentityState, user_id: str, password: str) -> None:
    """Check the original password the way a token request would, lockout included; an
    expired password is fine, since changing it is the way out."""
    body = {"auth": {"identity": {"methods": ["password"], "password": {
        "user": {"id": user_id, "password": password}}}, "scope": "unscoped"}}
    try:
        await methods.issue(svc, body)
    except PasswordExpired:
        pass
    except AuthFailed:
        raise AuthFailed("Error when changing user password: invalid user or original "
                         "password.") from None


@public
async def change_password(req: Req) -> Response:
    """``POST /v3/users/{id}/password``. No token needed: a user whose password expired
    cannot get one, and this is how they set a new password."""
    user_id = req.params["user_id"]
    data = (await req.json(schema.CHANGE_PASSWORD))["user"]
    await _authenticate_original(req.svc, user_id, data["original_password"])
    req.svc.passwords.check(data["password"])
    async with req.svc.read() as db:
        history = await passwords.history(db, await users.get_user(db, user_id))
    # Checking the history and hashing take bcrypt's time: outside any transaction.
    await req.svc.passwords.check_history(data["password"], history)
    hashed = await req.svc.hasher.hash(data["password"])
    async with req.svc.write() as db:
        await users.change_own_password(db, user_id, hashed, req.svc.passwords)
    return empty_response()


async def list_user_projects(req: Req) -> Response:
    user_id = enforce_on(req, "identity:list_user_projects", "user")
    async with req.svc.read() as db:
        await users.get_user(db, user_id)
        wanted = project_filter(req)
        among = [p.id for p in await projects_with_roles(db, user_id)]
        body = await listed_projects(req, db, wanted, among)
    return json_response(body)


async def list_user_groups(req: Req) -> Response:
    user_id = enforce_on(req, "identity:list_groups_for_user", "user")
    name = req.query.get("name")
    async with req.svc.read() as db:
        found = await groups.groups_of_user(db, user_id, name=name)
    return json_response(views.collection(req, "groups",
                                          [views.user_group(req, g) for g in found]))
