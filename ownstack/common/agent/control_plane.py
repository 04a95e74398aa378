"""What a node agent calls on the control plane: one bus topic, on behalf of one host.

Each agent's client (compute's ``ConductorAPI``, the network agent's
``NetworkServerAPI``) names its topic and adds one typed method per call of that
service's bus contract.
"""

from __future__ import annotations

from typing import Any, ClassVar

from ownstack.common.bus import Bus

DEFAULT_TIMEOUT = 30.0


class ControlPlaneClient:
    topic: ClassVar[str]

    def __init__(self, bus: Bus, host: str, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.bus = bus
        self.host = host
        self.timeout = timeout

    async def _call(self, method: str, payload: dict[str, Any], *,
                    timeout: float | None = None) -> Any:
        return await self.bus.call(self.topic, method, payload,
                                   timeout=self.timeout if timeout is None else timeout)
