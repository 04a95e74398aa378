"""The ASGI app every service is made of.

``ServiceApp`` does, for each request, in this order: assign a request id (returned as
``X-Openstack-Request-Id``), route, authenticate the ``X-Auth-Token`` into a
:class:`RequestContext`, call the handler, and turn any :class:`OwnstackError` into the
service's own error body. Unexpected exceptions are logged with the request id and become
a 500 in the same format, never a traceback on the wire.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Final, Generic, TypeVar
from urllib.parse import quote

import orjson
from starlette.datastructures import Headers, QueryParams
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from ownstack.common.api.access_rules import permits
from ownstack.common.api.auth import TokenValidator
from ownstack.common.api.json_body import parse_json
from ownstack.common.api.routing import Router, RouteTable, is_public
from ownstack.common.api.schema import Validator
from ownstack.common.context import RequestContext
from ownstack.common.errors import (
    BadRequest,
    OwnstackError,
    PayloadTooLarge,
    Unauthorized,
    UnsupportedMediaType,
)
from ownstack.common.log import request_id_var

log = logging.getLogger("ownstack.api")

S = TypeVar("S")

# (error, request id) -> (body, extra headers)
ErrorFormatter = Callable[[OwnstackError, str], tuple[dict[str, Any], dict[str, str]]]
Hook = Callable[[], Awaitable[None]]
# Where every OpenStack service returns the request id; Nova adds a name of its own.
REQUEST_ID_HEADERS = ("X-Openstack-Request-Id",)
# The scope key that marks a request another service of the process made for its own work
# (``ownstack.common.clients.inprocess``): its access log line is a debug one; the user's
# request that caused it has its own line at INFO.
IN_PROCESS: Final = "ownstack.in_process"


class ApiRequest(Generic[S]):
    """What a handler gets: the request, its path parameters, the caller and the service."""

    __slots__ = ("_body_limit", "ctx", "params", "request", "svc")

    def __init__(self, request: Request, params: dict[str, str], ctx: RequestContext,
                 svc: S, body_limit: int) -> None:
        self.request = request
        self.params = params
        self.ctx = ctx
        self.svc = svc
        self._body_limit = body_limit

    @property
    def query(self) -> QueryParams:
        return self.request.query_params

    @property
    def headers(self) -> Headers:
        return self.request.headers

    @property
    def method(self) -> str:
        return self.request.method

    def base_url(self) -> str:
        """Scheme, host and port the client used, without a trailing slash."""
        return str(self.request.base_url).rstrip("/")

    def url(self) -> str:
        return str(self.request.url)

    async def body(self) -> bytes:
        declared = self.request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self._body_limit:
            raise PayloadTooLarge(
                f"Request body is larger than the limit of {self._body_limit} bytes.")
        chunks: list[bytes] = []
        size = 0
        async for chunk in self.request.stream():
            size += len(chunk)
            if size > self._body_limit:
                raise PayloadTooLarge(
                    f"Request body is larger than the limit of {self._body_limit} bytes.")
            chunks.append(chunk)
        return b"".join(chunks)

    async def json(self, validator: Validator | None = None) -> Any:
        """The parsed JSON body, validated when a schema is given."""
        content_type = self.request.headers.get("content-type", "application/json")
        media = content_type.split(";", 1)[0].strip().lower()
        if media and media != "application/json" and not media.endswith("+json"):
            raise UnsupportedMediaType(f"Content type {media} is not supported; send JSON.")
        raw = await self.body()
        if not raw.strip():
            raise BadRequest("The request body is empty; a JSON document is required.")
        data = parse_json(raw)
        return validator.validate(data) if validator is not None else data


def json_response(body: Any, status: int = 200, headers: Mapping[str, str] | None = None
                  ) -> Response:
    return Response(_dumps(body), status_code=status, headers=_wire_headers(headers),
                    media_type="application/json")


def empty_response(status: int = 204, headers: Mapping[str, str] | None = None) -> Response:
    return Response(b"", status_code=status, headers=_wire_headers(headers))


def _wire_headers(headers: Mapping[str, str] | None) -> dict[str, str]:
    """``headers`` as HTTP can carry them: a ``Location`` names a resource by what the
    client sent (a tag may be any Unicode text), and a URI is percent-encoded UTF-8."""
    wire = dict(headers or {})
    if "Location" in wire:
        wire["Location"] = quote(wire["Location"], safe="!#$&'()*+,/:;=?@[]~")
    return wire


def _dumps(body: Any) -> bytes:
    # orjson: several times faster than json on large lists (/servers/detail at a thousand
    # servers), with the same compact UTF-8 output.
    try:
        return orjson.dumps(body, option=orjson.OPT_NON_STR_KEYS)
    except orjson.JSONEncodeError:
        # An integer beyond 64 bits, which a client may send and some APIs echo (Nova's
        # extra specs): json writes it, with every digit.
        return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def _refuse_nul(scope: Scope) -> None:
    """No id, name or filter has a use for a NUL character and PostgreSQL cannot store one,
    so a URL holding one is refused before routing, whatever the route."""
    if "\x00" in scope["path"] or b"%00" in scope["query_string"]:
        raise BadRequest("The URL holds a NUL character (%00), which no parameter accepts.")


# What Starlette's ``request.url`` escapes (``?``, ``#``, ``\\``) or ``urlsplit`` drops or
# reads otherwise (tab, CR, LF, leading control characters and spaces, a leading ``//``).
_ODD_PATH = re.compile(r"[?#\\\x00-\x20\x7f]|^(?!/)|^//")


def request_path(request: Request) -> str:
    """``request.url.path``, without building the URL (its host, scheme and query string,
    then ``urlsplit``) when the path is one it gives back unchanged, as every API path is."""
    path: str = request.scope["path"]
    if _ODD_PATH.search(path) is None:
        return path
    return request.url.path


class ServiceApp(Generic[S]):
    def __init__(self, *, name: str, routes: RouteTable, svc: S,
                 format_error: ErrorFormatter, validator: TokenValidator | None,
                 body_limit: int = 114688, on_startup: list[Hook] | None = None,
                 on_shutdown: list[Hook] | None = None, access_log: bool = True,
                 request_id_headers: tuple[str, ...] = REQUEST_ID_HEADERS) -> None:
        self.name = name
        self.request_id_headers = request_id_headers
        self.svc = svc
        self.router = Router(routes)
        self.format_error = format_error
        self.validator = validator
        self.body_limit = body_limit
        self.on_startup = list(on_startup or [])
        self.on_shutdown = list(on_shutdown or [])
        self.access_log = access_log
        self.log = logging.getLogger(f"ownstack.{name}.api")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        request_id = f"req-{uuid.uuid4()}"
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        request = Request(scope, receive)
        try:
            response = await self._dispatch(request, request_id)
        except OwnstackError as exc:
            response = self._error_response(exc, request_id)
        except ClientDisconnect:
            # The client went away mid-request (an aborted upload): nobody to answer.
            self.log.info("%s %s: client disconnected", request.method, request.url.path)
            request_id_var.reset(token)
            return
        except Exception:
            self.log.exception("unhandled error serving %s %s", request.method, request.url.path)
            response = self._error_response(OwnstackError(), request_id)
        for header in self.request_id_headers:
            response.headers[header] = request_id
        try:
            await response(scope, receive, send)
        finally:
            level = logging.DEBUG if IN_PROCESS in scope else logging.INFO
            if self.access_log and self.log.isEnabledFor(level):
                self.log.log(level, "%s %s %s %.1fms", request.method, request.url.path,
                             response.status_code, (time.perf_counter() - started) * 1000)
            request_id_var.reset(token)

    async def _dispatch(self, request: Request, request_id: str) -> Response:
        _refuse_nul(request.scope)
        handler, params = self.router.match(request.method, request_path(request))
        ctx = await self._authenticate(request, request_id, public=is_public(handler))
        result = await handler(ApiRequest(request, params, ctx, self.svc, self.body_limit))
        if not isinstance(result, Response):
            raise TypeError(f"handler {handler.__qualname__} returned {type(result).__name__}")
        if request.method == "HEAD":
            # Same status and headers (Content-Length included) as GET, no body, and a
            # streaming body is never started.
            return Response(status_code=result.status_code, headers=dict(result.headers))
        return result

    async def _authenticate(self, request: Request, request_id: str, *, public: bool
                            ) -> RequestContext:
        token = request.headers.get("x-auth-token")
        if token and self.validator is not None:
            try:
                # Every token is printable ASCII (Fernet's is base64); anything else is no
                # token, and could not even be passed on to identity in a header.
                if not (token.isascii() and token.isprintable()):
                    raise Unauthorized("The request you have made requires authentication.")
                ctx = await self.validator.context_for(token, request_id)
                if ctx.access_rules is not None and not permits(
                        ctx.access_rules, self.name, request.method, request.url.path):
                    # keystonemiddleware's answer: the token does not authorize this call.
                    raise Unauthorized("The request you have made requires authentication.")
                return ctx
            except Unauthorized:
                if not public:
                    raise
        elif not public:
            raise Unauthorized("The request you have made requires authentication.")
        return RequestContext(request_id=request_id)

    def _error_response(self, exc: OwnstackError, request_id: str) -> Response:
        if exc.status >= 500:
            self.log.error("%s: %s", exc.code, exc.message)
        else:
            self.log.info("%s %s: %s", exc.status, exc.code, exc.message)
        body, headers = self.format_error(exc, request_id)
        return json_response(body, exc.status, {**exc.headers, **headers})

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        await serve_lifespan(receive, send, self.on_startup, self.on_shutdown, self.log)


async def serve_lifespan(receive: Receive, send: Send, on_startup: Sequence[Hook],
                         on_shutdown: Sequence[Hook], log: logging.Logger) -> None:
    """ASGI's lifespan protocol for an app with start-up and shut-down hooks: a start-up
    hook that raises is logged and reported as ``lifespan.startup.failed``, so the server
    stops with the reason instead of serving half started."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            try:
                for hook in on_startup:
                    await hook()
            except Exception as exc:
                log.exception("startup failed")
                await send({"type": "lifespan.startup.failed", "message": str(exc)})
                return
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            for hook in on_shutdown:
                await hook()
            await send({"type": "lifespan.shutdown.complete"})
            return
