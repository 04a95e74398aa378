"""Servers with ports through the real `openstack` CLI, on every backend: `--network`,
`--port` and `--nic net-id=...,v4-fixed-ip=...`, the Networks column of `server list`,
and what a delete leaves of the ports (nothing compute made; the user's port, unbound).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from helpers.names import unique
from helpers.process import (
    Cloud,
    make_image,
    wait_for_compute,
    wait_for_image_service,
    wait_until,
)

pytestmark = pytest.mark.functional


@pytest.fixture
def ready(cloud: Cloud) -> Cloud:
    wait_for_compute(cloud)
    wait_for_image_service(cloud)
    wait_until("a compute node", lambda: cloud.osc_json("hypervisor", "list"))
    return cloud


def _addresses(networks: Any, name: str) -> list[str]:
    """The addresses on network ``name`` in a Networks column (a dict in new clients,
    ``net=a, b; net2=c`` text in old ones)."""
    if isinstance(networks, dict):
        return [str(a) for a in networks.get(name, [])]
    for part in str(networks).split(";"):
        label, _, addresses = part.strip().partition("=")
        if label == name:
            return [a.strip() for a in addresses.split(",")]
    return []


def _ports_of(cloud: Cloud, server_id: str) -> list[dict[str, Any]]:
    return list(cloud.osc_json("port", "list", "--device-id", server_id))


def test_servers_on_networks_and_ports(ready: Cloud, tmp_path: Path) -> None:
    cloud = ready
    image = make_image(cloud, tmp_path)
    flavor = unique("m1.nano")
    cloud.osc("flavor", "create", "--vcpus", "1", "--ram", "128", "--disk", "1", flavor)
    net = unique("demo-net")
    network_id = cloud.osc_json("network", "create", net)["id"]
    # Addresses are drawn at random from the pool: the fixed address vm3 asks for
    # (10.0.0.50) lies outside it, so no earlier port can have taken it.
    cloud.osc("subnet", "create", "--network", net, "--subnet-range", "10.0.0.0/24",
              "--allocation-pool", "start=10.0.0.100,end=10.0.0.200", unique("demo-subnet"))
    cloud.osc("subnet", "create", "--network", net, "--ip-version", "6", "--ipv6-ra-mode",
              "slaac", "--ipv6-address-mode", "slaac", "--subnet-range", "fd00:10::/64",
              unique("demo-v6"))

    vm1 = cloud.osc_json("server", "create", "--image", image, "--flavor", flavor,
                         "--network", net, "--wait", unique("vm1"))
    assert vm1["status"] == "ACTIVE"
    listed = {s["ID"]: s for s in cloud.osc_json("server", "list")}
    addresses = _addresses(listed[vm1["id"]]["Networks"], net)
    assert any(a.startswith("10.0.0.") for a in addresses), addresses
    assert any(a.startswith("fd00:10::") for a in addresses), addresses
    (made,) = _ports_of(cloud, vm1["id"])

    port = cloud.osc_json("port", "create", "--network", net, unique("fixed-port"))
    vm2 = cloud.osc_json("server", "create", "--image", image, "--flavor", flavor,
                         "--port", port["id"], "--wait", unique("vm2"))
    assert vm2["status"] == "ACTIVE"
    bound = cloud.osc_json("port", "show", port["id"])
    assert bound["device_id"] == vm2["id"]
    assert bound["binding_host_id"]

    vm3 = cloud.osc_json("server", "create", "--image", image, "--flavor", flavor,
                         "--nic", f"net-id={network_id},v4-fixed-ip=10.0.0.50", "--wait",
                         unique("vm3"))
    shown = cloud.osc_json("server", "show", vm3["id"])
    assert "10.0.0.50" in _addresses(shown["addresses"], net), shown["addresses"]

    for server in (vm1, vm2, vm3):
        cloud.osc("server", "delete", "--wait", server["id"])
    wait_until("vm1's port deleted", lambda: not _ports_of(cloud, vm1["id"]))
    wait_until("vm3's port deleted", lambda: not _ports_of(cloud, vm3["id"]))
    assert made["ID"] not in [p["ID"] for p in cloud.osc_json("port", "list")]
    kept = wait_until("the user's port unbound", lambda: (
        lambda p: p if not p["device_id"] else None)(
            cloud.osc_json("port", "show", port["id"])))
    assert kept["device_owner"] in ("", None)
    assert kept["fixed_ips"] == port["fixed_ips"]
    cloud.osc("port", "delete", port["id"])
    cloud.osc("network", "delete", net)


def _port_ids(cloud: Cloud, server_id: str) -> set[str]:
    return {str(p["ID"]) for p in _ports_of(cloud, server_id)}


def test_interfaces_security_groups_and_floating_ips(ready: Cloud, tmp_path: Path) -> None:
    """The issue's user story from `server create` on: a port attached and detached, a
    network attached, a security group added and removed, and a floating IP through a
    router whose gateway is on the external network."""
    cloud = ready
    image = make_image(cloud, tmp_path)
    flavor = unique("m1.nano")
    cloud.osc("flavor", "create", "--vcpus", "1", "--ram", "128", "--disk", "1", flavor)
    public = unique("public")
    cloud.osc("network", "create", "--external", public)
    cloud.osc("subnet", "create", "--network", public, "--subnet-range", "172.24.4.0/24",
              "--no-dhcp", unique("public-subnet"))
    net, subnet = unique("demo-net"), unique("demo-subnet")
    cloud.osc("network", "create", net)
    # 10.0.0.50, asked for below, outside the pool the DHCP port's address is drawn from
    cloud.osc("subnet", "create", "--network", net, "--subnet-range", "10.0.0.0/24",
              "--allocation-pool", "start=10.0.0.100,end=10.0.0.200", subnet)
    other = unique("other-net")
    cloud.osc("network", "create", other)
    cloud.osc("subnet", "create", "--network", other, "--subnet-range", "10.1.0.0/24",
              unique("other-subnet"))
    router = unique("demo-router")
    cloud.osc("router", "create", router)
    cloud.osc("router", "set", "--external-gateway", public, router)
    cloud.osc("router", "add", "subnet", router, subnet)
    web = unique("web")
    cloud.osc("security", "group", "create", web)
    cloud.osc("security", "group", "rule", "create", "--protocol", "tcp", "--dst-port", "22",
              web)
    port = cloud.osc_json("port", "create", "--network", net, "--fixed-ip",
                          f"subnet={subnet},ip-address=10.0.0.50", unique("fixed-port"))

    vm1 = cloud.osc_json("server", "create", "--image", image, "--flavor", flavor,
                         "--network", net, "--security-group", web, "--wait", unique("vm1"))
    assert vm1["status"] == "ACTIVE"
    (first,) = _port_ids(cloud, vm1["id"])

    # openstack server add port / remove port
    cloud.osc("server", "add", "port", vm1["id"], port["id"])
    assert _port_ids(cloud, vm1["id"]) == {first, port["id"]}
    shown = cloud.osc_json("server", "show", vm1["id"])
    assert "10.0.0.50" in _addresses(shown["addresses"], net), shown["addresses"]
    cloud.osc("server", "remove", "port", vm1["id"], port["id"])
    assert _port_ids(cloud, vm1["id"]) == {first}
    kept = cloud.osc_json("port", "show", port["id"])
    assert not kept["device_id"]

    # openstack server add network: a port compute makes, on that network
    cloud.osc("server", "add", "network", vm1["id"], other)
    added = _port_ids(cloud, vm1["id"]) - {first}
    assert len(added) == 1
    shown = cloud.osc_json("server", "show", vm1["id"])
    assert _addresses(shown["addresses"], other), shown["addresses"]

    # openstack server add / remove security group: on every port of the server
    cloud.osc("server", "add", "security", "group", vm1["id"], "default")
    groups = {g["name"] for g in cloud.osc_json("server", "show", vm1["id"])
              ["security_groups"]}
    assert {web, "default"} <= groups, groups
    cloud.osc("server", "remove", "security", "group", vm1["id"], web)
    groups = {g["name"] for g in cloud.osc_json("server", "show", vm1["id"])
              ["security_groups"]}
    assert web not in groups, groups
    failed = cloud.osc("server", "remove", "security", "group", vm1["id"], web,
                       expect_ok=False)
    assert failed.returncode != 0

    # openstack floating ip create public; openstack server add floating ip vm1 <fip>
    fip = cloud.osc_json("floating", "ip", "create", public)
    address = fip["floating_ip_address"]
    fixed = cloud.osc_json("port", "show", first)["fixed_ips"][0]["ip_address"]
    cloud.osc("server", "add", "floating", "ip", "--fixed-ip-address", fixed, vm1["id"],
              address)
    associated = cloud.osc_json("floating", "ip", "show", fip["id"])
    assert associated["port_id"] == first
    # The server shows it beside the fixed address it maps to, as Nova does:
    # `server list` says demo-net=10.0.0.5, 172.24.4.7.
    listed = wait_until("the floating IP in server list", lambda: (
        lambda row: row if _addresses(row["Networks"], net) == [fixed, address] else None)(
            next(s for s in cloud.osc_json("server", "list") if s["ID"] == vm1["id"])),
        timeout=30)
    if not isinstance(listed["Networks"], dict):
        assert f"{net}={fixed}, {address}" in listed["Networks"]
    shown = cloud.osc_json("server", "show", vm1["id"])
    assert _addresses(shown["addresses"], net) == [fixed, address], shown["addresses"]
    cloud.osc("server", "remove", "floating", "ip", vm1["id"], address)
    assert not cloud.osc_json("floating", "ip", "show", fip["id"])["port_id"]
    wait_until("the floating IP gone from server show", lambda: _addresses(
        cloud.osc_json("server", "show", vm1["id"])["addresses"], net) == [fixed],
        timeout=30)

    cloud.osc("server", "delete", "--wait", vm1["id"])
    wait_until("vm1's ports released", lambda: not _ports_of(cloud, vm1["id"]))
    cloud.osc("floating", "ip", "delete", fip["id"])
    cloud.osc("port", "delete", port["id"])
