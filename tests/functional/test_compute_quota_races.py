"""Concurrent server creates against an instances quota, on every database.

Each create takes its project's quota lock and then counts the project's servers. On
MariaDB (InnoDB, REPEATABLE READ) a plain count reads the snapshot of the transaction's
first read, which a create takes before the lock (its flavor, its key pair), so it would
miss servers that a racing create committed meanwhile and admit too many: exactly the
quota's worth must be admitted on SQLite, PostgreSQL and MariaDB alike.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from helpers.names import unique
from helpers.process import (
    Cloud,
    make_image,
    member_cloud,
    wait_for_compute,
    wait_for_image_service,
    wait_until,
)

pytestmark = pytest.mark.functional

QUOTA = 5
RACERS = 30


async def _token(cloud: Cloud, user: str, project: str) -> str:
    async with httpx.AsyncClient(base_url=cloud.auth_url.removesuffix("/v3"),
                                 timeout=30) as identity:
        r = await identity.post("/v3/auth/tokens", json={"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": user, "domain": {"id": "default"}, "password": "pw"}}},
            "scope": {"project": {"id": project}}}})
        assert r.status_code == 201, r.text
        return r.headers["X-Subject-Token"]


def test_concurrent_server_creates_never_over_admit(cloud: Cloud, tmp_path: Path) -> None:
    wait_for_compute(cloud)
    wait_for_image_service(cloud)
    project, member = member_cloud(cloud, "srvrace")
    image_id = cloud.osc_json("image", "show", make_image(cloud, tmp_path))["id"]
    flavor = unique("m1.race")
    flavor_id = cloud.osc_json("flavor", "create", "--vcpus", "1", "--ram", "64",
                               "--disk", "1", flavor)["id"]
    cloud.osc("quota", "set", "--instances", str(QUOTA), project)
    user = cloud.sdk(member).current_user_id
    name = cloud.sdk().identity.get_user(user).name

    async def race() -> list[int]:
        token = await _token(cloud, name, project)
        async with httpx.AsyncClient(base_url=cloud.compute_url, timeout=120, headers={
                "X-Auth-Token": token, "OpenStack-API-Version": "compute 2.79"}) as http:
            results = await asyncio.gather(*(
                http.post("/v2.1/servers", json={"server": {
                    "name": unique("racer"), "imageRef": image_id, "flavorRef": flavor_id,
                    "networks": "none"}}) for _ in range(RACERS)))
            for r in results:
                if r.status_code == 403:
                    assert "Quota exceeded for instances" in r.text, r.text
            odd = [r.text for r in results if r.status_code not in (202, 403)]
            assert not odd, odd
            return [r.status_code for r in results]

    statuses = asyncio.run(race())
    assert sorted(statuses) == [202] * QUOTA + [403] * (RACERS - QUOTA)
    conn = cloud.sdk(member)
    servers = list(conn.compute.servers())
    assert len(servers) == QUOTA
    for server in servers:
        conn.compute.delete_server(server)
    wait_until("the racers deleted", lambda: not list(conn.compute.servers()), timeout=120)
