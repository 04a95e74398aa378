"""The services' own credentials: a token for ``ownstack-service``, kept fresh.

Compute reaches Placement's admin API and the image service as this user, as Nova does
with its ``nova`` user. :class:`ServiceAuth` is a token provider: ``await auth()`` returns
a valid token, authenticating again only when the cached one is close to expiry. One
authentication is in flight at a time, however many callers ask at once.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime

import httpx

from ownstack.common.clients.inprocess import http_client
from ownstack.common.errors import OwnstackError

SERVICE_USER = "ownstack-service"
SERVICE_PROJECT = "service"
REFRESH_MARGIN = 120.0      # seconds before expiry at which a token is replaced


class ServiceAuthFailed(OwnstackError):
    status = 503
    code = "ownstack.service_auth_failed"
    message = "The service could not authenticate to the identity service."


class ServiceAuth:
    def __init__(self, base_url: str, password: str, *,
                 transport: httpx.AsyncBaseTransport | None = None,
                 user: str = SERVICE_USER, project: str = SERVICE_PROJECT,
                 timeout: float = 30.0) -> None:
        self.http = http_client(base_url, transport, timeout)
        self._body = {"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": user, "domain": {"id": "default"}, "password": password}}},
            "scope": {"project": {"name": project, "domain": {"id": "default"}}}}}
        self._token: str | None = None
        self._expires = 0.0
        self._lock = asyncio.Lock()

    async def __call__(self) -> str:
        if self._token is not None and time.time() < self._expires - REFRESH_MARGIN:
            return self._token
        async with self._lock:
            if self._token is None or time.time() >= self._expires - REFRESH_MARGIN:
                self._token, self._expires = await self._authenticate()
            return self._token

    def invalidate(self) -> None:
        """Forget the cached token (after a 401 from a peer, say)."""
        self._token = None

    async def aclose(self) -> None:
        await self.http.aclose()

    async def _authenticate(self) -> tuple[str, float]:
        try:
            r = await self.http.post("/v3/auth/tokens", params={"nocatalog": "1"},
                                     json=self._body)
        except httpx.HTTPError as exc:
            raise ServiceAuthFailed(f"The identity service is unreachable: {exc}") from exc
        if r.status_code != 201:
            raise ServiceAuthFailed(
                f"The identity service refused the service user: {r.status_code}")
        expires_at = r.json()["token"]["expires_at"]
        expires = datetime.fromisoformat(expires_at.replace("Z", "+00:00")).timestamp()
        return r.headers["X-Subject-Token"], expires
