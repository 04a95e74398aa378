"""block_device_mapping_v2 read and checked with no I/O (ownstack.compute.block_device), and
what a volume-backed server asks of Placement."""

from __future__ import annotations

from typing import Any

import pytest

from ownstack.compute.block_device import (
    MAX_DISK_DEVICES,
    BootSequenceInvalid,
    InvalidBDM,
    TooManyDiskDevices,
    device_names,
    parse,
)
from ownstack.compute.conductor.scheduler.request_spec import requested_resources

IMAGE = "5f2d6e8a-8e4c-4c33-9f49-7f0c5a8e1f03"
VOLUME = "0a5a1f4e-7d0e-4c8a-a1f6-0e1f6c2d5b11"


def vol(boot_index: Any = 0, **extra: Any) -> dict[str, Any]:
    return {"source_type": "volume", "destination_type": "volume", "uuid": VOLUME,
            "boot_index": boot_index, **extra}


def test_a_volume_root_is_volume_backed_and_first() -> None:
    data = {**vol(None), "uuid": IMAGE}
    request = parse([data, vol("0", delete_on_termination="true")], image_ref=None,
                    max_count=1)
    assert request.volume_backed and request.root is not None
    assert request.root.delete_on_termination is True
    assert [m.boot_index for m in request.volumes] == [0, None]


def test_the_image_to_local_root_osc_sends_is_an_image_boot() -> None:
    request = parse([{"source_type": "image", "destination_type": "local", "boot_index": 0,
                      "uuid": IMAGE, "delete_on_termination": True}], image_ref=None,
                    max_count=3)
    assert not request.volume_backed and request.image_boot_id == IMAGE
    assert request.volumes == []


def test_image_ref_with_data_volumes_only_implies_the_image_root() -> None:
    request = parse([vol(None)], image_ref=IMAGE, max_count=1)
    assert not request.volume_backed and [m.uuid for m in request.volumes] == [VOLUME]
    with pytest.raises(BootSequenceInvalid):
        parse([vol(None)], image_ref=None, max_count=1)
    with pytest.raises(BootSequenceInvalid):
        parse([vol(1)], image_ref=IMAGE, max_count=1)
    # A negative index is not bootable, as None.
    assert parse([vol(-1), vol(0)], image_ref=None, max_count=1).root is not None


def test_boot_index_that_is_no_number_is_invalid() -> None:
    with pytest.raises(InvalidBDM, match=r"Boot index is invalid\."):
        parse([vol("first")], image_ref=None, max_count=1)


def test_too_many_disks_is_nova_403() -> None:
    many = [vol(0)] + [vol(None)] * MAX_DISK_DEVICES
    with pytest.raises(TooManyDiskDevices) as caught:
        parse(many, image_ref=None, max_count=1)
    assert caught.value.status == 403


def test_no_device_entries_are_dropped() -> None:
    assert parse([vol(0), {"no_device": True, "device_name": "vdb"}], image_ref=None,
                 max_count=1).volumes[0].uuid == VOLUME


def test_device_names_follow_the_root_and_the_config_drive() -> None:
    request = parse([vol(0), vol(None), vol(None)], image_ref=None, max_count=1)
    assert device_names(request.volumes, config_drive=False) == [
        "/dev/vda", "/dev/vdb", "/dev/vdc"]
    assert device_names(request.volumes, config_drive=True) == [
        "/dev/vda", "/dev/vdc", "/dev/vdd"]
    data_only = parse([vol(None)], image_ref=IMAGE, max_count=1)
    assert device_names(data_only.volumes, config_drive=False) == ["/dev/vdb"]


def test_a_volume_backed_root_claims_no_disk() -> None:
    flavor = {"vcpus": 1, "ram": 256, "disk": 10, "ephemeral": 2, "swap": 512}
    assert requested_resources(flavor) == {"VCPU": 1, "MEMORY_MB": 256, "DISK_GB": 13}
    assert requested_resources(flavor, volume_backed=True) == {
        "VCPU": 1, "MEMORY_MB": 256, "DISK_GB": 3}
    assert "DISK_GB" not in requested_resources({**flavor, "ephemeral": 0, "swap": 0},
                                                volume_backed=True)
