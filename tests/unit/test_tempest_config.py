"""tools/tempest_config.py, the parts that need no cloud: where the credentials come from,
the microversions read from version documents, and the tempest.conf written from what was
found (the functional test runs it against a real cloud)."""

from __future__ import annotations

import configparser
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest
import yaml

from helpers.paths import REPO


def _tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("tempest_config",
                                                  REPO / "tools" / "tempest_config.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["tempest_config"] = module      # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


tool = _tool()


def _facts(**changes: object) -> object:
    values: dict[str, object] = {
        "credentials": tool.Credentials(auth_url="http://127.0.0.1:5000/v3/",
                                        username="admin", password="pw%secret",
                                        project_name="admin"),
        "services": {"identity", "image", "compute", "network", "block-storage",
                     "placement"},
        "image_ref": "img-1", "image_ref_alt": "img-2", "flavor_ref": "42",
        "flavor_ref_alt": "1", "public_network_id": "net-1",
        "public_network_name": "public", "compute_max_microversion": "2.96",
        "compute_nodes": 2, "hypervisor_types": {"QEMU"},
        "volume_max_microversion": "3.71", "placement_max_microversion": "1.39",
        "network_extensions": ["external-net", "port-security", "router"],
        "volume_extensions": ["os-quota-sets", "qos-specs"],
        "volume_backend": {"vendor_name": "ownstack", "storage_protocol": "file"},
    }
    values.update(changes)
    return tool.CloudFacts(**values)


def _parsed(text: str) -> configparser.ConfigParser:
    conf = configparser.ConfigParser(interpolation=None)
    conf.read_string(text)
    return conf


def test_credentials_from_an_openrc_win_over_the_state_dir(tmp_path: Path) -> None:
    environ = {"OS_AUTH_URL": "http://10.0.0.1:5000/v3", "OS_USERNAME": "ops",
               "OS_PASSWORD": "pw", "OS_PROJECT_NAME": "ops-project",
               "OS_REGION_NAME": "East"}
    found = tool.credentials_from(environ, tmp_path)
    assert (found.auth_url, found.username, found.project_name, found.region) == (
        "http://10.0.0.1:5000/v3", "ops", "ops-project", "East")
    assert (found.user_domain_name, found.project_domain_name) == ("Default", "Default")
    with pytest.raises(tool.ConfigError, match="OS_PASSWORD"):
        tool.credentials_from({**environ, "OS_PASSWORD": ""}, tmp_path)


def test_credentials_from_the_state_dirs_clouds_yaml(tmp_path: Path) -> None:
    with pytest.raises(tool.ConfigError, match="make up"):
        tool.credentials_from({}, tmp_path)
    (tmp_path / "clouds.yaml").write_text(yaml.safe_dump({"clouds": {"ownstack-admin": {
        "auth": {"auth_url": "http://127.0.0.1:21000/v3", "username": "admin",
                 "password": "s3cret", "project_name": "admin",
                 "user_domain_name": "Default", "project_domain_name": "Default"},
        "region_name": "RegionOne"}}}))
    found = tool.credentials_from({"OS_CLOUD": "elsewhere"}, tmp_path)
    assert (found.auth_url, found.password) == ("http://127.0.0.1:21000/v3", "s3cret")
    (tmp_path / "clouds.yaml").write_text(yaml.safe_dump({"clouds": {"other": {}}}))
    with pytest.raises(tool.ConfigError, match="no cloud ownstack-admin"):
        tool.credentials_from({}, tmp_path)


def test_max_microversion_of_each_document_shape() -> None:
    nova = {"versions": [{"id": "v2.0", "version": ""},
                         {"id": "v2.1", "version": "2.96", "min_version": "2.1"}]}
    placement = {"versions": [{"id": "v1.0", "max_version": "1.39", "min_version": "1.0"}]}
    keystone = {"versions": {"values": [{"id": "v3.14"}]}}
    assert tool.max_microversion(nova, "v2.1") == "2.96"
    assert tool.max_microversion(nova, "v2.0") is None
    assert tool.max_microversion(placement, "v1") == "1.39"
    assert tool.max_microversion(keystone, "v3") is None
    assert tool.max_microversion({}, "v3") is None


def test_render_describes_the_cloud() -> None:
    conf = _parsed(tool.render(_facts()))
    assert conf["auth"]["use_dynamic_credentials"] == "true"
    assert conf["auth"]["admin_password"] == "pw%secret"        # no interpolation
    assert conf["identity"]["uri_v3"] == "http://127.0.0.1:5000/v3"
    assert (conf["compute"]["image_ref"], conf["compute"]["image_ref_alt"]) == ("img-1",
                                                                                 "img-2")
    assert (conf["compute"]["flavor_ref"], conf["compute"]["flavor_ref_alt"]) == ("42", "1")
    assert conf["compute"]["max_microversion"] == "2.96"
    assert conf["volume"]["max_microversion"] == "3.71"
    assert conf["placement"]["max_microversion"] == "1.39"
    assert conf["network"]["public_network_id"] == "net-1"
    assert conf["network"]["floating_network_name"] == "public"
    assert conf["network-feature-enabled"]["api_extensions"] == \
        "external-net,port-security,router"
    assert conf["network-feature-enabled"]["port_security"] == "true"
    assert conf["volume-feature-enabled"]["api_extensions"] == "os-quota-sets,qos-specs"
    assert conf["volume-feature-enabled"]["backup"] == "false"
    assert (conf["volume"]["vendor_name"], conf["volume"]["storage_protocol"]) == (
        "ownstack", "file")
    # What ownstack does not have is off, so Tempest skips it rather than fails.
    for feature in ("live_migration", "spice_console", "stable_rescue", "swap_volume"):
        assert conf["compute-feature-enabled"][feature] == "false", feature
    for feature in ("snapshot", "resize", "cold_migration", "pause", "suspend", "shelve",
                    "rescue", "vnc_console", "serial_console"):
        assert conf["compute-feature-enabled"][feature] == "true", feature
    assert conf["compute"]["min_compute_nodes"] == "2"
    names = ("glance", "nova", "neutron", "cinder", "swift", "horizon")
    assert {name: conf["service_available"][name] for name in names} == {
        "glance": "true", "nova": "true", "neutron": "true", "cinder": "true",
        "swift": "false", "horizon": "false"}
    assert conf["identity-feature-enabled"]["security_compliance"] == "false"
    assert conf["validation"]["run_validation"] == "false"
    for section in ("compute", "volume", "image", "network"):
        assert conf[section]["build_timeout"] == "120", section


def test_render_follows_what_the_cloud_lacks() -> None:
    conf = _parsed(tool.render(_facts(
        services={"identity", "image", "compute"}, volume_max_microversion=None,
        placement_max_microversion=None, network_extensions=["external-net"])))
    assert conf["service_available"]["neutron"] == "false"
    assert conf["service_available"]["cinder"] == "false"
    assert conf["auth"]["create_isolated_networks"] == "false"
    assert "max_microversion" not in conf["volume"]
    assert not conf.has_section("placement")
    assert conf["network-feature-enabled"]["floating_ips"] == "false"


def test_security_compliance_follows_ownstack_toml(tmp_path: Path) -> None:
    assert tool.security_compliance_from(tmp_path) == {}
    (tmp_path / "ownstack.toml").write_text(
        "[identity.security_compliance]\nlockout_failure_attempts = 3\n"
        "lockout_duration = 10\nunique_last_password_count = 2\n")
    compliance = tool.security_compliance_from(tmp_path)
    conf = _parsed(tool.render(_facts(security_compliance=compliance)))
    assert conf["identity-feature-enabled"]["security_compliance"] == "true"
    assert (conf["identity"]["user_lockout_failure_attempts"],
            conf["identity"]["user_lockout_duration"],
            conf["identity"]["user_unique_last_password_count"]) == ("3", "10", "2")


def test_consoles_are_off_for_a_cloud_of_fake_hypervisors() -> None:
    conf = _parsed(tool.render(_facts(hypervisor_types={"fake"})))
    for console in ("vnc_console", "serial_console"):
        assert conf["compute-feature-enabled"][console] == "false", console
    conf = _parsed(tool.render(_facts(hypervisor_types={"fake", "QEMU"})))
    assert conf["compute-feature-enabled"]["vnc_console"] == "true"
