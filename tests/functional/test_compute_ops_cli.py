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
    [service] = cloud.osc_json("compute", "service", "list", "--long", "--service",
                               "nova-compute")
    assert (service["Status"], service["Disabled Reason"]) == ("disabled", "maintenance")
    # The conductor and the scheduler it runs are services of their own, as Nova's.
    internal = cloud.osc_json("compute", "service", "list", "--host", service["Host"])
    assert {(s["Binary"], s["Zone"], s["State"]) for s in internal} >= {
        ("nova-conductor", "internal", "up"), ("nova-scheduler", "internal", "up")}
    [hypervisor] = cloud.osc_json("hypervisor", "list")
    assert hypervisor["State"] == "up"
    cloud.osc("compute", "service", "set", "--enable", service["Host"], "nova-compute")
    zones = cloud.osc_json("availability", "zone", "list", "--compute")
    assert {(z["Zone Name"], z["Zone Status"]) for z in zones} == {("nova", "available"),
                                                                   ("internal", "available")}


def test_deprecated_host_commands(cloud: Cloud) -> None:
    """`openstack host ...`: Nova's os-hosts, which OSC asks at 2.1."""
    [service] = wait_for(cloud, "compute", "service", "list", "--service", "nova-compute")
    host = service["Host"]
    listed = cloud.osc_json("host", "list")
    assert {"Host Name": host, "Service": "compute", "Zone": "nova"} in listed
    assert {"Host Name": host, "Service": "scheduler", "Zone": "internal"} in listed
    shown = cloud.osc_json("host", "show", host)
    assert [(row["Host"], row["Project"]) for row in shown[:3]] == [
        (host, "(total)"), (host, "(used_now)"), (host, "(used_max)")]
    assert shown[0]["CPU"] > 0 and shown[0]["Memory MB"] > 0 and shown[0]["Disk GB"] > 0
    cloud.osc("host", "set", "--disable", host)
    [service] = cloud.osc_json("compute", "service", "list", "--service", "nova-compute")
    assert service["Status"] == "disabled"
    assert "compute" not in [h["Service"] for h in cloud.osc_json("host", "list")]
    failed = cloud.osc("host", "set", "--enable", "--enable-maintenance", host,
                       expect_ok=False)
    assert failed.returncode != 0 and "not supported" in failed.stderr, failed.stderr
    [service] = cloud.osc_json("compute", "service", "list", "--service", "nova-compute")
    assert service["Status"] == "disabled"          # the 501 changed nothing
    cloud.osc("host", "set", "--enable", host)
    [service] = cloud.osc_json("compute", "service", "list", "--service", "nova-compute")
    assert service["Status"] == "enabled"


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
