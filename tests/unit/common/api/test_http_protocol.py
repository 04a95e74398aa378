"""uvicorn's httptools protocol writing a response's head with its body (decision 84):
the same bytes as uvicorn's own protocol, in one write where it made two."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from ownstack.common.api.http_protocol import OneWriteProtocol


class Transport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: Any) -> None:
        self.writes.append(bytes(data))

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 8000), "peername": ("127.0.0.1", 50000)}.get(
            name, default)

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        pass


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    path = scope["path"]
    if path == "/stream":
        async def chunks() -> Any:
            yield b"one"
            await asyncio.sleep(0)
            yield b"two"
        response: Response = StreamingResponse(chunks(), media_type="text/plain")
    elif path == "/empty":
        response = Response(status_code=204)
    elif path == "/echo":
        message = await receive()
        response = Response(message["body"], media_type="text/plain")
    elif path == "/fail":
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", b"10")]})
        raise RuntimeError("failed after the head")
    else:
        response = Response(b'{"server": {}}', media_type="application/json")
    await response(scope, receive, send)


async def exchange(protocol_class: type[HttpToolsProtocol], request: bytes) -> Transport:
    config = Config(app, http=protocol_class, log_config=None, server_header=False,
                    date_header=False)
    transport = Transport()
    protocol = protocol_class(config=config, server_state=ServerState(), app_state={})
    protocol.connection_made(transport)
    protocol.data_received(request)
    for _ in range(50):
        await asyncio.sleep(0)
    protocol.connection_lost(None)
    return transport


GET = b"GET /servers/x HTTP/1.1\r\nHost: a\r\n\r\n"


@pytest.mark.parametrize("request_bytes", [
    GET,
    b"HEAD /servers/x HTTP/1.1\r\nHost: a\r\n\r\n",
    b"DELETE /empty HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET /stream HTTP/1.1\r\nHost: a\r\n\r\n",
    b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
    b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n",
    b"GET /fail HTTP/1.1\r\nHost: a\r\n\r\n",
    GET + GET,
])
async def test_the_bytes_are_uvicorns(request_bytes: bytes) -> None:
    ours = await exchange(OneWriteProtocol, request_bytes)
    theirs = await exchange(HttpToolsProtocol, request_bytes)
    assert b"".join(ours.writes) == b"".join(theirs.writes)
    assert ours.closed == theirs.closed


async def test_a_response_is_one_write() -> None:
    ours = await exchange(OneWriteProtocol, GET)
    theirs = await exchange(HttpToolsProtocol, GET)
    assert len(theirs.writes) == 2
    assert ours.writes == [b"".join(theirs.writes)]
    assert ours.writes[0].startswith(b"HTTP/1.1 200 OK\r\n")
    assert ours.writes[0].endswith(b'\r\n\r\n{"server": {}}')


async def test_a_response_without_body_writes_its_head() -> None:
    for request in (b"HEAD /servers/x HTTP/1.1\r\nHost: a\r\n\r\n",
                    b"DELETE /empty HTTP/1.1\r\nHost: a\r\n\r\n"):
        ours = await exchange(OneWriteProtocol, request)
        assert len(ours.writes) == 1
        assert ours.writes[0].startswith(b"HTTP/1.1 20") and ours.writes[0].endswith(b"\r\n\r\n")


async def test_a_stream_sends_its_head_with_the_first_chunk() -> None:
    ours = await exchange(OneWriteProtocol, b"GET /stream HTTP/1.1\r\nHost: a\r\n\r\n")
    assert len(ours.writes) == 3
    assert ours.writes[0].startswith(b"HTTP/1.1 200 OK\r\n")
    assert ours.writes[0].endswith(b"\r\n\r\n3\r\none\r\n")
    assert ours.writes[1:] == [b"3\r\ntwo\r\n", b"0\r\n\r\n"]


async def test_100_continue_is_not_held() -> None:
    ours = await exchange(OneWriteProtocol, b"POST /echo HTTP/1.1\r\nHost: a\r\n"
                          b"Content-Length: 5\r\nExpect: 100-continue\r\n\r\n")
    assert ours.writes[0] == b"HTTP/1.1 100 Continue\r\n\r\n"


async def test_a_head_followed_by_a_failure_is_written_before_the_close() -> None:
    ours = await exchange(OneWriteProtocol, b"GET /fail HTTP/1.1\r\nHost: a\r\n\r\n")
    assert ours.closed
    assert len(ours.writes) == 1 and ours.writes[0].startswith(b"HTTP/1.1 200 OK\r\n")
