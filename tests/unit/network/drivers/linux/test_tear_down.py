"""``ownstack reset`` on the Linux data path: everything a cloud made on the host goes, in a
namespace this test makes for "the host" (routers' and DHCP servers' namespaces are the
kernel's own, named after their ids)."""

from __future__ import annotations

import asyncio
import subprocess
from dataclasses import replace
from pathlib import Path

from pyroute2 import netns

from helpers import netns as test_netns
from helpers.network_driver_contract import a_dhcp_spec, a_network, a_port
from helpers.router_contract import a_router
from ownstack.network.drivers.base import RouterAddress
from ownstack.network.drivers.linux import metadata_proxy
from ownstack.network.drivers.linux.driver import LinuxDriver, from_config, tear_down_host

OPTIONS = {"bridge_mappings": {"public": "brexteardown"}, "public_physnet": "public",
           "public_cidr": "172.24.44.0/24"}


def _running_under(state: Path, program: str) -> list[str]:
    found = subprocess.run(["pgrep", "-af", program], capture_output=True, text=True,
                           check=False).stdout.splitlines()
    return [line for line in found if str(state) in line]


def _dnsmasq_under(state: Path) -> list[str]:
    return _running_under(state, "dnsmasq")


def test_reset_removes_every_host_object_of_the_cloud(tmp_path: Path) -> None:
    with test_netns.namespace() as host:
        options = {**OPTIONS, "host_namespace": host}

        async def build() -> tuple[str, str]:
            driver = from_config("node-1", tmp_path, options)
            assert isinstance(driver, LinuxDriver)
            await driver.init_host()
            internal, external = a_network(segmentation_id=3001), replace(
                a_network(segmentation_id=3002), mtu=1500)
            for network in (internal, external):
                await driver.ensure_network(network)
            await driver.wire_port(a_port(internal))
            await driver.ensure_dhcp(a_dhcp_spec(internal))
            router = a_router(internal, external)
            leg = router.interfaces[0]             # an IPv6 SLAAC subnet: radvd runs
            router = replace(router, interfaces=(replace(leg, addresses=(
                *leg.addresses, RouterAddress("fd00:44::1", 64, "slaac", "slaac"))),))
            await driver.ensure_router(router)
            await driver.close()
            return router.namespace, f"qdhcp-{internal.network_id}"

        async def build_and_reset() -> tuple[str, str, list[str]]:
            router_ns, dhcp_ns = await build()
            assert {router_ns, dhcp_ns} <= set(netns.listnetns())
            assert _dnsmasq_under(tmp_path)
            assert _running_under(tmp_path, "radvd")
            assert metadata_proxy.running_proxies(tmp_path)
            assert "brexteardown" in test_netns.links(host)
            before = subprocess.run(["ip", "netns", "exec", host, "nft", "list", "tables"],
                                    capture_output=True, text=True, check=True).stdout
            assert "table bridge ownstack\n" in before and "table inet ownstack\n" in before
            return router_ns, dhcp_ns, await tear_down_host("node-1", tmp_path, options)

        router_ns, dhcp_ns, removed = asyncio.run(build_and_reset())

        assert any(line.startswith("router namespace") for line in removed), removed
        assert not {router_ns, dhcp_ns} & set(netns.listnetns())
        assert set(test_netns.links(host)) == {"lo"}
        assert _dnsmasq_under(tmp_path) == []
        assert _running_under(tmp_path, "radvd") == []
        assert metadata_proxy.running_proxies(tmp_path) == {}
        tables = test_netns.ip(host, "route", "show", "type", "unreachable").stdout
        assert "172.24.44.0/24" not in tables
        nft = subprocess.run(["ip", "netns", "exec", host, "nft", "list", "tables"],
                             capture_output=True, text=True, check=True).stdout
        assert "ownstack_guard" not in nft
        assert "table bridge ownstack\n" not in nft and "table inet ownstack\n" not in nft
        assert "the security group tables" in removed
        # Nothing recorded any more: a second reset has nothing to do.
        assert asyncio.run(tear_down_host("node-1", tmp_path, options)) == []


def test_reset_of_a_cloud_that_made_nothing_on_the_host_does_nothing(tmp_path: Path) -> None:
    assert asyncio.run(tear_down_host("node-1", tmp_path, OPTIONS)) == []
