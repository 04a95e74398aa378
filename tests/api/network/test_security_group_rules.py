"""Security group rules over the API: the body, Neutron's checks and error types, duplicates,
remote groups, bulk creates (all or none), the group's revision, isolation and the quota."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from helpers.inprocess import ServiceClient, make_config, make_service_client
from helpers.network import error_type, make

SG = "/v2.0/security-groups"
RULES = "/v2.0/security-group-rules"


async def _group(client: ServiceClient, token: str | None, name: str = "web"
                 ) -> dict[str, Any]:
    return await make(client, "security_group", token, name=name)


async def _rule(client: ServiceClient, token: str | None, expect: int, **fields: Any
                ) -> dict[str, Any]:
    r = await client.call("POST", RULES, token=token, expect=expect,
                          json={"security_group_rule": fields})
    body: dict[str, Any] = r.json()
    return body


async def _revision(client: ServiceClient, token: str, group_id: str) -> int:
    r = await client.call("GET", f"{SG}/{group_id}", token=token, expect=200)
    return int(r.json()["security_group"]["revision_number"])


async def test_create_show_delete_and_the_groups_revision(network: ServiceClient) -> None:
    project, token = await network.project_user_token()
    web = await _group(network, token)
    rule = (await _rule(network, token, 201, security_group_id=web["id"], direction="ingress",
                        protocol="TCP", port_range_min=22, port_range_max="22",
                        remote_ip_prefix="10.0.0.5/24", description="ssh"))[
        "security_group_rule"]
    assert rule["security_group_id"] == web["id"]
    assert (rule["direction"], rule["ethertype"], rule["protocol"]) == ("ingress", "IPv4", "tcp")
    assert (rule["port_range_min"], rule["port_range_max"]) == (22, 22)
    assert rule["remote_ip_prefix"] == "10.0.0.5/24"
    assert rule["normalized_cidr"] == "10.0.0.0/24"
    assert rule["remote_group_id"] is None and rule["remote_address_group_id"] is None
    assert rule["description"] == "ssh" and rule["belongs_to_default_sg"] is False
    assert rule["project_id"] == rule["tenant_id"] == project["id"]
    assert rule["revision_number"] == 1 and rule["created_at"].endswith("Z")
    assert await _revision(network, token, web["id"]) == 2
    r = await network.call("GET", f"{RULES}/{rule['id']}", token=token, expect=200)
    assert r.json()["security_group_rule"] == rule
    r = await network.call("GET", f"{SG}/{web['id']}", token=token, expect=200)
    assert rule in r.json()["security_group"]["security_group_rules"]
    await network.call("DELETE", f"{RULES}/{rule['id']}", token=token, expect=204)
    assert await _revision(network, token, web["id"]) == 3
    r = await network.call("GET", f"{RULES}/{rule['id']}", token=token, expect=404)
    assert error_type(r) == "SecurityGroupRuleNotFound"
    assert r.json()["NeutronError"]["message"] == \
        f"Security group rule {rule['id']} does not exist"
    await network.call("DELETE", f"{RULES}/{rule['id']}", token=token, expect=404)


async def test_neutrons_conversions(network: ServiceClient) -> None:
    _, token = await network.project_user_token()
    web = await _group(network, token)
    cases = [
        ({"protocol": "icmp", "ethertype": "ipv6"}, ("ipv6-icmp", "IPv6", None, None)),
        ({"protocol": "1", "ethertype": "IPv6", "direction": "egress"},
         ("58", "IPv6", None, None)),
        ({"protocol": 17, "port_range_min": 1, "port_range_max": 65535},
         ("17", "IPv4", None, None)),
        ({"protocol": "icmp", "port_range_min": 8}, ("icmp", "IPv4", 8, None)),
        ({"protocol": "any", "remote_ip_prefix": "192.0.2.7"}, (None, "IPv4", None, None)),
    ]
    for fields, expected in cases:
        body = {"security_group_id": web["id"], "direction": "ingress", **fields}
        rule = (await _rule(network, token, 201, **body))["security_group_rule"]
        assert (rule["protocol"], rule["ethertype"], rule["port_range_min"],
                rule["port_range_max"]) == expected, fields
    r = await network.call("GET", RULES, token=token, expect=200,
                           params={"remote_ip_prefix": "192.0.2.7/32"})
    assert len(r.json()["security_group_rules"]) == 1


async def test_bad_rules_are_neutrons_400s(network: ServiceClient) -> None:
    _, token = await network.project_user_token()
    web = await _group(network, token)
    other = await _group(network, token, "other")
    cases: list[tuple[dict[str, Any], str]] = [
        ({"protocol": "bogus"}, "SecurityGroupRuleInvalidProtocol"),
        ({"protocol": 256}, "SecurityGroupRuleInvalidProtocol"),
        ({"port_range_min": 22, "port_range_max": 22}, "SecurityGroupProtocolRequiredWithPorts"),
        ({"protocol": "tcp", "port_range_min": 90, "port_range_max": 80},
         "SecurityGroupInvalidPortRange"),
        ({"protocol": "tcp", "port_range_min": 0, "port_range_max": 80},
         "SecurityGroupInvalidPortValue"),
        ({"protocol": "tcp", "port_range_min": 1, "port_range_max": 70000},
         "SecurityGroupInvalidPortValue"),
        ({"protocol": "udp", "port_range_min": "x", "port_range_max": 80},
         "SecurityGroupInvalidPortValue"),
        ({"protocol": "icmp", "port_range_min": 256}, "SecurityGroupInvalidIcmpValue"),
        ({"protocol": "icmp", "port_range_max": 0}, "SecurityGroupMissingIcmpType"),
        ({"protocol": "gre", "port_range_min": 1, "port_range_max": 2},
         "SecurityGroupInvalidProtocolForPort"),
        ({"ethertype": "IPv5"}, "SecurityGroupRuleInvalidEtherType"),
        ({"remote_ip_prefix": "10.0.0.0/33"}, "InvalidCIDR"),
        ({"remote_ip_prefix": "not-an-address"}, "InvalidCIDR"),
        ({"remote_ip_prefix": "fd00::/64"}, "SecurityGroupRuleParameterConflict"),
        ({"protocol": "ipv6-icmp"}, "SecurityGroupEthertypeConflictWithProtocol"),
        ({"remote_ip_prefix": "10.0.0.0/8", "remote_group_id": other["id"]},
         "SecurityGroupMultipleRemoteEntites"),
        ({"direction": "sideways"}, "HTTPBadRequest"),
        ({"direction": None}, "HTTPBadRequest"),
        ({"color": "red"}, "HTTPBadRequest"),
        ({"remote_address_group_id": "a"}, "HTTPBadRequest"),
    ]
    for fields, kind in cases:
        body = {"security_group_id": web["id"], "direction": "ingress", **fields}
        r = await network.call("POST", RULES, token=token, expect=400,
                               json={"security_group_rule": body})
        assert error_type(r) == kind, (fields, r.text)
    r = await network.call("POST", RULES, token=token, expect=400,
                           json={"security_group_rule": {"security_group_id": web["id"]}})
    assert error_type(r) == "HTTPBadRequest"            # direction is required
    r = await network.call("POST", RULES, token=token, expect=400,
                           json={"security_group_rule": {"direction": "ingress"}})
    assert error_type(r) == "HTTPBadRequest"            # and so is the group
    r = await network.call("POST", RULES, token=token, expect=400,
                           json={"security_group_rule": {}, "security_group_rules": []})
    r = await network.call("PUT", f"{RULES}/{web['security_group_rules'][0]['id']}",
                           token=token, json={"security_group_rule": {}}, expect=405)
    r = await network.call("GET", f"{SG}/{web['id']}", token=token, expect=200)
    assert len(r.json()["security_group"]["security_group_rules"]) == 2


async def test_the_group_and_the_remote_group_must_exist_and_be_visible(
        network: ServiceClient) -> None:
    _, alice = await network.project_user_token()
    _, bob = await network.project_user_token()
    mine = await _group(network, alice)
    theirs = await _group(network, bob)
    for group_id in ("no-such-group", theirs["id"]):
        r = await network.call("POST", RULES, token=alice, expect=404, json={
            "security_group_rule": {"security_group_id": group_id, "direction": "ingress"}})
        assert error_type(r) == "SecurityGroupNotFound"
        r = await network.call("POST", RULES, token=alice, expect=404, json={
            "security_group_rule": {"security_group_id": mine["id"], "direction": "ingress",
                                    "remote_group_id": group_id}})
        assert error_type(r) == "SecurityGroupNotFound"
        assert r.json()["NeutronError"]["message"] == f"Security group {group_id} does not exist"
    # The group itself as its remote: members talk to one another.
    rule = (await _rule(network, alice, 201, security_group_id=mine["id"],
                        direction="ingress", remote_group_id=mine["id"]))["security_group_rule"]
    assert rule["remote_group_id"] == mine["id"]
    # Bob neither sees nor deletes Alice's rule; the admin does both.
    await network.call("GET", f"{RULES}/{rule['id']}", token=bob, expect=404)
    await network.call("DELETE", f"{RULES}/{rule['id']}", token=bob, expect=404)
    r = await network.call("GET", RULES, token=bob, expect=200)
    assert {r["security_group_id"] for r in r.json()["security_group_rules"]} & {mine["id"]} \
        == set()
    await network.call("GET", f"{RULES}/{rule['id']}", expect=200)
    await network.call("DELETE", f"{RULES}/{rule['id']}", expect=204)


async def test_an_admin_adds_a_rule_to_a_projects_group(network: ServiceClient) -> None:
    _, token = await network.project_user_token()
    web = await _group(network, token)
    rule = (await _rule(network, None, 201, security_group_id=web["id"], direction="ingress",
                        protocol="tcp"))["security_group_rule"]
    # The group's project sees and may delete the rule, whoever made it.
    await network.call("GET", f"{RULES}/{rule['id']}", token=token, expect=200)
    await network.call("DELETE", f"{RULES}/{rule['id']}", token=token, expect=204)


async def test_duplicate_rules_are_409(network: ServiceClient) -> None:
    _, token = await network.project_user_token()
    web = await _group(network, token)
    base = {"security_group_id": web["id"], "direction": "ingress", "protocol": "tcp",
            "port_range_min": 22, "port_range_max": 22}
    first = (await _rule(network, token, 201, **base))["security_group_rule"]
    for same in ({**base}, {**base, "protocol": "6"}, {**base, "remote_ip_prefix": "0.0.0.0/0"},
                 {**base, "description": "another description"}):
        r = await network.call("POST", RULES, token=token, expect=409,
                               json={"security_group_rule": same})
        assert error_type(r) == "SecurityGroupRuleExists"
        assert r.json()["NeutronError"]["message"] == \
            f"Security group rule already exists. Rule id is {first['id']}."
    # The egress rule every group starts with is a rule like any other.
    r = await network.call("POST", RULES, token=token, expect=409, json={
        "security_group_rule": {"security_group_id": web["id"], "direction": "egress"}})
    assert error_type(r) == "SecurityGroupRuleExists"
    # Other prefixes compare as written, as in Neutron.
    await _rule(network, token, 201, **{**base, "remote_ip_prefix": "10.0.0.5/24"})
    await _rule(network, token, 201, **{**base, "remote_ip_prefix": "10.0.0.0/24"})
    r = await network.call("POST", RULES, token=token, expect=409, json={
        "security_group_rules": [{**base, "port_range_min": 80, "port_range_max": 80},
                                 {**base, "port_range_min": 80, "port_range_max": 80}]})
    assert error_type(r) == "DuplicateSecurityGroupRuleInPost"
    assert r.json()["NeutronError"]["message"] == "Duplicate Security Group Rule in POST."


async def test_bulk_create_is_all_or_nothing(network: ServiceClient) -> None:
    _, token = await network.project_user_token()
    web = await _group(network, token)
    other = await _group(network, token, "other")

    def rule(port: int, **extra: Any) -> dict[str, Any]:
        return {"security_group_id": web["id"], "direction": "ingress", "protocol": "tcp",
                "port_range_min": port, "port_range_max": port, **extra}

    r = await network.call("POST", RULES, token=token, expect=201,
                           json={"security_group_rules": [rule(80), rule(443)]})
    made = r.json()["security_group_rules"]
    assert [m["port_range_min"] for m in made] == [80, 443]
    assert await _revision(network, token, web["id"]) == 2          # once for the request
    for bad, kind in (([rule(8080), rule(8081, protocol="bogus")],
                       "SecurityGroupRuleInvalidProtocol"),
                      ([rule(8080), rule(80)], "SecurityGroupRuleExists"),
                      ([rule(8080), rule(8081, remote_group_id="nope")],
                       "SecurityGroupNotFound"),
                      ([rule(8080), {**rule(8081), "security_group_id": other["id"]}],
                       "SecurityGroupNotSingleGroupRules")):
        r = await network.call("POST", RULES, token=token, json={"security_group_rules": bad})
        assert r.status_code in (400, 404, 409) and error_type(r) == kind, r.text
    r = await network.call("GET", RULES, token=token, params={"security_group_id": web["id"]},
                           expect=200)
    assert len(r.json()["security_group_rules"]) == 4               # 2 egress + 80 + 443


async def test_rule_list_filters(network: ServiceClient) -> None:
    _, token = await network.project_user_token()
    web = await _group(network, token)
    await _rule(network, token, 201, security_group_id=web["id"], direction="ingress",
                protocol="tcp", port_range_min=22, port_range_max=22)
    await _rule(network, token, 201, security_group_id=web["id"], direction="ingress",
                protocol="udp", port_range_min=53, port_range_max=53)

    async def count(**params: str) -> int:
        r = await network.call("GET", RULES, token=token, params=params, expect=200)
        return len(r.json()["security_group_rules"])

    assert await count() == 4 + 4                    # the default group's and web's
    assert await count(security_group_id=web["id"]) == 4
    assert await count(direction="ingress", security_group_id=web["id"]) == 2
    assert await count(protocol="udp") == 1
    assert await count(port_range_min="22") == 1
    assert await count(ethertype="IPv6") == 3        # the default's two and web's egress
    assert await count(belongs_to_default_sg="true") == 4
    assert await count(belongs_to_default_sg="false") == 4
    r = await network.call("GET", RULES, token=token, expect=200,
                           params=[("fields", "id"), ("fields", "protocol"),
                                   ("sort_key", "protocol"), ("sort_dir", "desc"),
                                   ("security_group_id", web["id"])])
    items = r.json()["security_group_rules"]
    assert [i["protocol"] for i in items][:2] == ["udp", "tcp"]
    assert all(set(i) == {"id", "protocol"} for i in items)
    for params in ({"color": "red"}, {"port_range_min": "x"},
                   {"belongs_to_default_sg": "perhaps"}):
        r = await network.call("GET", RULES, token=token, params=params, expect=400)
        assert error_type(r) in ("BadRequest", "InvalidInput"), params


async def test_rule_quota_counts_every_rule_and_bulk_is_refused_whole(tmp_path: Path) -> None:
    config = make_config(tmp_path, "network.quota.security_group_rule=8")
    async for network in make_service_client(config, "network"):
        _, token = await network.project_user_token()
        web = await _group(network, token)                 # 4 default + 2 egress rules
        r = await network.call("POST", RULES, token=token, expect=409, json={
            "security_group_rules": [
                {"security_group_id": web["id"], "direction": "ingress", "protocol": p}
                for p in ("tcp", "udp", "icmp")]})
        assert error_type(r) == "OverQuota"
        assert r.json()["NeutronError"]["message"] == \
            "Quota exceeded for resources: ['security_group_rule']."
        await _rule(network, token, 201, security_group_id=web["id"], direction="ingress",
                    protocol="tcp")
        await _rule(network, token, 201, security_group_id=web["id"], direction="ingress",
                    protocol="udp")
        r = await network.call("POST", RULES, token=token, expect=409, json={
            "security_group_rule": {"security_group_id": web["id"], "direction": "ingress",
                                    "protocol": "icmp"}})
        assert error_type(r) == "OverQuota"
        # A new group needs room for its two egress rules too.
        r = await network.call("POST", SG, token=token, json={"security_group": {}},
                               expect=409)
        assert error_type(r) == "OverQuota"
