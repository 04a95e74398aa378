"""The message bus: how the control plane and node agents talk (RabbitMQ's place).

Three verbs, as in oslo.messaging, which Nova uses:

* ``call(topic, method, payload)``: RPC to *one* server of ``topic``; waits for its answer.
* ``cast(topic, method, payload)``: the same without waiting; the message is delivered to one
  server of the topic when one listens. Agents are level-triggered, so a cast is a nudge: a
  lost one is repaired by the next resync.
* ``publish(event, payload)``: fan-out to every subscriber whose pattern matches ``event``
  (``*`` matches one dot-separated word, ``#`` any number, as RabbitMQ topic exchanges).

Servers of a topic compete for its messages (work is shared). Payloads are JSON objects.
A handler's exception reaches a ``call``'s caller as :class:`RemoteError`.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

Payload = dict[str, Any]
RpcHandler = Callable[[str, Payload], Awaitable[Any]]       # (method, payload) -> result
EventHandler = Callable[[str, Payload], Awaitable[None]]    # (event, payload)

log = logging.getLogger(__name__)


class BusError(Exception):
    """The bus could not deliver or answer."""


class BusTimeout(BusError):
    """No server answered a ``call`` in time."""

    @classmethod
    def waiting(cls, topic: str, method: str, timeout: float) -> BusTimeout:
        return cls(f"no answer from {topic} to {method} in {timeout}s")


class RemoteError(BusError):
    """The server's handler raised; ``kind`` is its exception class name."""

    def __init__(self, kind: str, message: str) -> None:
        self.kind = kind
        self.message = message
        super().__init__(f"{kind}: {message}")

    @classmethod
    def of(cls, exc: Exception) -> RemoteError:
        """What the caller of a ``call`` learns of the exception its handler raised."""
        return cls(type(exc).__name__, str(exc))


class Subscription(Protocol):
    async def cancel(self) -> None: ...


class Bus(Protocol):
    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def call(self, topic: str, method: str, payload: Payload, *,
                   timeout: float = 60.0) -> Any: ...

    async def cast(self, topic: str, method: str, payload: Payload) -> None: ...

    async def publish(self, event: str, payload: Payload) -> None: ...

    async def serve(self, topic: str, handler: RpcHandler) -> Subscription: ...

    async def subscribe(self, pattern: str, handler: EventHandler) -> Subscription: ...


def topic_matches(pattern: str, key: str) -> bool:
    """RabbitMQ topic-exchange matching: ``*`` is one word, ``#`` zero or more words."""
    words, keys = pattern.split("."), key.split(".")

    def match(i: int, j: int) -> bool:
        if i == len(words):
            return j == len(keys)
        if words[i] == "#":
            return any(match(i + 1, k) for k in range(j, len(keys) + 1))
        return j < len(keys) and words[i] in ("*", keys[j]) and match(i + 1, j + 1)

    return match(0, 0)


def validate_name(kind: str, name: str) -> None:
    if not name or not re.fullmatch(r"[A-Za-z0-9_.\-]+", name) or len(name) > 200:
        raise ValueError(f"bad {kind} name {name!r}: use letters, digits, '.', '_' and '-'")


def to_json(value: Any) -> str:
    """``value`` as the JSON that crosses the bus; a :class:`BusError` when it is not JSON."""
    try:
        return json.dumps(value)
    except (TypeError, ValueError) as exc:
        raise BusError(f"payload is not JSON: {exc}") from None


async def deliver_event(handler: EventHandler, event: str, payload: Payload) -> None:
    """Run an event handler; its failure is logged, never the publisher's problem."""
    try:
        await handler(event, payload)
    except Exception:
        log.exception("event handler for %s failed", event)
