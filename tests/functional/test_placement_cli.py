"""Placement through the real `openstack` CLI and its osc-placement plugin.

osc-placement finds Placement in the catalog, negotiates its microversion from ``GET /``,
and speaks the microversion each command needs (``--os-placement-api-version``).
"""

from __future__ import annotations

import uuid

import pytest

from helpers.names import unique
from helpers.process import Cloud, wait_for_placement

pytestmark = pytest.mark.functional

LATEST = ("--os-placement-api-version", "1.39")


def test_provider_inventory_traits_candidates_and_usage(cloud: Cloud) -> None:
    wait_for_placement(cloud)
    name = unique("cli-cn")
    rp = cloud.osc_json("resource", "provider", "create", name, *LATEST)
    assert rp["name"] == name and rp["generation"] == 0
    listed = cloud.osc_json("resource", "provider", "list", "--name", name)
    assert [p["uuid"] for p in listed] == [rp["uuid"]]

    cloud.osc("resource", "provider", "inventory", "set", rp["uuid"],
              "--resource", "VCPU=4", "--resource", "MEMORY_MB=2048",
              "--resource", "VCPU:allocation_ratio=2.0", "--resource", "DISK_GB=10")
    inventory = {row["resource_class"]: row for row in cloud.osc_json(
        "resource", "provider", "inventory", "list", rp["uuid"])}
    assert inventory["VCPU"]["total"] == 4 and inventory["VCPU"]["allocation_ratio"] == 2.0
    assert inventory["MEMORY_MB"]["total"] == 2048

    custom = f"CUSTOM_{uuid.uuid4().hex[:8].upper()}"
    cloud.osc("resource", "class", "create", custom, *LATEST)
    assert custom in [c["name"] for c in cloud.osc_json("resource", "class", "list", *LATEST)]

    trait = f"CUSTOM_FAST_{uuid.uuid4().hex[:6].upper()}"
    cloud.osc("trait", "create", trait, *LATEST)
    assert trait in [t["name"] for t in cloud.osc_json("trait", "list", *LATEST)]
    cloud.osc("resource", "provider", "trait", "set", rp["uuid"], "--trait", trait,
              "--trait", "HW_CPU_X86_AVX2", *LATEST)
    traits = cloud.osc_json("resource", "provider", "trait", "list", rp["uuid"], *LATEST)
    assert sorted(t["name"] for t in traits) == sorted([trait, "HW_CPU_X86_AVX2"])

    candidates = cloud.osc_json("allocation", "candidate", "list", "--resource", "VCPU=1",
                                "--required", trait, *LATEST)
    assert [c["resource provider"] for c in candidates] == [rp["uuid"]]
    assert candidates[0]["allocation"] == "VCPU=1"

    consumer = str(uuid.uuid4())
    cloud.osc("resource", "provider", "allocation", "set", consumer,
              "--allocation", f"rp={rp['uuid']},VCPU=3,MEMORY_MB=512",
              "--project-id", "p1", "--user-id", "u1", "--consumer-type", "INSTANCE", *LATEST)
    usage = {row["resource_class"]: row["usage"] for row in cloud.osc_json(
        "resource", "provider", "usage", "show", rp["uuid"])}
    assert usage == {"VCPU": 3, "MEMORY_MB": 512, "DISK_GB": 0}

    # Capacity is enforced: 8 VCPU at ratio 2.0, 3 used, 6 more do not fit.
    over = cloud.osc("resource", "provider", "allocation", "set", str(uuid.uuid4()),
                     "--allocation", f"rp={rp['uuid']},VCPU=6",
                     "--project-id", "p1", "--user-id", "u1", "--consumer-type", "INSTANCE",
                     *LATEST, expect_ok=False)
    assert over.returncode != 0 and "exceed the capacity" in over.stderr

    cloud.osc("resource", "provider", "allocation", "delete", consumer)
    cloud.osc("resource", "provider", "delete", rp["uuid"])
    assert cloud.osc_json("resource", "provider", "list", "--name", name) == []
