"""Concurrent port creates over real HTTP, on every database backend.

On PostgreSQL and MariaDB the creates really overlap: two that pick one address both
insert it, the database lets one win and the other tries its next candidate. Whatever
the backend, 200 creates on a /26 (61 usable addresses) give exactly 61 ports with 61
different addresses, and 409 IpAddressGenerationFailure for the other 139.
"""

from __future__ import annotations

import asyncio
import ipaddress

import httpx
import pytest

from helpers.process import Cloud, wait_for_network

pytestmark = pytest.mark.functional


async def _race(cloud: Cloud, token: str) -> None:
    async with httpx.AsyncClient(base_url=cloud.network_url, timeout=120,
                                 headers={"X-Auth-Token": token},
                                 limits=httpx.Limits(max_connections=200)) as http:
        r = await http.post("/v2.0/networks", json={"network": {"name": "race"}})
        assert r.status_code == 201, r.text
        network = r.json()["network"]
        r = await http.post("/v2.0/subnets", json={"subnet": {
            "network_id": network["id"], "ip_version": 4, "cidr": "10.26.0.0/26"}})
        assert r.status_code == 201, r.text
        subnet_id = r.json()["subnet"]["id"]
        results = await asyncio.gather(*(
            http.post("/v2.0/ports", json={"port": {"network_id": network["id"]}})
            for _ in range(200)))
        made = [r.json()["port"] for r in results if r.status_code == 201]
        refused = [r for r in results if r.status_code != 201]
        assert len(made) == 61, [r.text for r in refused if r.status_code != 409][:3]
        assert {r.status_code for r in refused} == {409}
        assert {r.json()["NeutronError"]["type"] for r in refused} == {
            "IpAddressGenerationFailure"}
        addresses = {p["fixed_ips"][0]["ip_address"] for p in made}
        usable = ipaddress.ip_network("10.26.0.0/26")
        assert addresses == {str(usable[i]) for i in range(2, 63)}
        assert {p["fixed_ips"][0]["subnet_id"] for p in made} == {subnet_id}
        r = await http.get("/v2.0/ports", params={"network_id": network["id"]})
        listed = r.json()["ports"]
        assert len(listed) == 61
        assert len({p["mac_address"] for p in listed}) == 61
        deleted = await asyncio.gather(*(http.delete(f"/v2.0/ports/{p['id']}")
                                         for p in made))
        assert {r.status_code for r in deleted} == {204}
        assert (await http.delete(f"/v2.0/networks/{network['id']}")).status_code == 204


def test_200_concurrent_port_creates_on_a_26(cloud: Cloud) -> None:
    wait_for_network(cloud)
    asyncio.run(_race(cloud, cloud.admin_token()))
