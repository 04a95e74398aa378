"""Allocations in every shape the microversions define, capacity, generations and usages."""

from __future__ import annotations

import uuid

from helpers.inprocess import PlacementClient
from helpers.placement import call, claim, error_code, provider


async def test_claim_read_back_and_delete(placement: PlacementClient) -> None:
    rp = await provider(placement, inventory={"VCPU": 8, "MEMORY_MB": 1024})
    consumer = str(uuid.uuid4())
    await claim(placement, rp["uuid"], {"VCPU": 2, "MEMORY_MB": 256}, consumer=consumer)
    r = await call(placement, "GET", f"/allocations/{consumer}", expect=200)
    assert r.json() == {
        "allocations": {rp["uuid"]: {"generation": 2,
                                     "resources": {"VCPU": 2, "MEMORY_MB": 256}}},
        "project_id": "p1", "user_id": "u1", "consumer_generation": 1,
        "consumer_type": "INSTANCE"}
    # Fields appear with their microversions.
    r = await call(placement, "GET", f"/allocations/{consumer}", version="1.11", expect=200)
    assert set(r.json()) == {"allocations"}
    r = await call(placement, "GET", f"/allocations/{consumer}", version="1.27", expect=200)
    assert set(r.json()) == {"allocations", "project_id", "user_id"}
    r = await call(placement, "GET", f"/allocations/{consumer}", version="1.37", expect=200)
    assert "consumer_generation" in r.json() and "consumer_type" not in r.json()

    r = await call(placement, "GET", f"/resource_providers/{rp['uuid']}/allocations",
                   expect=200)
    assert r.json() == {"allocations": {consumer: {
        "resources": {"VCPU": 2, "MEMORY_MB": 256}, "consumer_generation": 1}},
        "resource_provider_generation": 2}
    r = await call(placement, "GET", f"/resource_providers/{rp['uuid']}/usages", expect=200)
    assert r.json() == {"usages": {"VCPU": 2, "MEMORY_MB": 256},
                        "resource_provider_generation": 2}

    await call(placement, "DELETE", f"/allocations/{consumer}", expect=204)
    await call(placement, "DELETE", f"/allocations/{consumer}", expect=404)
    r = await call(placement, "GET", f"/allocations/{consumer}", expect=200)
    assert r.json() == {"allocations": {}}
    r = await call(placement, "GET", f"/resource_providers/{rp['uuid']}/usages", expect=200)
    assert r.json()["usages"] == {"VCPU": 0, "MEMORY_MB": 0}


async def test_consumer_generations_from_1_28(placement: PlacementClient) -> None:
    rp = await provider(placement, inventory={"VCPU": 8})
    consumer = str(uuid.uuid4())
    r = await claim(placement, rp["uuid"], {"VCPU": 1}, consumer=consumer, generation=0,
                    expect=409)
    assert error_code(r) == "placement.concurrent_update"
    assert "expected null but got 0" in r.json()["errors"][0]["detail"]
    await claim(placement, rp["uuid"], {"VCPU": 1}, consumer=consumer)
    r = await claim(placement, rp["uuid"], {"VCPU": 2}, consumer=consumer, expect=409)
    assert error_code(r) == "placement.concurrent_update"
    await claim(placement, rp["uuid"], {"VCPU": 2}, consumer=consumer, generation=1)
    r = await call(placement, "GET", f"/allocations/{consumer}", expect=200)
    assert r.json()["consumer_generation"] == 2
    assert r.json()["allocations"][rp["uuid"]]["resources"] == {"VCPU": 2}
    # An empty dict removes the allocations (and the consumer).
    await call(placement, "PUT", f"/allocations/{consumer}", expect=204, json={
        "allocations": {}, "project_id": "p1", "user_id": "u1", "consumer_generation": 2,
        "consumer_type": "INSTANCE"})
    r = await call(placement, "GET", f"/allocations/{consumer}", expect=200)
    assert r.json() == {"allocations": {}}
    # consumer_generation and consumer_type are required at their versions
    await call(placement, "PUT", f"/allocations/{consumer}", expect=400, json={
        "allocations": {rp["uuid"]: {"resources": {"VCPU": 1}}}, "project_id": "p",
        "user_id": "u", "consumer_type": "INSTANCE"})
    await call(placement, "PUT", f"/allocations/{consumer}", expect=400, json={
        "allocations": {rp["uuid"]: {"resources": {"VCPU": 1}}}, "project_id": "p",
        "user_id": "u", "consumer_generation": None})


async def test_old_microversion_shapes(placement: PlacementClient) -> None:
    rp = await provider(placement, inventory={"VCPU": 8})
    consumer = str(uuid.uuid4())
    body = {"allocations": [{"resource_provider": {"uuid": rp["uuid"]},
                             "resources": {"VCPU": 1}}]}
    await call(placement, "PUT", f"/allocations/{consumer}", version="1.0", json=body,
               expect=204)
    # 1.8 wants project and user; 1.12 wants the dict form
    await call(placement, "PUT", f"/allocations/{consumer}", version="1.8", json=body,
               expect=400)
    await call(placement, "PUT", f"/allocations/{consumer}", version="1.12", expect=400,
               json={**body, "project_id": "p", "user_id": "u"})
    await call(placement, "PUT", f"/allocations/{consumer}", version="1.12", expect=204, json={
        "allocations": {rp["uuid"]: {"resources": {"VCPU": 3}}}, "project_id": "p",
        "user_id": "u"})
    r = await call(placement, "GET", f"/resource_providers/{rp['uuid']}/usages", expect=200)
    assert r.json()["usages"] == {"VCPU": 3}


async def test_capacity_and_unit_limits(placement: PlacementClient) -> None:
    rp = await provider(placement, inventory={
        "VCPU": {"total": 4, "allocation_ratio": 2.0},
        "MEMORY_MB": {"total": 2048, "reserved": 1024, "min_unit": 256, "max_unit": 1024,
                      "step_size": 256}})
    await claim(placement, rp["uuid"], {"VCPU": 6})
    r = await claim(placement, rp["uuid"], {"VCPU": 3}, expect=409)
    assert "exceed the capacity" in r.json()["errors"][0]["detail"]
    assert error_code(r) == "placement.undefined_code"
    await claim(placement, rp["uuid"], {"VCPU": 2})
    for amount in (128, 300, 2048):
        r = await claim(placement, rp["uuid"], {"MEMORY_MB": amount}, expect=409)
        assert "violate inventory constraints" in r.json()["errors"][0]["detail"]
    await claim(placement, rp["uuid"], {"MEMORY_MB": 1024})
    r = await claim(placement, rp["uuid"], {"MEMORY_MB": 256}, expect=409)
    r = await claim(placement, rp["uuid"], {"DISK_GB": 1}, expect=409)
    assert "Inventory for 'DISK_GB'" in r.json()["errors"][0]["detail"]
    r = await claim(placement, str(uuid.uuid4()), {"VCPU": 1}, expect=400)
    assert "that does not exist" in r.json()["errors"][0]["detail"]
    await claim(placement, rp["uuid"], {"NOT_A_CLASS": 1}, expect=400)
    await claim(placement, rp["uuid"], {"VCPU": 0}, expect=400)
    r = await call(placement, "GET", f"/resource_providers/{rp['uuid']}/usages", expect=200)
    assert r.json()["usages"] == {"VCPU": 8, "MEMORY_MB": 1024}
    await call(placement, "PUT", "/allocations/not-a-uuid", expect=400, json={
        "allocations": {}, "project_id": "p", "user_id": "u", "consumer_generation": None,
        "consumer_type": "INSTANCE"})


async def test_moving_a_consumer_frees_the_old_provider(placement: PlacementClient) -> None:
    a = await provider(placement, inventory={"VCPU": 4})
    b = await provider(placement, inventory={"VCPU": 4})
    consumer = str(uuid.uuid4())
    await claim(placement, a["uuid"], {"VCPU": 4}, consumer=consumer)
    await claim(placement, b["uuid"], {"VCPU": 4}, consumer=consumer, generation=1)
    r = await call(placement, "GET", f"/resource_providers/{a['uuid']}/usages", expect=200)
    assert r.json()["usages"] == {"VCPU": 0}
    await claim(placement, a["uuid"], {"VCPU": 4})


async def test_post_allocations_for_several_consumers(placement: PlacementClient) -> None:
    rp = await provider(placement, inventory={"VCPU": 4})
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    await claim(placement, rp["uuid"], {"VCPU": 3}, consumer=first)

    def entry(amount: int, generation: int | None) -> dict[str, object]:
        allocations = {rp["uuid"]: {"resources": {"VCPU": amount}}} if amount else {}
        return {"allocations": allocations, "project_id": "p1", "user_id": "u1",
                "consumer_generation": generation, "consumer_type": "MIGRATION"}

    await call(placement, "POST", "/allocations", version="1.12", json={}, expect=404)
    # Both or neither: 3 + 2 does not fit, so the first consumer keeps its 3.
    r = await call(placement, "POST", "/allocations", expect=409, json={
        first: entry(3, 1), second: entry(2, None)})
    r = await call(placement, "GET", f"/allocations/{second}", expect=200)
    assert r.json() == {"allocations": {}}
    # Moving 3 from the first to the second in one request fits.
    await call(placement, "POST", "/allocations", expect=204, json={
        first: entry(0, 1), second: entry(3, None)})
    r = await call(placement, "GET", f"/allocations/{second}", expect=200)
    assert r.json()["consumer_type"] == "MIGRATION"
    r = await call(placement, "GET", f"/allocations/{first}", expect=200)
    assert r.json() == {"allocations": {}}


async def test_usages_per_project_user_and_type(placement: PlacementClient) -> None:
    rp = await provider(placement, inventory={"VCPU": 16, "MEMORY_MB": 4096})
    await claim(placement, rp["uuid"], {"VCPU": 2, "MEMORY_MB": 512}, project="pA", user="u1")
    await claim(placement, rp["uuid"], {"VCPU": 1}, project="pA", user="u2")
    await claim(placement, rp["uuid"], {"VCPU": 4}, project="pB", user="u1")
    r = await call(placement, "GET", "/usages?project_id=pA", version="1.37", expect=200)
    assert r.json() == {"usages": {"VCPU": 3, "MEMORY_MB": 512}}
    r = await call(placement, "GET", "/usages?project_id=pA&user_id=u2", version="1.9",
                   expect=200)
    assert r.json() == {"usages": {"VCPU": 1}}
    r = await call(placement, "GET", "/usages?project_id=pA", expect=200)
    assert r.json() == {"usages": {"INSTANCE": {"VCPU": 3, "MEMORY_MB": 512,
                                                "consumer_count": 2}}}
    r = await call(placement, "GET", "/usages?project_id=pA&consumer_type=all", expect=200)
    assert r.json() == {"usages": {"all": {"VCPU": 3, "MEMORY_MB": 512, "consumer_count": 2}}}
    r = await call(placement, "GET", "/usages?project_id=pA&consumer_type=MIGRATION",
                   expect=200)
    assert r.json() == {"usages": {}}
    await call(placement, "GET", "/usages", expect=400)
    await call(placement, "GET", "/usages?project_id=pA", version="1.8", expect=404)
    # A reader of the project may see its own usage, not another's.
    project, token = await placement.project_user_token(role="reader")
    await placement.call("GET", f"/usages?project_id={project['id']}", token=token,
                         headers={"OpenStack-API-Version": "placement 1.9"}, expect=200)
    await placement.call("GET", "/usages?project_id=pA", token=token,
                         headers={"OpenStack-API-Version": "placement 1.9"}, expect=403)
