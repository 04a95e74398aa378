"""PLACEHOLDER: replaced by the helper that owns this module."""

from __future__ import annotations

from typing import Any

from ownstack.compute.service import Req


async def list_groups(req: Req) -> Any:
    raise NotImplementedError


async def create_group(req: Req) -> Any:
    raise NotImplementedError


async def show_group(req: Req) -> Any:
    raise NotImplementedError


async def delete_group(req: Req) -> Any:
    raise NotImplementedError

