"""Resource providers, version discovery, microversion negotiation and Placement's errors."""

from __future__ import annotations

import uuid

from helpers.inprocess import PlacementClient
from helpers.placement import call, error_code, mv, provider


async def test_root_is_public_and_names_the_versions(placement: PlacementClient) -> None:
    r = await placement.http.get("/")
    assert r.status_code == 200
    assert r.json() == {"versions": [{
        "id": "v1.0", "max_version": "1.39", "min_version": "1.0", "status": "CURRENT",
        "links": [{"rel": "self", "href": ""}]}]}
    assert r.headers["OpenStack-API-Version"] == "placement 1.0"
    r = await placement.http.get("/", headers=mv("latest"))
    assert r.headers["OpenStack-API-Version"] == "placement 1.39"
    assert r.headers["Cache-Control"] == "no-cache" and "Last-Modified" in r.headers


async def test_everything_else_needs_a_token(placement: PlacementClient) -> None:
    r = await placement.http.get("/resource_providers")
    assert r.status_code == 401
    assert r.json()["errors"][0]["status"] == 401


async def test_unsupported_microversion_is_406_with_the_range(placement: PlacementClient
                                                              ) -> None:
    r = await call(placement, "GET", "/resource_providers", version="1.40", expect=406)
    error = r.json()["errors"][0]
    assert (error["min_version"], error["max_version"]) == ("1.0", "1.39")
    assert error["request_id"] == r.headers["X-Openstack-Request-Id"]
    r = await call(placement, "GET", "/resource_providers", version="1.x", expect=400)


async def test_create_show_update_delete(placement: PlacementClient) -> None:
    rp_uuid = str(uuid.uuid4())
    r = await call(placement, "POST", "/resource_providers", version="1.19", expect=201,
                   json={"name": "cn1", "uuid": rp_uuid.replace("-", "")})
    assert r.content == b"" and r.headers["Location"] == f"/resource_providers/{rp_uuid}"
    r = await call(placement, "GET", f"/resource_providers/{rp_uuid}", version="1.0",
                   expect=200)
    assert r.json() == {"uuid": rp_uuid, "name": "cn1", "generation": 0, "links": [
        {"rel": "self", "href": f"/resource_providers/{rp_uuid}"},
        {"rel": "inventories", "href": f"/resource_providers/{rp_uuid}/inventories"},
        {"rel": "usages", "href": f"/resource_providers/{rp_uuid}/usages"}]}
    assert "Last-Modified" not in r.headers
    r = await call(placement, "GET", f"/resource_providers/{rp_uuid}", expect=200)
    body = r.json()
    assert [link["rel"] for link in body["links"]] == [
        "self", "inventories", "usages", "aggregates", "traits", "allocations"]
    assert body["parent_provider_uuid"] is None and body["root_provider_uuid"] == rp_uuid
    assert r.headers["Cache-Control"] == "no-cache"

    r = await call(placement, "PUT", f"/resource_providers/{rp_uuid}", json={"name": "cn1b"},
                   expect=200)
    assert r.json()["name"] == "cn1b" and r.json()["generation"] == 1
    await call(placement, "DELETE", f"/resource_providers/{rp_uuid}", expect=204)
    r = await call(placement, "GET", f"/resource_providers/{rp_uuid}", expect=404)
    assert error_code(r) == "placement.undefined_code"


async def test_post_returns_the_provider_from_1_20(placement: PlacementClient) -> None:
    r = await call(placement, "POST", "/resource_providers", json={"name": "cn"}, expect=200)
    assert r.json()["name"] == "cn" and r.json()["generation"] == 0
    assert r.headers["Location"] == f"/resource_providers/{r.json()['uuid']}"


async def test_duplicate_name_or_uuid_is_409(placement: PlacementClient) -> None:
    rp = await provider(placement, "dup")
    r = await call(placement, "POST", "/resource_providers", json={"name": "dup"}, expect=409)
    assert error_code(r) == "placement.duplicate_name"
    r = await call(placement, "POST", "/resource_providers", expect=409,
                   json={"name": "other", "uuid": rp["uuid"]})
    assert error_code(r) == "placement.duplicate_name"
    other = await provider(placement, "other")
    r = await call(placement, "PUT", f"/resource_providers/{other['uuid']}",
                   json={"name": "dup"}, expect=409)
    assert error_code(r) == "placement.duplicate_name"


async def test_bad_bodies_are_400(placement: PlacementClient) -> None:
    for body in ({}, {"name": "x", "bogus": 1}, {"name": "x" * 201}, {"name": 3},
                 {"name": "x", "uuid": "not-a-uuid"}):
        r = await call(placement, "POST", "/resource_providers", json=body, expect=400)
        assert r.json()["errors"][0]["title"] == "Bad Request"
    # parent_provider_uuid exists only from 1.14
    await call(placement, "POST", "/resource_providers", version="1.13", expect=400,
               json={"name": "x", "parent_provider_uuid": str(uuid.uuid4())})
    r = await call(placement, "POST", "/resource_providers", content=b"{", expect=400,
                   headers={"Content-Type": "application/json"})
    r = await call(placement, "POST", "/resource_providers", content=b"name=x",
                   headers={"Content-Type": "text/plain"}, expect=415)


async def test_unknown_method_is_405_with_allow(placement: PlacementClient) -> None:
    r = await call(placement, "PATCH", "/resource_providers", expect=405)
    assert r.headers["Allow"] == "GET, HEAD, POST"
    r = await call(placement, "POST", "/nowhere", expect=404)
    assert error_code(r) == "placement.undefined_code"


async def test_members_are_forbidden(placement: PlacementClient) -> None:
    _, token = await placement.project_user_token()
    r = await placement.call("GET", "/resource_providers", token=token, expect=403)
    assert r.json()["errors"][0]["status"] == 403


async def test_nested_providers(placement: PlacementClient) -> None:
    root = await provider(placement, "root")
    child = await provider(placement, "child", parent=root["uuid"])
    grandchild = await provider(placement, "grandchild", parent=child["uuid"])
    assert child["root_provider_uuid"] == root["uuid"]
    assert grandchild["parent_provider_uuid"] == child["uuid"]
    assert grandchild["root_provider_uuid"] == root["uuid"]
    other = await provider(placement, "other")
    r = await call(placement, "GET", f"/resource_providers?in_tree={child['uuid']}",
                   expect=200)
    assert {p["name"] for p in r.json()["resource_providers"]} == {"root", "child",
                                                                   "grandchild"}
    r = await call(placement, "DELETE", f"/resource_providers/{root['uuid']}", expect=409)
    assert error_code(r) == "placement.resource_provider.cannot_delete_parent"
    # a missing parent is a 400; a loop is refused
    await call(placement, "POST", "/resource_providers", expect=400,
               json={"name": "orphan", "parent_provider_uuid": str(uuid.uuid4())})
    await call(placement, "PUT", f"/resource_providers/{root['uuid']}", expect=400,
               json={"name": "root", "parent_provider_uuid": grandchild["uuid"]})
    # re-parenting needs 1.37
    await call(placement, "PUT", f"/resource_providers/{child['uuid']}", version="1.36",
               json={"name": "child", "parent_provider_uuid": other["uuid"]}, expect=400)
    r = await call(placement, "PUT", f"/resource_providers/{child['uuid']}", expect=200,
                   json={"name": "child", "parent_provider_uuid": other["uuid"]})
    assert r.json()["root_provider_uuid"] == other["uuid"]
    r = await call(placement, "GET", f"/resource_providers/{grandchild['uuid']}", expect=200)
    assert r.json()["root_provider_uuid"] == other["uuid"]
    r = await call(placement, "PUT", f"/resource_providers/{child['uuid']}", expect=200,
                   json={"name": "child", "parent_provider_uuid": None})
    assert r.json()["root_provider_uuid"] == child["uuid"]


async def test_list_filters(placement: PlacementClient) -> None:
    agg = str(uuid.uuid4())
    big = await provider(placement, "big", inventory={"VCPU": 64}, aggregates=[agg],
                         traits=["HW_CPU_X86_AVX2"])
    small = await provider(placement, "small", inventory={"VCPU": 2})

    async def names(query: str, version: str = "1.39") -> set[str]:
        r = await call(placement, "GET", f"/resource_providers?{query}", version=version,
                       expect=200)
        return {p["name"] for p in r.json()["resource_providers"]}

    assert await names("name=small") == {"small"}
    assert await names(f"uuid={big['uuid']}") == {"big"}
    assert await names(f"member_of={agg}") == {"big"}
    assert await names(f"member_of=!{agg}") == {"small"}
    assert await names("resources=VCPU:4") == {"big"}
    assert await names("required=HW_CPU_X86_AVX2") == {"big"}
    assert await names("required=!HW_CPU_X86_AVX2") == {"small"}
    assert await names("required=in:HW_CPU_X86_AVX2,HW_CPU_X86_SSE") == {"big"}
    assert await names(f"in_tree={uuid.uuid4()}") == set()
    assert small["uuid"]
    # filters that do not exist yet at a version are refused
    await call(placement, "GET", "/resource_providers?resources=VCPU:1", version="1.3",
               expect=400)
    await call(placement, "GET", "/resource_providers?required=X", version="1.17", expect=400)
    r = await call(placement, "GET", "/resource_providers?resources=NOPE:1", expect=400)
    assert "Invalid resource class" in r.json()["errors"][0]["detail"]
    r = await call(placement, "GET", "/resource_providers?required=CUSTOM_NOPE", expect=400)
    assert "Invalid trait" in r.json()["errors"][0]["detail"]
    await call(placement, "GET", "/resource_providers?member_of=a,b", expect=400)
    await call(placement, "GET", "/resource_providers?bogus=1", expect=400)
