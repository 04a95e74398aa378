"""uvicorn's httptools protocol, writing a response's head with its body: one send.

uvicorn writes the status line and headers of a response to the socket as soon as the app
sends ``http.response.start``, and the body when it sends ``http.response.body``: two
``send`` calls for every response, and on loopback two segments that the kernel delivers
and the client wakes up for one at a time. In a profile of status polls the first write
alone was about 6% of the server's CPU. :class:`OneWriteProtocol` holds the head back
until the first body message and writes the two as one; a response that writes no body
(``HEAD``, a 204, an empty final chunk) has its head written when that message is done,
and a transport closed meanwhile gets the head first. The bytes on the wire and their
order are uvicorn's own; only the number of writes changes. ``100 Continue``, which uvicorn
writes while the app waits for a request body, is never held.
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

from uvicorn._types import ASGISendEvent
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle


class _HeldHead:
    """The transport of one response cycle: the write made while the cycle sends
    ``http.response.start`` is kept and prepended to the next write."""

    __slots__ = ("_held", "_transport", "holding")

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport
        self._held: bytes | None = None
        self.holding = False

    def write(self, data: bytes) -> None:
        if self.holding and self._held is None:
            self._held = bytes(data)
            return
        if self._held is not None:
            data, self._held = self._held + data, None
        self._transport.write(data)

    def flush(self) -> None:
        if self._held is not None:
            data, self._held = self._held, None
            self._transport.write(data)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class _OneWriteCycle(RequestResponseCycle):
    transport: Any

    async def send(self, message: ASGISendEvent) -> None:
        held: _HeldHead = self.transport
        if message["type"] == "http.response.start":
            held.holding = True
            try:
                await super().send(message)
            finally:
                held.holding = False
        else:
            try:
                await super().send(message)
            finally:
                held.flush()


class OneWriteProtocol(HttpToolsProtocol):
    """``uvicorn.Config(http=OneWriteProtocol)``: httptools, one write per response."""

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        cycle = self.cycle
        # The cycle's task has been created, not yet run; an upgrade makes no cycle.
        if cycle is not None and type(cycle) is RequestResponseCycle \
                and not isinstance(cycle.transport, _HeldHead):
            cycle.__class__ = _OneWriteCycle
            cycle.transport = cast(asyncio.Transport, _HeldHead(cycle.transport))
