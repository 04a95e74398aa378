"""Concurrent claims over real HTTP, on every database backend.

On PostgreSQL and MariaDB writers really overlap: the generation compare-and-swap decides,
losers get 409 ``placement.concurrent_update`` and retry as nova does. Whatever the backend,
a provider with room for ten ends with exactly ten claims.
"""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest

from helpers.names import unique
from helpers.process import Cloud, wait_for_placement

pytestmark = pytest.mark.functional

HEADERS = {"OpenStack-API-Version": "placement 1.39"}


async def _claims(cloud: Cloud, token: str) -> None:
    headers = {**HEADERS, "X-Auth-Token": token}
    async with httpx.AsyncClient(base_url=cloud.placement_url, headers=headers,
                                 timeout=60) as http:
        rp = (await http.post("/resource_providers", json={"name": unique("race")})).json()
        r = await http.put(f"/resource_providers/{rp['uuid']}/inventories", json={
            "resource_provider_generation": 0, "inventories": {"VCPU": {"total": 10}}})
        assert r.status_code == 200, r.text

        async def claim() -> str | None:
            consumer = str(uuid.uuid4())
            body = {"allocations": {rp["uuid"]: {"resources": {"VCPU": 1}}},
                    "project_id": "p", "user_id": "u", "consumer_generation": None,
                    "consumer_type": "INSTANCE"}
            for _attempt in range(50):
                r = await http.put(f"/allocations/{consumer}", json=body)
                if r.status_code == 204:
                    return consumer
                assert r.status_code == 409, r.text
                if "placement.concurrent_update" not in r.text:
                    return None            # no room left: a real refusal
            raise AssertionError("a claim kept losing races")

        won = [c for c in await asyncio.gather(*(claim() for _ in range(40))) if c]
        assert len(won) == 10
        usages = (await http.get(f"/resource_providers/{rp['uuid']}/usages")).json()
        assert usages["usages"] == {"VCPU": 10}
        allocations = (await http.get(f"/resource_providers/{rp['uuid']}/allocations")).json()
        assert set(allocations["allocations"]) == set(won)
        for consumer in won:
            assert (await http.delete(f"/allocations/{consumer}")).status_code == 204
        assert (await http.delete(f"/resource_providers/{rp['uuid']}")).status_code == 204


def test_concurrent_claims_never_overcommit(cloud: Cloud) -> None:
    wait_for_placement(cloud)
    asyncio.run(_claims(cloud, cloud.admin_token()))
