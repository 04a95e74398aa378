"""Passwords: Keystone's ``[security_compliance]`` rules and every user's history.

``password_regex`` applies to every new password; ``password_expires_days`` sets when a
new password expires (unless the user has ``ignore_password_expiry``); a self-service
change also enforces ``minimum_password_age`` (only when the current password was itself
set by the user) and ``unique_last_password_count``. An admin's reset skips those two.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ownstack.common.config import SecurityComplianceConfig
from ownstack.common.db.base import utcnow
from ownstack.common.errors import BadRequest, Forbidden
from ownstack.identity.objects.models import Password, User
from ownstack.identity.passwords import PasswordHasher

# Stored for a user whose password was removed: bcrypt never accepts it.
UNUSABLE_HASH = "!"


class PasswordRules:
    """The rules a new password meets, and the hashing, which runs outside transactions:
    bcrypt is slow on purpose."""

    def __init__(self, hasher: PasswordHasher, compliance: SecurityComplianceConfig) -> None:
        self.hasher = hasher
        self.compliance = compliance

    def check(self, password: str) -> None:
        """Keystone's ``password_regex``: every new password must match it."""
        regex = self.compliance.password_regex
        if not regex:
            return
        try:
            matched = re.match(regex, password) is not None
        except re.error:
            raise BadRequest("Unable to validate the password: the configured password_regex "
                             "is not a valid regular expression.") from None
        if not matched:
            detail = self.compliance.password_regex_description or f"it must match {regex!r}"
            raise BadRequest(f"The password does not match the requirements: {detail}.")

    async def hash_new(self, password: str | None) -> str:
        """The hash to store for a new password; None removes the password."""
        if password is None:
            return UNUSABLE_HASH
        self.check(password)
        return await self.hasher.hash(password)

    async def check_history(self, password: str, history: Sequence[Password]) -> None:
        """``history`` is newest first. Refuse a too recent self-service change, or a reuse."""
        compliance = self.compliance
        current = history[0] if history else None
        if compliance.minimum_password_age and current is not None and current.self_service:
            allowed_at = current.created_at + timedelta(days=compliance.minimum_password_age)
            now = utcnow()
            if now < allowed_at:
                raise BadRequest(
                    "You cannot change your password at this time due to the minimum "
                    "password age. Once you change your password, it must be used for "
                    f"{compliance.minimum_password_age} day(s) before it can be changed. "
                    f"Please try again in {(allowed_at - now).days} day(s) or contact your "
                    "administrator to reset your password.")
        count = compliance.unique_last_password_count
        for old in history[:count]:
            if await self.hasher.verify(password, old.hash):
                raise BadRequest("The new password cannot be identical to a previous "
                                 f"password: it must differ from each of the last {count} "
                                 "passwords.")

    def new_row(self, user: User, hashed: str, *, self_service: bool) -> Password:
        days = self.compliance.password_expires_days
        now = utcnow()
        expires = None
        if days and hashed != UNUSABLE_HASH \
                and not (user.options or {}).get("ignore_password_expiry"):
            expires = now + timedelta(days=days)
        return Password(user_id=user.id, hash=hashed, created_at=now, expires_at=expires,
                        self_service=self_service)


async def current_password(db: AsyncSession, user_id: str) -> Password | None:
    """The user's password now: the newest."""
    return await db.scalar(select(Password).where(Password.user_id == user_id)
                           .order_by(Password.id.desc()).limit(1))


async def expiries(db: AsyncSession, users: Sequence[User]) -> dict[str, datetime | None]:
    """When each user's current password expires (None: never, or no password)."""
    found: dict[str, datetime | None] = {u.id: None for u in users}
    if users:
        # Oldest first, so each user's newest password wins.
        rows = await db.execute(select(Password.user_id, Password.expires_at)
                                .where(Password.user_id.in_(list(found)))
                                .order_by(Password.id))
        found.update({user_id: expires for user_id, expires in rows.all()})
    return found


async def history(db: AsyncSession, user: User) -> list[Password]:
    """Every password the user has had, newest first, before the user changes it; 403
    when the user may not change it."""
    if (user.options or {}).get("lock_password"):
        raise Forbidden("You cannot change your password at this time due to password "
                        "policy disallowing password changes. Please contact your "
                        "administrator to reset your password.")
    return list((await db.scalars(select(Password).where(Password.user_id == user.id)
                                  .order_by(Password.id.desc()))).all())
