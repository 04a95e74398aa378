"""What every service's handlers reach through ``req.svc``: config, database and policy.

Each service subclasses :class:`ServiceState` in its ``state`` module and adds its own
parts (the identity service's token provider, placement's name cache, ...). A service
overrides :meth:`race_error` to name a lost race in its own error codes, and
:meth:`default_target` when its policy rules expect a default target (Nova's rules test
the caller's own project and user). Transactions are the :class:`Database`'s: see
:mod:`ownstack.common.db.database`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from ownstack.common.config import Config
from ownstack.common.context import RequestContext
from ownstack.common.db.database import Database, default_race_error
from ownstack.common.db.engine import make_engine
from ownstack.common.errors import OwnstackError
from ownstack.common.policy import Policy


class ServiceState:
    def __init__(self, config: Config, rules: Mapping[str, str],
                 engine: AsyncEngine | None = None) -> None:
        self.config = config
        self.db = Database(engine or make_engine(config.database_url,
                                                 echo=config.database.echo),
                           race_error=self.race_error)
        self.engine = self.db.engine
        policy_path = Path(config.policy_file) if config.policy_file else None
        self.policy = Policy.load(rules, policy_path)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        async with self.db.read() as db:
            yield db

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """One write transaction (see :meth:`Database.write`)."""
        async with self.db.write() as db:
            yield db

    def race_error(self) -> OwnstackError:
        return default_race_error()

    def default_target(self, ctx: RequestContext) -> dict[str, Any]:
        return {}

    def enforce(self, ctx: RequestContext, rule: str, target: dict[str, Any] | None = None
                ) -> None:
        """Raise 403 unless policy ``rule`` allows ``ctx`` on ``target``."""
        self.policy.enforce(rule, {**self.default_target(ctx), **(target or {})},
                            ctx.credentials())

    def allowed(self, ctx: RequestContext, rule: str, target: dict[str, Any] | None = None
                ) -> bool:
        return self.policy.check(rule, {**self.default_target(ctx), **(target or {})},
                                 ctx.credentials())
