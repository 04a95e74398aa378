"""Concurrent port creates over real HTTP, on every database backend.

On PostgreSQL and MariaDB the creates really overlap: two that pick one address both
insert it, the database lets one win and the other tries its next candidate. Whatever
the backend, 200 creates on a /26 (61 usable addresses) give exactly 61 ports with 61
different addresses, and 409 IpAddressGenerationFailure for the other 139.
"""

from __future__ import annotations

import asyncio
import ipaddress
import uuid

import httpx
import pytest

from helpers.process import Cloud, wait_for_network
from ownstack.common.config import load_config
from ownstack.common.db.engine import make_engine
from ownstack.network import ipam
from ownstack.network.objects.models import Subnet

pytestmark = pytest.mark.functional


async def _subnet_row(cloud: Cloud, network_id: str, project_id: str, cidr: str) -> str:
    """The subnet, written to the cloud's database (until the subnets API is on main)."""
    overrides = [f"database.url={cloud.database_url}"] if cloud.database_url else []
    config = load_config(cloud.state_dir, environ={}, overrides=overrides)
    plan = ipam.plan_subnet(cidr=cidr, ip_version=4, network_id=network_id)
    subnet_id = str(uuid.uuid4())
    engine = make_engine(config.database_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(Subnet.__table__.insert().values(
                id=subnet_id, project_id=project_id, network_id=network_id, name="race",
                description="", revision_number=1, ip_version=4, cidr=plan.cidr,
                gateway_ip=plan.gateway_ip, enable_dhcp=True,
                allocation_pools=plan.allocation_pools_as_dicts(), dns_nameservers=[],
                host_routes=[]))
    finally:
        await engine.dispose()
    return subnet_id


async def _race(cloud: Cloud, token: str) -> None:
    async with httpx.AsyncClient(base_url=cloud.network_url, timeout=120,
                                 headers={"X-Auth-Token": token},
                                 limits=httpx.Limits(max_connections=200)) as http:
        r = await http.post("/v2.0/networks", json={"network": {"name": "race"}})
        assert r.status_code == 201, r.text
        network = r.json()["network"]
        subnet_id = await _subnet_row(cloud, network["id"], network["project_id"],
                                      "10.26.0.0/26")
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
