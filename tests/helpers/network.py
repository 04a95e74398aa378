"""Helpers for the network API's tests: make resources, read Neutron's error type, and a
compute that records the events the network service tells it."""

from __future__ import annotations

from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from helpers.inprocess import ServiceClient


def error_type(r: httpx.Response) -> str:
    """The ``type`` of a NeutronError body (and a check that the body has that shape)."""
    body = r.json()
    assert set(body) == {"NeutronError"}, body
    assert set(body["NeutronError"]) == {"type", "message", "detail"}, body
    return str(body["NeutronError"]["type"])


async def make(client: ServiceClient, kind: str, token: str | None = None, expect: int = 201,
               **fields: Any) -> dict[str, Any]:
    """POST one ``kind`` ("network", "subnet", "port", "security_group"...) and return it."""
    collection = kind + "s" if not kind.endswith("y") else kind[:-1] + "ies"
    collection = collection.replace("_", "-") if kind.startswith("security_group") else \
        collection
    r = await client.call("POST", f"/v2.0/{collection}", token=token, expect=expect,
                          json={kind: fields})
    body: dict[str, Any] = r.json()
    return body.get(kind, body)


async def list_items(client: ServiceClient, collection: str, token: str | None,
                 *params: tuple[str, str]) -> list[dict[str, Any]]:
    """``GET /v2.0/<collection>`` with ``params``: the items listed."""
    r = await client.call("GET", f"/v2.0/{collection}", token=token, params=list(params),
                          expect=200)
    items: list[dict[str, Any]] = r.json()[collection]
    return items


async def make_subnet_row(client: ServiceClient, network_id: str, cidr: str, *,
                          ip_version: int | None = None, project_id: str | None = None,
                          **fields: Any) -> str:
    """A subnet on ``network_id``, made by the admin through the subnets API; its id.
    ``fields`` are the subnet's other attributes (``gateway_ip``, ``allocation_pools``,
    ``ipv6_ra_mode``, ``ipv6_address_mode``...)."""
    import ipaddress

    version = ip_version or ipaddress.ip_network(cidr, strict=False).version
    body: dict[str, Any] = {"network_id": network_id, "cidr": cidr, "ip_version": version,
                            **fields}
    if project_id is not None:
        body["project_id"] = project_id
    r = await client.call("POST", "/v2.0/subnets", expect=201, json={"subnet": body})
    return str(r.json()["subnet"]["id"])


class FakeCompute:
    """Compute's ``os-server-external-events``, recording what it is told."""

    def __init__(self, status: int = 200) -> None:
        self.events: list[dict[str, Any]] = []
        self.tokens: list[str] = []
        self.status = status
        self.app = Starlette(routes=[Route("/v2.1/os-server-external-events", self.post,
                                           methods=["POST"])])

    async def post(self, request: Request) -> JSONResponse:
        self.tokens.append(request.headers.get("x-auth-token", ""))
        body = await request.json()
        self.events.extend(body["events"])
        return JSONResponse({"events": [{**e, "code": 200} for e in body["events"]]},
                            status_code=self.status)
