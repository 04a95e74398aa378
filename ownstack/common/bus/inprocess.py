"""The in-process bus: the all-in-one default. Asyncio queues, no broker, nothing to run.

Messages to a topic with no server yet wait in its queue, as in a durable RabbitMQ queue
(but only for the life of the process: agents resync at start-up anyway).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import Any

from ownstack.common.bus import base
from ownstack.common.bus.base import EventHandler, Payload, RpcHandler

log = logging.getLogger(__name__)


@dataclass
class _Message:
    method: str
    payload: Payload
    reply: asyncio.Future[Any] | None = None


@dataclass
class _Topic:
    queue: asyncio.Queue[_Message] = field(default_factory=asyncio.Queue)
    servers: int = 0


class _Handle:
    def __init__(self, cancel: Any) -> None:
        self._cancel = cancel

    async def cancel(self) -> None:
        await self._cancel()


class InProcessBus:
    def __init__(self) -> None:
        self._topics: dict[str, _Topic] = {}
        self._subscribers: list[tuple[str, EventHandler]] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False

    async def start(self) -> None:
        self._closed = False

    async def close(self) -> None:
        self._closed = True
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()

    def _topic(self, name: str) -> _Topic:
        base.validate_name("topic", name)
        return self._topics.setdefault(name, _Topic())

    async def call(self, topic: str, method: str, payload: Payload, *,
                   timeout: float = 60.0) -> Any:
        self._check_open()
        reply: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._topic(topic).queue.put_nowait(_Message(method, _copy(payload), reply))
        try:
            return await asyncio.wait_for(reply, timeout)
        except TimeoutError:
            raise base.BusTimeout.waiting(topic, method, timeout) from None

    async def cast(self, topic: str, method: str, payload: Payload) -> None:
        self._check_open()
        self._topic(topic).queue.put_nowait(_Message(method, _copy(payload)))

    async def publish(self, event: str, payload: Payload) -> None:
        self._check_open()
        base.validate_name("event", event)
        for pattern, handler in list(self._subscribers):
            if base.topic_matches(pattern, event):
                self._spawn(base.deliver_event(handler, event, _copy(payload)))

    async def serve(self, topic: str, handler: RpcHandler) -> _Handle:
        state = self._topic(topic)
        state.servers += 1
        task = self._spawn(self._serve_loop(state.queue, handler))

        async def cancel() -> None:
            state.servers -= 1
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        return _Handle(cancel)

    async def subscribe(self, pattern: str, handler: EventHandler) -> _Handle:
        entry = (pattern, handler)
        self._subscribers.append(entry)

        async def cancel() -> None:
            if entry in self._subscribers:
                self._subscribers.remove(entry)
        return _Handle(cancel)

    async def _serve_loop(self, queue: asyncio.Queue[_Message], handler: RpcHandler) -> None:
        while True:
            message = await queue.get()
            try:
                result = await handler(message.method, message.payload)
                # An answer that is not JSON is the handler's failure, told to the caller.
                answer = _copy(result) if message.reply is not None else None
            except asyncio.CancelledError:
                queue.put_nowait(message)     # not handled: leave it for another server
                raise
            except Exception as exc:
                if message.reply is not None and not message.reply.done():
                    message.reply.set_exception(base.RemoteError.of(exc))
                else:
                    log.exception("cast %s failed", message.method)
            else:
                if message.reply is not None and not message.reply.done():
                    message.reply.set_result(answer)

    def _spawn(self, coro: Any) -> asyncio.Task[None]:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _check_open(self) -> None:
        if self._closed:
            raise base.BusError("the bus is closed")


def _copy(value: Any) -> Any:
    """Messages cross the bus as JSON, in process too: no shared mutable objects, and a
    payload that would not survive RabbitMQ fails here as well."""
    import json

    return json.loads(base.to_json(value))
