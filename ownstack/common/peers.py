"""How one service or worker reaches the others: by HTTP, in process when they share the
process, and by the message bus.

A process that runs several roles hands each one the ASGI apps already built, so internal
calls go through an in-process transport with no socket
(``ownstack.common.clients.inprocess``); a role whose peer runs elsewhere
(another process, another machine) gets the same clients pointed at the peer's URL, which
is the address the catalog publishes (``cloud.public_host`` and the service's port).
Either way the code that calls is the same.

The process has one bus connection and one token for the services' own user, shared by
every role in it and closed by :meth:`Peers.aclose` when the process stops.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from ownstack.common.bus import Bus, make_bus
from ownstack.common.clients.auth import ServiceAuth
from ownstack.common.clients.identity import IdentityClient
from ownstack.common.clients.inprocess import InProcessTransport
from ownstack.common.config import Config
from ownstack.common.statedir import read_service_password


@dataclass
class Peers:
    config: Config
    apps: dict[str, Any] = field(default_factory=dict)   # service type -> ASGI app
    urls: dict[str, str] = field(default_factory=dict)   # service type -> base URL
    _bus: Bus | None = None
    _bus_users: int = 0
    _service_auth: ServiceAuth | None = None

    def transport(self, service_type: str, *, between_services: bool = False
                  ) -> httpx.AsyncBaseTransport | None:
        """The in-process transport to ``service_type``'s app, ``None`` when it runs
        elsewhere. ``between_services``: the calls are this process's own (not a relayed
        user's or guest's request), and the service called logs their access lines at
        DEBUG (``ownstack.common.clients.inprocess``)."""
        app = self.apps.get(service_type)
        if app is None:
            return None
        return InProcessTransport(app) if between_services else httpx.ASGITransport(app=app)

    def url(self, service_type: str) -> str:
        """The base URL of ``service_type``: in process when its app is here, else where
        the catalog says it listens."""
        if service_type in self.urls:
            return self.urls[service_type]
        if service_type in self.apps:
            return f"http://{service_type}.internal"
        section = getattr(self.config, service_type, None)
        port = getattr(section, "port", None)
        if not isinstance(port, int):
            raise LookupError(f"no way to reach the {service_type} service")
        return self.config.public_url(port)

    def identity_client(self, *, cache_ttl: float) -> IdentityClient:
        return IdentityClient(self.url("identity"),
                              transport=self.transport("identity", between_services=True),
                              cache_ttl=cache_ttl)

    def service_auth(self) -> ServiceAuth:
        """The token provider of the services' own user (see
        ``ownstack.common.clients.auth``), one per process: every role in it shares the
        token, so the process authenticates once, not once per role."""
        if self._service_auth is None:
            self._service_auth = ServiceAuth(self.url("identity"),
                                             read_service_password(self.config),
                                             transport=self.transport(
                                                 "identity", between_services=True))
        return self._service_auth

    @property
    def bus(self) -> Bus:
        """The one bus of this process, made from ``bus.url`` on first use. Each role that
        uses it calls :meth:`open_bus` at start-up and :meth:`close_bus` at shutdown; the
        first opens the connection and the last closes it."""
        if self._bus is None:
            self._bus = make_bus(self.config.bus.url, self.config.bus.namespace)
        return self._bus

    async def open_bus(self) -> Bus:
        bus = self.bus
        if self._bus_users == 0:
            await bus.start()
        self._bus_users += 1
        return bus

    async def close_bus(self) -> None:
        self._bus_users -= 1
        if self._bus_users == 0 and self._bus is not None:
            await self._bus.close()

    async def aclose(self) -> None:
        """Release what the process shares (the service user's HTTP client)."""
        if self._service_auth is not None:
            await self._service_auth.aclose()
            self._service_auth = None
