"""One service's side of an RPC topic: ``servers`` competing consumers, each message
dispatched by its method name to a handler.

A bus server handles one message at a time, so a service that must answer several agents
at once serves its topic ``servers`` times in one process (and more processes may serve it
too: the bus spreads the messages). An unknown method is an error the caller sees as a
:class:`~ownstack.common.bus.base.RemoteError` of kind ``UnknownMethod``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from ownstack.common.bus.base import Bus, Payload, Subscription

Handler = Callable[[Payload], Awaitable[Any]]


class UnknownMethod(ValueError):
    def __init__(self, service: str, method: str) -> None:
        super().__init__(f"the {service} has no method {method!r}")


class TopicServer:
    """Serves ``topic`` on ``bus`` with ``handlers`` until :meth:`stop`."""

    def __init__(self, bus: Bus, topic: str, handlers: Mapping[str, Handler], *,
                 service: str, servers: int) -> None:
        self.bus = bus
        self.topic = topic
        self.handlers = handlers
        self.service = service          # "conductor", "network service": for errors
        self.servers = servers
        self._subscriptions: list[Subscription] = []

    async def start(self) -> None:
        for _ in range(self.servers):
            self._subscriptions.append(await self.bus.serve(self.topic, self.handle))

    async def stop(self) -> None:
        """Stop serving; calling it twice, or before :meth:`start`, is harmless."""
        subscriptions, self._subscriptions = self._subscriptions, []
        for subscription in subscriptions:
            await subscription.cancel()

    async def handle(self, method: str, payload: Payload) -> Any:
        handler = self.handlers.get(method)
        if handler is None:
            raise UnknownMethod(self.service, method)
        return await handler(payload)
