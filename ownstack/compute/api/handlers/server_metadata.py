"""PLACEHOLDER: replaced by the helper that owns this module."""

from __future__ import annotations

from typing import Any

from ownstack.compute.service import Req


async def list_metadata(req: Req) -> Any:
    raise NotImplementedError


async def replace_metadata(req: Req) -> Any:
    raise NotImplementedError


async def update_metadata(req: Req) -> Any:
    raise NotImplementedError


async def show_metadata_item(req: Req) -> Any:
    raise NotImplementedError


async def set_metadata_item(req: Req) -> Any:
    raise NotImplementedError


async def delete_metadata_item(req: Req) -> Any:
    raise NotImplementedError

