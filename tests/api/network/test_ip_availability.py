"""Network IP availability: admin only, totals from the allocation pools, used addresses
inside them, and the filters Neutron offers."""

from __future__ import annotations

import uuid
from typing import Any

from helpers.inprocess import ServiceClient
from helpers.network import error_type, make
from ownstack.network.objects.models import IpAllocation, Port

AVAIL = "/v2.0/network-ip-availabilities"


async def _use(network: ServiceClient, sub: dict[str, Any], *addresses: str) -> None:
    svc = network.app.svc
    async with svc.write() as db:
        for n, address in enumerate(addresses):
            port = Port(id=str(uuid.uuid4()), project_id=sub["project_id"],
                        network_id=sub["network_id"], mac_address=f"fa:16:3e:00:01:{n:02x}")
            db.add(port)
            await db.flush()
            db.add(IpAllocation(subnet_id=sub["id"], ip_address=address, port_id=port.id,
                                network_id=sub["network_id"]))


async def test_counts_per_subnet_and_network(network: ServiceClient) -> None:
    net = await make(network, "network", None, name="counted")
    v4 = await make(network, "subnet", None, network_id=net["id"], ip_version=4,
                    cidr="10.0.0.0/24", name="v4")
    v6 = await make(network, "subnet", None, network_id=net["id"], ip_version=6,
                    cidr="fd00::/120", name="v6")
    # Two addresses in the pools; the gateway (outside them) does not count.
    await _use(network, v4, "10.0.0.10", "10.0.0.11", "10.0.0.1")
    r = await network.call("GET", f"{AVAIL}/{net['id']}", expect=200)
    found = r.json()["network_ip_availability"]
    assert (found["network_id"], found["network_name"]) == (net["id"], "counted")
    assert found["project_id"] == net["project_id"]
    by_name = {s["subnet_name"]: s for s in found["subnet_ip_availability"]}
    assert (by_name["v4"]["total_ips"], by_name["v4"]["used_ips"]) == (253, 2)
    assert (by_name["v6"]["total_ips"], by_name["v6"]["used_ips"]) == (255, 0)
    assert by_name["v6"]["cidr"] == "fd00::/120" and by_name["v6"]["subnet_id"] == v6["id"]
    assert (found["total_ips"], found["used_ips"]) == (508, 2)
    r = await network.call("GET", f"{AVAIL}/no-such-network", expect=404)
    assert error_type(r) == "NetworkNotFound"


async def test_admin_only_and_filters(network: ServiceClient) -> None:
    _, token = await network.project_user_token()
    mine = await make(network, "network", token, name="mine")
    await make(network, "subnet", token, network_id=mine["id"], ip_version=6,
               cidr="fd00:1::/64")
    other = await make(network, "network", None, name="other")
    await make(network, "subnet", None, network_id=other["id"], ip_version=4,
               cidr="10.1.0.0/24")
    r = await network.call("GET", AVAIL, token=token, expect=403)
    assert error_type(r) == "PolicyNotAuthorized"
    await network.call("GET", f"{AVAIL}/{mine['id']}", token=token, expect=403)

    async def names(**params: str) -> list[str]:
        r = await network.call("GET", AVAIL, params=params, expect=200)
        return sorted(n["network_name"] for n in r.json()["network_ip_availabilities"])

    assert await names(network_name="mine") == ["mine"]
    assert await names(network_id=other["id"]) == ["other"]
    assert await names(project_id=mine["project_id"]) == ["mine"]
    assert "mine" in await names(ip_version="6") and "other" not in await names(ip_version="6")
    r = await network.call("GET", AVAIL, params={"ip_version": "6", "network_name": "mine"},
                           expect=200)
    (item,) = r.json()["network_ip_availabilities"]
    assert item["total_ips"] == 2**64 - 1           # a /64 less its router anycast address
    await network.call("GET", AVAIL, params={"color": "red"}, expect=400)
