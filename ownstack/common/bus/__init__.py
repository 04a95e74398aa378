"""The message bus: ``make_bus(url)`` gives the in-process bus for ``""`` or ``memory://``,
and the RabbitMQ bus for ``amqp://…`` URLs."""

from __future__ import annotations

from ownstack.common.bus.base import (
    Bus,
    BusError,
    BusTimeout,
    EventHandler,
    Payload,
    RemoteError,
    RpcHandler,
    Subscription,
)
from ownstack.common.bus.inprocess import InProcessBus


def make_bus(url: str, namespace: str = "ownstack") -> Bus:
    if url in ("", "memory://"):
        return InProcessBus()
    if url.startswith(("amqp://", "amqps://")):
        from ownstack.common.bus.rabbitmq import RabbitMQBus

        return RabbitMQBus(url, namespace=namespace)
    raise ValueError(f"unsupported bus URL {url!r}: use memory:// or amqp://user:pw@host/")


__all__ = ["Bus", "BusError", "BusTimeout", "EventHandler", "InProcessBus", "Payload",
           "RemoteError", "RpcHandler", "Subscription", "make_bus"]
