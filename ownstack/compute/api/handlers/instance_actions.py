"""PLACEHOLDER: replaced by the helper that owns this module."""

from __future__ import annotations

from typing import Any

from ownstack.compute.service import Req


async def list_actions(req: Req) -> Any:
    raise NotImplementedError


async def show_action(req: Req) -> Any:
    raise NotImplementedError

