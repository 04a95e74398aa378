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
                          **plan: Any) -> str:
    """A subnet on ``network_id`` written straight to the database (as ipam plans it),
    until the subnets API is on main; its id. ``plan`` takes plan_subnet's options
    (``gateway_ip``, ``allocation_pools``, ``ipv6_ra_mode``, ``ipv6_address_mode``...)."""
    import ipaddress
    import uuid

    from ownstack.network import ipam
    from ownstack.network.objects.models import Network, Subnet

    version = ip_version or ipaddress.ip_network(cidr, strict=False).version
    planned = ipam.plan_subnet(cidr=cidr, ip_version=version, network_id=network_id, **plan)
    subnet_id = str(uuid.uuid4())
    async with client.app.svc.write() as db:
        network = await db.get(Network, network_id)
        assert network is not None, network_id
        db.add(Subnet(id=subnet_id, project_id=project_id or network.project_id,
                      network_id=network_id, ip_version=planned.ip_version,
                      cidr=planned.cidr, gateway_ip=planned.gateway_ip,
                      enable_dhcp=planned.enable_dhcp, ipv6_ra_mode=planned.ipv6_ra_mode,
                      ipv6_address_mode=planned.ipv6_address_mode,
                      allocation_pools=planned.allocation_pools_as_dicts(),
                      dns_nameservers=list(planned.dns_nameservers),
                      host_routes=planned.host_routes_as_dicts()))
    return subnet_id
