"""The network role's driver is built from the config: its name and its host options."""

from __future__ import annotations

from pathlib import Path

from helpers.inprocess import make_config
from ownstack.network.agent.runner import driver_options
from ownstack.network.drivers import driver_factory
from ownstack.network.drivers.linux.driver import LinuxDriver


def test_the_linux_driver_gets_the_host_namespace_and_tunnel_address(tmp_path: Path) -> None:
    config = make_config(tmp_path, "network.driver=linux", "network.host_namespace=ns-a",
                         "network.tunnel_address=192.0.2.7")
    options = driver_options(config)
    assert options["host_namespace"] == "ns-a" and options["tunnel_address"] == "192.0.2.7"
    driver = driver_factory(config.network.driver)("node-1", config.state_dir, options)
    assert isinstance(driver, LinuxDriver)
    assert driver.namespace.namespace == "ns-a" and driver.tunnel_address == "192.0.2.7"
    # the external bridge of `public` gets the host's address: the range's first
    assert driver.host_side is not None
    [external] = driver.host_side.externals
    assert (external.bridge, external.host_address) == ("br-ex", "172.24.4.1/24")
    assert driver.host_side.uplink is None and driver.host_side.host_namespace == "ns-a"


def test_by_default_the_host_is_this_namespace_with_no_tunnel(tmp_path: Path) -> None:
    assert driver_options(make_config(tmp_path)) == {
        "host_namespace": "", "tunnel_address": "", "bridge_mappings": {"public": "br-ex"},
        "public_physnet": "public", "public_cidr": "172.24.4.0/24", "external_uplink": ""}
