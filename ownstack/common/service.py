"""What every service's handlers reach through ``req.svc``: config, database and policy.

Each service subclasses :class:`ServiceState` in its ``state`` module and adds its own
parts (the identity service's token provider, placement's name cache, ...). A service
overrides :meth:`race_error` to name a lost race in its own error codes,
:meth:`default_target` when its policy rules expect a default target (Nova's rules test
the caller's own project and user), and :meth:`start` and :meth:`stop` when it has more
to set up and let go of than its database. Once the process runs, the server has each
service compile the reads its modules build at import (:meth:`compile_prebuilt_reads`).
Transactions are the :class:`Database`'s: see :mod:`ownstack.common.db.database`.
:func:`service_app` makes the service's ASGI app, which starts and stops with its state.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import BindParameter, CompoundSelect, Select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.sql.visitors import iterate

from ownstack.common.api.app import REQUEST_ID_HEADERS, ErrorFormatter, ServiceApp
from ownstack.common.api.auth import TokenValidator
from ownstack.common.api.routing import RouteTable
from ownstack.common.config import Config
from ownstack.common.context import RequestContext
from ownstack.common.db.database import Database, default_race_error
from ownstack.common.db.engine import make_engine
from ownstack.common.errors import OwnstackError
from ownstack.common.policy import Policy

log = logging.getLogger(__name__)


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

    async def start(self) -> None:
        """What the service does once before it serves: nothing, unless it says."""

    @property
    def prebuilt_package(self) -> str:
        """The package whose modules build the service's statements: its state's."""
        return type(self).__module__.rpartition(".")[0]

    async def compile_prebuilt_reads(self) -> int:
        """Run once, with NULL for each parameter, every read the service's modules build
        at import (:func:`prebuilt_reads`), so that each is in the engine's statement cache
        before a request needs it: a request type's first use otherwise compiles its
        statements, a few ms each. A read that fails (a NULL its database refuses) was
        compiled before it was sent. Returns how many ran."""
        started = time.perf_counter()
        ran = 0
        for statement in prebuilt_reads(self.prebuilt_package):
            async with self.read() as db:
                try:
                    await db.execute(statement, _null_params(statement))
                    ran += 1
                except SQLAlchemyError as exc:
                    log.debug("a prebuilt read failed with NULL parameters: %s", exc)
        log.debug("%s: %d prebuilt reads run in %.3fs", self.prebuilt_package, ran,
                  time.perf_counter() - started)
        return ran

    async def stop(self) -> None:
        """Let go of what the state holds: its database, and more where a service says."""
        await self.db.close()

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


StateT = TypeVar("StateT", bound=ServiceState)


def service_app(name: str, svc: StateT, routes: RouteTable, format_error: ErrorFormatter, *,
                validator: TokenValidator, body_limit: int,
                request_id_headers: tuple[str, ...] = REQUEST_ID_HEADERS
                ) -> ServiceApp[StateT]:
    """The ASGI app of service ``name``: its routes over ``svc``, its errors in its own
    format, started and stopped with its state."""
    return ServiceApp(name=name, routes=routes, svc=svc, format_error=format_error,
                      validator=validator, body_limit=body_limit, on_startup=[svc.start],
                      on_shutdown=[svc.stop], access_log=svc.config.log.access_log,
                      request_id_headers=request_id_headers)


def prebuilt_reads(package: str) -> Iterator[Select[Any] | CompoundSelect[Any]]:
    """Every SELECT (and UNION) bound to a module-level name in the imported modules of
    ``package``: the statements built once, at import, to be run with their parameters
    bound (``DEFAULT_GROUP``, ``_NEW_GROUP_READ``). Writes are not among them."""
    seen: set[int] = set()
    for name, module in sorted(sys.modules.items()):
        if name != package and not name.startswith(package + "."):
            continue
        for value in list(vars(module).values()):
            if isinstance(value, (Select, CompoundSelect)) and id(value) not in seen:
                seen.add(id(value))
                yield value


def _null_params(statement: Select[Any] | CompoundSelect[Any]) -> dict[str, Any]:
    """NULL for each named parameter of ``statement`` (an empty list for an expanding IN):
    the names a caller binds, which are part of the statement cache's key."""
    return {element.key: [] if element.expanding else None for element in iterate(statement)
            if isinstance(element, BindParameter) and not element.unique}
