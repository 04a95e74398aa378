"""GET /allocation_candidates: filters, trees, request groups, and the shape per version."""

from __future__ import annotations

import uuid
from typing import Any

from helpers.inprocess import PlacementClient
from helpers.placement import call, claim, error_code, provider

CANDIDATES = "/allocation_candidates"


async def candidates(placement: PlacementClient, query: str, version: str = "1.39",
                     expect: int = 200) -> Any:
    r = await call(placement, "GET", f"{CANDIDATES}?{query}", version=version, expect=expect)
    return r.json()


def providers_of(doc: dict[str, Any]) -> list[set[str]]:
    return [set(req["allocations"]) for req in doc["allocation_requests"]]


async def test_capacity_limit_and_summaries(placement: PlacementClient) -> None:
    big = await provider(placement, "big", inventory={"VCPU": 8, "MEMORY_MB": 4096,
                                                      "DISK_GB": 100})
    small = await provider(placement, "small", inventory={"VCPU": 1, "MEMORY_MB": 512})
    await claim(placement, big["uuid"], {"VCPU": 2})
    doc = await candidates(placement, "resources=VCPU:1,MEMORY_MB:512")
    assert providers_of(doc) == [{big["uuid"]}, {small["uuid"]}]
    assert doc["allocation_requests"][0] == {
        "allocations": {big["uuid"]: {"resources": {"VCPU": 1, "MEMORY_MB": 512}}},
        "mappings": {"": [big["uuid"]]}}
    assert doc["provider_summaries"][big["uuid"]] == {
        "resources": {"VCPU": {"capacity": 8, "used": 2},
                      "MEMORY_MB": {"capacity": 4096, "used": 0},
                      "DISK_GB": {"capacity": 100, "used": 0}},
        "traits": [], "parent_provider_uuid": None, "root_provider_uuid": big["uuid"]}
    assert providers_of(await candidates(placement, "resources=VCPU:2")) == [{big["uuid"]}]
    assert providers_of(await candidates(placement, "resources=VCPU:7")) == []
    doc = await candidates(placement, "resources=VCPU:1&limit=1")
    assert providers_of(doc) == [{big["uuid"]}] and list(doc["provider_summaries"]) == [
        big["uuid"]]


async def test_shapes_by_microversion(placement: PlacementClient) -> None:
    rp = await provider(placement, inventory={"VCPU": 8, "DISK_GB": 10},
                        traits=["HW_CPU_X86_AVX2"])
    await call(placement, "GET", f"{CANDIDATES}?resources=VCPU:1", version="1.9", expect=404)
    doc = await candidates(placement, "resources=VCPU:1", version="1.10")
    assert doc["allocation_requests"] == [{"allocations": [
        {"resource_provider": {"uuid": rp["uuid"]}, "resources": {"VCPU": 1}}]}]
    assert doc["provider_summaries"] == {rp["uuid"]: {"resources": {
        "VCPU": {"capacity": 8, "used": 0}}}}
    doc = await candidates(placement, "resources=VCPU:1", version="1.17")
    assert doc["allocation_requests"] == [{"allocations": {
        rp["uuid"]: {"resources": {"VCPU": 1}}}}]
    assert doc["provider_summaries"][rp["uuid"]]["traits"] == ["HW_CPU_X86_AVX2"]
    doc = await candidates(placement, "resources=VCPU:1", version="1.27")
    assert set(doc["provider_summaries"][rp["uuid"]]["resources"]) == {"VCPU", "DISK_GB"}
    assert "root_provider_uuid" not in doc["provider_summaries"][rp["uuid"]]
    doc = await candidates(placement, "resources=VCPU:1", version="1.33")
    assert "mappings" not in doc["allocation_requests"][0]
    # limit needs 1.16, required 1.17
    await candidates(placement, "resources=VCPU:1&limit=1", version="1.15", expect=400)
    await candidates(placement, "resources=VCPU:1&required=HW_CPU_X86_AVX2", version="1.16",
                     expect=400)


async def test_traits_and_aggregates(placement: PlacementClient) -> None:
    agg = str(uuid.uuid4())
    fast = await provider(placement, "fast", inventory={"VCPU": 8},
                          traits=["HW_CPU_X86_AVX2", "CUSTOM_FAST"], aggregates=[agg])
    slow = await provider(placement, "slow", inventory={"VCPU": 8})
    assert providers_of(await candidates(placement, "resources=VCPU:1&required=CUSTOM_FAST")
                        ) == [{fast["uuid"]}]
    assert providers_of(await candidates(placement, "resources=VCPU:1&required=!CUSTOM_FAST")
                        ) == [{slow["uuid"]}]
    assert providers_of(await candidates(
        placement, "resources=VCPU:1&required=in:CUSTOM_FAST,HW_CPU_X86_SSE")) == [
        {fast["uuid"]}]
    assert providers_of(await candidates(placement, f"resources=VCPU:1&member_of={agg}")) == [
        {fast["uuid"]}]
    assert providers_of(await candidates(
        placement, f"resources=VCPU:1&member_of=in:{agg},{uuid.uuid4()}")) == [{fast["uuid"]}]
    assert providers_of(await candidates(placement, f"resources=VCPU:1&member_of=!{agg}")) == [
        {slow["uuid"]}]
    assert providers_of(await candidates(placement, "resources=VCPU:1&root_required=CUSTOM_FAST")
                        ) == [{fast["uuid"]}]
    assert providers_of(await candidates(placement, f"resources=VCPU:1&in_tree={slow['uuid']}")
                        ) == [{slow["uuid"]}]
    # forbidden traits from 1.22, any-of from 1.39
    await candidates(placement, "resources=VCPU:1&required=!CUSTOM_FAST", version="1.21",
                     expect=400)
    await candidates(placement, "resources=VCPU:1&required=in:CUSTOM_FAST", version="1.38",
                     expect=400)


async def test_nested_tree_from_1_29(placement: PlacementClient) -> None:
    root = await provider(placement, "cn", inventory={"VCPU": 4, "MEMORY_MB": 2048})
    numa = await provider(placement, "numa", parent=root["uuid"],
                          inventory={"CUSTOM_VGPU": 2}, traits=["CUSTOM_GPU_FAST"])
    query = "resources=VCPU:1,CUSTOM_VGPU:1"
    doc = await candidates(placement, query)
    assert doc["allocation_requests"] == [{
        "allocations": {root["uuid"]: {"resources": {"VCPU": 1}},
                        numa["uuid"]: {"resources": {"CUSTOM_VGPU": 1}}},
        "mappings": {"": sorted([root["uuid"], numa["uuid"]],
                                key=lambda u: u != root["uuid"])}}]
    assert doc["provider_summaries"][numa["uuid"]]["parent_provider_uuid"] == root["uuid"]
    assert doc["provider_summaries"][numa["uuid"]]["root_provider_uuid"] == root["uuid"]
    # Before 1.29 a result spanning two providers of one tree is not offered.
    assert (await candidates(placement, query, version="1.28"))["allocation_requests"] == []
    # Required traits of the unsuffixed group are met by the tree's providers together.
    doc = await candidates(placement, f"{query}&required=CUSTOM_GPU_FAST")
    assert len(doc["allocation_requests"]) == 1
    # A suffixed group must be met by one provider.
    doc = await candidates(placement, "resources=VCPU:1&resources_GPU=CUSTOM_VGPU:1"
                                      "&required_GPU=CUSTOM_GPU_FAST&group_policy=isolate")
    assert doc["allocation_requests"][0]["mappings"] == {"": [root["uuid"]],
                                                         "_GPU": [numa["uuid"]]}
    doc = await candidates(placement, "resources1=CUSTOM_VGPU:1&resources2=CUSTOM_VGPU:1"
                                      "&group_policy=isolate")
    assert doc["allocation_requests"] == []
    doc = await candidates(placement, "resources1=CUSTOM_VGPU:1&resources2=CUSTOM_VGPU:1"
                                      "&group_policy=none")
    assert doc["allocation_requests"][0]["allocations"] == {
        numa["uuid"]: {"resources": {"CUSTOM_VGPU": 2}}}
    doc = await candidates(placement, "resources1=CUSTOM_VGPU:2&resources2=CUSTOM_VGPU:1"
                                      "&group_policy=none")
    assert doc["allocation_requests"] == []


async def test_bad_queries(placement: PlacementClient) -> None:
    await provider(placement, inventory={"VCPU": 4})
    await candidates(placement, "", expect=400)
    r = await call(placement, "GET", f"{CANDIDATES}?limit=1", expect=400)
    assert error_code(r) == "placement.query.missing_value"
    for query in ("resources=VCPU", "resources=VCPU:0", "resources=VCPU:x",
                  "resources=NOPE:1", "resources=VCPU:1&required=CUSTOM_NOPE",
                  "resources=VCPU:1&limit=0", "resources=VCPU:1&bogus=1",
                  "resources=VCPU:1&member_of=nope", "resources=VCPU:1&in_tree=nope",
                  "resources1=VCPU:1&resources2=VCPU:1",
                  "resources=VCPU:1&required=CUSTOM_A,!CUSTOM_A"):
        await candidates(placement, query, expect=400)
    r = await call(placement, "GET", f"{CANDIDATES}?resources=VCPU:1&root_required=A"
                                     "&root_required=B", expect=400)
    assert error_code(r) == "placement.query.duplicate_key"
    r = await call(placement, "GET", f"{CANDIDATES}?resources=VCPU:1&required1=CUSTOM_A",
                   expect=400)
    assert error_code(r) == "placement.query.bad_value"
