"""Helpers for the router and floating IP tests: an external network, a project's subnet,
a router and its interfaces, through the API."""

from __future__ import annotations

from typing import Any

from helpers.inprocess import ServiceClient
from helpers.network import make, make_subnet_row

ROUTERS = "/v2.0/routers"


async def external_network(client: ServiceClient, cidr: str = "172.24.4.0/24", **subnet: Any
                           ) -> tuple[str, str]:
    """An external network made by the admin with one subnet: (network id, subnet id)."""
    net = await make(client, "network", name="public", **{"router:external": True})
    subnet_id = await make_subnet_row(client, net["id"], cidr, enable_dhcp=False, **subnet)
    return net["id"], subnet_id


async def private_subnet(client: ServiceClient, token: str, cidr: str = "10.0.0.0/24",
                         **fields: Any) -> tuple[str, str]:
    """A project's network and subnet: (network id, subnet id)."""
    net = await make(client, "network", token, name="demo-net")
    sub = await make(client, "subnet", token, network_id=net["id"], ip_version=4, cidr=cidr,
                     **fields)
    return net["id"], sub["id"]


async def router(client: ServiceClient, token: str, expect: int = 201, **fields: Any) -> Any:
    r = await client.call("POST", ROUTERS, token=token, expect=expect,
                          json={"router": {"name": "demo-router", **fields}})
    return r.json()["router"] if expect == 201 else r


async def interface(client: ServiceClient, token: str, router_id: str, action: str = "add",
                    expect: int = 200, **body: str) -> Any:
    r = await client.call("PUT", f"{ROUTERS}/{router_id}/{action}_router_interface",
                          token=token, expect=expect, json=body)
    return r.json() if expect == 200 else r


async def set_router(client: ServiceClient, token: str, router_id: str, expect: int = 200,
                     **fields: Any) -> Any:
    r = await client.call("PUT", f"{ROUTERS}/{router_id}", token=token, expect=expect,
                          json={"router": fields})
    return r.json()["router"] if expect == 200 else r
