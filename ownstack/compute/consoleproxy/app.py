"""A console proxy's ASGI app: one per console type, each on its own port, as Nova runs
``nova-novncproxy`` (6080, ``console.novncproxy_port``) and ``nova-serialproxy`` (6083,
``console.serialproxy_port``).

A websocket (to ``/``, or any path) is a console session, as in Nova's ``websocketproxy.py``:

1. The token is the ``token`` query parameter, or else a ``token`` cookie (noVNC's way).
2. ``Origin``, when a browser sends one, must name this proxy's own host (the ``Host``
   header) or one of ``console.allowed_origins``, with the scheme of the URL handed out
   (``http`` or ``https``; ``ws``/``wss`` count as those); ``X-Forwarded-Proto`` wins over
   the Origin's scheme, for a proxy behind a TLS terminator. Checked before the token is
   used, so a refused page does not burn it.
3. The token is used up (:func:`~ownstack.compute.objects.console_tokens.consume`): unknown,
   expired, used, of the other console type, or of a deleted server, the handshake is
   refused (HTTP 403) and nothing is opened.
4. The guest's console socket is opened (:mod:`.connect`), the websocket accepted (with the
   ``binary`` subprotocol when the client offers it, as websockify does), and bytes flow
   both ways until either side closes.

The noVNC proxy also serves the noVNC web client from ``console.novnc_dir`` (Debian's
``novnc`` package): ``vnc_lite.html`` and ``vnc.html``, which open their websocket back on
this proxy with the token the URL's ``path`` carries.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import urllib.parse
from pathlib import Path
from typing import Final

from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Router, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from ownstack.common.api.app import serve_lifespan
from ownstack.common.config import Config
from ownstack.common.peers import Peers
from ownstack.common.service import ServiceState
from ownstack.compute.consoleproxy.connect import (
    ConsoleConnector,
    ConsoleUnreachable,
    LocalSockets,
)
from ownstack.compute.objects import console_tokens
from ownstack.compute.objects.console_tokens import ConsoleTarget

log = logging.getLogger(__name__)

NOVNC: Final = "novnc"
SERIAL: Final = "serial"
POLICY_VIOLATION: Final = 1008     # websocket close codes
INTERNAL_ERROR: Final = 1011
CHUNK: Final = 65536               # bytes read from the console socket at once


class Refused(Exception):
    """The handshake is refused (HTTP 403); the message says why, for the log."""


class OriginRefused(Refused):
    pass


class ConsoleProxyApp:
    """The proxy of one console type (``novnc`` or ``serial``); started and stopped with
    its database state, as the other services' apps."""

    def __init__(self, config: Config, console_type: str, *,
                 engine: AsyncEngine | None = None,
                 connector: ConsoleConnector | None = None) -> None:
        self.config = config
        self.console_type = console_type
        self.svc = ServiceState(config, {}, engine)
        self.connector: ConsoleConnector = connector or LocalSockets(
            frozenset({config.compute.host or socket.gethostname()}))
        self.allowed_origins = frozenset(
            name.strip().lower() for name in config.console.allowed_origins.split(",")
            if name.strip())
        self.on_startup = [self.svc.start]
        self.on_shutdown = [self.svc.stop]
        # Any path, as websockify: noVNC opens "/" with the URL's path, "/websockify" without.
        routes: list[WebSocketRoute | Mount] = [WebSocketRoute("/{path:path}", self.session)]
        if console_type == NOVNC:
            routes.append(Mount("/", app=_NoVNCFiles(Path(config.console.novnc_dir))))
        self.router = Router(routes=routes, default=_not_here)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        await self.router(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        await serve_lifespan(receive, send, self.on_startup, self.on_shutdown, log)

    # -- a session -----------------------------------------------------------------------

    async def session(self, ws: WebSocket) -> None:
        token = ws.query_params.get("token") or ws.cookies.get("token") or ""
        try:
            self._check_origin_host(ws.headers)
            async with self.svc.read() as db:
                target = await console_tokens.validate(db, token)
            if target is None or target.console_type != self.console_type:
                raise Refused("the token is invalid or has expired")
            self._check_origin_scheme(ws.headers, target)
            async with self.svc.write() as db:
                target = await console_tokens.consume(db, token, (self.console_type,))
            if target is None:
                raise Refused("the token is invalid or has expired")
        except Refused as exc:
            log.info("%s console refused: %s", self.console_type, exc)
            await ws.close(POLICY_VIOLATION)
            return
        try:
            reader, writer = await self.connector.open(target)
        except ConsoleUnreachable as exc:
            log.warning("%s console of instance %s: %s", self.console_type,
                        target.instance_uuid, exc)
            await ws.close(INTERNAL_ERROR)
            return
        offered = ws.scope.get("subprotocols") or []
        await ws.accept(subprotocol="binary" if "binary" in offered else None)
        log.info("%s console of instance %s opened (host %s)", self.console_type,
                 target.instance_uuid, target.host)
        try:
            await _relay(ws, reader, writer)
        finally:
            writer.close()
            with contextlib.suppress(OSError, ConnectionError):
                await writer.wait_closed()
            if ws.application_state != WebSocketState.DISCONNECTED:
                with contextlib.suppress(RuntimeError, OSError, WebSocketDisconnect):
                    await ws.close()
            log.info("%s console of instance %s closed", self.console_type,
                     target.instance_uuid)

    def _check_origin_host(self, headers: Headers) -> None:
        """A browser's ``Origin`` names this proxy or an allowed host (a missing one means
        a client that is not a browser, which is fine)."""
        origin = headers.get("origin")
        if origin is None:
            return
        parsed = urllib.parse.urlsplit(origin)
        scheme = headers.get("x-forwarded-proto") or parsed.scheme
        if not parsed.hostname or not scheme:
            raise OriginRefused("Origin header not valid.")
        own = urllib.parse.urlsplit("//" + headers.get("host", "")).hostname
        if parsed.hostname.lower() not in self.allowed_origins | {(own or "").lower()}:
            raise OriginRefused("Origin header does not match this host.")

    def _check_origin_scheme(self, headers: Headers, target: ConsoleTarget) -> None:
        """Nova's ``verify_origin_proto``: a page served over http may not open a console
        handed out as https, and the reverse."""
        origin = headers.get("origin")
        if origin is None:
            return
        scheme = (headers.get("x-forwarded-proto")
                  or urllib.parse.urlsplit(origin).scheme).lower()
        expected = urllib.parse.urlsplit(target.access_url_base or "").scheme.lower()
        allowed = {expected, {"ws": "http", "wss": "https"}.get(expected, expected)}
        if scheme not in allowed:
            raise OriginRefused("Origin header protocol does not match this host.")


async def _relay(ws: WebSocket, reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter) -> None:
    """Bytes both ways until either side closes; then the other side is cut too."""

    async def browser_to_guest() -> None:
        while True:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                return
            data = message.get("bytes")
            if data is None:
                data = (message.get("text") or "").encode()
            writer.write(data)
            await writer.drain()

    async def guest_to_browser() -> None:
        while data := await reader.read(CHUNK):
            await ws.send_bytes(data)

    tasks = [asyncio.ensure_future(browser_to_guest()), asyncio.ensure_future(guest_to_browser())]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect,
                                     ConnectionError, OSError, RuntimeError):
                await task


class _NoVNCFiles:
    """noVNC's files, or a 404 that says how to install them."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.files = StaticFiles(directory=directory, check_dir=False)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self.directory.is_dir():
            response = PlainTextResponse(
                f"The noVNC web client is not installed in {self.directory} "
                "(Debian package novnc: apt-get install novnc).", 404)
            await response(scope, receive, send)
            return
        try:
            await self.files(scope, receive, send)
        except HTTPException as exc:       # 404, 405: a response, as a Starlette app makes
            await PlainTextResponse(str(exc.detail), exc.status_code, exc.headers)(
                scope, receive, send)


async def _not_here(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": POLICY_VIOLATION})
        return
    response = PlainTextResponse("This is the serial console proxy: open the websocket "
                                 "URL a console request gave (ws://...?token=...).", 404)
    await response(scope, receive, send)


def make_novnc_app(config: Config, peers: Peers) -> ConsoleProxyApp:
    return ConsoleProxyApp(config, NOVNC)


def make_serial_app(config: Config, peers: Peers) -> ConsoleProxyApp:
    return ConsoleProxyApp(config, SERIAL)
