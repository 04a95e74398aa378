"""Networks through the real `openstack` CLI and openstacksdk: what an admin and two
projects' members do, and what each of them sees."""

from __future__ import annotations

import pytest

from helpers.names import unique
from helpers.process import Cloud, member_cloud, wait_for_network

pytestmark = pytest.mark.functional


def test_networks_through_the_cli(cloud: Cloud) -> None:
    wait_for_network(cloud)
    public_name = unique("public")
    public = cloud.osc_json("network", "create", "--external", "--share",
                            "--provider-network-type", "flat",
                            "--provider-physical-network", unique("physnet"), public_name)
    assert public["router:external"] is True and public["shared"] is True
    assert public["provider:network_type"] == "flat" and public["mtu"] == 1500

    _, alice = member_cloud(cloud, "net-alice")
    _, bob = member_cloud(cloud, "net-bob")
    demo = cloud.osc_json("network", "create", "demo-net", "--description", "the demo",
                          "--tag", "blue", cloud=alice)
    assert demo["name"] == "demo-net" and demo["status"] == "ACTIVE"
    assert demo["mtu"] == 1450 and demo["tags"] == ["blue"]
    theirs = cloud.osc_json("network", "create", "demo-net", cloud=bob)

    listed = {n["ID"] for n in cloud.osc_json("network", "list", cloud=alice)}
    assert demo["id"] in listed and public["id"] in listed and theirs["id"] not in listed
    external = cloud.osc_json("network", "list", "--external", cloud=alice)
    assert [n["ID"] for n in external if n["ID"] in (demo["id"], public["id"])] == \
        [public["id"]]
    tagged = cloud.osc_json("network", "list", "--tags", "blue", cloud=alice)
    assert [n["ID"] for n in tagged] == [demo["id"]]

    cloud.osc("network", "set", "--name", "renamed", "--mtu", "1400", "--disable",
              demo["id"], cloud=alice)
    shown = cloud.osc_json("network", "show", demo["id"], cloud=alice)
    assert (shown["name"], shown["mtu"], shown["admin_state_up"]) == ("renamed", 1400, False)
    assert shown["revision_number"] > demo["revision_number"]

    # Bob's project cannot see, change or delete Alice's network; nor share one itself.
    result = cloud.osc("network", "show", demo["id"], cloud=bob, expect_ok=False)
    assert result.returncode != 0 and "No Network found" in result.stderr
    result = cloud.osc("network", "delete", demo["id"], cloud=bob, expect_ok=False)
    assert result.returncode != 0
    result = cloud.osc("network", "create", "--share", unique("mine"), cloud=bob,
                       expect_ok=False)
    assert result.returncode != 0 and "403" in result.stderr

    cloud.osc("network", "delete", demo["id"], cloud=alice)
    assert demo["id"] not in {n["ID"] for n in cloud.osc_json("network", "list")}
    cloud.osc("network", "delete", theirs["id"], public["id"])


def test_networks_through_the_sdk(cloud: Cloud) -> None:
    wait_for_network(cloud)
    conn = cloud.sdk()
    made = [conn.network.create_network(name=unique("sdk-net")) for _ in range(3)]
    found = conn.network.find_network(made[0].name)
    assert found is not None and found.id == made[0].id
    # openstacksdk pages through the list with limit and marker, following the links.
    ids = {n.id for n in conn.network.networks(limit=1)}
    assert {n.id for n in made} <= ids
    conn.network.set_tags(made[1], ["a", "b"])
    assert sorted(conn.network.get_network(made[1].id).tags) == ["a", "b"]
    assert conn.network.find_extension("external-net") is not None
    for network in made:
        conn.network.delete_network(network)
    assert conn.network.find_network(made[0].name) is None


def test_listed_ports_are_what_their_shows_say_through_the_sdk(cloud: Cloud) -> None:
    """A port (and a network) listing reads addresses, groups and tags (subnets) in the
    page's one statement, with each database's string aggregate: the same as each one's
    own show, paged too."""
    wait_for_network(cloud)
    conn = cloud.sdk()
    net = conn.network.create_network(name=unique("listed"))
    subnets = [conn.network.create_subnet(network_id=net.id, ip_version=4, cidr=cidr)
               for cidr in ("10.61.0.0/24", "10.62.0.0/24")]
    groups = [conn.network.create_security_group(name=unique("g")) for _ in range(2)]
    several = conn.network.create_port(
        network_id=net.id, security_group_ids=[g.id for g in groups],
        fixed_ips=[{"subnet_id": subnets[1].id}, {"subnet_id": subnets[0].id},
                   {"subnet_id": subnets[0].id, "ip_address": "10.61.0.100"}])
    plain = conn.network.create_port(network_id=net.id)
    conn.network.set_tags(plain, ["b", "a"])
    bare = conn.network.create_port(network_id=net.id, port_security_enabled=False,
                                    security_group_ids=[], fixed_ips=[])
    try:
        listed = {p.id: p.to_dict() for p in conn.network.ports(network_id=net.id)}
        paged = {p.id: p.to_dict() for p in conn.network.ports(network_id=net.id, limit=1)}
        # Beside them, the network's DHCP port (the agent makes it with the subnets).
        assert {several.id, plain.id, bare.id} <= set(listed) and paged == listed
        for port_id, item in listed.items():
            assert item == conn.network.get_port(port_id).to_dict(), port_id
        assert [ip["subnet_id"] for ip in listed[several.id]["fixed_ips"]] == [
            subnets[0].id, subnets[0].id, subnets[1].id]
        assert sorted(listed[several.id]["security_group_ids"]) == sorted(
            g.id for g in groups)
        assert listed[plain.id]["tags"] == ["a", "b"]
        assert listed[bare.id]["fixed_ips"] == [] == listed[bare.id]["security_group_ids"]
        # The network's listing reads its subnets the same way.
        (net_listed,) = [n.to_dict() for n in conn.network.networks(name=net.name)]
        assert net_listed == conn.network.get_network(net.id).to_dict()
        assert net_listed["subnet_ids"] == [s.id for s in subnets]
    finally:
        for port in (several, plain, bare):
            conn.network.delete_port(port)
        for group in groups:
            conn.network.delete_security_group(group)
        conn.network.delete_network(net)


def test_sharing_a_network_through_the_cli(cloud: Cloud) -> None:
    wait_for_network(cloud)
    _, owner = member_cloud(cloud, "rbac-owner")
    guest_project, guest = member_cloud(cloud, "rbac-guest")
    net = cloud.osc_json("network", "create", unique("shared-net"), cloud=owner)
    assert net["id"] not in {n["ID"] for n in cloud.osc_json("network", "list", cloud=guest)}
    policy = cloud.osc_json("network", "rbac", "create", "--target-project", guest_project,
                            "--action", "access_as_shared", "--type", "network", net["id"],
                            cloud=owner)
    assert policy["target_project_id"] == guest_project
    seen = cloud.osc_json("network", "show", net["id"], cloud=guest)
    assert seen["shared"] is True
    listed = cloud.osc_json("network", "rbac", "list", cloud=owner)
    assert [p["ID"] for p in listed] == [policy["id"]]
    cloud.osc("network", "rbac", "delete", policy["id"], cloud=owner)
    result = cloud.osc("network", "show", net["id"], cloud=guest, expect_ok=False)
    assert result.returncode != 0
    cloud.osc("network", "delete", net["id"], cloud=owner)


def test_security_groups_and_quotas_through_the_cli(cloud: Cloud) -> None:
    wait_for_network(cloud)
    project, member = member_cloud(cloud, "sg")
    web = cloud.osc_json("security", "group", "create", "web", "--description", "web",
                         cloud=member)
    assert sorted((r["direction"], r["ethertype"]) for r in web["rules"]) == \
        [("egress", "IPv4"), ("egress", "IPv6")]
    rule = cloud.osc_json("security", "group", "rule", "create", "--protocol", "tcp",
                          "--dst-port", "22", "web", cloud=member)
    assert (rule["protocol"], rule["port_range_min"], rule["port_range_max"]) == \
        ("tcp", 22, 22)
    assert rule["direction"] == "ingress" and rule["ether_type"] == "IPv4"
    again = cloud.osc("security", "group", "rule", "create", "--protocol", "tcp",
                      "--dst-port", "22", "web", cloud=member, expect_ok=False)
    assert again.returncode != 0 and "already exists" in again.stderr
    bad = cloud.osc("security", "group", "rule", "create", "--protocol", "tcp",
                    "--dst-port", "99999", "web", cloud=member, expect_ok=False)
    assert bad.returncode != 0
    groups = {g["Name"] for g in cloud.osc_json("security", "group", "list", cloud=member)}
    assert groups == {"default", "web"}
    rules = cloud.osc_json("security", "group", "rule", "list", "web", cloud=member)
    assert len(rules) == 3
    cloud.osc("security", "group", "rule", "delete", rule["id"], cloud=member)
    cloud.osc("security", "group", "delete", "web", cloud=member)

    cloud.osc("quota", "set", "--networks", "7", "--ports", "20", project)
    quota = cloud.osc_json("quota", "show", "--network", project)
    by_resource = {row["Resource"]: row["Limit"] for row in quota} \
        if isinstance(quota, list) else quota
    assert by_resource["networks"] == 7 and by_resource["ports"] == 20
