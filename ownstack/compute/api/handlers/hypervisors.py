"""PLACEHOLDER: replaced by the helper that owns this module."""

from __future__ import annotations

from typing import Any

from ownstack.compute.service import Req


async def list_hypervisors(req: Req) -> Any:
    raise NotImplementedError


async def list_hypervisors_detail(req: Req) -> Any:
    raise NotImplementedError


async def hypervisor_statistics(req: Req) -> Any:
    raise NotImplementedError


async def show_hypervisor(req: Req) -> Any:
    raise NotImplementedError

