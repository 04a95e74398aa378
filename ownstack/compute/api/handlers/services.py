"""PLACEHOLDER: replaced by the helper that owns this module."""

from __future__ import annotations

from typing import Any

from ownstack.compute.service import Req


async def list_services(req: Req) -> Any:
    raise NotImplementedError


async def update_service(req: Req) -> Any:
    raise NotImplementedError


async def delete_service(req: Req) -> Any:
    raise NotImplementedError

