"""The metadata documents, checked against what Nova writes and what cloud-init reads."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ownstack.compute.drivers.base import GuestSpec, ImageRef, NicSpec
from ownstack.compute.drivers.metadata import config_drive_files, instance_metadata
from ownstack.compute.metadata.documents import (
    OPENSTACK_VERSIONS,
    ec2_document,
    ec2_instance_id,
    openstack_document,
    openstack_versions,
)

UUID = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOwnstackTestKey user@host"
NICS = (NicSpec(port_id="port-a", mac="fa:16:3e:00:00:01", tap_name="tapport-a",
                bridge="brq1", mtu=1450),
        NicSpec(port_id="port-b", mac="fa:16:3e:00:00:02", tap_name="tapport-b",
                bridge="brq2"))


def make_spec(**overrides: Any) -> GuestSpec:
    fields: dict[str, Any] = {
        "uuid": UUID, "name": "web 1", "hostname": "web-1", "vcpus": 1, "memory_mb": 128,
        "root_gb": 1, "image": ImageRef("img", Path("/nonexistent"), "qcow2"),
        "config_drive": True, "project_id": "p1", "availability_zone": "nova",
        "launch_index": 2, "key_name": "mykey", "key_data": KEY,
        "user_data": b"#cloud-config\nhostname: web-1\n\xff binary ok",
        "admin_pass": "s3cret", "metadata": {"role": "web", "tier": "fr\u00e9"},
    }
    fields.update(overrides)
    return GuestSpec(**fields)


def load(files: dict[str, bytes], path: str) -> Any:
    return json.loads(files[path])


def test_layout_matches_novas_config_drive() -> None:
    files = config_drive_files(make_spec(nics=NICS))
    expected = {"ec2/2009-04-04/meta-data.json", "ec2/2009-04-04/user-data",
                "ec2/latest/meta-data.json", "ec2/latest/user-data"}
    for version in [*OPENSTACK_VERSIONS, "latest"]:
        names = ["meta_data.json", "user_data"]
        if version >= "2013-10-17":
            names.append("vendor_data.json")
        if version >= "2015-10-15":
            names.append("network_data.json")
        if version >= "2016-10-06":
            names.append("vendor_data2.json")
        expected |= {f"openstack/{version}/{name}" for name in names}
    assert set(files) == expected
    assert "openstack/2018-08-27/vendor_data2.json" in files
    assert not any(path.startswith("openstack/content") for path in files)
    for path, content in files.items():
        if path.endswith(".json"):
            json.loads(content.decode("utf-8"))


def test_latest_meta_data_has_every_field_cloud_init_reads() -> None:
    spec = make_spec(nics=NICS)
    md = load(config_drive_files(spec), "openstack/latest/meta_data.json")
    assert md["uuid"] == UUID
    assert md["name"] == "web 1"
    assert md["hostname"] == "web-1"
    assert md["launch_index"] == 2
    assert md["availability_zone"] == "nova"
    assert md["project_id"] == "p1"
    assert md["meta"] == {"role": "web", "tier": "fr\u00e9"}
    assert md["public_keys"] == {"mykey": KEY}
    assert md["keys"] == [{"name": "mykey", "type": "ssh", "data": KEY}]
    assert md["devices"] == []
    assert md["dedicated_cpus"] == []
    assert md["admin_pass"] == "s3cret"
    assert len(base64.b64decode(md["random_seed"], validate=True)) == 512


def test_fields_appear_from_the_version_nova_added_them_in() -> None:
    files = config_drive_files(make_spec())
    folsom = load(files, "openstack/2012-08-10/meta_data.json")
    havana = load(files, "openstack/2013-10-17/meta_data.json")
    liberty = load(files, "openstack/2015-10-15/meta_data.json")
    rocky = load(files, "openstack/2018-08-27/meta_data.json")
    assert "random_seed" not in folsom and "project_id" not in folsom
    assert "random_seed" in havana and "project_id" not in havana
    assert liberty["project_id"] == "p1" and "devices" not in liberty
    assert rocky["devices"] == [] and "dedicated_cpus" not in rocky
    assert folsom["admin_pass"] == "s3cret"      # extra_md, in every version as in Nova


def test_random_seed_differs_between_versions_and_calls() -> None:
    spec = make_spec()
    seeds = {load(config_drive_files(spec), f"openstack/{v}/meta_data.json")["random_seed"]
             for v in ("latest", "2018-08-27")}
    seeds.add(load(config_drive_files(spec), "openstack/latest/meta_data.json")["random_seed"])
    assert len(seeds) == 3


def test_user_data_is_written_raw_in_both_trees() -> None:
    spec = make_spec()
    files = config_drive_files(spec)
    assert files["openstack/latest/user_data"] == spec.user_data
    assert files["openstack/2012-08-10/user_data"] == spec.user_data
    assert files["ec2/latest/user-data"] == spec.user_data


def test_minimal_server_has_no_optional_files_or_fields() -> None:
    spec = make_spec(key_name=None, key_data=None, user_data=None, admin_pass=None,
                     metadata={})
    files = config_drive_files(spec)
    assert not [p for p in files if p.endswith(("user_data", "user-data"))]
    md = load(files, "openstack/latest/meta_data.json")
    for absent in ("public_keys", "keys", "admin_pass", "meta"):
        assert absent not in md
    ec2 = load(files, "ec2/latest/meta-data.json")
    assert "public-keys" not in ec2
    assert load(files, "openstack/latest/network_data.json") == {
        "links": [], "networks": [], "services": []}


def test_empty_user_data_is_still_user_data() -> None:
    files = config_drive_files(make_spec(user_data=b""))
    assert files["openstack/latest/user_data"] == b""


def test_network_data_describes_each_nic_as_dhcp() -> None:
    files = config_drive_files(make_spec(nics=NICS))
    assert load(files, "openstack/latest/network_data.json") == {
        "links": [
            {"id": "tapport-a", "vif_id": "port-a", "type": "bridge", "mtu": 1450,
             "ethernet_mac_address": "fa:16:3e:00:00:01"},
            {"id": "tapport-b", "vif_id": "port-b", "type": "bridge", "mtu": 1500,
             "ethernet_mac_address": "fa:16:3e:00:00:02"},
        ],
        "networks": [
            {"id": "network0", "type": "ipv4_dhcp", "link": "tapport-a", "network_id": ""},
            {"id": "network1", "type": "ipv4_dhcp", "link": "tapport-b", "network_id": ""},
        ],
        "services": [],
    }
    assert files["openstack/2015-10-15/network_data.json"] == files[
        "openstack/latest/network_data.json"]


def test_vendor_data_is_novas_default() -> None:
    files = config_drive_files(make_spec())
    assert load(files, "openstack/latest/vendor_data.json") == {}
    assert load(files, "openstack/latest/vendor_data2.json") == {"static": {}}


def test_ec2_meta_data() -> None:
    files = config_drive_files(make_spec())
    ec2 = load(files, "ec2/latest/meta-data.json")
    assert ec2 == load(files, "ec2/2009-04-04/meta-data.json")
    assert ec2["instance-id"] == "i-0f1e2d3c"
    assert ec2["hostname"] == ec2["local-hostname"] == "web-1"
    assert ec2["public-keys"] == {"0": {"openssh-key": KEY}}
    assert ec2["ami-launch-index"] == 2
    assert ec2["placement"] == {"availability-zone": "nova"}
    assert ec2["reservation-id"] == ""
    assert ec2["security-groups"] == []


def test_ec2_instance_id_is_stable_and_shaped_like_novas() -> None:
    assert ec2_instance_id(UUID) == ec2_instance_id(UUID.upper()) == "i-0f1e2d3c"
    assert ec2_instance_id("00000abc-0000-4000-8000-000000000000") == f"i-{0xABC:08x}"


def test_metadata_service_never_gets_admin_pass() -> None:
    document = openstack_document(instance_metadata(make_spec()), "latest", "meta_data.json",
                                  config_drive=False)
    assert document is not None
    assert "admin_pass" not in json.loads(document)


def test_unknown_versions_and_files() -> None:
    spec = instance_metadata(make_spec())
    with pytest.raises(KeyError):
        openstack_document(spec, "2011-01-01", "meta_data.json", config_drive=False)
    with pytest.raises(KeyError):
        ec2_document(spec, "2008-02-01", "meta-data.json")
    assert openstack_document(spec, "2012-08-10", "network_data.json",
                              config_drive=False) is None
    assert openstack_document(spec, "latest", "password", config_drive=False) is None


def test_future_versions_are_hidden() -> None:
    assert openstack_versions(datetime(2016, 1, 1, tzinfo=UTC)) == [
        "2012-08-10", "2013-04-04", "2013-10-17", "2015-10-15", "latest"]
    files = config_drive_files(make_spec(), now=datetime(2016, 1, 1, tzinfo=UTC))
    assert "openstack/2016-06-30/meta_data.json" not in files
    assert "openstack/latest/meta_data.json" in files
    assert openstack_versions()[-2:] == ["2020-10-14", "latest"]
