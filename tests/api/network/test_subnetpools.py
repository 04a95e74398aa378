"""Subnet pools: defaults, bounds, who may share or make a default, subnets taken from a
pool (by length, by CIDR, by the default pool), concurrent allocations that never
overlap, an exhausted pool, quotas in a pool, and deleting a pool in use."""

from __future__ import annotations

import asyncio
import ipaddress
from typing import Any

from helpers.inprocess import ServiceClient
from helpers.network import error_type, make

POOLS = "/v2.0/subnetpools"
SUB = "/v2.0/subnets"


async def _from_pool(network: ServiceClient, token: str | None, net: dict[str, Any],
                     pool: dict[str, Any], expect: int = 201, **fields: Any) -> dict[str, Any]:
    return await make(network, "subnet", token, expect=expect, network_id=net["id"],
                      ip_version=pool["ip_version"], subnetpool_id=pool["id"], **fields)


async def test_defaults_of_ipv4_and_ipv6_pools(network: ServiceClient) -> None:
    project, token = await network.project_user_token()
    v4 = await make(network, "subnetpool", token, name="p4",
                    prefixes=["10.10.0.0/16", "10.11.0.0/16", "10.10.5.0/24"])
    assert v4["prefixes"] == ["10.10.0.0/15"]               # compacted
    assert (v4["ip_version"], v4["min_prefixlen"], v4["max_prefixlen"],
            v4["default_prefixlen"]) == (4, 8, 32, 8)
    assert (v4["shared"], v4["is_default"], v4["default_quota"]) == (False, False, None)
    assert v4["project_id"] == project["id"] and v4["revision_number"] == 1
    v6 = await make(network, "subnetpool", token, prefixes=["fd00::/48"])
    assert (v6["ip_version"], v6["min_prefixlen"], v6["max_prefixlen"],
            v6["default_prefixlen"]) == (6, 64, 128, 64)


async def test_bad_pools_are_refused(network: ServiceClient) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"prefixes": []}, "EmptySubnetPoolPrefixList"),
        ({"prefixes": ["10.0.0.0/8", "fd00::/48"]}, "PrefixVersionMismatch"),
        ({"prefixes": ["banana"]}, "HTTPBadRequest"),
        ({"prefixes": ["10.0.0.0/8"], "min_prefixlen": 24, "max_prefixlen": 16},
         "IllegalSubnetPoolPrefixBounds"),
        ({"prefixes": ["10.0.0.0/8"], "max_prefixlen": 33}, "IllegalSubnetPoolPrefixBounds"),
        ({"prefixes": ["10.0.0.0/8"], "min_prefixlen": 16, "default_prefixlen": 12},
         "IllegalSubnetPoolPrefixBounds"),
        ({"prefixes": ["10.0.0.0/8"], "ip_version": 4}, "HTTPBadRequest"),
        ({}, "HTTPBadRequest"),
    ]
    for fields, kind in cases:
        r = await network.call("POST", POOLS, json={"subnetpool": fields}, expect=400)
        assert error_type(r) == kind, (fields, r.json())


async def test_only_an_admin_shares_or_makes_a_default(network: ServiceClient) -> None:
    _, alice = await network.project_user_token()
    _, bob = await network.project_user_token()
    for flag in ("shared", "is_default"):
        r = await network.call("POST", POOLS, token=alice, json={"subnetpool": {
            "prefixes": ["10.0.0.0/8"], flag: True}}, expect=403)
        assert error_type(r) == "PolicyNotAuthorized"
    private = await make(network, "subnetpool", alice, prefixes=["10.0.0.0/8"])
    shared = await make(network, "subnetpool", None, prefixes=["10.0.0.0/8"], shared=True)
    r = await network.call("GET", POOLS, token=bob, expect=200)
    ids = {p["id"] for p in r.json()["subnetpools"]}
    assert shared["id"] in ids and private["id"] not in ids
    r = await network.call("GET", f"{POOLS}/{private['id']}", token=bob, expect=404)
    assert error_type(r) == "SubnetPoolNotFound"
    await network.call("PUT", f"{POOLS}/{shared['id']}", token=bob,
                       json={"subnetpool": {"name": "x"}}, expect=403)
    # One default per IP version.
    await make(network, "subnetpool", None, prefixes=["172.16.0.0/12"], is_default=True)
    r = await network.call("POST", POOLS, json={"subnetpool": {
        "prefixes": ["192.168.0.0/16"], "is_default": True}}, expect=400)
    assert error_type(r) == "InvalidInput"
    await make(network, "subnetpool", None, prefixes=["fd00::/40"], is_default=True)


async def test_update_grows_prefixes_and_never_drops_one(network: ServiceClient) -> None:
    _, token = await network.project_user_token()
    pool = await make(network, "subnetpool", token, prefixes=["10.0.0.0/16"],
                      default_prefixlen=24, min_prefixlen=20)
    url = f"{POOLS}/{pool['id']}"
    r = await network.call("PUT", url, token=token, json={"subnetpool": {
        "prefixes": ["10.0.0.0/16", "10.1.0.0/16"], "name": "grown"}}, expect=200)
    assert r.json()["subnetpool"]["prefixes"] == ["10.0.0.0/15"]
    assert r.json()["subnetpool"]["revision_number"] == 2
    r = await network.call("PUT", url, token=token, json={"subnetpool": {
        "prefixes": ["10.1.0.0/16"]}}, expect=400)
    assert error_type(r) == "IllegalSubnetPoolPrefixUpdate"
    r = await network.call("PUT", url, token=token, json={"subnetpool": {
        "default_prefixlen": 16}}, expect=400)
    assert error_type(r) == "IllegalSubnetPoolPrefixBounds"
    for field in ("shared", "ip_version"):
        await network.call("PUT", url, token=token, json={"subnetpool": {field: 4}},
                           expect=400)


async def test_subnets_from_a_pool(network: ServiceClient) -> None:
    _, token = await network.project_user_token()
    net = await make(network, "network", token)
    pool = await make(network, "subnetpool", token, prefixes=["10.20.0.0/16"],
                      default_prefixlen=24, min_prefixlen=20, max_prefixlen=28)
    first = await _from_pool(network, token, net, pool)
    assert first["cidr"] == "10.20.0.0/24" and first["subnetpool_id"] == pool["id"]
    assert first["gateway_ip"] == "10.20.0.1"
    assert first["allocation_pools"] == [{"start": "10.20.0.2", "end": "10.20.0.254"}]
    small = await _from_pool(network, token, net, pool, prefixlen=28)
    assert ipaddress.ip_network(small["cidr"]).prefixlen == 28
    assert not ipaddress.ip_network(small["cidr"]).overlaps(
        ipaddress.ip_network(first["cidr"]))
    named = await _from_pool(network, token, net, pool, cidr="10.20.128.0/24")
    assert named["cidr"] == "10.20.128.0/24"
    other_net = await make(network, "network", token)
    r = await network.call("POST", SUB, token=token, json={"subnet": {
        "network_id": other_net["id"], "ip_version": 4, "subnetpool_id": pool["id"],
        "cidr": "10.20.128.0/25"}}, expect=409)
    assert error_type(r) == "SubnetAllocationError"
    for fields, status, kind in (
            ({"prefixlen": 30}, 400, "MaxPrefixSubnetAllocationError"),
            ({"prefixlen": 16}, 400, "MinPrefixSubnetAllocationError"),
            ({"cidr": "10.99.0.0/24"}, 409, "SubnetAllocationError"),
            ({"cidr": "10.20.200.0/24", "prefixlen": 24}, 400, "BadRequest"),
            ({"ip_version": 6}, 400, "BadRequest")):
        body = {"network_id": other_net["id"], "ip_version": 4,
                "subnetpool_id": pool["id"], **fields}
        r = await network.call("POST", SUB, token=token, json={"subnet": body}, expect=status)
        assert error_type(r) == kind, fields
    r = await network.call("GET", SUB, token=token, params={"subnetpool_id": pool["id"]},
                           expect=200)
    assert len(r.json()["subnets"]) == 3


async def test_ipv6_from_a_pool_and_the_default_pool(network: ServiceClient) -> None:
    _, token = await network.project_user_token()
    net = await make(network, "network", token)
    r = await network.call("POST", SUB, token=token, json={"subnet": {
        "network_id": net["id"], "ip_version": 6, "use_default_subnetpool": True}},
        expect=400)
    assert error_type(r) == "BadRequest"
    pool = await make(network, "subnetpool", None, prefixes=["2001:db8::/48"],
                      is_default=True, shared=True)
    sub = await make(network, "subnet", token, network_id=net["id"], ip_version=6,
                     use_default_subnetpool=True, ipv6_ra_mode="slaac",
                     ipv6_address_mode="slaac")
    assert sub["subnetpool_id"] == pool["id"] and sub["cidr"] == "2001:db8::/64"
    assert sub["gateway_ip"] == "2001:db8::1"        # a pool's subnet: its first address


async def test_concurrent_allocations_never_overlap(network: ServiceClient) -> None:
    _, token = await network.project_user_token()
    pool = await make(network, "subnetpool", token, prefixes=["10.30.0.0/22"],
                      default_prefixlen=26)
    nets = [await make(network, "network", token) for _ in range(20)]
    results = await asyncio.gather(*(network.call("POST", SUB, token=token, json={"subnet": {
        "network_id": net["id"], "ip_version": 4, "subnetpool_id": pool["id"]}})
        for net in nets))
    made = [r.json()["subnet"]["cidr"] for r in results if r.status_code == 201]
    refused = [r for r in results if r.status_code != 201]
    assert len(made) == 16                       # a /22 holds sixteen /26s
    assert len(set(made)) == 16
    networks = [ipaddress.ip_network(cidr) for cidr in made]
    assert all(not a.overlaps(b) for i, a in enumerate(networks) for b in networks[i + 1:])
    assert [r.status_code for r in refused] == [409] * 4
    assert {error_type(r) for r in refused} == {"SubnetAllocationError"}


async def test_pool_quota_and_delete_in_use(network: ServiceClient) -> None:
    _, token = await network.project_user_token()
    net = await make(network, "network", token)
    pool = await make(network, "subnetpool", token, prefixes=["10.40.0.0/16"],
                      default_prefixlen=24, default_quota=300)
    sub = await _from_pool(network, token, net, pool)            # 256 addresses
    r = await network.call("POST", SUB, token=token, json={"subnet": {
        "network_id": net["id"], "ip_version": 4, "subnetpool_id": pool["id"]}}, expect=409)
    assert error_type(r) == "SubnetPoolQuotaExceeded"
    r = await network.call("DELETE", f"{POOLS}/{pool['id']}", token=token, expect=409)
    assert error_type(r) == "SubnetPoolInUse"
    await network.call("DELETE", f"{SUB}/{sub['id']}", token=token, expect=204)
    await network.call("DELETE", f"{POOLS}/{pool['id']}", token=token, expect=204)
    await network.call("GET", f"{POOLS}/{pool['id']}", token=token, expect=404)


async def test_filters_sorting_and_tags(network: ServiceClient) -> None:
    _, token = await network.project_user_token()
    for name, prefix in (("b", "10.0.0.0/8"), ("a", "fd00::/40"), ("c", "172.16.0.0/12")):
        await make(network, "subnetpool", token, name=name, prefixes=[prefix])
    r = await network.call("GET", POOLS, token=token, params={
        "sort_key": "name", "sort_dir": "desc"}, expect=200)
    assert [p["name"] for p in r.json()["subnetpools"]] == ["c", "b", "a"]
    r = await network.call("GET", POOLS, token=token, params={"ip_version": "6"}, expect=200)
    assert [p["name"] for p in r.json()["subnetpools"]] == ["a"]
    pool = r.json()["subnetpools"][0]
    await network.call("PUT", f"{POOLS}/{pool['id']}/tags/six", token=token, expect=201)
    r = await network.call("GET", POOLS, token=token, params={"tags": "six"}, expect=200)
    assert [p["name"] for p in r.json()["subnetpools"]] == ["a"]
    await network.call("GET", POOLS, token=token, params={"prefixes": "x"}, expect=400)
