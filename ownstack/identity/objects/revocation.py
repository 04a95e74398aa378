"""Token revocation events.

A token is revoked when an event exists whose every non-null field matches the token and
whose ``issued_before`` is at or after the token's ``issued_at``. Events are written inside
the transaction of the change that causes them (password change, role removal, ...), so a
change and its revocation commit together.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from ownstack.common.db.base import utcnow
from ownstack.identity.objects.models import RevocationEvent


async def revoke(db: AsyncSession, *, user_id: str | None = None,
                 project_id: str | None = None, domain_id: str | None = None,
                 audit_id: str | None = None, audit_chain_id: str | None = None,
                 app_cred_id: str | None = None) -> None:
    now = utcnow()
    db.add(RevocationEvent(user_id=user_id, project_id=project_id, domain_id=domain_id,
                           audit_id=audit_id, audit_chain_id=audit_chain_id,
                           app_cred_id=app_cred_id, issued_before=now, revoked_at=now))


@dataclass(frozen=True)
class TokenFacts:
    """What revocation events are matched against."""

    user_id: str
    issued_at: datetime
    audit_ids: tuple[str, ...]
    project_id: str | None = None
    domain_id: str | None = None            # scope domain, or the project's domain
    user_domain_id: str | None = None
    app_cred_id: str | None = None


@dataclass(frozen=True)
class _Event:
    user_id: str | None
    project_id: str | None
    domain_id: str | None
    audit_id: str | None
    audit_chain_id: str | None
    app_cred_id: str | None
    issued_before: datetime

    def matches(self, t: TokenFacts) -> bool:
        if t.issued_at > self.issued_before:
            return False
        if self.user_id is not None and self.user_id != t.user_id:
            return False
        if self.project_id is not None and self.project_id != t.project_id:
            return False
        if self.domain_id is not None and self.domain_id not in (t.domain_id, t.user_domain_id):
            return False
        if self.audit_id is not None and self.audit_id != t.audit_ids[0]:
            return False
        if self.audit_chain_id is not None and self.audit_chain_id != t.audit_ids[-1]:
            return False
        return self.app_cred_id is None or self.app_cred_id == t.app_cred_id


class RevocationList:
    """All live events, indexed so that checking a token touches only its candidates."""

    def __init__(self, events: list[_Event]) -> None:
        self._by_user: dict[str, list[_Event]] = defaultdict(list)
        self._by_audit: dict[str, list[_Event]] = defaultdict(list)
        self._other: list[_Event] = []
        for event in events:
            if event.user_id is not None:
                self._by_user[event.user_id].append(event)
            elif event.audit_id is not None:
                self._by_audit[event.audit_id].append(event)
            elif event.audit_chain_id is not None:
                self._by_audit[event.audit_chain_id].append(event)
            else:
                self._other.append(event)

    def is_revoked(self, token: TokenFacts) -> bool:
        candidates = [*self._by_user.get(token.user_id, ()), *self._other]
        for audit_id in token.audit_ids:
            candidates.extend(self._by_audit.get(audit_id, ()))
        return any(event.matches(token) for event in candidates)

    @classmethod
    async def load(cls, db: AsyncSession, *, keep: timedelta) -> RevocationList:
        """Load live events, dropping those older than any token they could revoke."""
        horizon = utcnow() - keep
        await db.execute(delete(RevocationEvent).where(RevocationEvent.revoked_at < horizon))
        rows = (await db.scalars(select(RevocationEvent))).all()
        await db.commit()
        return cls([_Event(r.user_id, r.project_id, r.domain_id, r.audit_id, r.audit_chain_id,
                           r.app_cred_id, r.issued_before) for r in rows])
