"""PLACEHOLDER: replaced by the conductor helper."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ownstack.compute.service import ComputeService


class Conductor:
    def __init__(self, svc: ComputeService) -> None:
        self.svc = svc

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None
