"""HTTP between services that share a process: no socket, and no more of httpx than a
call between them needs.

:class:`InProcessTransport` is ``httpx.ASGITransport`` that marks each request's scope
(:data:`~ownstack.common.api.app.IN_PROCESS`), so the service called knows the caller is
another service of the process, calling for its own work (a claim, an image show): its
access log line is a debug one, and the user's request that caused the call keeps its
own line at INFO. ``Peers.transport(..., between_services=True)`` makes one; a relay of
a user's or a guest's request (the metadata agent's) gets plain ``ASGITransport``.

:func:`http_client` makes a client's HTTP client: over an :class:`InProcessTransport`
an :class:`InProcessClient`, which sends a request straight to the transport, past the
parts of ``httpx.AsyncClient.send`` that an in-process call has no use for: the auth
flow (these clients send their token as a header), redirects (never followed here),
and the cookie jar (no service sets a cookie for another). That was about half of
httpx's own CPU on an in-process call (building a ``urllib`` request to look for
``Set-Cookie`` headers on every response). Anything else gets a plain
``httpx.AsyncClient``.
"""

from __future__ import annotations

from typing import Any

import httpx
from httpx._client import ClientState

from ownstack.common.api.app import IN_PROCESS


class InProcessTransport(httpx.ASGITransport):
    """``httpx.ASGITransport`` to ``app``, each request's scope marked :data:`IN_PROCESS`."""

    def __init__(self, app: Any) -> None:
        async def marked(scope: Any, receive: Any, send: Any) -> None:
            scope[IN_PROCESS] = True
            await app(scope, receive, send)
        super().__init__(app=marked)
        self.target = app


class InProcessClient(httpx.AsyncClient):
    """``httpx.AsyncClient`` that hands a request to its transport as it is: no auth flow,
    no redirects followed, no cookies kept (see the module docstring). What it answers
    is what ``httpx.AsyncClient`` answers for the same request: the same status, headers
    and body, read unless ``stream``, and ``response.request`` set."""

    async def send(self, request: httpx.Request, *, stream: bool = False,
                   auth: Any = None, follow_redirects: Any = None) -> httpx.Response:
        if self._state == ClientState.CLOSED:
            raise RuntimeError("Cannot send a request, as the client has been closed.")
        self._state = ClientState.OPENED
        response = await self._transport.handle_async_request(request)
        response.request = request
        response.default_encoding = self._default_encoding
        if not stream:
            try:
                await response.aread()
            except BaseException:
                await response.aclose()
                raise
        return response


def http_client(base_url: str, transport: httpx.AsyncBaseTransport | None,
                timeout: float | httpx.Timeout) -> httpx.AsyncClient:
    """The HTTP client of a service's client: an :class:`InProcessClient` over an
    :class:`InProcessTransport`, a plain ``httpx.AsyncClient`` otherwise."""
    kind = InProcessClient if isinstance(transport, InProcessTransport) else httpx.AsyncClient
    return kind(base_url=base_url, transport=transport, timeout=timeout)
