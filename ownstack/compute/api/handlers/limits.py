"""PLACEHOLDER: replaced by the helper that owns this module."""

from __future__ import annotations

from typing import Any

from ownstack.compute.service import Req


async def show_limits(req: Req) -> Any:
    raise NotImplementedError

