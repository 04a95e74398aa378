"""Races: many writers at once never over-commit a provider nor double-count a claim."""

from __future__ import annotations

import asyncio
import uuid

from helpers.inprocess import PlacementClient
from helpers.placement import call, claim, error_code, provider


async def test_fifty_claims_on_room_for_ten(placement: PlacementClient) -> None:
    rp = await provider(placement, inventory={"VCPU": 10, "MEMORY_MB": 10240})
    consumers = [str(uuid.uuid4()) for _ in range(50)]
    results = await asyncio.gather(*(
        claim(placement, rp["uuid"], {"VCPU": 1, "MEMORY_MB": 512}, consumer=c, expect=None)
        for c in consumers))
    statuses = [r.status_code for r in results]
    assert statuses.count(204) == 10
    assert statuses.count(409) == 40
    r = await call(placement, "GET", f"/resource_providers/{rp['uuid']}/usages", expect=200)
    assert r.json()["usages"] == {"VCPU": 10, "MEMORY_MB": 5120}
    r = await call(placement, "GET", f"/resource_providers/{rp['uuid']}/allocations",
                   expect=200)
    won = {c for c, res in zip(consumers, results, strict=True) if res.status_code == 204}
    assert set(r.json()["allocations"]) == won
    # Every write bumped the generation exactly once.
    assert r.json()["resource_provider_generation"] == rp["generation"] + 10


async def test_one_generation_one_winner(placement: PlacementClient) -> None:
    rp = await provider(placement, inventory={"VCPU": 8})
    url = f"/resource_providers/{rp['uuid']}/inventories"
    results = await asyncio.gather(*(
        call(placement, "PUT", url, json={"resource_provider_generation": rp["generation"],
                                          "inventories": {"VCPU": {"total": 8 + i}}})
        for i in range(10)))
    assert sorted(r.status_code for r in results) == [200] + [409] * 9
    assert {error_code(r) for r in results if r.status_code == 409} == {
        "placement.concurrent_update"}


async def test_one_new_consumer_one_winner(placement: PlacementClient) -> None:
    rp = await provider(placement, inventory={"VCPU": 100})
    consumer = str(uuid.uuid4())
    results = await asyncio.gather(*(
        claim(placement, rp["uuid"], {"VCPU": 1 + i}, consumer=consumer, expect=None)
        for i in range(10)))
    assert sorted(r.status_code for r in results) == [204] + [409] * 9
    assert {error_code(r) for r in results if r.status_code == 409} == {
        "placement.concurrent_update"}
    r = await call(placement, "GET", f"/allocations/{consumer}", expect=200)
    assert r.json()["consumer_generation"] == 1
    r = await call(placement, "GET", f"/resource_providers/{rp['uuid']}/usages", expect=200)
    winner = next(i for i, res in enumerate(results) if res.status_code == 204)
    assert r.json()["usages"]["VCPU"] == 1 + winner
