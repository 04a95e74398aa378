"""Concurrent port creates, and concurrent floating IP associations, over real HTTP, on
every database backend.

On PostgreSQL and MariaDB the creates really overlap: two that pick one address both
insert it, the database lets one win and the other tries its next candidate. Whatever
the backend, 200 creates on a /26 (61 usable addresses) give exactly 61 ports with 61
different addresses, and 409 IpAddressGenerationFailure for the other 139. Twenty floating
IPs associated at once with one port's one address: exactly one wins, the rest are 409.
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
        # No DHCP: its port would take one of the 61 addresses the race is about.
        r = await http.post("/v2.0/subnets", json={"subnet": {
            "network_id": network["id"], "ip_version": 4, "cidr": "10.26.0.0/26",
            "enable_dhcp": False}})
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


async def _associate_race(cloud: Cloud, token: str) -> None:
    async with httpx.AsyncClient(base_url=cloud.network_url, timeout=120,
                                 headers={"X-Auth-Token": token},
                                 limits=httpx.Limits(max_connections=50)) as http:
        async def made(path: str, key: str, **fields: object) -> dict[str, object]:
            r = await http.post(path, json={key: fields})
            assert r.status_code == 201, r.text
            body: dict[str, object] = r.json()[key]
            return body

        public = await made("/v2.0/networks", "network", name="race-public",
                            **{"router:external": True})
        await made("/v2.0/subnets", "subnet", network_id=public["id"], ip_version=4,
                   cidr="172.31.0.0/24", enable_dhcp=False)
        private = await made("/v2.0/networks", "network", name="race-private")
        subnet = await made("/v2.0/subnets", "subnet", network_id=private["id"],
                            ip_version=4, cidr="10.27.0.0/24")
        router = await made("/v2.0/routers", "router", name="race-router",
                            external_gateway_info={"network_id": public["id"]})
        r = await http.put(f"/v2.0/routers/{router['id']}/add_router_interface",
                           json={"subnet_id": subnet["id"]})
        assert r.status_code == 200, r.text
        port = await made("/v2.0/ports", "port", network_id=private["id"])
        fips = [await made("/v2.0/floatingips", "floatingip",
                           floating_network_id=public["id"]) for _ in range(20)]
        results = await asyncio.gather(*(
            http.put(f"/v2.0/floatingips/{fip['id']}",
                     json={"floatingip": {"port_id": port["id"]}}) for fip in fips))
        won = [r for r in results if r.status_code == 200]
        lost = [r for r in results if r.status_code != 200]
        assert len(won) == 1, [r.text for r in results][:3]
        assert {r.status_code for r in lost} == {409}, [r.text for r in lost][:3]
        r = await http.get("/v2.0/floatingips", params={"port_id": port["id"]})
        assert len(r.json()["floatingips"]) == 1


def test_concurrent_floating_ip_associations_one_wins(cloud: Cloud) -> None:
    wait_for_network(cloud)
    asyncio.run(_associate_race(cloud, cloud.admin_token()))
