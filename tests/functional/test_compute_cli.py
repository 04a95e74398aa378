"""Flavors and keypairs through the real `openstack` CLI.

OSC finds compute at ``/v2.1`` in the catalog, discovers its versions there and negotiates
per resource (servers at this cloud's maximum of 2.96, flavors at 2.61, keypairs at 2.10).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from helpers.names import unique
from helpers.process import Cloud, wait_for_compute

pytestmark = pytest.mark.functional


def test_flavor_lifecycle(cloud: Cloud) -> None:
    wait_for_compute(cloud)
    name = unique("m1.tiny")
    created = cloud.osc_json("flavor", "create", "--vcpus", "1", "--ram", "256", "--disk", "1",
                             name)
    assert (created["name"], created["vcpus"], created["ram"], created["disk"]) == (
        name, 1, 256, 1)
    listed = cloud.osc_json("flavor", "list")
    assert name in [f["Name"] for f in listed]
    cloud.osc("flavor", "set", "--property", "hw:cpu_policy=shared", name)
    shown = cloud.osc_json("flavor", "show", name)
    assert shown["id"] == created["id"]
    assert shown["properties"] == {"hw:cpu_policy": "shared"}
    cloud.osc("flavor", "delete", name)
    assert name not in [f["Name"] for f in cloud.osc_json("flavor", "list")]


def test_keypair_import_list_show_delete(cloud: Cloud, tmp_path: Path) -> None:
    wait_for_compute(cloud)
    key_file = tmp_path / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key_file)],
                   check=True)
    fingerprint = subprocess.run(
        ["ssh-keygen", "-l", "-E", "md5", "-f", f"{key_file}.pub"], check=True,
        capture_output=True, text=True).stdout.split()[1].removeprefix("MD5:")
    name = unique("mykey")
    created = cloud.osc_json("keypair", "create", "--public-key", f"{key_file}.pub", name)
    assert created["name"] == name and created["fingerprint"] == fingerprint
    assert created["type"] == "ssh"
    assert name in [k["Name"] for k in cloud.osc_json("keypair", "list")]
    shown = cloud.osc_json("keypair", "show", name)
    assert shown["fingerprint"] == fingerprint
    cloud.osc("keypair", "delete", name)
    assert name not in [k["Name"] for k in cloud.osc_json("keypair", "list")]
