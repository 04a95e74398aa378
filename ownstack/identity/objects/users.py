"""Users: finding, listing and changing them, their options and their passwords.

Every password change, and disabling a user, revokes the user's tokens.

Deviation from Keystone: the MFA options (``multi_factor_auth_enabled``,
``multi_factor_auth_rules``) would not be enforced, so setting them is a 501 rather than a
silent no-op.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ownstack.common.db.base import new_id, utcnow
from ownstack.common.errors import BadRequest, NotImplementedYet
from ownstack.identity.errors import DuplicateEntity
from ownstack.identity.objects import cleanup, revocation, rows
from ownstack.identity.objects.domains import DEFAULT_DOMAIN_ID, find_in_domain, get_domain
from ownstack.identity.objects.models import Domain, Password, Project, User
from ownstack.identity.objects.passwords import PasswordRules

_RESERVED = {"id", "links", "name", "domain_id", "password", "enabled", "default_project_id",
             "description", "email", "options", "password_expires_at"}


def _duplicate(name: object, domain_id: str) -> DuplicateEntity:
    return DuplicateEntity("user", f"Duplicate entry found with name {name} at domain ID "
                           f"{domain_id}")


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


async def get_user(db: AsyncSession, user_id: str) -> User:
    return await rows.get_or_404(db, User, user_id, "user")


async def find_user(db: AsyncSession, ref: Mapping[str, Any]) -> User | None:
    """The user an authentication request names: by id, or by name and domain."""
    return await find_in_domain(db, User, ref, "user")


async def list_users(db: AsyncSession, *, name: str | None = None,
                     domain_id: str | None = None, enabled: bool | None = None
                     ) -> Sequence[User]:
    return (await db.scalars(select(User).order_by(User.name).where(*rows.matching(
        (User.name, name), (User.domain_id, domain_id), (User.enabled, enabled))))).all()


async def create_user(db: AsyncSession, data: Mapping[str, Any], *, default_domain_id: str,
                      hashed: str | None, rules: PasswordRules) -> User:
    """A new user, in ``default_domain_id`` unless the body names a domain, with a password
    when ``hashed`` is given."""
    domain_id = data.get("domain_id") or default_domain_id
    user = User(id=new_id(), name=data["name"].strip(), domain_id=domain_id,
                enabled=data.get("enabled", True),
                default_project_id=data.get("default_project_id"),
                description=data.get("description"), email=data.get("email"),
                extra=rows.extra_attrs(data, _RESERVED), options=_options({}, data.get("options")),
                created_at=utcnow(), failed_auth_count=0)
    await get_domain(db, domain_id)
    await _check_default_project(db, user.default_project_id)
    db.add(user)
    await rows.flush_unique(db, _duplicate(user.name, domain_id))
    if hashed is not None:
        db.add(rules.new_row(user, hashed, self_service=False))
    return user


def _refuse_moves(user: User, data: Mapping[str, Any]) -> None:
    if data.get("id", user.id) != user.id:
        raise BadRequest("Cannot change user ID.")
    if data.get("domain_id", user.domain_id) != user.domain_id:
        raise BadRequest("Cannot change the domain ID of a user.")


async def update_user(db: AsyncSession, user_id: str, data: Mapping[str, Any], *,
                      hashed: str | None, rules: PasswordRules) -> User:
    """Change the user; ``hashed`` is an admin's password reset (the regex applies, history
    and minimum age do not)."""
    user = await get_user(db, user_id)
    _refuse_moves(user, data)
    await _check_default_project(db, data.get("default_project_id"))
    if (data.get("enabled") is False and user.enabled) or hashed is not None:
        await revocation.revoke(db, user_id=user_id)
    if data.get("enabled") is True:
        user.failed_auth_count = 0      # re-enabling also lifts a lockout
    rows.assign(user, data, ("enabled", "default_project_id", "description", "email"))
    if "name" in data:
        user.name = data["name"].strip()
    user.options = _options(user.options or {}, data.get("options"))
    rows.merge_extra(user, data, _RESERVED)
    if hashed is not None:
        db.add(rules.new_row(user, hashed, self_service=False))
    await rows.flush_unique(db, _duplicate(data.get("name"), user.domain_id))
    return user


async def change_own_password(db: AsyncSession, user_id: str, hashed: str,
                              rules: PasswordRules) -> None:
    """Store the password the user chose and revoke the user's tokens."""
    user = await get_user(db, user_id)
    db.add(rules.new_row(user, hashed, self_service=True))
    await revocation.revoke(db, user_id=user_id)


async def delete_user(db: AsyncSession, user_id: str) -> None:
    await get_user(db, user_id)
    await cleanup.delete_users(db, [user_id])


async def ensure_user(db: AsyncSession, name: str, project_id: str,
                      password_hash: Callable[[], Awaitable[str]]) -> User:
    """The user of this name in the default domain, made if missing with the password
    ``password_hash`` makes; its default project is ``project_id`` unless it has one."""
    user = await db.scalar(select(User).where(
        User.domain_id == DEFAULT_DOMAIN_ID, User.name == name))
    if user is None:
        user = await rows.added(db, User(name=name, domain_id=DEFAULT_DOMAIN_ID, enabled=True,
                                         extra={}, options={}))
        await rows.added(db, Password(user_id=user.id, hash=await password_hash()))
    user.default_project_id = user.default_project_id or project_id
    return user
