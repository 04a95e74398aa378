"""The network info cache's pure functions: a VIF from Neutron bodies, with its floating
IPs, and the ``addresses`` a server shows (Nova's order: a network's fixed addresses, then
its floating ones)."""

from __future__ import annotations

from typing import Any

from ownstack.compute import netinfo


def _port(port_id: str, network_id: str, mac: str, *ips: str) -> dict[str, Any]:
    return {"id": port_id, "network_id": network_id, "mac_address": mac, "status": "ACTIVE",
            "fixed_ips": [{"subnet_id": f"sub-{ip}", "ip_address": ip} for ip in ips]}


def test_floating_ips_are_matched_to_their_port_and_fixed_address() -> None:
    fips = [{"port_id": "p1", "fixed_ip_address": "10.0.0.5",
             "floating_ip_address": "172.24.4.7"},
            {"port_id": "p2", "fixed_ip_address": "10.0.0.6",
             "floating_ip_address": "172.24.4.8"},
            {"port_id": "p1", "fixed_ip_address": None, "floating_ip_address": "172.24.4.9"}]
    assert netinfo.floating_by_fixed("p1", fips) == {"10.0.0.5": ["172.24.4.7"]}
    assert netinfo.floating_by_fixed("p3", fips) == {}


def test_addresses_list_a_networks_fixed_then_floating_addresses() -> None:
    first = netinfo.vif(_port("p1", "n1", "fa:16:3e:00:00:01", "10.0.0.5", "fd00::5"),
                        {"name": "demo-net", "mtu": 1450}, preserve_on_delete=False,
                        floating={"10.0.0.5": ["172.24.4.7"]})
    second = netinfo.vif(_port("p2", "n1", "fa:16:3e:00:00:02", "10.0.0.6"),
                         {"name": "demo-net"}, preserve_on_delete=True)
    other = netinfo.vif(_port("p3", "n2", "fa:16:3e:00:00:03", "10.1.0.5"),
                        {"name": "other"}, preserve_on_delete=False,
                        floating={"10.1.0.5": ["172.24.4.9"]})
    assert first["fixed_ips"][0]["floating_ips"] == [{"address": "172.24.4.7", "version": 4}]
    assert first["fixed_ips"][1]["floating_ips"] == []
    shown = netinfo.addresses([first, second, other])
    assert [(a["addr"], a["OS-EXT-IPS:type"], a["OS-EXT-IPS-MAC:mac_addr"])
            for a in shown["demo-net"]] == [
        ("10.0.0.5", "fixed", "fa:16:3e:00:00:01"), ("fd00::5", "fixed", "fa:16:3e:00:00:01"),
        ("10.0.0.6", "fixed", "fa:16:3e:00:00:02"),
        ("172.24.4.7", "floating", "fa:16:3e:00:00:01")]
    assert netinfo.addresses([other], extended=False) == {"other": [
        {"version": 4, "addr": "10.1.0.5"}, {"version": 4, "addr": "172.24.4.9"}]}


def test_a_cache_written_before_floating_ips_were_kept_still_shows() -> None:
    old = {"id": "p1", "address": "fa:16:3e:00:00:01", "network": {"id": "n1",
                                                                   "label": "demo-net"},
           "fixed_ips": [{"address": "10.0.0.5", "version": 4, "subnet_id": "s"}]}
    assert netinfo.addresses([old]) == {"demo-net": [{
        "version": 4, "addr": "10.0.0.5", "OS-EXT-IPS:type": "fixed",
        "OS-EXT-IPS-MAC:mac_addr": "fa:16:3e:00:00:01"}]}


def test_a_nic_is_active_as_its_port_was() -> None:
    down = {**_port("p1", "n1", "fa:16:3e:00:00:01", "10.0.0.5"), "status": "DOWN"}
    cache = [netinfo.vif(down, {"name": "n"}, preserve_on_delete=False),
             netinfo.vif(_port("p2", "n1", "fa:16:3e:00:00:02"), {"name": "n"},
                         preserve_on_delete=False)]
    assert [(nic["port_id"], nic["active"]) for nic in netinfo.nics(cache)] == [
        ("p1", False), ("p2", True)]
