"""PLACEHOLDER: replaced by the helper that owns this module."""

from __future__ import annotations

from typing import Any

from ownstack.compute.service import Req


async def show_quota_set(req: Req) -> Any:
    raise NotImplementedError


async def update_quota_set(req: Req) -> Any:
    raise NotImplementedError


async def revert_quota_set(req: Req) -> Any:
    raise NotImplementedError


async def show_defaults(req: Req) -> Any:
    raise NotImplementedError


async def show_detail(req: Req) -> Any:
    raise NotImplementedError

