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

:meth:`InProcessClient.request` (which ``get``, ``post``, ``put``, ``patch`` and ``delete``
call) goes further for the calls the clients make (a path, a query of strings, a dict of
headers, a JSON or bytes body): it writes the ASGI scope itself and calls the app, with no
``httpx.Request`` (parsing and merging its URL, merging its headers: 50-100 us a call, more
than the rest of httpx) and no ``ASGITransport``; the answer is an ``httpx.Response`` with
the same status, headers and body, whose ``request`` is built only if someone reads it.
Anything else (a full URL, a form, files, cookies, a streamed body, ``stream``) takes the
way through ``httpx.Request`` and :meth:`InProcessClient.send` (decision 86).
"""

from __future__ import annotations

import asyncio
import json as jsonlib
import re
from collections.abc import Callable, Mapping, MutableMapping
from typing import Any, cast
from urllib.parse import unquote, urlencode

import httpx
from httpx._client import USE_CLIENT_DEFAULT, ClientState

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

    async def request(self, method: str, url: httpx.URL | str, *, content: Any = None,
                      data: Any = None, files: Any = None, json: Any = None,
                      params: Any = None, headers: Any = None, cookies: Any = None,
                      auth: Any = USE_CLIENT_DEFAULT, follow_redirects: Any = USE_CLIENT_DEFAULT,
                      timeout: Any = USE_CLIENT_DEFAULT, extensions: Any = None
                      ) -> httpx.Response:
        query = _query(params)
        if (query is None or not isinstance(url, str) or not _PLAIN_PATH.fullmatch(url)
                or data is not None or files is not None or cookies is not None
                or extensions or auth is not USE_CLIENT_DEFAULT
                or (content is not None and (json is not None or not isinstance(content, bytes)))
                or (headers is not None and not isinstance(headers, dict))
                or not isinstance(self._transport, InProcessTransport)):
            return await super().request(
                method, url, content=content, data=data, files=files, json=json,
                params=params, headers=headers, cookies=cookies, auth=auth,
                follow_redirects=follow_redirects, timeout=timeout, extensions=extensions)
        if self._state == ClientState.CLOSED:
            raise RuntimeError("Cannot send a request, as the client has been closed.")
        self._state = ClientState.OPENED
        return await self._call(method, url, query, content, json, params, headers, timeout)

    async def _call(self, method: str, path: str, query: bytes, content: bytes | None,
                    json: Any, params: Any, headers: dict[str, str] | None,
                    timeout: Any) -> httpx.Response:
        """The request straight to the app, as ``ASGITransport`` would hand it over."""
        base = self.base_url
        transport = cast(InProcessTransport, self._transport)   # checked by request
        method = method.upper()
        fields = {k.lower(): v for k, v in self.headers.items()}
        if headers:
            fields.update((k.lower(), v) for k, v in headers.items())
        if json is not None:
            content = jsonlib.dumps(json, ensure_ascii=False, separators=(",", ":"),
                                    allow_nan=False).encode("utf-8")
            fields.setdefault("content-length", str(len(content)))
            fields.setdefault("content-type", "application/json")  # a caller's type wins
        elif content is not None:
            fields.setdefault("content-length", str(len(content)))
        elif method in ("POST", "PUT", "PATCH"):
            fields.setdefault("content-length", "0")
        raw = [(b"host", base.netloc)]
        raw += [(k.encode("ascii"), v if isinstance(v, bytes) else v.encode("ascii"))
                for k, v in fields.items() if k != "host"]
        raw_path = base.raw_path.rstrip(b"/") + path.encode("ascii")
        scope: dict[str, Any] = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
            "method": method, "headers": raw, "scheme": base.scheme,
            "path": unquote(raw_path.decode("ascii")), "raw_path": raw_path,
            "query_string": query, "server": (base.host, base.port),
            "client": transport.client, "root_path": transport.root_path}
        sent = False
        done = asyncio.Event()
        status: int | None = None
        answer_headers: list[tuple[bytes, bytes]] = []
        parts: list[bytes] = []

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if sent:
                await done.wait()
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": content or b"", "more_body": False}

        async def send(message: MutableMapping[str, Any]) -> None:
            nonlocal status, answer_headers
            if message["type"] == "http.response.start":
                status, answer_headers = message["status"], message.get("headers", [])
            elif message["type"] == "http.response.body":
                body = message.get("body", b"")
                if body and method != "HEAD":
                    parts.append(body)
                if not message.get("more_body", False):
                    done.set()

        await transport.app(scope, receive, send)
        assert done.is_set() and status is not None
        response = _Answer(status, headers=answer_headers,
                           stream=httpx.ByteStream(b"".join(parts)))
        response._build = lambda: self.build_request(
            method, path, content=content if json is None else None, json=json,
            params=params, headers=headers, timeout=timeout)
        response.default_encoding = self._default_encoding
        response.read()
        return response


# A path the lean way takes as it is: no query, no fragment, nothing to quote.
_PLAIN_PATH = re.compile(r"/[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*")


def _query(params: Any) -> bytes | None:
    """``params`` as a query string, or ``None`` when httpx would write a value otherwise
    (``True``, ``None``, a float) or ``params`` is not a mapping."""
    if not params:
        return b""
    if not isinstance(params, Mapping):
        return None
    pairs: list[tuple[str, str]] = []
    for key, value in params.items():
        for item in value if isinstance(value, list | tuple) else (value,):
            if isinstance(item, str):
                pairs.append((key, item))
            elif isinstance(item, int) and not isinstance(item, bool):
                pairs.append((key, str(item)))
            else:
                return None
    return urlencode(pairs).encode("ascii")


class _Answer(httpx.Response):
    """An ``httpx.Response`` whose ``request`` is built when first read."""

    _build: Callable[[], httpx.Request] | None = None

    @property
    def request(self) -> httpx.Request:
        if self._request is None and self._build is not None:
            self._request, self._build = self._build(), None
        return httpx.Response.request.fget(self)  # type: ignore[attr-defined,no-any-return]

    @request.setter
    def request(self, value: httpx.Request) -> None:
        self._request = value


def http_client(base_url: str, transport: httpx.AsyncBaseTransport | None,
                timeout: float | httpx.Timeout) -> httpx.AsyncClient:
    """The HTTP client of a service's client: an :class:`InProcessClient` over an
    :class:`InProcessTransport`, a plain ``httpx.AsyncClient`` otherwise."""
    kind = InProcessClient if isinstance(transport, InProcessTransport) else httpx.AsyncClient
    return kind(base_url=base_url, transport=transport, timeout=timeout)
