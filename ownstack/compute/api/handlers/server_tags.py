"""PLACEHOLDER: replaced by the helper that owns this module."""

from __future__ import annotations

from typing import Any

from ownstack.compute.service import Req


async def list_tags(req: Req) -> Any:
    raise NotImplementedError


async def replace_tags(req: Req) -> Any:
    raise NotImplementedError


async def delete_all_tags(req: Req) -> Any:
    raise NotImplementedError


async def check_tag(req: Req) -> Any:
    raise NotImplementedError


async def add_tag(req: Req) -> Any:
    raise NotImplementedError


async def delete_tag(req: Req) -> Any:
    raise NotImplementedError

