"""In-process HTTP between services: the same answers as httpx's ASGI transport, and the
access log line of a call between services at DEBUG, a user's at INFO."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest
from starlette.responses import Response

from ownstack.common.api.app import ApiRequest, ServiceApp, empty_response, json_response
from ownstack.common.api.routing import public
from ownstack.common.clients.inprocess import (
    InProcessClient,
    InProcessTransport,
    http_client,
)
from ownstack.common.config import Config
from ownstack.common.errors import Conflict, OwnstackError
from ownstack.common.peers import Peers


@public
async def echo(req: ApiRequest[Any]) -> Response:
    return json_response({"path": req.request.url.path, "q": req.query.getlist("q"),
                          "token": req.headers.get("x-auth-token"),
                          "body": (await req.body()).decode()},
                         status=201, headers={"Location": "/things/1"})


@public
async def clash(req: ApiRequest[Any]) -> Response:
    raise Conflict("it clashes")


@public
async def nothing(req: ApiRequest[Any]) -> Response:
    return empty_response(204)


def fmt(exc: OwnstackError, request_id: str) -> tuple[dict[str, Any], dict[str, str]]:
    return {"err": {"status": exc.status, "message": exc.message}}, {}


def make_app() -> ServiceApp[None]:
    return ServiceApp(name="inproc", svc=None, format_error=fmt, validator=None, routes={
        "/echo/{x}": {"POST": echo}, "/clash": {"GET": clash}, "/nothing": {"DELETE": nothing}})


async def exchange(client: httpx.AsyncClient) -> list[tuple[int, dict[str, str], bytes]]:
    answers = []
    for method, path, kwargs in (
            ("POST", "/echo/a%20b", {"params": {"q": ["1", "two words"]},
                                     "headers": {"X-Auth-Token": "tok"}, "json": {"k": "v"}}),
            ("GET", "/clash", {}), ("DELETE", "/nothing", {}), ("GET", "/missing", {}),
            ("PUT", "/clash", {})):
        r = await client.request(method, path, **kwargs)
        headers = {k: v for k, v in r.headers.items() if k != "x-openstack-request-id"}
        answers.append((r.status_code, headers, r.content))
        assert r.request.method == method
    return answers


async def test_in_process_client_answers_as_httpx_over_asgi() -> None:
    app = make_app()
    plain = httpx.AsyncClient(base_url="http://svc.internal", transport=httpx.ASGITransport(app))
    lean = http_client("http://svc.internal", InProcessTransport(app), 30.0)
    assert isinstance(lean, InProcessClient)
    async with plain, lean:
        assert await exchange(lean) == await exchange(plain)
        assert (await exchange(lean))[0][2].startswith(b'{"path":"/echo/a b","q":["1","two')


async def test_in_process_client_streams_and_refuses_after_close() -> None:
    lean = http_client("http://svc.internal", InProcessTransport(make_app()), 30.0)
    async with lean.stream("POST", "/echo/x", content=b"raw") as r:
        assert r.status_code == 201
        assert b'"body":"raw"' in b"".join([chunk async for chunk in r.aiter_bytes()])
    await lean.aclose()
    with pytest.raises(RuntimeError):
        await lean.get("/clash")


async def test_other_transports_get_a_plain_httpx_client() -> None:
    assert type(http_client("http://h:1", None, 5.0)) is httpx.AsyncClient
    asgi = httpx.ASGITransport(make_app())
    assert type(http_client("http://h:1", asgi, 5.0)) is httpx.AsyncClient


async def test_access_log_of_a_call_between_services_is_debug(
        caplog: pytest.LogCaptureFixture) -> None:
    app = make_app()
    caplog.set_level(logging.DEBUG, logger="ownstack.inproc.api")
    async with httpx.AsyncClient(base_url="http://t", transport=httpx.ASGITransport(app)) as user:
        await user.get("/clash")
    async with http_client("http://svc.internal", InProcessTransport(app), 5.0) as peer:
        await peer.get("/clash")
    lines = [(r.levelno, r.getMessage()) for r in caplog.records
             if r.getMessage().startswith("GET /clash 409")]
    assert [level for level, _ in lines] == [logging.INFO, logging.DEBUG]


async def test_no_access_line_of_a_call_between_services_at_info(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="ownstack.inproc.api")
    async with http_client("http://svc.internal", InProcessTransport(make_app()), 5.0) as peer:
        await peer.delete("/nothing")
    assert not [r for r in caplog.records if "/nothing" in r.getMessage()]


async def test_peers_mark_only_the_calls_between_services(tmp_path: Any) -> None:
    """The metadata agent relays a guest's request through ``Peers.transport``'s default:
    it stays unmarked, and its access line at INFO."""
    app = make_app()
    peers = Peers(Config(state_dir=tmp_path), apps={"inproc": app})
    assert type(peers.transport("inproc")) is httpx.ASGITransport
    marked = peers.transport("inproc", between_services=True)
    assert isinstance(marked, InProcessTransport) and marked.target is app
    assert peers.transport("elsewhere", between_services=True) is None


async def test_the_lean_call_hands_the_app_what_asgi_transport_hands_it() -> None:
    """``InProcessClient.request`` writes the scope itself (decision 86): the app sees the
    same method, path, headers, body and query (as parsed: the quoting may differ), and
    the answer's ``request`` is the one httpx would have sent."""
    from urllib.parse import parse_qsl

    seen: list[dict[str, Any]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        body = (await receive())["body"]
        seen.append({"method": scope["method"], "path": scope["path"],
                     "raw_path": scope["raw_path"], "scheme": scope["scheme"],
                     "server": scope["server"], "client": scope["client"],
                     "root_path": scope["root_path"], "body": body,
                     "query": parse_qsl(scope["query_string"].decode(), keep_blank_values=True),
                     "headers": sorted(scope["headers"])})
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"x-n", str(len(seen)).encode())]})
        await send({"type": "http.response.body", "body": b"ok" if body != b"" else b""})

    calls: list[tuple[str, str, dict[str, Any]]] = [
        ("GET", "/v2/images/abc", {"headers": {"X-Auth-Token": "t", "X-Other": "o",
                                               "X-Bytes": b"b"}}),
        ("GET", "/allocation_candidates", {"params": {
            "resources": "VCPU:1,MEMORY_MB:512", "required": ["!A", "B"], "limit": 7}}),
        ("PUT", "/allocations/c", {"json": {"a": [1, "ü"], "b": None}}),
        ("POST", "/nothing", {}), ("DELETE", "/d%20e", {"content": b"raw"}),
        ("HEAD", "/h", {}), ("PUT", "/j", {"json": [{"op": "add"}], "headers": {
            "Content-Type": "application/openstack-images-v2.1-json-patch"}}),
        ("PATCH", "/p", {"content": b"[]", "headers": {
            "Content-Type": "application/openstack-images-v2.1-json-patch"}})]
    plain = httpx.AsyncClient(base_url="http://svc.internal:8778/root",
                              transport=httpx.ASGITransport(app))
    lean = http_client("http://svc.internal:8778/root", InProcessTransport(app), 30.0)
    async with plain, lean:
        for method, path, kwargs in calls:
            ours = await lean.request(method, path, **kwargs)
            theirs = await plain.request(method, path, **kwargs)
            assert type(ours).__name__ == "_Answer", (method, path)
            assert seen[-2] == seen[-1], (method, path)
            assert (ours.status_code, ours.content) == (theirs.status_code, theirs.content)
            assert ours.headers.raw[:1] == [(b"x-n", str(len(seen) - 1).encode())]
            assert ours.request.url == theirs.request.url
            assert ours.request.headers == theirs.request.headers
            assert ours.request.content == theirs.request.content
            assert ours.text == theirs.text
        for client in (lean, plain):        # a header httpx cannot write, refused alike
            with pytest.raises(UnicodeEncodeError):
                await client.get("/x", headers={"X-Other": "é"})


async def test_what_the_lean_call_cannot_write_goes_through_httpx() -> None:
    """A value httpx writes its own way (``True``, ``None``), a path with a query, a full
    URL and a form take httpx's request: the answer is a plain ``httpx.Response``."""
    lean = http_client("http://svc.internal", InProcessTransport(make_app()), 30.0)
    async with lean:
        for path, kwargs in (("/echo/x", {"params": {"q": True}}),
                             ("/echo/x", {"params": {"q": None}}),
                             ("/echo/x?q=1", {}), ("http://svc.internal/echo/x", {}),
                             ("/echo/x", {"data": {"q": "1"}})):
            r = await lean.request("POST", path, **kwargs)
            assert r.status_code == 201 and type(r) is httpx.Response, (path, kwargs)
        lean_answer = await lean.request("POST", "/echo/x", params={"q": ["1", 2]})
        assert lean_answer.json()["q"] == ["1", "2"]
    with pytest.raises(RuntimeError):
        await lean.request("GET", "/clash")
