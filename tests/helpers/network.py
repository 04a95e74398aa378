"""Helpers for the network API's tests: make resources, read Neutron's error type."""

from __future__ import annotations

from typing import Any

import httpx

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
