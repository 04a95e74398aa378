"""PLACEHOLDER: replaced by the helper that owns this module."""

from __future__ import annotations

from typing import Any

from ownstack.compute.service import Req


async def server_action(req: Req) -> Any:
    raise NotImplementedError

