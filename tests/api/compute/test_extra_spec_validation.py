"""Flavor extra specs are validated from 2.86: known namespaces strictly, others not."""

from __future__ import annotations

import pytest

from helpers.compute import make_flavor, version
from helpers.inprocess import ServiceClient
from ownstack.compute.api.schemas import extra_specs_registry
from ownstack.compute.errors import InvalidExtraSpec

VALID = {
    "hw:cpu_policy": "dedicated", "hw:cpu_thread_policy": "isolate", "hw:numa_nodes": "2",
    "hw:numa_cpus.0": "0-1,^1", "hw:numa_mem.1": "512", "hw:mem_page_size": "2MB",
    "hw:cpu_sockets": 2, "hw:watchdog_action": "reset", "hw_rng:allowed": "True",
    "hw_rng:rate_bytes": "1024", "hw_video:ram_max_mb": "64", "quota:cpu_shares": "100",
    "quota:disk_read_bytes_sec": "10240", "resources:VCPU": "2",
    "resources1:CUSTOM_GPU": "1", "trait:HW_CPU_X86_AVX2": "required",
    "trait_group-2:CUSTOM_FAST": "forbidden", "group_policy": "isolate",
    "capabilities:hypervisor_type": "s== QEMU", "capabilities:cpu_info:arch": "x86_64",
    "aggregate_instance_extra_specs:ssd": "true", "hide_hypervisor_id": True,
    "os:secure_boot": "required", "pci_passthrough:alias": "a1:2",
    # Namespaces the registry does not know, and keys without one, pass as given.
    "acme:anything": "at all", "vmware:hw_version": "vmx-13", "plain_key": "x",
}
INVALID = {
    "hw:cpu_policy": "sometimes",            # not one of the enum
    "hw:numa_nodes": "0",                    # below the minimum
    "hw:cpu_cores": "two",                   # not an integer
    "hw:boot_menu": "maybe",                 # not a boolean
    "hw:mem_page_size": "huge",              # not of the format
    "hw:no_such_key": "1",                   # unknown key in a known namespace
    "trait:NOT_A_TRAIT": "required",         # not a standard trait nor CUSTOM_
    "trait:CUSTOM_X": "preferred",           # neither required nor forbidden
    "resources:VCPU": "lots",
    "resources:FOO": "1",
    "quota:cpu_shares": "-1",
    "capabilities:bogus": "1",
    "group_policy": "spread",
}


async def test_valid_specs_are_stored_from_286(compute: ServiceClient) -> None:
    flavor = await make_flavor(compute)
    path = f"/v2.1/flavors/{flavor['id']}/os-extra_specs"
    r = await compute.call("POST", path, expect=200, headers=version("2.86"),
                           json={"extra_specs": VALID})
    assert r.json() == {"extra_specs": VALID}
    stored = (await compute.call("GET", path, expect=200)).json()["extra_specs"]
    assert stored["hw:cpu_sockets"] == "2" and stored["hide_hypervisor_id"] == "True"
    assert set(stored) == set(VALID)


async def test_invalid_specs_are_400_from_286_and_stored_before(
        compute: ServiceClient) -> None:
    for key, value in INVALID.items():
        flavor = await make_flavor(compute)
        path = f"/v2.1/flavors/{flavor['id']}/os-extra_specs"
        r = await compute.call("POST", path, headers=version("2.86"),
                               json={"extra_specs": {key: value}})
        assert r.status_code == 400, key
        assert r.json()["badRequest"]["message"].startswith("Validation failed; ")
        r = await compute.call("PUT", f"{path}/{key}", headers=version("2.96"),
                               json={key: value})
        assert r.status_code == 400, key
        assert (await compute.call("GET", path)).json()["extra_specs"] == {}
        await compute.call("POST", path, expect=200, headers=version("2.85"),
                           json={"extra_specs": {key: value}})
        await compute.call("PUT", f"{path}/{key}", expect=200, headers=version("2.85"),
                           json={key: value})
        assert (await compute.call("GET", path)).json()["extra_specs"] == {key: value}


async def test_one_bad_spec_rejects_the_whole_request(compute: ServiceClient) -> None:
    flavor = await make_flavor(compute)
    path = f"/v2.1/flavors/{flavor['id']}/os-extra_specs"
    r = await compute.call("POST", path, expect=400, headers=version("2.86"), json={
        "extra_specs": {"hw:cpu_policy": "shared", "hw:unknown": "1"}})
    assert r.json()["badRequest"]["message"] == (
        "Validation failed; extra spec 'hw:unknown' does not appear to be a valid extra "
        "spec.")
    assert (await compute.call("GET", path)).json()["extra_specs"] == {}


async def test_values_longer_than_255_are_400_at_any_version(compute: ServiceClient) -> None:
    flavor = await make_flavor(compute)
    path = f"/v2.1/flavors/{flavor['id']}/os-extra_specs"
    await compute.call("POST", path, expect=400, json={"extra_specs": {"n": 10 ** 300}})


def test_messages_name_the_rule() -> None:
    with pytest.raises(InvalidExtraSpec, match="is not one of: dedicated, shared, mixed"):
        extra_specs_registry.validate("hw:cpu_policy", "x")
    with pytest.raises(InvalidExtraSpec, match="less than the min value of '1'"):
        extra_specs_registry.validate("hw:numa_mem.0", "0")
    extra_specs_registry.validate("hw:numa_mem.0", "1024")
    extra_specs_registry.validate("unknownns:whatever", "x")
