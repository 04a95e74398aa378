"""Subnets: Neutron's defaults for IPv4 and IPv6, every refusal of bad addresses, who may
add a subnet to which network and who sees it, deleting one in use, bulk create, paging
(also by a column that is often null), filters and tags."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from helpers.inprocess import ServiceClient, make_config, make_service_client
from helpers.network import error_type, make
from ownstack.network.objects.models import IpAllocation, Port

SUB = "/v2.0/subnets"


async def _net(network: ServiceClient, token: str | None = None, **fields: Any
               ) -> dict[str, Any]:
    return await make(network, "network", token, **fields)


async def _subnet(network: ServiceClient, token: str | None, net: dict[str, Any],
                  cidr: str, expect: int = 201, **fields: Any) -> dict[str, Any]:
    version = 6 if ":" in cidr else 4
    return await make(network, "subnet", token, expect=expect, network_id=net["id"],
                      ip_version=fields.pop("ip_version", version), cidr=cidr, **fields)


async def test_ipv4_defaults(network: ServiceClient) -> None:
    project, token = await network.project_user_token()
    net = await _net(network, token)
    sub = await _subnet(network, token, net, "10.0.0.77/24", name="demo-subnet")
    assert sub["cidr"] == "10.0.0.0/24" and sub["ip_version"] == 4
    assert sub["gateway_ip"] == "10.0.0.1"
    assert sub["allocation_pools"] == [{"start": "10.0.0.2", "end": "10.0.0.254"}]
    assert sub["enable_dhcp"] is True and sub["dns_nameservers"] == []
    assert sub["host_routes"] == [] and sub["subnetpool_id"] is None
    assert (sub["ipv6_ra_mode"], sub["ipv6_address_mode"]) == (None, None)
    assert sub["project_id"] == sub["tenant_id"] == project["id"]
    assert sub["revision_number"] == 1 and sub["tags"] == []
    # The network lists it, and a subnet revises its network.
    r = await network.call("GET", f"/v2.0/networks/{net['id']}", token=token, expect=200)
    assert r.json()["network"]["subnets"] == [sub["id"]]
    assert r.json()["network"]["revision_number"] == net["revision_number"] + 1


async def test_ipv6_defaults_and_modes(network: ServiceClient) -> None:
    _, token = await network.project_user_token()
    net = await _net(network, token)
    sub = await _subnet(network, token, net, "fd00:10::/64", ipv6_ra_mode="slaac",
                        ipv6_address_mode="slaac")
    assert sub["gateway_ip"] == "fd00:10::"          # the subnet-router anycast address
    assert sub["allocation_pools"] == [{"start": "fd00:10::1",
                                        "end": "fd00:10::ffff:ffff:ffff:ffff"}]
    assert (sub["ipv6_ra_mode"], sub["ipv6_address_mode"]) == ("slaac", "slaac")
    none = await _subnet(network, token, net, "fd00:11::/64", gateway_ip=None)
    assert none["gateway_ip"] is None
    assert none["allocation_pools"] == [{"start": "fd00:11::1",
                                         "end": "fd00:11::ffff:ffff:ffff:ffff"}]


async def test_explicit_values_are_kept(network: ServiceClient) -> None:
    _, token = await network.project_user_token()
    net = await _net(network, token)
    sub = await _subnet(network, token, net, "172.24.4.0/24", enable_dhcp=False,
                        gateway_ip="172.24.4.254",
                        allocation_pools=[{"start": "172.24.4.100", "end": "172.24.4.200"},
                                          {"start": "172.24.4.10", "end": "172.24.4.20"}],
                        dns_nameservers=["172.24.4.1", "8.8.8.8"],
                        host_routes=[{"destination": "192.168.0.0/16",
                                      "nexthop": "172.24.4.9"}])
    assert sub["enable_dhcp"] is False and sub["gateway_ip"] == "172.24.4.254"
    assert sub["allocation_pools"] == [{"start": "172.24.4.10", "end": "172.24.4.20"},
                                       {"start": "172.24.4.100", "end": "172.24.4.200"}]
    assert sub["dns_nameservers"] == ["172.24.4.1", "8.8.8.8"]
    assert sub["host_routes"] == [{"destination": "192.168.0.0/16", "nexthop": "172.24.4.9"}]


async def test_bad_input_each_in_neutrons_error(network: ServiceClient) -> None:
    net = await _net(network)
    other = await _net(network)
    await _subnet(network, None, net, "10.1.0.0/16")
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"cidr": "10.2.0.0/33"}, 400, "InvalidInput"),
        ({"cidr": "not-a-cidr"}, 400, "InvalidInput"),
        ({"cidr": "fd00::/64"}, 400, "InvalidInput"),                 # v6 CIDR, ip_version 4
        ({"cidr": "10.2.0.0/24", "ip_version": 5}, 400, "HTTPBadRequest"),
        ({"cidr": "10.2.0.0/24", "gateway_ip": "10.2.0.0"}, 400, "InvalidInput"),
        ({"cidr": "10.2.0.0/24", "gateway_ip": "banana"}, 400, "HTTPBadRequest"),
        ({"cidr": "10.2.0.0/24", "allocation_pools": [
            {"start": "10.2.0.10", "end": "10.2.0.20"},
            {"start": "10.2.0.15", "end": "10.2.0.30"}]}, 409, "OverlappingAllocationPools"),
        ({"cidr": "10.2.0.0/24", "allocation_pools": [
            {"start": "10.2.0.10", "end": "10.2.1.20"}]}, 400, "OutOfBoundsAllocationPool"),
        ({"cidr": "10.2.0.0/24", "allocation_pools": [
            {"start": "10.2.0.20", "end": "10.2.0.10"}]}, 400, "InvalidAllocationPool"),
        ({"cidr": "10.2.0.0/24", "gateway_ip": "10.2.0.15", "allocation_pools": [
            {"start": "10.2.0.10", "end": "10.2.0.20"}]}, 409,
         "GatewayConflictWithAllocationPools"),
        ({"cidr": "10.2.0.0/24", "ipv6_ra_mode": "slaac"}, 400, "InvalidInput"),
        ({"cidr": "10.2.0.0/24", "ipv6_address_mode": "dhcpv6-stateful"}, 400, "InvalidInput"),
        ({"cidr": "fd00:20::/64", "ip_version": 6, "ipv6_ra_mode": "bogus"}, 400,
         "HTTPBadRequest"),
        ({"cidr": "fd00:20::/80", "ip_version": 6, "ipv6_address_mode": "slaac"}, 400,
         "InvalidInput"),
        ({"cidr": "10.1.128.0/24"}, 400, "InvalidInput"),             # overlaps 10.1.0.0/16
        ({"cidr": "10.2.0.0/24", "dns_nameservers": [f"10.9.9.{i}" for i in range(6)]},
         400, "DNSNameServersExhausted"),
        ({"cidr": "10.2.0.0/24", "dns_nameservers": ["1.1.1.1", "1.1.1.1"]}, 400,
         "HTTPBadRequest"),
        ({"cidr": "10.2.0.0/24", "host_routes": [{"destination": "x", "nexthop": "1.1.1.1"}]},
         400, "HTTPBadRequest"),
        ({"cidr": "10.2.0.0/24", "color": "red"}, 400, "HTTPBadRequest"),
        ({"cidr": "10.2.0.0/24", "prefixlen": 26}, 400, "BadRequest"),
        ({}, 400, "BadRequest"),                                       # no cidr, no pool
    ]
    for fields, status, kind in cases:
        body = {"network_id": net["id"], "ip_version": 4, **fields}
        r = await network.call("POST", SUB, json={"subnet": body}, expect=status)
        assert error_type(r) == kind, (fields, r.json())
    # The same CIDR is fine on another network.
    await _subnet(network, None, other, "10.1.0.0/16")
    r = await network.call("POST", SUB, json={"subnet": {"ip_version": 4, "cidr": "10.0.0.0/8",
                                                         "network_id": "nope"}}, expect=404)
    assert error_type(r) == "NetworkNotFound"


async def test_dns_limit_follows_the_config(tmp_path: Path) -> None:
    config = make_config(tmp_path, "network.max_dns_nameservers=1")
    async for network in make_service_client(config, "network"):
        net = await _net(network)
        r = await network.call("POST", SUB, json={"subnet": {
            "network_id": net["id"], "ip_version": 4, "cidr": "10.0.0.0/24",
            "dns_nameservers": ["1.1.1.1", "8.8.8.8"]}}, expect=400)
        assert error_type(r) == "DNSNameServersExhausted"


async def test_isolation_and_who_may_add_a_subnet(network: ServiceClient) -> None:
    _, alice = await network.project_user_token()
    _, bob = await network.project_user_token()
    a_net = await _net(network, alice)
    b_net = await _net(network, bob)
    mine = await _subnet(network, alice, a_net, "10.0.0.0/24")
    theirs = await _subnet(network, bob, b_net, "10.0.0.0/24")      # same CIDR, fine
    r = await network.call("GET", SUB, token=alice, expect=200)
    assert [s["id"] for s in r.json()["subnets"]] == [mine["id"]]
    r = await network.call("GET", f"{SUB}/{theirs['id']}", token=alice, expect=404)
    assert error_type(r) == "SubnetNotFound"
    await network.call("PUT", f"{SUB}/{theirs['id']}", token=alice,
                       json={"subnet": {"name": "x"}}, expect=404)
    await network.call("DELETE", f"{SUB}/{theirs['id']}", token=alice, expect=404)
    # Another project's private network: not found; its shared one: forbidden.
    r = await network.call("POST", SUB, token=alice, json={"subnet": {
        "network_id": b_net["id"], "ip_version": 4, "cidr": "10.5.0.0/24"}}, expect=404)
    shared = await _net(network, None, shared=True)
    external = await _net(network, None, **{"router:external": True})
    r = await network.call("POST", SUB, token=alice, json={"subnet": {
        "network_id": shared["id"], "ip_version": 4, "cidr": "10.5.0.0/24"}}, expect=403)
    assert error_type(r) == "PolicyNotAuthorized"
    await network.call("POST", SUB, token=alice, json={"subnet": {
        "network_id": external["id"], "ip_version": 4, "cidr": "10.5.0.0/24"}}, expect=404)
    # Subnets of a shared network are visible to all, those of an external one are not.
    on_shared = await _subnet(network, None, shared, "10.6.0.0/24")
    on_external = await _subnet(network, None, external, "172.24.4.0/24")
    await network.call("GET", f"{SUB}/{on_shared['id']}", token=alice, expect=200)
    await network.call("GET", f"{SUB}/{on_external['id']}", token=alice, expect=404)
    r = await network.call("PUT", f"{SUB}/{on_shared['id']}", token=alice,
                           json={"subnet": {"name": "mine"}}, expect=403)
    # An admin's subnet on a project's network is the network owner's to see and delete.
    admins = await _subnet(network, None, a_net, "10.7.0.0/24")
    await network.call("GET", f"{SUB}/{admins['id']}", token=alice, expect=200)
    await network.call("DELETE", f"{SUB}/{admins['id']}", token=alice, expect=204)


async def test_a_reader_reads_and_never_writes(network: ServiceClient) -> None:
    project, member = await network.project_user_token()
    user = await network.identity.make_user(project=project, role="reader", password="pw")
    reader = await network.identity.token(user["name"], "pw", project=project["name"])
    net = await _net(network, member)
    sub = await _subnet(network, member, net, "10.0.0.0/24")
    await network.call("GET", f"{SUB}/{sub['id']}", token=reader, expect=200)
    await network.call("POST", SUB, token=reader, json={"subnet": {
        "network_id": net["id"], "ip_version": 4, "cidr": "10.1.0.0/24"}}, expect=403)
    await network.call("PUT", f"{SUB}/{sub['id']}", token=reader,
                       json={"subnet": {"name": "x"}}, expect=403)
    await network.call("DELETE", f"{SUB}/{sub['id']}", token=reader, expect=403)


async def test_update_rules_and_revisions(network: ServiceClient) -> None:
    net = await _net(network)
    sub = await _subnet(network, None, net, "10.0.0.0/24")
    url = f"{SUB}/{sub['id']}"
    r = await network.call("PUT", url, json={"subnet": {
        "name": "renamed", "dns_nameservers": ["10.0.0.53"], "gateway_ip": None,
        "host_routes": [{"destination": "10.9.0.0/16", "nexthop": "10.0.0.9"}]}}, expect=200)
    updated = r.json()["subnet"]
    assert updated["name"] == "renamed" and updated["gateway_ip"] is None
    assert updated["dns_nameservers"] == ["10.0.0.53"] and updated["revision_number"] == 2
    assert updated["allocation_pools"] == sub["allocation_pools"]     # not regenerated
    r = await network.call("PUT", url, json={"subnet": {"gateway_ip": "10.0.0.50"}},
                           expect=409)
    assert error_type(r) == "GatewayConflictWithAllocationPools"
    r = await network.call("PUT", url, json={"subnet": {"cidr": "10.1.0.0/24"}}, expect=400)
    r = await network.call("PUT", url, json={"subnet": {"dns_nameservers": None}}, expect=200)
    assert r.json()["subnet"]["dns_nameservers"] == []
    await network.call("PUT", url, headers={"If-Match": "revision_number=1"},
                       json={"subnet": {"name": "late"}}, expect=412)
    await network.call("DELETE", url, headers={"If-Match": "revision_number=3"}, expect=204)
    r = await network.call("GET", f"/v2.0/networks/{net['id']}", expect=200)
    assert r.json()["network"]["subnets"] == []


async def _hold_address(network: ServiceClient, sub: dict[str, Any], address: str,
                        device_owner: str) -> None:
    """A port with an address on ``sub``, written straight into the tables."""
    svc = network.app.svc  # type: ignore[attr-defined]
    async with svc.write() as db:
        port = Port(id=str(uuid.uuid4()), project_id=sub["project_id"],
                    network_id=sub["network_id"],
                    mac_address=f"fa:16:3e:00:00:{int(address.rsplit('.', 1)[1]):02x}",
                    device_owner=device_owner)
        db.add(port)
        await db.flush()
        db.add(IpAllocation(subnet_id=sub["id"], ip_address=address, port_id=port.id,
                            network_id=sub["network_id"]))


async def test_delete_in_use_is_409_but_dhcp_ports_do_not_count(network: ServiceClient
                                                               ) -> None:
    net = await _net(network)
    busy = await _subnet(network, None, net, "10.0.0.0/24")
    dhcp_only = await _subnet(network, None, net, "10.0.1.0/24")
    await _hold_address(network, busy, "10.0.0.5", "compute:nova")
    await _hold_address(network, dhcp_only, "10.0.1.2", "network:dhcp")
    r = await network.call("DELETE", f"{SUB}/{busy['id']}", expect=409)
    assert error_type(r) == "SubnetInUse"
    await network.call("GET", f"{SUB}/{busy['id']}", expect=200)
    await network.call("DELETE", f"{SUB}/{dhcp_only['id']}", expect=204)


async def test_bulk_create_is_all_or_nothing(network: ServiceClient) -> None:
    net = await _net(network)
    r = await network.call("POST", SUB, json={"subnets": [
        {"network_id": net["id"], "ip_version": 4, "cidr": "10.0.0.0/24"},
        {"network_id": net["id"], "ip_version": 6, "cidr": "fd00:1::/64"}]}, expect=201)
    made = r.json()["subnets"]
    assert [s["cidr"] for s in made] == ["10.0.0.0/24", "fd00:1::/64"]
    r = await network.call("POST", SUB, json={"subnets": [
        {"network_id": net["id"], "ip_version": 4, "cidr": "10.0.1.0/24"},
        {"network_id": net["id"], "ip_version": 4, "cidr": "10.0.1.128/25"}]}, expect=400)
    assert error_type(r) == "InvalidInput"
    r = await network.call("GET", SUB, params={"network_id": net["id"]}, expect=200)
    assert len(r.json()["subnets"]) == 2


async def test_filters_fields_and_quota(tmp_path: Path) -> None:
    config = make_config(tmp_path, "network.quota.subnet=3")
    async for network in make_service_client(config, "network"):
        _, token = await network.project_user_token()
        net = await _net(network, token)
        await _subnet(network, token, net, "10.0.0.0/24", name="a")
        await _subnet(network, token, net, "fd00::/64", name="b", enable_dhcp=False)
        await _subnet(network, token, net, "10.0.1.0/24", name="c")
        r = await network.call("POST", SUB, token=token, json={"subnet": {
            "network_id": net["id"], "ip_version": 4, "cidr": "10.0.2.0/24"}}, expect=409)
        assert error_type(r) == "OverQuota"

        async def names(*params: tuple[str, str], client: ServiceClient = network,
                        token: str = token) -> list[str]:
            r = await client.call("GET", SUB, token=token, params=list(params), expect=200)
            return sorted(s["name"] for s in r.json()["subnets"])

        assert await names(("ip_version", "6")) == ["b"]
        assert await names(("enable_dhcp", "false")) == ["b"]
        assert await names(("cidr", "10.0.1.0/24"), ("cidr", "10.0.0.0/24")) == ["a", "c"]
        assert await names(("gateway_ip", "10.0.0.1")) == ["a"]
        r = await network.call("GET", SUB, token=token, params={"fields": "cidr"}, expect=200)
        assert all(set(s) == {"cidr"} for s in r.json()["subnets"])
        for params in ({"dns_nameservers": "x"}, {"ip_version": "four"}):
            r = await network.call("GET", SUB, token=token, params=params, expect=400)


async def test_paging_by_a_key_that_is_often_null(network: ServiceClient) -> None:
    """Sorted by gateway_ip, where some subnets have none: forward, backward, by marker,
    every subnet once and in one order."""
    _, token = await network.project_user_token()
    net = await _net(network, token)
    for i, gateway in enumerate([None, "10.0.3.1", None, "10.0.1.1", None, "10.0.2.1"]):
        await _subnet(network, token, net, f"10.0.{i}.0/24", gateway_ip=gateway, name=f"s{i}")
    r = await network.call("GET", SUB, token=token, params={
        "sort_key": "gateway_ip", "sort_dir": "asc"}, expect=200)
    everything = r.json()["subnets"]
    gateways = [s["gateway_ip"] for s in everything]
    assert gateways[:3] == [None, None, None]              # null first ascending
    assert gateways[3:] == ["10.0.1.1", "10.0.2.1", "10.0.3.1"]
    order = [s["id"] for s in everything]
    for direction, expected in (("asc", order), ("desc", order[::-1])):
        seen: list[str] = []
        marker = None
        while True:
            params = {"sort_key": "gateway_ip", "sort_dir": direction, "limit": "2"}
            if marker:
                params["marker"] = marker
            r = await network.call("GET", SUB, token=token, params=params, expect=200)
            page = [s["id"] for s in r.json()["subnets"]]
            seen += page
            if not any(link["rel"] == "next" for link in r.json().get("subnets_links", [])):
                break
            marker = page[-1]
        assert seen == expected, direction
        # Backwards from the end with page_reverse gives the same order, page by page.
        marker = expected[-1]
        back = [marker]
        while True:
            r = await network.call("GET", SUB, token=token, params={
                "sort_key": "gateway_ip", "sort_dir": direction, "limit": "2",
                "marker": marker, "page_reverse": "True"}, expect=200)
            page = [s["id"] for s in r.json()["subnets"]]
            back = page + back
            if not page or not any(link["rel"] == "previous"
                                   for link in r.json().get("subnets_links", [])):
                break
            marker = page[0]
        assert back == expected, direction


async def test_tags(network: ServiceClient) -> None:
    _, token = await network.project_user_token()
    net = await _net(network, token)
    red = await _subnet(network, token, net, "10.0.0.0/24", name="red")
    await _subnet(network, token, net, "10.0.1.0/24", name="blue")
    await network.call("PUT", f"{SUB}/{red['id']}/tags", token=token, json={"tags": ["x", "y"]},
                       expect=200)
    await network.call("GET", f"{SUB}/{red['id']}/tags/x", token=token, expect=204)
    r = await network.call("GET", SUB, token=token, params={"tags": "x"}, expect=200)
    assert [s["name"] for s in r.json()["subnets"]] == ["red"]
    r = await network.call("GET", SUB, token=token, params={"not-tags": "x"}, expect=200)
    assert [s["name"] for s in r.json()["subnets"]] == ["blue"]
    r = await network.call("GET", f"{SUB}/{red['id']}", token=token, expect=200)
    assert r.json()["subnet"]["tags"] == ["x", "y"]
    _, other = await network.project_user_token()
    await network.call("GET", f"{SUB}/{red['id']}/tags", token=other, expect=404)


async def test_deleting_an_automatic_ipv6_subnet_takes_its_addresses_from_ports(
        network: ServiceClient) -> None:
    # As Neutron does (Tempest's test_create_delete_slaac_subnet_with_ports): a SLAAC or
    # DHCPv6-stateless subnet goes even while ports hold addresses on it; a router's
    # interface keeps it, and a stateful or IPv4 subnet stays in use.
    _, token = await network.project_user_token()
    net = await _net(network, token)
    v4 = await _subnet(network, token, net, "10.9.0.0/24")
    for mode, cidr in (("slaac", "fd00:31::/64"), ("dhcpv6-stateless", "fd00:32::/64")):
        auto = await _subnet(network, token, net, cidr, ipv6_ra_mode=mode,
                             ipv6_address_mode=mode)
        port = await make(network, "port", token, network_id=net["id"])
        assert {ip["subnet_id"] for ip in port["fixed_ips"]} >= {v4["id"], auto["id"]}
        await network.call("DELETE", f"{SUB}/{auto['id']}", token=token, expect=204)
        r = await network.call("GET", f"/v2.0/ports/{port['id']}", token=token, expect=200)
        assert [ip["subnet_id"] for ip in r.json()["port"]["fixed_ips"]] == [v4["id"]]
        assert r.json()["port"]["revision_number"] > port["revision_number"]
    r = await network.call("DELETE", f"{SUB}/{v4['id']}", token=token, expect=409)
    assert error_type(r) == "SubnetInUse"
    stateful = await _subnet(network, token, net, "fd00:33::/64",
                             ipv6_address_mode="dhcpv6-stateful")
    await make(network, "port", token, network_id=net["id"],
               fixed_ips=[{"subnet_id": stateful["id"]}])
    r = await network.call("DELETE", f"{SUB}/{stateful['id']}", token=token, expect=409)
    assert error_type(r) == "SubnetInUse"
    # A router's interface on the automatic subnet keeps it.
    auto = await _subnet(network, token, net, "fd00:34::/64", ipv6_ra_mode="slaac",
                         ipv6_address_mode="slaac")
    made = await network.call("POST", "/v2.0/routers", token=token, expect=201,
                              json={"router": {"name": "r"}})
    await network.call("PUT", f"/v2.0/routers/{made.json()['router']['id']}/add_router_interface",
                       token=token, expect=200, json={"subnet_id": auto["id"]})
    r = await network.call("DELETE", f"{SUB}/{auto['id']}", token=token, expect=409)
    assert error_type(r) == "SubnetInUse"
