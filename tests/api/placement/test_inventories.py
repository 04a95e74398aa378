"""Inventories, traits, resource classes and aggregates: each write checks the generation."""

from __future__ import annotations

import uuid

from helpers.inprocess import PlacementClient
from helpers.placement import call, claim, error_code, provider


async def test_inventory_set_show_update_delete(placement: PlacementClient) -> None:
    rp = await provider(placement)
    url = f"/resource_providers/{rp['uuid']}/inventories"
    r = await call(placement, "PUT", url, expect=200, json={
        "resource_provider_generation": 0,
        "inventories": {"VCPU": {"total": 8, "allocation_ratio": 4.0},
                        "MEMORY_MB": {"total": 1024, "reserved": 24, "max_unit": 512}}})
    assert r.json()["resource_provider_generation"] == 1
    assert r.json()["inventories"]["VCPU"] == {
        "total": 8, "reserved": 0, "min_unit": 1, "max_unit": 2147483647, "step_size": 1,
        "allocation_ratio": 4.0}
    r = await call(placement, "GET", f"{url}/MEMORY_MB", expect=200)
    assert r.json()["max_unit"] == 512 and r.json()["resource_provider_generation"] == 1
    r = await call(placement, "PUT", f"{url}/MEMORY_MB", expect=200,
                   json={"resource_provider_generation": 1, "total": 2048})
    assert r.json()["total"] == 2048 and r.json()["resource_provider_generation"] == 2
    r = await call(placement, "POST", url, expect=201, json={"resource_class": "DISK_GB",
                                                              "total": 100})
    assert r.headers["Location"].endswith("/inventories/DISK_GB")
    r = await call(placement, "GET", url, expect=200)
    assert set(r.json()["inventories"]) == {"VCPU", "MEMORY_MB", "DISK_GB"}
    assert r.json()["resource_provider_generation"] == 3
    await call(placement, "DELETE", f"{url}/DISK_GB", expect=204)
    await call(placement, "DELETE", f"{url}/DISK_GB", expect=404)
    await call(placement, "GET", f"{url}/DISK_GB", expect=404)
    await call(placement, "DELETE", url, expect=204)
    r = await call(placement, "GET", url, expect=200)
    assert r.json() == {"inventories": {}, "resource_provider_generation": 5}


async def test_stale_generation_is_409_concurrent_update(placement: PlacementClient) -> None:
    rp = await provider(placement, inventory={"VCPU": 8})
    url = f"/resource_providers/{rp['uuid']}"
    for method, path, body in (
            ("PUT", "/inventories", {"resource_provider_generation": 0,
                                     "inventories": {"VCPU": {"total": 4}}}),
            ("PUT", "/inventories/VCPU", {"resource_provider_generation": 0, "total": 4}),
            ("PUT", "/traits", {"resource_provider_generation": 0, "traits": []}),
            ("PUT", "/aggregates", {"resource_provider_generation": 0, "aggregates": []})):
        r = await call(placement, method, url + path, json=body, expect=409)
        assert error_code(r) == "placement.concurrent_update"
    r = await call(placement, "GET", url, expect=200)
    assert r.json()["generation"] == 1


async def test_inventory_in_use_cannot_go(placement: PlacementClient) -> None:
    rp = await provider(placement, inventory={"VCPU": 8, "MEMORY_MB": 512})
    await claim(placement, rp["uuid"], {"VCPU": 2})
    url = f"/resource_providers/{rp['uuid']}/inventories"
    r = await call(placement, "GET", url, expect=200)
    generation = r.json()["resource_provider_generation"]
    r = await call(placement, "PUT", url, expect=409, json={
        "resource_provider_generation": generation, "inventories": {"MEMORY_MB": {"total": 1}}})
    assert error_code(r) == "placement.inventory.inuse"
    r = await call(placement, "DELETE", url, expect=409)
    assert error_code(r) == "placement.inventory.inuse"
    r = await call(placement, "DELETE", f"{url}/VCPU", expect=409)
    # Unused inventory may go.
    await call(placement, "DELETE", f"{url}/MEMORY_MB", expect=204)
    r = await call(placement, "DELETE", f"/resource_providers/{rp['uuid']}", expect=409)
    assert error_code(r) == "placement.resource_provider.inuse"


async def test_zero_capacity_inventory_from_1_26(placement: PlacementClient) -> None:
    rp = await provider(placement)
    url = f"/resource_providers/{rp['uuid']}/inventories"
    body = {"resource_provider_generation": 0,
            "inventories": {"VCPU": {"total": 4, "reserved": 4}}}
    r = await call(placement, "PUT", url, version="1.25", json=body, expect=400)
    assert "greater than or equal to total" in r.json()["errors"][0]["detail"]
    await call(placement, "PUT", url, version="1.26", json=body, expect=200)
    body = {"resource_provider_generation": 1,
            "inventories": {"VCPU": {"total": 4, "reserved": 5}}}
    await call(placement, "PUT", url, json=body, expect=400)


async def test_bad_inventories_are_400(placement: PlacementClient) -> None:
    rp = await provider(placement)
    url = f"/resource_providers/{rp['uuid']}/inventories"
    for inventories in ({"VCPU": {"total": 0}}, {"VCPU": {"total": 1, "bogus": 1}},
                        {"VCPU": {}}, {"vcpu": {"total": 1}}, {"CUSTOM_NOPE": {"total": 1}}):
        await call(placement, "PUT", url, expect=400, json={
            "resource_provider_generation": 0, "inventories": inventories})
    await call(placement, "PUT", url, expect=400, json={"inventories": {}})
    # DELETE of all inventory exists from 1.5
    r = await call(placement, "DELETE", url, version="1.4", expect=405)
    assert "PUT" in r.headers["Allow"]
    await call(placement, "GET", f"/resource_providers/{uuid.uuid4()}/inventories", expect=404)


async def test_traits(placement: PlacementClient) -> None:
    r = await call(placement, "GET", "/traits", expect=200)
    assert "HW_CPU_X86_AVX2" in r.json()["traits"]
    assert "COMPUTE_STATUS_DISABLED" in r.json()["traits"]
    await call(placement, "GET", "/traits", version="1.5", expect=404)
    await call(placement, "PUT", "/traits/CUSTOM_GOLD", expect=201)
    await call(placement, "PUT", "/traits/CUSTOM_GOLD", expect=204)
    await call(placement, "GET", "/traits/CUSTOM_GOLD", expect=204)
    await call(placement, "GET", "/traits/CUSTOM_NOPE", expect=404)
    await call(placement, "PUT", "/traits/NOT_CUSTOM", expect=400)
    r = await call(placement, "GET", "/traits?name=startswith:CUSTOM_", expect=200)
    assert r.json()["traits"] == ["CUSTOM_GOLD"]
    r = await call(placement, "GET", "/traits?name=in:CUSTOM_GOLD,HW_CPU_X86_AVX2", expect=200)
    assert r.json()["traits"] == ["CUSTOM_GOLD", "HW_CPU_X86_AVX2"]
    await call(placement, "GET", "/traits?name=CUSTOM_GOLD", expect=400)

    rp = await provider(placement)
    url = f"/resource_providers/{rp['uuid']}/traits"
    r = await call(placement, "PUT", url, expect=200, json={
        "resource_provider_generation": 0, "traits": ["CUSTOM_GOLD", "HW_CPU_X86_AVX2"]})
    assert r.json() == {"traits": ["CUSTOM_GOLD", "HW_CPU_X86_AVX2"],
                        "resource_provider_generation": 1}
    r = await call(placement, "GET", "/traits?associated=true", expect=200)
    assert r.json()["traits"] == ["CUSTOM_GOLD", "HW_CPU_X86_AVX2"]
    await call(placement, "PUT", url, expect=400, json={
        "resource_provider_generation": 1, "traits": ["CUSTOM_UNKNOWN"]})
    r = await call(placement, "DELETE", "/traits/CUSTOM_GOLD", expect=409)
    await call(placement, "DELETE", "/traits/HW_CPU_X86_AVX2", expect=400)
    await call(placement, "DELETE", url, expect=204)
    r = await call(placement, "GET", url, expect=200)
    assert r.json() == {"traits": [], "resource_provider_generation": 2}
    await call(placement, "DELETE", "/traits/CUSTOM_GOLD", expect=204)
    await call(placement, "DELETE", "/traits/CUSTOM_GOLD", expect=404)


async def test_resource_classes(placement: PlacementClient) -> None:
    r = await call(placement, "GET", "/resource_classes", expect=200)
    names = [rc["name"] for rc in r.json()["resource_classes"]]
    assert {"VCPU", "MEMORY_MB", "DISK_GB", "PCPU"} <= set(names)
    await call(placement, "GET", "/resource_classes", version="1.1", expect=404)
    r = await call(placement, "POST", "/resource_classes", json={"name": "CUSTOM_GPU"},
                   expect=201)
    assert r.headers["Location"] == "/resource_classes/CUSTOM_GPU"
    await call(placement, "POST", "/resource_classes", json={"name": "CUSTOM_GPU"},
               expect=409)
    await call(placement, "POST", "/resource_classes", json={"name": "GPU"}, expect=400)
    r = await call(placement, "GET", "/resource_classes/CUSTOM_GPU", expect=200)
    assert r.json() == {"name": "CUSTOM_GPU", "links": [
        {"rel": "self", "href": "/resource_classes/CUSTOM_GPU"}]}
    # 1.7+: PUT is create-or-verify; before, it renamed.
    await call(placement, "PUT", "/resource_classes/CUSTOM_FPGA", expect=201)
    await call(placement, "PUT", "/resource_classes/CUSTOM_FPGA", expect=204)
    await call(placement, "PUT", "/resource_classes/FPGA", expect=400)
    r = await call(placement, "PUT", "/resource_classes/CUSTOM_FPGA", version="1.6",
                   json={"name": "CUSTOM_FPGA2"}, expect=200)
    assert r.json()["name"] == "CUSTOM_FPGA2"
    await call(placement, "PUT", "/resource_classes/VCPU", version="1.6",
               json={"name": "CUSTOM_X"}, expect=400)
    # a class in use by inventory cannot go; a standard one never
    await provider(placement, inventory={"CUSTOM_GPU": 2})
    await call(placement, "DELETE", "/resource_classes/CUSTOM_GPU", expect=409)
    await call(placement, "DELETE", "/resource_classes/VCPU", expect=400)
    await call(placement, "DELETE", "/resource_classes/CUSTOM_FPGA2", expect=204)
    await call(placement, "GET", "/resource_classes/CUSTOM_FPGA2", expect=404)


async def test_aggregates_by_microversion(placement: PlacementClient) -> None:
    rp = await provider(placement)
    url = f"/resource_providers/{rp['uuid']}/aggregates"
    aggs = sorted(str(uuid.uuid4()) for _ in range(2))
    await call(placement, "GET", url, version="1.0", expect=404)
    r = await call(placement, "PUT", url, version="1.1", json=aggs, expect=200)
    assert r.json() == {"aggregates": aggs}
    r = await call(placement, "GET", url, expect=200)
    assert r.json() == {"aggregates": aggs, "resource_provider_generation": 0}
    r = await call(placement, "PUT", url, expect=200, json={
        "aggregates": aggs[:1], "resource_provider_generation": 0})
    assert r.json() == {"aggregates": aggs[:1], "resource_provider_generation": 1}
    await call(placement, "PUT", url, expect=400, json=aggs)
    await call(placement, "PUT", url, expect=400, json={
        "aggregates": ["nope"], "resource_provider_generation": 1})


async def test_reshaper_moves_inventory_and_allocations_at_once(placement: PlacementClient
                                                                ) -> None:
    root = await provider(placement, "cn", inventory={"VCPU": 8, "CUSTOM_VGPU": 4})
    child = await provider(placement, "gpu", parent=root["uuid"])
    consumer = str(uuid.uuid4())
    await claim(placement, root["uuid"], {"VCPU": 1, "CUSTOM_VGPU": 2}, consumer=consumer)
    r = await call(placement, "GET", f"/resource_providers/{root['uuid']}", expect=200)
    root_generation = r.json()["generation"]
    body = {
        "inventories": {
            root["uuid"]: {"resource_provider_generation": root_generation,
                           "inventories": {"VCPU": {"total": 8}}},
            child["uuid"]: {"resource_provider_generation": child["generation"],
                            "inventories": {"CUSTOM_VGPU": {"total": 4}}}},
        "allocations": {consumer: {
            "allocations": {root["uuid"]: {"resources": {"VCPU": 1}},
                            child["uuid"]: {"resources": {"CUSTOM_VGPU": 2}}},
            "project_id": "p1", "user_id": "u1", "consumer_generation": 1,
            "consumer_type": "INSTANCE"}}}
    await call(placement, "POST", "/reshaper", version="1.29", json=body, expect=404)
    await call(placement, "POST", "/reshaper", json=body, expect=204)
    r = await call(placement, "GET", f"/allocations/{consumer}", expect=200)
    assert r.json()["allocations"][child["uuid"]]["resources"] == {"CUSTOM_VGPU": 2}
    r = await call(placement, "GET", f"/resource_providers/{root['uuid']}/inventories",
                   expect=200)
    assert set(r.json()["inventories"]) == {"VCPU"}
    # The same body again: its generations are now stale.
    r = await call(placement, "POST", "/reshaper", json=body, expect=409)
    assert error_code(r) == "placement.concurrent_update"
    body["inventories"] = {str(uuid.uuid4()): body["inventories"][root["uuid"]]}
    r = await call(placement, "POST", "/reshaper", json=body, expect=400)
    assert error_code(r) == "placement.resource_provider.not_found"
