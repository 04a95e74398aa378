"""The identity service's state: what its handlers reach through ``req.svc``."""

from __future__ import annotations

import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from ownstack.common.api.app import ApiRequest
from ownstack.common.config import Config
from ownstack.common.service import ServiceState
from ownstack.identity.credential_keys import CredentialCipher
from ownstack.identity.objects.passwords import PasswordRules
from ownstack.identity.objects.revision import bump_revision, current_revision
from ownstack.identity.passwords import PasswordHasher
from ownstack.identity.policy import DEFAULT_RULES
from ownstack.identity.tokens.keys import KeyRepository

SERVICE_TYPE = "identity"


class RevisionTracker:
    """Tells caches whether identity data may have changed since they filled.

    Writes in this process bump ``local`` at once. Writes by other API processes are seen
    through the shared ``identity_revision`` row, read at most every ``poll_interval``.
    """

    def __init__(self, poll_interval: float = 1.0) -> None:
        self.local = 0
        self.shared = 0
        self.poll_interval = poll_interval
        self._polled_at = 0.0

    @property
    def value(self) -> tuple[int, int]:
        return (self.local, self.shared)

    async def refresh(self, db: AsyncSession) -> None:
        now = time.monotonic()
        if now - self._polled_at < self.poll_interval:
            return
        self._polled_at = now
        self.shared = await current_revision(db)


class IdentityState(ServiceState):
    def __init__(self, config: Config, engine: AsyncEngine | None = None) -> None:
        from ownstack.identity.tokens.provider import TokenProvider

        super().__init__(config, DEFAULT_RULES, engine)
        self.keys = KeyRepository(config.state_dir / "fernet-keys",
                                  max_active_keys=config.identity.max_active_keys)
        self.credential_keys = CredentialCipher(config.state_dir / "credential-keys")
        self.hasher = PasswordHasher(rounds=config.identity.bcrypt_rounds)
        self.passwords = PasswordRules(self.hasher, config.identity.security_compliance)
        self.revision = RevisionTracker()
        self.tokens = TokenProvider(self)
        self._dummy_hash: str | None = None

    async def dummy_hash(self) -> str:
        """A hash at the configured cost, checked when a user does not exist, so that
        failing for an unknown name takes as long as failing for a wrong password."""
        if self._dummy_hash is None:
            self._dummy_hash = await self.hasher.hash(secrets.token_hex(16))
        return self._dummy_hash

    @property
    def public_url(self) -> str:
        return self.config.public_url(self.config.identity.port)

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """A transaction that commits on success and tells every token cache to refill."""
        async with super().write() as db:
            yield db
            await bump_revision(db)
        self.revision.local += 1


Req = ApiRequest[IdentityState]
