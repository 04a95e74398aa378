"""PLACEHOLDER: replaced by the helper that owns this module."""

from __future__ import annotations

from typing import Any

from ownstack.compute.service import Req


async def list_servers(req: Req) -> Any:
    raise NotImplementedError


async def list_servers_detail(req: Req) -> Any:
    raise NotImplementedError


async def create_server(req: Req) -> Any:
    raise NotImplementedError


async def show_server(req: Req) -> Any:
    raise NotImplementedError


async def update_server(req: Req) -> Any:
    raise NotImplementedError


async def delete_server(req: Req) -> Any:
    raise NotImplementedError


async def list_server_ips(req: Req) -> Any:
    raise NotImplementedError

