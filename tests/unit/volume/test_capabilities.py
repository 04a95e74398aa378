"""Cinder's capabilities filter and extra-spec operators, as ownstack's scheduler
applies them to a volume type's extra specs."""

from __future__ import annotations

from typing import Any

import pytest

from ownstack.volume.objects.capabilities import matches, unmet

CAPABILITIES: dict[str, Any] = {
    "volume_backend_name": "file", "storage_protocol": "file", "multiattach": True,
    "free_capacity_gb": 120, "driver_version": "1.0", "nested": {"speed": "fast"},
    "protocols": ["nbd", "file"]}


@pytest.mark.parametrize(("value", "requirement", "expected"), [
    ("file", "file", True), ("file", "lvm", False), (True, "True", False),
    (True, "<is> True", True), (True, "<is> False", False), ("false", "<is> False", True),
    (120, "= 100", True), (120, "= 200", False), (120, ">= 120", True),
    (120, "<= 119", False), (120, "== 120", True), (120, "!= 120", False),
    ("file", "<in> fi", True), ("file", "<in> lvm", False),
    ("1.0", "<or> 0.9 <or> 1.0", True), ("2.0", "<or> 0.9 <or> 1.0", False),
    ("b", "s== b", True), ("b", "s!= b", False), ("b", "s< c", True), ("b", "s>= c", False),
    ("abc", "= 1", False),                                  # not a number: no match
    (None, "<is> True", False), (None, "s== a", False),
])
def test_operators(value: Any, requirement: str, expected: bool) -> None:
    assert matches(value, requirement) is expected


def test_specs_are_matched_as_cinders_capabilities_filter() -> None:
    assert unmet({}, CAPABILITIES) is None
    assert unmet({"volume_backend_name": "file", "multiattach": "<is> True",
                  "capabilities:storage_protocol": "file",
                  "capabilities:nested:speed": "fast", "protocols": "nbd"},
                 CAPABILITIES) is None
    # Other scopes ask nothing of the backend.
    assert unmet({"RESKEY:availability_zones": "az9", "qos:iops": "1",
                  "provisioning:type": "thin", "vendor:anything": "x"}, CAPABILITIES) is None
    assert unmet({"volume_backend_name": "lvm"}, CAPABILITIES) == "volume_backend_name=lvm"
    assert unmet({"vendor_name": "x"}, CAPABILITIES) == "vendor_name=x"    # not reported
    assert unmet({"capabilities:nested:colour": "red"}, CAPABILITIES) == \
        "capabilities:nested:colour=red"
    assert unmet({"capabilities:storage_protocol:deeper": "x"}, CAPABILITIES) == \
        "capabilities:storage_protocol:deeper=x"
    # A scope of its own (not capabilities:) is a vendor's: ignored, as in Cinder.
    assert unmet({"nested:colour": "red"}, CAPABILITIES) is None
