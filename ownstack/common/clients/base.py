"""What every typed client of a service's API shares: its HTTP client and its token.

A client makes its own HTTP client for ``base_url`` over ``transport``, closed by
:meth:`TokenClient.aclose`, unless given a shared one (``http``, whose owner set it up and
closes it; ``base_url`` and ``transport`` are then not used): building an httpx client
reads the environment for proxy settings, which costs more than a request when a client
lives for one request. Every request carries the token ``token_provider`` gives: the
services' own user's (a :class:`~ownstack.common.clients.auth.ServiceAuth`), or one
caller's (:meth:`TokenClient.as_caller`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Self

import httpx

from ownstack.common.clients.inprocess import http_client


class TokenClient:
    """The shared part of :class:`~ownstack.common.clients.image.ImageClient`,
    :class:`~ownstack.common.clients.network.NetworkClient` and
    :class:`~ownstack.common.clients.volume.VolumeClient`."""

    def __init__(self, base_url: str, token_provider: Callable[[], Awaitable[str]],
                 transport: httpx.AsyncBaseTransport | None = None, *,
                 timeout: float = 30.0, http: httpx.AsyncClient | None = None) -> None:
        self._owns_http = http is None
        self.http = http if http is not None else http_client(
            base_url, transport, httpx.Timeout(timeout, connect=10.0))
        self._token_provider = token_provider

    def as_caller(self, token: str) -> Self:
        """A client of the same kind acting as one caller (``token``), over this client's
        HTTP client."""
        async def caller_token() -> str:
            return token
        return type(self)(str(self.http.base_url), caller_token, http=self.http)

    async def aclose(self) -> None:
        if self._owns_http:
            await self.http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
