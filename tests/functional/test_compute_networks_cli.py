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
    cloud.osc("subnet", "create", "--network", net, "--subnet-range", "10.0.0.0/24",
              unique("demo-subnet"))
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
