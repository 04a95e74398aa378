"""Routers and floating IPs through the real `openstack` CLI: the issue's user story, as a
project's member on an external network the admin made."""

from __future__ import annotations

import ipaddress
import json
import subprocess
import sys
from typing import Any

import pytest

from helpers.names import unique
from helpers.process import Cloud, member_cloud, port_overrides, wait_for_network, wait_until

pytestmark = pytest.mark.functional


def ownstack_show(cloud: Cloud, kind: str, name: str) -> dict[str, Any]:
    """``ownstack show <kind> NAME --json`` against the cloud, as its operator runs it."""
    command = [sys.executable, "-m", "ownstack", "--state-dir", str(cloud.state_dir)]
    for item in port_overrides(cloud.port):
        command += ["--set", item]
    done = subprocess.run([*command, "show", kind, name, "--json"], capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    document: dict[str, Any] = json.loads(done.stdout)
    return document


def test_router_and_floating_ip_through_the_cli(cloud: Cloud) -> None:
    wait_for_network(cloud)
    public_name = unique("public")
    public = cloud.osc_json("network", "create", "--external", public_name)
    cloud.osc_json("subnet", "create", "--network", public["id"], "--subnet-range",
                   "172.24.4.0/24", "--no-dhcp", unique("public-subnet"))
    _, alice = member_cloud(cloud, "l3-alice")
    net = cloud.osc_json("network", "create", unique("demo-net"), cloud=alice)
    subnet = cloud.osc_json("subnet", "create", "--network", net["id"], "--subnet-range",
                            "10.0.0.0/24", unique("demo-subnet"), cloud=alice)
    router_name = unique("demo-router")
    router = cloud.osc_json("router", "create", router_name, cloud=alice)
    assert router["status"] == "ACTIVE" and router["external_gateway_info"] is None

    cloud.osc("router", "set", "--external-gateway", public_name, router_name, cloud=alice)
    shown = cloud.osc_json("router", "show", router_name, cloud=alice)
    gateway = shown["external_gateway_info"]
    assert gateway["network_id"] == public["id"] and gateway["enable_snat"] is True
    [gw_ip] = gateway["external_fixed_ips"]
    assert ipaddress.ip_address(gw_ip["ip_address"]) in ipaddress.ip_network("172.24.4.0/24")

    cloud.osc("router", "add", "subnet", router_name, subnet["id"], cloud=alice)
    ports = cloud.osc_json("port", "list", "--router", router_name, cloud=alice)
    assert [p["Fixed IP Addresses"][0]["ip_address"] for p in ports] == ["10.0.0.1"]
    # The network agent hosts the router: its legs are bound to the agent's host and go
    # ACTIVE once the router is made there (the gateway port is the admin's to see).
    wait_until("the router's interface ACTIVE", lambda: cloud.osc_json(
        "port", "list", "--router", router_name, cloud=alice)[0]["Status"] == "ACTIVE",
        timeout=30)
    legs = cloud.osc_json("port", "list", "--router", router_name, "--long")
    assert {p["Status"] for p in legs} == {"ACTIVE"} and len(legs) == 2
    shown = ownstack_show(cloud, "router", router["id"])
    assert shown["router"]["id"] == router["id"] and shown["error"] is None
    assert shown["host"]["namespace"] == f"qrouter-{router['id']}"
    assert shown["bound_to"] == cloud.osc_json("network", "agent", "list")[0]["Host"]

    cloud.osc("router", "set", "--route", "destination=192.168.50.0/24,gateway=10.0.0.20",
              router_name, cloud=alice)
    routes = cloud.osc_json("router", "show", router_name, cloud=alice)["routes"]
    assert routes == [{"destination": "192.168.50.0/24", "nexthop": "10.0.0.20"}]
    cloud.osc("router", "unset", "--route", "destination=192.168.50.0/24,gateway=10.0.0.20",
              router_name, cloud=alice)
    assert cloud.osc_json("router", "show", router_name, cloud=alice)["routes"] == []

    port = cloud.osc_json("port", "create", "--network", net["id"], unique("vm-port"),
                          cloud=alice)
    unbound = ownstack_show(cloud, "port", port["id"])
    assert unbound["host"] is None and unbound["bound_to"] is None
    agent_host = cloud.osc_json("network", "agent", "list")[0]["Host"]
    cloud.osc("port", "set", "--host", agent_host, port["id"])
    wait_until("the port ACTIVE", lambda: cloud.osc_json(
        "port", "show", port["id"])["status"] == "ACTIVE", timeout=30)
    bound = ownstack_show(cloud, "port", port["id"])
    assert bound["host"]["tap"] == "tap" + port["id"][:11] and bound["bound_to"] == agent_host
    network = ownstack_show(cloud, "network", net["id"])
    assert network["dhcp_host"] == agent_host                  # demo-subnet has DHCP
    objects = network["hosts"][agent_host]["objects"]
    assert objects["bridge"]["bridge"] == "brq" + net["id"][:11]
    assert objects["dhcp"]["namespace"] == f"qdhcp-{net['id']}"
    fip = cloud.osc_json("floating", "ip", "create", public_name, cloud=alice)
    address = fip["floating_ip_address"]
    assert ipaddress.ip_address(address) in ipaddress.ip_network("172.24.4.0/24")
    assert fip["status"] == "DOWN" and fip["port_id"] is None

    cloud.osc("floating", "ip", "set", "--port", port["id"], address, cloud=alice)
    shown = cloud.osc_json("floating", "ip", "show", address, cloud=alice)
    assert shown["port_id"] == port["id"] and shown["router_id"] == router["id"]
    # ACTIVE once the router's host has its NAT (the agent's report, never the API's)
    wait_until("the floating IP ACTIVE", lambda: cloud.osc_json(
        "floating", "ip", "show", address, cloud=alice)["status"] == "ACTIVE", timeout=30)
    assert shown["fixed_ip_address"] == port["fixed_ips"][0]["ip_address"]
    # The interface is needed while the floating IP maps through it.
    result = cloud.osc("router", "remove", "subnet", router_name, subnet["id"], cloud=alice,
                       expect_ok=False)
    assert result.returncode != 0 and "floating IP" in result.stderr

    cloud.osc("floating", "ip", "unset", "--port", address, cloud=alice)
    shown = cloud.osc_json("floating", "ip", "show", address, cloud=alice)
    assert shown["port_id"] is None and shown["router_id"] is None and \
        shown["status"] == "DOWN"

    cloud.osc("router", "remove", "subnet", router_name, subnet["id"], cloud=alice)
    assert cloud.osc_json("port", "list", "--router", router_name, cloud=alice) == []
    cloud.osc("floating", "ip", "delete", address, cloud=alice)
    cloud.osc("router", "delete", router_name, cloud=alice)
    cloud.osc("port", "delete", port["id"], cloud=alice)
    cloud.osc("network", "delete", net["id"], cloud=alice)
    cloud.osc("network", "delete", public["id"])
