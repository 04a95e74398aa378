"""The network proxies of compute, as Nova has them up to 2.35 (404 from 2.36):
``os-security-groups``, ``os-security-group-rules``, ``os-floating-ips``, and the
``addFloatingIp``/``removeFloatingIp`` actions (404 from 2.44), all done as the caller
through the network service."""

from __future__ import annotations

from typing import Any

import pytest

from helpers.compute import fault
from helpers.inprocess import CloudClient
from helpers.names import unique
from helpers.server_networks import Project, _active, _net, _ports, _project

pytestmark = pytest.mark.usefixtures("compute")

V = {"OpenStack-API-Version": "compute 2.35"}
SGS = "/v2.1/os-security-groups"
RULES = "/v2.1/os-security-group-rules"
FIPS = "/v2.1/os-floating-ips"


async def _call(compute: CloudClient, who: Project, method: str, path: str, expect: int,
                v: dict[str, str] = V, **kwargs: Any) -> Any:
    return await compute.call(method, path, token=who.token, expect=expect, headers=v,
                              **kwargs)


async def _sg(compute: CloudClient, who: Project, name: str = "web") -> dict[str, Any]:
    r = await _call(compute, who, "POST", SGS, 200,
                    json={"security_group": {"name": name, "description": "web servers"}})
    return dict(r.json()["security_group"])


async def test_security_groups_through_the_proxy(compute: CloudClient) -> None:
    who = await _project(compute)
    group = await _sg(compute, who)
    assert group["name"] == "web" and group["description"] == "web servers"
    assert group["tenant_id"] == who.project_id
    # Neutron's default egress rules are not shown: only ingress.
    assert group["rules"] == []
    r = await _call(compute, who, "GET", SGS, 200)
    names = [g["name"] for g in r.json()["security_groups"]]
    assert "web" in names
    r = await _call(compute, who, "POST", RULES, 200, json={"security_group_rule": {
        "parent_group_id": group["id"], "ip_protocol": "tcp", "from_port": 22,
        "to_port": 22, "cidr": "10.0.0.0/8"}})
    rule = r.json()["security_group_rule"]
    assert rule == {"id": rule["id"], "parent_group_id": group["id"], "ip_protocol": "tcp",
                    "from_port": 22, "to_port": 22, "group": {},
                    "ip_range": {"cidr": "10.0.0.0/8"}}
    r = await _call(compute, who, "POST", RULES, 200, json={"security_group_rule": {
        "parent_group_id": group["id"], "ip_protocol": "icmp", "from_port": -1,
        "to_port": -1, "group_id": group["id"]}})
    icmp = r.json()["security_group_rule"]
    assert (icmp["from_port"], icmp["to_port"]) == (-1, -1)
    assert icmp["group"] == {"name": "web", "tenant_id": who.project_id}
    assert icmp["ip_range"] == {}
    r = await _call(compute, who, "GET", f"{SGS}/{group['id']}", 200)
    assert {r["id"] for r in r.json()["security_group"]["rules"]} == {rule["id"], icmp["id"]}
    # Neutron's view agrees: the rule is an ingress rule of the group.
    r = await compute.on("network", "GET", f"/v2.0/security-group-rules/{rule['id']}",
                         token=who.token, expect=200)
    made = r.json()["security_group_rule"]
    assert (made["direction"], made["port_range_min"], made["remote_ip_prefix"]) == \
        ("ingress", 22, "10.0.0.0/8")
    r = await _call(compute, who, "PUT", f"{SGS}/{group['id']}", 200,
                    json={"security_group": {"name": "www", "description": "d"}})
    assert r.json()["security_group"]["name"] == "www"
    await _call(compute, who, "DELETE", f"{RULES}/{rule['id']}", 202)
    await _call(compute, who, "DELETE", f"{RULES}/{rule['id']}", 404)
    await _call(compute, who, "DELETE", f"{SGS}/{group['id']}", 202)
    r = await _call(compute, who, "GET", f"{SGS}/{group['id']}", 404)
    assert fault(r, "itemNotFound") == f"Security group {group['id']} not found."


async def test_security_group_proxy_errors(compute: CloudClient) -> None:
    who = await _project(compute)
    group = await _sg(compute, who)

    async def rule(expect: int, **fields: Any) -> str:
        r = await _call(compute, who, "POST", RULES, expect, json={"security_group_rule": {
            "parent_group_id": group["id"], **fields}})
        return fault(r, "badRequest") if expect == 400 else ""

    assert await rule(400, ip_protocol="tcp", from_port=30, to_port=20) == \
        "Invalid port range 30:20. Former value cannot be greater than the later"
    assert await rule(400, ip_protocol="tcp", from_port=0, to_port=20) == \
        "Invalid port range 0:20. Valid TCP ports should be between 1-65535"
    assert await rule(400, ip_protocol="gre", from_port=1, to_port=2) == \
        "Invalid IP protocol gre."
    assert await rule(400, ip_protocol="icmp", from_port=300, to_port=1) == \
        "Invalid port range 300:1. For ICMP, the type:code must be valid"
    assert await rule(400, ip_protocol="tcp", from_port="a", to_port=2) == \
        "To and From ports must be integers"
    assert await rule(400, ip_protocol="tcp", from_port=1, to_port=2, cidr="nope") == \
        "nope is not a valid IP network."
    assert await rule(400, ip_protocol="tcp", from_port=1, to_port=2, cidr="10.0.0.0/0") \
        == "Bad prefix for network in cidr 10.0.0.0/0"
    assert await rule(400) == "Not enough parameters to build a valid rule."
    missing = "00000000-0000-4000-8000-000000000000"
    await _call(compute, who, "POST", RULES, 404, json={"security_group_rule": {
        "parent_group_id": missing, "ip_protocol": "tcp", "from_port": 1, "to_port": 2}})
    await rule(200, ip_protocol="udp", from_port=53, to_port=53)
    # A duplicate is Nova's own 400 (Tempest's test_create_security_group_rule_duplicate).
    assert await rule(400, ip_protocol="udp", from_port=53, to_port=53) == \
        f"This rule already exists in group {group['id']}"
    # A group id that is no UUID is a 400, as Nova's validate_id with Neutron.
    for path, method, payload in (
            (RULES, "POST", {"security_group_rule": {
                "parent_group_id": "not-a-uuid", "ip_protocol": "tcp", "from_port": 1,
                "to_port": 2}}),
            (RULES, "POST", {"security_group_rule": {
                "parent_group_id": group["id"], "group_id": "not-a-uuid",
                "ip_protocol": "tcp", "from_port": 1, "to_port": 2}}),
            (f"{SGS}/not-a-uuid", "GET", None)):
        r = await _call(compute, who, method, path, 400, json=payload)
        assert fault(r, "badRequest") == "Security group id should be uuid"
    # A cidr is kept as sent, host bits and all, as Nova passes it to Neutron.
    r = await _call(compute, who, "POST", RULES, 200, json={"security_group_rule": {
        "parent_group_id": group["id"], "ip_protocol": "tcp", "from_port": 80,
        "to_port": 80, "cidr": "10.2.3.124/24"}})
    assert r.json()["security_group_rule"]["ip_range"] == {"cidr": "10.2.3.124/24"}
    # A name is checked stripped but kept as sent (Tempest's
    # test_security_group_create_get_delete).
    r = await _call(compute, who, "POST", SGS, 200,
                    json={"security_group": {"name": " spaced name ", "description": "d"}})
    spaced = r.json()["security_group"]
    assert spaced["name"] == " spaced name "
    r = await _call(compute, who, "GET", f"{SGS}/{spaced['id']}", 200)
    assert r.json()["security_group"] == spaced
    r = await _call(compute, who, "POST", SGS, 400,
                    json={"security_group": {"name": "x"}})
    assert fault(r, "badRequest") == "Security group description is not a string or unicode"
    await _call(compute, who, "POST", SGS, 400,
                json={"security_group": {"name": " ", "description": "d"}})
    # Another project's group is a 404.
    other = await _project(compute)
    await _call(compute, other, "GET", f"{SGS}/{group['id']}", 404)
    await _call(compute, other, "DELETE", f"{SGS}/{group['id']}", 404)


async def test_the_proxies_are_gone_from_2_36(compute: CloudClient) -> None:
    who = await _project(compute)
    v236 = {"OpenStack-API-Version": "compute 2.36"}
    for method, path in (("GET", SGS), ("GET", FIPS), ("POST", RULES),
                         ("GET", f"{SGS}/x"), ("DELETE", f"{FIPS}/x")):
        await _call(compute, who, method, path, 404, v=v236,
                    **({"json": {}} if method == "POST" else {}))


async def _public(compute: CloudClient) -> tuple[str, str]:
    """An external network; its floating IPs are drawn at random from 172.24.4.2-200, so
    172.24.4.201-254 are never one."""
    name = unique("public")
    r = await compute.on("network", "POST", "/v2.0/networks", expect=201, json={
        "network": {"name": name, "router:external": True}})
    net_id = r.json()["network"]["id"]
    await compute.on("network", "POST", "/v2.0/subnets", expect=201, json={"subnet": {
        "network_id": net_id, "cidr": "172.24.4.0/24", "ip_version": 4,
        "enable_dhcp": False,
        "allocation_pools": [{"start": "172.24.4.2", "end": "172.24.4.200"}]}})
    return name, net_id


async def test_floating_ips_through_the_proxy_and_the_actions(compute: CloudClient) -> None:
    who = await _project(compute)
    pool, public = await _public(compute)
    net = await _net(compute, who.token, name="demo-net")
    r = await compute.on("network", "POST", "/v2.0/routers", token=who.token, expect=201,
                         json={"router": {"name": "r",
                                          "external_gateway_info": {"network_id": public}}})
    router_id = r.json()["router"]["id"]
    await compute.on("network", "PUT", f"/v2.0/routers/{router_id}/add_router_interface",
                     token=who.token, expect=200, json={"subnet_id": net["subnet"]["id"]})
    server = await _active(compute, who, [{"uuid": net["id"]}])
    (port,) = await _ports(compute, device_id=server["id"])
    r = await _call(compute, who, "POST", FIPS, 200, json={"pool": pool})
    fip = r.json()["floating_ip"]
    assert fip["pool"] == pool and fip["instance_id"] is None and fip["fixed_ip"] is None
    r = await _call(compute, who, "POST", FIPS, 404, json={"pool": unique("nopool")})
    assert fault(r, "itemNotFound") == "Floating IP pool not found."
    action = f"/v2.1/servers/{server['id']}/action"
    await _call(compute, who, "POST", action, 202,
                json={"addFloatingIp": {"address": fip["ip"]}})
    r = await _call(compute, who, "GET", f"{FIPS}/{fip['id']}", 200)
    shown = r.json()["floating_ip"]
    assert shown["instance_id"] == server["id"]
    assert shown["fixed_ip"] == port["fixed_ips"][0]["ip_address"]
    r = await _call(compute, who, "GET", FIPS, 200)
    assert [f["id"] for f in r.json()["floating_ips"]] == [fip["id"]]
    # Fixed address not the server's; unknown address; from 2.44 the actions are gone.
    await _call(compute, who, "POST", action, 400,
                json={"addFloatingIp": {"address": fip["ip"], "fixed_address": "10.9.9.9"}})
    await _call(compute, who, "POST", action, 404,     # outside the pool: no floating IP
                json={"addFloatingIp": {"address": "172.24.4.250"}})
    await _call(compute, who, "POST", action, 404,
                v={"OpenStack-API-Version": "compute 2.44"},
                json={"removeFloatingIp": {"address": fip["ip"]}})
    await _call(compute, who, "POST", action, 202,
                json={"removeFloatingIp": {"address": fip["ip"]}})
    r = await _call(compute, who, "POST", action, 409,
                    json={"removeFloatingIp": {"address": fip["ip"]}})
    assert fault(r, "conflictingRequest") == (
        f"Floating IP {fip['ip']} is not associated with instance {server['id']}.")
    await _call(compute, who, "DELETE", f"{FIPS}/{fip['id']}", 202)
    r = await _call(compute, who, "GET", f"{FIPS}/{fip['id']}", 404)
    assert fault(r, "itemNotFound") == f"Floating IP not found for ID {fip['id']}"


async def test_all_tenants_lists_every_projects_groups_for_an_admin(compute: CloudClient
                                                                    ) -> None:
    # As Tempest's test_list_security_groups_list_all_tenants_filter checks.
    alice, bob = await _project(compute), await _project(compute)
    mine, theirs = await _sg(compute, alice, "a-web"), await _sg(compute, bob, "b-web")
    r = await compute.call("GET", f"{SGS}?all_tenants=true", expect=200, headers=V)
    assert {mine["id"], theirs["id"]} <= {g["id"] for g in r.json()["security_groups"]}
    r = await compute.call("GET", SGS, expect=200, headers=V)
    assert not {mine["id"], theirs["id"]} & {g["id"] for g in r.json()["security_groups"]}
    r = await _call(compute, alice, "GET", f"{SGS}?all_tenants=true", 200)
    ids = {g["id"] for g in r.json()["security_groups"]}
    assert mine["id"] in ids and theirs["id"] not in ids
