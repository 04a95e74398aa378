"""Users: ``/v3/users``, self-service password change, a user's projects and groups.

Passwords follow Keystone's ``[security_compliance]`` options: ``password_regex`` applies to
every new password; ``password_expires_days`` sets when a new password expires (unless the
user has ``ignore_password_expiry``); the self-service change additionally enforces
``minimum_password_age`` (only when the current password was itself set by the user) and
``unique_last_password_count``. An admin's reset through ``PATCH`` skips both, as in
Keystone. Every password change, and disabling a user, revokes the user's tokens.

Deviation: the MFA options (``multi_factor_auth_enabled``, ``multi_factor_auth_rules``)
would not be enforced, so setting them is a 501 rather than a silent no-op.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from ownstack.common.api.app import empty_response, json_response
from ownstack.common.api.routing import public
from ownstack.common.api.schema import BOOLEAN, DESCRIPTION, ID, NAME, NULLABLE_ID, Validator
from ownstack.common.db.base import new_id, utcnow
from ownstack.common.errors import BadRequest, Forbidden, NotImplementedYet
from ownstack.identity.api.handlers import groups, projects
from ownstack.identity.api.handlers.common import (
    collection_links,
    extra_attrs,
    get_or_404,
    query_filters,
    self_link,
    token_domain_id,
)
from ownstack.identity.errors import AuthFailed, DuplicateEntity, PasswordExpired
from ownstack.identity.objects import cleanup, revocation
from ownstack.identity.objects.assignments import projects_with_roles
from ownstack.identity.objects.models import (
    Domain,
    Group,
    GroupMembership,
    Password,
    Project,
    User,
)
from ownstack.identity.state import IdentityState, Req
from ownstack.identity.tokens import methods
from ownstack.identity.tokens.provider import isotime

# Stored for a user whose password was removed: bcrypt never accepts it.
UNUSABLE_HASH = "!"

_FLAG = {"type": ["boolean", "null"]}
_OPTIONS = {"type": "object", "additionalProperties": False, "properties": {
    "ignore_change_password_upon_first_use": _FLAG, "ignore_password_expiry": _FLAG,
    "ignore_lockout_failure_attempts": _FLAG, "lock_password": _FLAG,
    "ignore_user_inactivity": _FLAG, "multi_factor_auth_enabled": _FLAG,
    "multi_factor_auth_rules": {"type": ["array", "null"],
                                "items": {"type": "array", "items": {"type": "string"}}},
}}
_PASSWORD = {"type": "string", "maxLength": 4096}
_FIELDS = {"name": {**NAME, "pattern": r"\S"}, "domain_id": ID,
           "password": {**_PASSWORD, "type": ["string", "null"]}, "enabled": BOOLEAN,
           "default_project_id": NULLABLE_ID, "description": DESCRIPTION,
           "email": {"type": ["string", "null"], "maxLength": 255}, "options": _OPTIONS}

CREATE = Validator({
    "type": "object", "required": ["user"], "additionalProperties": False,
    "properties": {"user": {"type": "object", "required": ["name"], "properties": _FIELDS}},
})
UPDATE = Validator({
    "type": "object", "required": ["user"], "additionalProperties": False,
    "properties": {"user": {"type": "object", "minProperties": 1, "properties": _FIELDS}},
})
CHANGE_PASSWORD = Validator({
    "type": "object", "required": ["user"], "additionalProperties": False,
    "properties": {"user": {
        "type": "object", "required": ["password", "original_password"],
        "additionalProperties": False,
        "properties": {"password": _PASSWORD, "original_password": _PASSWORD}}},
})

_RESERVED = {"id", "links", "name", "domain_id", "password", "enabled", "default_project_id",
             "description", "email", "options", "password_expires_at"}


def view(req: Req, user: User, password_expires_at: datetime | None) -> dict[str, Any]:
    body: dict[str, Any] = {
        **user.extra, "id": user.id, "name": user.name, "domain_id": user.domain_id,
        "enabled": user.enabled, "options": dict(user.options or {}),
        "password_expires_at": isotime(password_expires_at) if password_expires_at else None,
        "links": self_link(req, f"/v3/users/{user.id}")}
    for key in ("default_project_id", "description", "email"):
        if getattr(user, key) is not None:
            body[key] = getattr(user, key)
    return body


async def _expiries(db: AsyncSession, user_ids: Sequence[str]) -> dict[str, datetime | None]:
    """When each user's current (newest) password expires."""
    rows = await db.execute(select(Password.user_id, Password.expires_at)
                            .where(Password.user_id.in_(user_ids)).order_by(Password.id))
    return {user_id: expires for user_id, expires in rows.all()}


async def _view_one(req: Req, db: AsyncSession, user: User) -> dict[str, Any]:
    return view(req, user, (await _expiries(db, [user.id])).get(user.id))


# --- passwords -----------------------------------------------------------------------------

def check_password_rules(svc: IdentityState, password: str) -> None:
    """Keystone's ``password_regex``: every new password must match it."""
    compliance = svc.config.identity.security_compliance
    if not compliance.password_regex:
        return
    try:
        matched = re.match(compliance.password_regex, password) is not None
    except re.error:
        raise BadRequest("Unable to validate the password: the configured password_regex "
                         "is not a valid regular expression.") from None
    if not matched:
        detail = compliance.password_regex_description or \
            f"it must match {compliance.password_regex!r}"
        raise BadRequest(f"The password does not match the requirements: {detail}.")


async def hash_new_password(svc: IdentityState, password: str | None) -> str:
    """The hash to store for a new password; None removes the password."""
    if password is None:
        return UNUSABLE_HASH
    check_password_rules(svc, password)
    return await svc.hasher.hash(password)


def password_row(svc: IdentityState, user: User, hashed: str, *, self_service: bool
                 ) -> Password:
    days = svc.config.identity.security_compliance.password_expires_days
    now = utcnow()
    expires = None
    if days and hashed != UNUSABLE_HASH and not (user.options or {}).get("ignore_password_expiry"):
        expires = now + timedelta(days=days)
    return Password(user_id=user.id, hash=hashed, created_at=now, expires_at=expires,
                    self_service=self_service)


def _options(current: dict[str, Any], given: dict[str, Any] | None) -> dict[str, Any]:
    """Merge options as Keystone does: a null value removes the option."""
    if given is None:
        return current
    if given.get("multi_factor_auth_enabled") or given.get("multi_factor_auth_rules"):
        raise NotImplementedYet("Multi-factor authentication rules are not enforced by "
                                "ownstack, so they cannot be set.")
    merged = {**current, **given}
    return {k: v for k, v in merged.items() if v is not None}


async def _check_default_project(db: AsyncSession, project_id: str | None) -> None:
    # Keystone accepts an unknown project here, but never a domain.
    if project_id and await db.get(Project, project_id) is None \
            and await db.get(Domain, project_id) is not None:
        raise BadRequest(f"User's default project ID cannot be a domain ID: {project_id}.")


def _duplicate(name: Any, domain_id: str) -> DuplicateEntity:
    return DuplicateEntity("user", f"Duplicate entry found with name {name} at domain ID "
                           f"{domain_id}")


# --- CRUD ----------------------------------------------------------------------------------

async def list_users(req: Req) -> Response:
    req.svc.enforce(req.ctx, "identity:list_users")
    stmt = select(User).order_by(User.name).where(*query_filters(
        req, {"name": User.name, "domain_id": User.domain_id}, {"enabled": User.enabled}))
    async with req.svc.read() as db:
        users = (await db.scalars(stmt)).all()
        expiries = await _expiries(db, [u.id for u in users])
    return json_response({"users": [view(req, u, expiries.get(u.id)) for u in users],
                          "links": collection_links(req)})


async def show_user(req: Req) -> Response:
    user_id = req.params["user_id"]
    async with req.svc.read() as db:
        user = await get_or_404(db, User, user_id, "user")
        req.svc.enforce(req.ctx, "identity:get_user", {"target.user.id": user_id})
        body = await _view_one(req, db, user)
    return json_response({"user": body})


async def create_user(req: Req) -> Response:
    req.svc.enforce(req.ctx, "identity:create_user")
    data = (await req.json(CREATE))["user"]
    user = User(id=new_id(), name=data["name"].strip(),
                domain_id=data.get("domain_id") or token_domain_id(req),
                enabled=data.get("enabled", True),
                default_project_id=data.get("default_project_id"),
                description=data.get("description"), email=data.get("email"),
                extra=extra_attrs(data, _RESERVED), options=_options({}, data.get("options")),
                created_at=utcnow(), failed_auth_count=0)
    hashed = await hash_new_password(req.svc, data["password"]) \
        if data.get("password") is not None else None
    password = password_row(req.svc, user, hashed, self_service=False) if hashed else None
    try:
        async with req.svc.write() as db:
            await get_or_404(db, Domain, user.domain_id, "domain")
            await _check_default_project(db, user.default_project_id)
            db.add(user)
            await db.flush()
            if password is not None:
                db.add(password)
    except IntegrityError:
        raise _duplicate(user.name, user.domain_id) from None
    expires = password.expires_at if password is not None else None
    return json_response({"user": view(req, user, expires)}, status=201)


def _refuse_moves(user: User, data: dict[str, Any]) -> None:
    if data.get("id", user.id) != user.id:
        raise BadRequest("Cannot change user ID.")
    if data.get("domain_id", user.domain_id) != user.domain_id:
        raise BadRequest("Cannot change the domain ID of a user.")


async def update_user(req: Req) -> Response:
    user_id = req.params["user_id"]
    req.svc.enforce(req.ctx, "identity:update_user", {"target.user.id": user_id})
    data = (await req.json(UPDATE))["user"]
    # An admin's reset: the regex applies, history and minimum age do not.
    hashed = await hash_new_password(req.svc, data["password"]) if "password" in data else None
    domain_id = ""
    try:
        async with req.svc.write() as db:
            user = await get_or_404(db, User, user_id, "user")
            _refuse_moves(user, data)
            await _check_default_project(db, data.get("default_project_id"))
            domain_id = user.domain_id
            if (data.get("enabled") is False and user.enabled) or hashed is not None:
                await revocation.revoke(db, user_id=user_id)
            if data.get("enabled") is True:
                user.failed_auth_count = 0      # re-enabling also lifts a lockout
            for key in ("enabled", "default_project_id", "description", "email"):
                if key in data:
                    setattr(user, key, data[key])
            if "name" in data:
                user.name = data["name"].strip()
            user.options = _options(user.options or {}, data.get("options"))
            extra = extra_attrs(data, _RESERVED)
            if extra:
                user.extra = {**user.extra, **extra}
            if hashed is not None:
                db.add(password_row(req.svc, user, hashed, self_service=False))
            await db.flush()
            body = await _view_one(req, db, user)
    except IntegrityError:
        raise _duplicate(data.get("name"), domain_id) from None
    return json_response({"user": body})


async def delete_user(req: Req) -> Response:
    user_id = req.params["user_id"]
    req.svc.enforce(req.ctx, "identity:delete_user", {"target.user.id": user_id})
    async with req.svc.write() as db:
        await get_or_404(db, User, user_id, "user")
        await cleanup.delete_users(db, [user_id])
    return empty_response()


# --- self-service password change ----------------------------------------------------------

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


async def _check_history(svc: IdentityState, password: str, history: Sequence[Password]
                         ) -> None:
    """``history`` is newest first. Refuse a too recent self-service change, or a reuse."""
    compliance = svc.config.identity.security_compliance
    current = history[0] if history else None
    if compliance.minimum_password_age and current is not None and current.self_service:
        allowed_at = current.created_at + timedelta(days=compliance.minimum_password_age)
        now = utcnow()
        if now < allowed_at:
            raise BadRequest(
                "You cannot change your password at this time due to the minimum password "
                f"age. Once you change your password, it must be used for "
                f"{compliance.minimum_password_age} day(s) before it can be changed. Please "
                f"try again in {(allowed_at - now).days} day(s) or contact your "
                "administrator to reset your password.")
    count = compliance.unique_last_password_count
    for old in history[:count]:
        if await svc.hasher.verify(password, old.hash):
            raise BadRequest("The new password cannot be identical to a previous password: "
                             f"it must differ from each of the last {count} passwords.")


@public
async def change_password(req: Req) -> Response:
    """``POST /v3/users/{id}/password``. No token needed: a user whose password expired
    cannot get one, and this is how they set a new password."""
    user_id = req.params["user_id"]
    data = (await req.json(CHANGE_PASSWORD))["user"]
    await _authenticate_original(req.svc, user_id, data["original_password"])
    check_password_rules(req.svc, data["password"])
    async with req.svc.read() as db:
        user = await get_or_404(db, User, user_id, "user")
        if (user.options or {}).get("lock_password"):
            raise Forbidden("You cannot change your password at this time due to password "
                            "policy disallowing password changes. Please contact your "
                            "administrator to reset your password.")
        history = (await db.scalars(select(Password).where(Password.user_id == user_id)
                                    .order_by(Password.id.desc()))).all()
    await _check_history(req.svc, data["password"], history)
    hashed = await req.svc.hasher.hash(data["password"])
    async with req.svc.write() as db:
        user = await get_or_404(db, User, user_id, "user")
        db.add(password_row(req.svc, user, hashed, self_service=True))
        await revocation.revoke(db, user_id=user_id)
    return empty_response()


# --- a user's projects and groups ----------------------------------------------------------

async def list_user_projects(req: Req) -> Response:
    user_id = req.params["user_id"]
    req.svc.enforce(req.ctx, "identity:list_user_projects", {"target.user.id": user_id})
    async with req.svc.read() as db:
        await get_or_404(db, User, user_id, "user")
        ids = [p.id for p in await projects_with_roles(db, user_id)]
        rows = (await db.scalars(select(Project).where(
            Project.id.in_(ids), *projects.project_filters(req)).order_by(Project.name))).all()
        body = await projects.views(req, db, rows)
    return json_response({"projects": body, "links": collection_links(req)})


async def list_user_groups(req: Req) -> Response:
    user_id = req.params["user_id"]
    req.svc.enforce(req.ctx, "identity:list_groups_for_user", {"target.user.id": user_id})
    stmt = select(Group).join(GroupMembership, GroupMembership.group_id == Group.id).where(
        GroupMembership.user_id == user_id).order_by(Group.name)
    if "name" in req.query:
        stmt = stmt.where(Group.name == req.query["name"])
    async with req.svc.read() as db:
        await get_or_404(db, User, user_id, "user")
        rows = (await db.scalars(stmt)).all()
    return json_response({"groups": [{**groups.view(req, g), "membership_expires_at": None}
                                     for g in rows],
                          "links": collection_links(req)})
