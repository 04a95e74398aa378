"""tools/tempest_config.py against a real cloud, with the credentials of an openrc (the
``OS_*`` variables), as ``make tempest`` runs it against a cloud a test started: the
tempest.conf it writes names the cloud's images, flavors, external network, services
and microversions, and a second run reuses what the first one made."""

from __future__ import annotations

import configparser
import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.names import unique
from helpers.paths import REPO
from helpers.process import Cloud

pytestmark = [pytest.mark.functional, pytest.mark.one_database]

TOOL = REPO / "tools" / "tempest_config.py"


def _run(cloud: Cloud, tmp_path: Path) -> configparser.ConfigParser:
    output = tmp_path / "etc" / "tempest.conf"
    environ = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    environ.update(OS_AUTH_URL=cloud.auth_url, OS_USERNAME="admin",
                   OS_PASSWORD=cloud.admin_password, OS_PROJECT_NAME="admin",
                   OS_USER_DOMAIN_NAME="Default", OS_PROJECT_DOMAIN_NAME="Default",
                   OS_REGION_NAME="RegionOne")
    result = subprocess.run([sys.executable, str(TOOL), "--state-dir", str(tmp_path),
                             "--output", str(output)], capture_output=True, text=True,
                            env=environ, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert output.stat().st_mode & 0o077 == 0            # it holds the admin's password
    conf = configparser.ConfigParser(interpolation=None)
    conf.read(output)
    return conf


def test_the_config_describes_the_cloud(cloud: Cloud, tmp_path: Path) -> None:
    images = cloud.osc_json("image", "list", "--name", "ownstack-tiny")
    if not images:
        disk = tmp_path / "tiny.qcow2"
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(disk), "16M"],
                       check=True, timeout=60)
        cloud.osc("image", "create", "--disk-format", "qcow2", "--container-format", "bare",
                  "--public", "--file", str(disk), "ownstack-tiny")
        images = cloud.osc_json("image", "list", "--name", "ownstack-tiny")
    if not cloud.osc_json("network", "list", "--external"):
        name = unique("ext")
        cloud.osc("network", "create", "--external", name)
        cloud.osc("subnet", "create", "--network", name, "--subnet-range", "172.31.7.0/24",
                  "--no-dhcp", f"{name}-subnet")

    conf = _run(cloud, tmp_path)
    assert conf["compute"]["image_ref"] == images[0]["ID"]
    alt = cloud.osc_json("image", "show", conf["compute"]["image_ref_alt"])
    original = cloud.osc_json("image", "show", images[0]["ID"])
    assert alt["name"] == "ownstack-tiny-alt" and alt["status"] == "active"
    assert alt["checksum"] == original["checksum"]
    for key in ("flavor_ref", "flavor_ref_alt"):
        flavor = cloud.osc_json("flavor", "show", conf["compute"][key])
        assert flavor["name"] in ("m1.nano", "m1.tiny")
    external = cloud.osc_json("network", "show", conf["network"]["public_network_id"])
    assert external["router:external"] is True
    assert conf["network"]["floating_network_name"] == external["name"]
    assert "router" in conf["network-feature-enabled"]["api_extensions"].split(",")
    assert "os-quota-sets" in conf["volume-feature-enabled"]["api_extensions"].split(",")
    assert conf["compute"]["max_microversion"] == "2.96"
    hypervisors = cloud.osc_json("hypervisor", "list")
    assert conf["compute"]["min_compute_nodes"] == str(len(hypervisors))
    assert conf["placement"]["max_microversion"] == "1.39"
    assert conf["volume"]["max_microversion"].startswith("3.")
    assert conf["volume"]["vendor_name"] == "ownstack"
    assert conf["identity"]["uri_v3"] == cloud.auth_url
    for service in ("glance", "nova", "neutron", "cinder"):
        assert conf["service_available"][service] == "true", service
    assert conf["service_available"]["swift"] == "false"

    again = _run(cloud, tmp_path)
    assert again["compute"]["image_ref_alt"] == conf["compute"]["image_ref_alt"]
    assert len(cloud.osc_json("image", "list", "--name", "ownstack-tiny-alt")) == 1


def test_without_credentials_it_says_what_to_do(tmp_path: Path) -> None:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    result = subprocess.run([sys.executable, str(TOOL), "--state-dir", str(tmp_path),
                             "--output", str(tmp_path / "tempest.conf")],
                            capture_output=True, text=True, env=environ, timeout=60,
                            check=False)
    assert result.returncode == 1
    assert "make up" in result.stderr and not (tmp_path / "tempest.conf").exists()
