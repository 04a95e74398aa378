"""How one service reaches the others: by HTTP, in process when they share the process.

The all-in-one process hands each service the ASGI apps already built, so internal calls
go through ``httpx.ASGITransport`` with no socket; a service on another machine gets the
same clients pointed at the URLs instead. Either way the code that calls is the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from ownstack.common.clients.identity import IdentityClient
from ownstack.common.config import Config


@dataclass
class Peers:
    config: Config
    apps: dict[str, Any] = field(default_factory=dict)   # service type -> ASGI app
    urls: dict[str, str] = field(default_factory=dict)   # service type -> base URL

    def transport(self, service_type: str) -> httpx.AsyncBaseTransport | None:
        app = self.apps.get(service_type)
        return httpx.ASGITransport(app=app) if app is not None else None

    def url(self, service_type: str) -> str:
        if service_type in self.urls:
            return self.urls[service_type]
        if service_type in self.apps:
            return f"http://{service_type}.internal"
        raise LookupError(f"no way to reach the {service_type} service")

    def identity_client(self, *, cache_ttl: float) -> IdentityClient:
        return IdentityClient(self.url("identity"), transport=self.transport("identity"),
                              cache_ttl=cache_ttl)
