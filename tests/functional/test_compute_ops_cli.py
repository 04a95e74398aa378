"""The operator commands through the real `openstack` CLI: services, hypervisors,
availability zones, usage and server groups, at the versions OSC negotiates."""

from __future__ import annotations

import time
from typing import Any

import pytest

from helpers.names import unique
from helpers.process import Cloud

pytestmark = pytest.mark.functional


def wait_for(cloud: Cloud, *args: str, timeout: float = 30.0) -> list[Any]:
    """Poll an `openstack ... list` until it shows something (the node must register)."""
    deadline = time.monotonic() + timeout
    while True:
        listed: list[Any] = cloud.osc_json(*args)
        if listed or time.monotonic() > deadline:
            return listed
        time.sleep(0.2)


def test_services_hypervisors_and_zones(cloud: Cloud) -> None:
    [service] = wait_for(cloud, "compute", "service", "list", "--service", "nova-compute")
    assert (service["State"], service["Status"]) == ("up", "enabled")
    cloud.osc("compute", "service", "set", "--disable", "--disable-reason", "maintenance",
              service["Host"], "nova-compute")
    [service] = cloud.osc_json("compute", "service", "list", "--long")
    assert (service["Status"], service["Disabled Reason"]) == ("disabled", "maintenance")
    [hypervisor] = cloud.osc_json("hypervisor", "list")
    assert hypervisor["State"] == "up"
    cloud.osc("compute", "service", "set", "--enable", service["Host"], "nova-compute")
    zones = cloud.osc_json("availability", "zone", "list", "--compute")
    assert [(z["Zone Name"], z["Zone Status"]) for z in zones] == [("nova", "available")]


def test_usage_and_server_groups(cloud: Cloud) -> None:
    listed = cloud.osc_json("usage", "list")
    assert isinstance(listed, list)
    shown = cloud.osc_json("usage", "show")
    assert isinstance(shown, dict)
    name = unique("g")
    group = cloud.osc_json("server", "group", "create", "--policy", "anti-affinity", name)
    assert (group["name"], group["policy"]) == (name, "anti-affinity")
    assert name in [g["Name"] for g in cloud.osc_json("server", "group", "list")]
    cloud.osc("server", "group", "delete", name)
    assert name not in [g["Name"] for g in cloud.osc_json("server", "group", "list")]
