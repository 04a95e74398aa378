"""The RabbitMQ bus, for several machines: the same three verbs over AMQP (aio-pika).

* Every name starts with the bus's *namespace* (``bus.namespace``, default ``ownstack``), so
  several clouds can share one broker without seeing each other's messages.
* A topic is a durable queue ``<namespace>.<topic>`` on the default exchange: casts wait
  there for a server, and servers of one topic share its messages.
* ``call`` sends with ``reply_to`` (this process's exclusive reply queue) and a
  ``correlation_id``, and waits for the matching answer.
* Events go through the topic exchange ``<namespace>.events``; each subscription is an
  exclusive, auto-deleted queue bound with its pattern.

Messages are acknowledged after their handler ran (at-least-once). A cast whose handler
fails is logged and dropped, never redelivered forever: agents resync instead.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from typing import Any

import aio_pika
from aio_pika.abc import (
    AbstractIncomingMessage,
    AbstractQueue,
    AbstractRobustChannel,
    AbstractRobustConnection,
    AbstractRobustExchange,
    AbstractRobustQueue,
)

from ownstack.common.bus import base
from ownstack.common.bus.base import EventHandler, Payload, RpcHandler

log = logging.getLogger(__name__)

DEFAULT_NAMESPACE = "ownstack"
QUEUE_PREFIX = DEFAULT_NAMESPACE + "."


class _Handle:
    def __init__(self, queue: AbstractQueue, tag: str) -> None:
        self._queue = queue
        self._tag = tag

    async def cancel(self) -> None:
        await self._queue.cancel(self._tag)


class RabbitMQBus:
    def __init__(self, url: str, *, prefetch: int = 16,
                 namespace: str = DEFAULT_NAMESPACE) -> None:
        base.validate_name("namespace", namespace)
        self.url = url
        self.prefetch = prefetch
        self.queue_prefix = namespace + "."
        self.events_exchange = namespace + ".events"
        self._connection: AbstractRobustConnection | None = None
        self._channel: AbstractRobustChannel | None = None
        self._events: AbstractRobustExchange | None = None
        self._replies: AbstractRobustQueue | None = None
        self._waiting: dict[str, asyncio.Future[Any]] = {}
        self._declared: set[str] = set()

    async def start(self) -> None:
        try:
            self._connection = await aio_pika.connect_robust(self.url)
        except (OSError, aio_pika.exceptions.AMQPError) as exc:
            raise base.BusError(f"cannot reach RabbitMQ at {_safe(self.url)}: {exc}") from None
        self._channel = await self._connection.channel(publisher_confirms=True)
        await self._channel.set_qos(prefetch_count=self.prefetch)
        self._events = await self._channel.declare_exchange(
            self.events_exchange, aio_pika.ExchangeType.TOPIC, durable=True)
        self._replies = await self._channel.declare_queue(exclusive=True, auto_delete=True)
        await self._replies.consume(self._on_reply, no_ack=True)

    async def close(self) -> None:
        for future in self._waiting.values():
            if not future.done():
                future.set_exception(base.BusError("the bus is closed"))
        self._waiting.clear()
        if self._connection is not None:
            await self._connection.close()
        self._connection = self._channel = None

    async def call(self, topic: str, method: str, payload: Payload, *,
                   timeout: float = 60.0) -> Any:
        channel = await self._topic_queue(topic)
        assert self._replies is not None
        correlation = uuid.uuid4().hex
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiting[correlation] = future
        try:
            await channel.default_exchange.publish(
                _message(method, payload, reply_to=self._replies.name,
                         correlation_id=correlation, expiration=timeout),
                routing_key=self.queue_prefix + topic)
            return await asyncio.wait_for(future, timeout)
        except TimeoutError:
            raise base.BusTimeout.waiting(topic, method, timeout) from None
        finally:
            self._waiting.pop(correlation, None)

    async def cast(self, topic: str, method: str, payload: Payload) -> None:
        channel = await self._topic_queue(topic)
        await channel.default_exchange.publish(_message(method, payload),
                                               routing_key=self.queue_prefix + topic)

    async def publish(self, event: str, payload: Payload) -> None:
        base.validate_name("event", event)
        if self._events is None:
            raise base.BusError("the bus is not started")
        await self._events.publish(_message(event, payload), routing_key=event)

    async def serve(self, topic: str, handler: RpcHandler) -> _Handle:
        await self._topic_queue(topic)
        assert self._channel is not None
        queue = await self._channel.get_queue(self.queue_prefix + topic, ensure=False)

        async def on_message(message: AbstractIncomingMessage) -> None:
            async with message.process(ignore_processed=True, requeue=False):
                method, payload = _decode(message)
                try:
                    result = await handler(method, payload)
                    # An answer that is not JSON is the handler's failure, told to the
                    # caller, who would otherwise wait out its timeout.
                    answer = base.to_json({"result": result}) if message.reply_to else ""
                except Exception as exc:
                    if not message.reply_to:
                        log.exception("cast %s on %s failed", method, topic)
                        return
                    error = base.RemoteError.of(exc)
                    answer = json.dumps({"error": {"kind": error.kind,
                                                   "message": error.message}})
                if message.reply_to and self._channel is not None:
                    await self._channel.default_exchange.publish(
                        aio_pika.Message(answer.encode(),
                                         correlation_id=message.correlation_id,
                                         content_type="application/json"),
                        routing_key=message.reply_to)

        tag = await queue.consume(on_message)
        return _Handle(queue, tag)

    async def subscribe(self, pattern: str, handler: EventHandler) -> _Handle:
        if self._channel is None or self._events is None:
            raise base.BusError("the bus is not started")
        queue = await self._channel.declare_queue(exclusive=True, auto_delete=True)
        await queue.bind(self._events, routing_key=pattern)

        async def on_message(message: AbstractIncomingMessage) -> None:
            async with message.process(ignore_processed=True, requeue=False):
                await base.deliver_event(handler, *_decode(message))

        tag = await queue.consume(on_message)
        return _Handle(queue, tag)

    async def _topic_queue(self, topic: str) -> AbstractRobustChannel:
        base.validate_name("topic", topic)
        if self._channel is None:
            raise base.BusError("the bus is not started")
        if topic not in self._declared:
            await self._channel.declare_queue(self.queue_prefix + topic, durable=True)
            self._declared.add(topic)
        return self._channel

    async def _on_reply(self, message: AbstractIncomingMessage) -> None:
        future = self._waiting.get(message.correlation_id or "")
        if future is None or future.done():
            return
        body = json.loads(message.body)
        if "error" in body:
            future.set_exception(base.RemoteError(body["error"]["kind"],
                                                  body["error"]["message"]))
        else:
            future.set_result(body["result"])


def _message(method: str, payload: Payload, *, reply_to: str | None = None,
             correlation_id: str | None = None, expiration: float | None = None
             ) -> aio_pika.Message:
    body = base.to_json({"method": method, "payload": payload}).encode()
    return aio_pika.Message(body, content_type="application/json", reply_to=reply_to,
                            correlation_id=correlation_id, expiration=expiration,
                            delivery_mode=aio_pika.DeliveryMode.PERSISTENT)


def _decode(message: AbstractIncomingMessage) -> tuple[str, Payload]:
    body = json.loads(message.body)
    return str(body["method"]), dict(body["payload"])


def _safe(url: str) -> str:
    """The URL without its password, for messages."""
    if "@" not in url:
        return url
    scheme, _, rest = url.partition("://")
    return f"{scheme}://***@{rest.split('@', 1)[1]}"
