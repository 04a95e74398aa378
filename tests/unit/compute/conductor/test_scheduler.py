"""The scheduler's pure parts: request specs, capability matching, filters, weighers."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

import pytest

from ownstack.common.db.base import utcnow
from ownstack.compute.conductor.scheduler.filters import (
    ComputeFilter,
    ImagePropertiesFilter,
    match_capability,
    version_matches,
)
from ownstack.compute.conductor.scheduler.hosts import HostState
from ownstack.compute.conductor.scheduler.request_spec import (
    GroupInfo,
    RequestSpec,
    image_properties,
    requested_resources,
    trait_constraints,
)
from ownstack.compute.conductor.scheduler.scheduler import (
    NoValidHost,
    filter_hosts,
    select_hosts,
)
from ownstack.compute.conductor.scheduler.weighers import (
    default_weighers,
    normalize,
    weigh_hosts,
)


def host(node: str, **fields: Any) -> HostState:
    values: dict[str, Any] = {
        "node_uuid": f"uuid-{node}", "node": node, "host": node, "availability_zone": "nova",
        "service_disabled": False, "disabled_reason": None, "forced_down": False,
        "last_seen_up": utcnow(), "hypervisor_type": "QEMU", "hypervisor_version": 8002001,
        "vcpus": 8, "memory_mb": 16384, "local_gb": 100, "host_ip": None, "cpu_info": {}}
    values.update(fields)
    return HostState(**values)


def spec(**fields: Any) -> RequestSpec:
    values: dict[str, Any] = {
        "instance_uuid": "i-1", "project_id": "p", "user_id": "u",
        "resources": {"VCPU": 1, "MEMORY_MB": 512}, "required_traits": frozenset(),
        "forbidden_traits": frozenset(), "availability_zone": None, "forced_host": None,
        "image_props": {}, "extra_specs": {}, "ignore_hosts": frozenset()}
    values.update(fields)
    return RequestSpec(**values)


def test_requested_resources_follow_nova() -> None:
    flavor = {"vcpus": 2, "ram": 1024, "disk": 10, "ephemeral": 5, "swap": 1025,
              "extra_specs": {"resources:CUSTOM_GPU": "1", "resources:VCPU": "0"}}
    assert requested_resources(flavor) == {"MEMORY_MB": 1024, "DISK_GB": 17, "CUSTOM_GPU": 1}
    assert requested_resources({"vcpus": 1, "ram": 64, "disk": 0}) == {
        "VCPU": 1, "MEMORY_MB": 64}


def test_traits_from_flavor_and_image() -> None:
    required, forbidden = trait_constraints(
        {"trait:HW_CPU_X86_AVX2": "required", "trait:CUSTOM_SLOW": "forbidden", "hw:x": "1"},
        {"trait:CUSTOM_FAST": "required"})
    assert required == {"HW_CPU_X86_AVX2", "CUSTOM_FAST"} and forbidden == {"CUSTOM_SLOW"}
    s = spec(required_traits=required, forbidden_traits=forbidden,
             resources={"VCPU": 4, "MEMORY_MB": 99999, "DISK_GB": 1})
    assert s.placement_query() == {
        "resources": "VCPU:4,MEMORY_MB:99999,DISK_GB:1", "limit": "1000",
        "required": "CUSTOM_FAST,HW_CPU_X86_AVX2,!CUSTOM_SLOW"}
    assert image_properties({"min_ram": 0, "properties": {"hw_architecture": "x86_64"}}) == {
        "min_ram": 0, "hw_architecture": "x86_64"}


@pytest.mark.parametrize(("value", "requirement", "expected"), [
    ("QEMU", "QEMU", True), ("QEMU", "KVM", False), (None, "QEMU", False),
    (8, "= 4", True), (2, "= 4", False), (4, "== 4", True), (5, "== 4", False),
    (5, "!= 4", True), (4, ">= 4", True), (3, "<= 4", True), (5, "<= 4", False),
    ("QEMU", "s== QEMU", True), ("qemu", "s== QEMU", False), ("a", "s!= b", True),
    ("abc", "s< abd", True), ("b", "s> a", True), ("b", "s>= b", True), ("a", "s<= a", True),
    ("sse avx2 aes", "<in> avx2", True), ("sse", "<in> avx2", False),
    ("sse avx2 aes", "<all-in> avx2 aes", True), ("sse avx2", "<all-in> avx2 aes", False),
    ("kvm", "<or> qemu <or> kvm", True), ("xen", "<or> qemu <or> kvm", False),
    ("not-a-number", "= 4", False), (4, "=", False)])
def test_capability_operators(value: Any, requirement: str, expected: bool) -> None:
    assert match_capability(value, requirement) is expected


@pytest.mark.parametrize(("predicate", "expected"), [
    (">=8.0", True), (">= 8.2.1", True), ("<8.0", False), ("8.2", True), ("==9", False),
    ("nonsense", False)])
def test_requested_hypervisor_version(predicate: str, expected: bool) -> None:
    assert version_matches(8002001, predicate) is expected


def test_compute_filter_reasons() -> None:
    now = utcnow()
    check = ComputeFilter(now, service_down_time=60)
    assert check.reject(host("a"), spec()) is None
    assert check.reject(host("a", service_disabled=True), spec()) == "service disabled"
    assert check.reject(host("a", forced_down=True), spec()) == "service forced down"
    assert check.reject(host("a", last_seen_up=now - timedelta(seconds=61)), spec()) == \
        "service down"
    assert check.reject(host("a", last_seen_up=None), spec()) == "service down"


def test_image_properties_filter() -> None:
    check = ImagePropertiesFilter()
    qemu, fake = host("q"), host("f", hypervisor_type="fake")
    assert check.reject(qemu, spec(image_props={"img_hv_type": "kvm"})) is None
    assert check.reject(fake, spec(image_props={"img_hv_type": "kvm"})) == \
        "image wants hypervisor kvm, host has fake"
    assert check.reject(qemu, spec(image_props={"hw_architecture": "amd64"})) is None
    assert check.reject(qemu, spec(image_props={"hw_architecture": "aarch64"})) == \
        "image wants architecture aarch64, host has x86_64"
    arm = host("arm", cpu_info={"arch": "aarch64"})
    assert check.reject(arm, spec(image_props={"architecture": "arm64"})) is None
    assert check.reject(qemu, spec(image_props={"hw_vm_mode": "xen"})) is not None
    assert check.reject(qemu, spec(image_props={"img_hv_requested_version": ">=9.0"})) == \
        "image wants hypervisor version >=9.0, host has 8.2.1"


def test_filter_report_says_who_rejected_what() -> None:
    now = utcnow()
    hosts = [host("a", service_disabled=True), host("b", availability_zone="az2"),
             host("c", availability_zone="az2")]
    from ownstack.compute.conductor.scheduler.filters import default_filters

    passed, report = filter_hosts(hosts, spec(availability_zone="az1"),
                                  default_filters(now, 60))
    assert passed == []
    assert report.summary() == "3 hosts: AvailabilityZoneFilter rejected 3 (zone az1 wanted)"
    passed, report = filter_hosts(hosts, spec(), default_filters(now, 60))
    assert [h.node for h in passed] == ["b", "c"]
    assert report.summary() == "3 hosts: ComputeFilter rejected 1 (service disabled)"
    mixed = [host("a", service_disabled=True), host("b", forced_down=True),
             host("c", service_disabled=True)]
    _, report = filter_hosts(mixed, spec(), default_filters(now, 60))
    assert report.summary() == ("3 hosts: ComputeFilter rejected 3 (2 service disabled, "
                                "1 service forced down)")
    assert report.details().startswith("a: ComputeFilter: service disabled")


def test_group_filters() -> None:
    now = utcnow()
    from ownstack.compute.conductor.scheduler.filters import default_filters

    anti = GroupInfo(uuid="g", policy="anti-affinity", rules={}, hosts=Counter({"a": 1}))
    passed, report = filter_hosts([host("a"), host("b")], spec(group=anti),
                                  default_filters(now, 60))
    assert [h.node for h in passed] == ["b"]
    two = GroupInfo(uuid="g", policy="anti-affinity", rules={"max_server_per_host": 2},
                    hosts=Counter({"a": 1}))
    passed, _ = filter_hosts([host("a"), host("b")], spec(group=two), default_filters(now, 60))
    assert [h.node for h in passed] == ["a", "b"]
    near = GroupInfo(uuid="g", policy="affinity", rules={}, hosts=Counter({"b": 2}))
    passed, report = filter_hosts([host("a"), host("b")], spec(group=near),
                                  default_filters(now, 60))
    assert [h.node for h in passed] == ["b"]
    assert "ServerGroupAffinityFilter rejected 1 (affinity group g is on b)" in report.summary()
    first = GroupInfo(uuid="g", policy="affinity", rules={})
    passed, _ = filter_hosts([host("a"), host("b")], spec(group=first),
                             default_filters(now, 60))
    assert len(passed) == 2


def test_normalize_like_nova() -> None:
    assert normalize([]) == []
    assert normalize([5.0, 5.0]) == [0.0, 0.0]
    assert normalize([0.0, 5.0, 10.0]) == [0.0, 0.5, 1.0]


def test_weighers_spread_by_free_ram_and_honour_soft_groups() -> None:
    a, b, c = host("a"), host("b"), host("c")
    a.resources = {"MEMORY_MB": (16384, 8192), "VCPU": (32, 2)}
    b.resources = {"MEMORY_MB": (16384, 0), "VCPU": (32, 2)}
    c.resources = {"MEMORY_MB": (16384, 4096), "VCPU": (32, 2)}
    assert [h.node for h in weigh_hosts([a, b, c], spec(), default_weighers())] == \
        ["b", "c", "a"]
    for h in (a, b, c):
        h.resources = {"MEMORY_MB": (16384, 0), "VCPU": (32, 0)}
    near = GroupInfo(uuid="g", policy="soft-affinity", rules={}, hosts=Counter({"c": 1}))
    assert weigh_hosts([a, b, c], spec(group=near), default_weighers())[0].node == "c"
    apart = GroupInfo(uuid="g", policy="soft-anti-affinity", rules={},
                      hosts=Counter({"a": 2, "b": 1}))
    assert [h.node for h in weigh_hosts([a, b, c], spec(group=apart), default_weighers())
            ] == ["c", "b", "a"]


def test_select_hosts_explains_empty_answers() -> None:
    s = spec(resources={"VCPU": 4, "MEMORY_MB": 99999, "DISK_GB": 1})
    with pytest.raises(NoValidHost) as empty:
        select_hosts(s, {"allocation_requests": [], "provider_summaries": {}}, {}, [], [])
    assert empty.value.reason == ("There are not enough hosts available. Placement found 0 "
                                  "candidates for VCPU:4, MEMORY_MB:99999, DISK_GB:1.")
    foreign = {"allocation_requests": [{"allocations": {"rp-x": {"resources": {"VCPU": 4}}}}],
               "provider_summaries": {}}
    with pytest.raises(NoValidHost) as unknown:
        select_hosts(s, foreign, {}, [], [])
    assert "none is a registered compute node" in unknown.value.reason
