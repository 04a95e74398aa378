"""The DHCP controller's pure plan, and the spec it makes of what the service sends."""

from __future__ import annotations

import copy
from typing import Any

from ownstack.network.agent.dhcp import DhcpStep, dhcp_spec, plan, ready_entries
from ownstack.network.drivers.base import DhcpServer, FixedIp, HostRoute
from ownstack.network.rpc import DhcpNetworkInfo


def info(**changes: Any) -> DhcpNetworkInfo:
    found: dict[str, Any] = {
        "network": {"id": "net-1", "network_type": "vxlan", "segmentation_id": 7,
                    "physical_network": None, "mtu": 1450, "admin_state_up": True},
        "host": "h1",
        "port": {"id": "dhcp-port", "mac_address": "fa:16:3e:00:00:02",
                 "fixed_ips": [{"subnet_id": "s1", "ip_address": "10.0.0.2"}],
                 "status": "ACTIVE"},
        "subnets": [{"id": "s1", "cidr": "10.0.0.0/24", "ip_version": 4,
                     "gateway_ip": "10.0.0.1", "enable_dhcp": True,
                     "dns_nameservers": ["10.0.0.53"],
                     "host_routes": [{"destination": "10.9.0.0/16", "nexthop": "10.0.0.9"}],
                     "allocation_pools": [{"start": "10.0.0.2", "end": "10.0.0.254"}],
                     "ipv6_ra_mode": None, "ipv6_address_mode": None, "has_router": False}],
        "hosts": [{"port_id": "p2", "mac_address": "fa:16:3e:00:00:06",
                   "fixed_ips": [{"subnet_id": "s1", "ip_address": "10.0.0.6"}],
                   "hostname": "host-10-0-0-6"},
                  {"port_id": "p1", "mac_address": "fa:16:3e:00:00:05",
                   "fixed_ips": [{"subnet_id": "s1", "ip_address": "10.0.0.5"}],
                   "hostname": "host-10-0-0-5"}],
        "waiting": [],
    }
    found.update(changes)
    return found  # type: ignore[return-value]


def running(desired: DhcpNetworkInfo, *, alive: bool = True) -> DhcpServer:
    return DhcpServer(dhcp_spec(desired), alive, 4242 if alive else None)


def test_the_spec_carries_everything_dnsmasq_needs_in_a_stable_order() -> None:
    spec = dhcp_spec(info())

    assert spec.network.bridge == "brqnet-1" and spec.network.mtu == 1450
    assert (spec.port_id, spec.mac_address) == ("dhcp-port", "fa:16:3e:00:00:02")
    assert spec.fixed_ips == (FixedIp("s1", "10.0.0.2"),)
    (subnet,) = spec.subnets
    assert subnet.host_routes == (HostRoute("10.9.0.0/16", "10.0.0.9"),)
    assert subnet.allocation_pools == (("10.0.0.2", "10.0.0.254"),)
    assert [h.port_id for h in spec.hosts] == ["p1", "p2"]          # sorted: stable
    assert spec.needs_metadata_route


def test_wanted_and_absent_or_dead_is_ensured() -> None:
    assert plan(info(), None) == DhcpStep.ENSURE
    assert plan(info(), running(info(), alive=False)) == DhcpStep.ENSURE


def test_wanted_and_running_as_wanted_is_nothing() -> None:
    assert plan(info(), running(info())) == DhcpStep.NOTHING
    reordered = info(hosts=list(reversed(info()["hosts"])))
    assert plan(reordered, running(info())) == DhcpStep.NOTHING


def test_a_server_as_wanted_whose_port_is_not_reported_is_reported() -> None:
    down = copy.deepcopy(info())
    down["port"]["status"] = "DOWN"
    assert plan(down, running(info())) == DhcpStep.REPORT


def test_a_new_port_or_subnet_change_is_ensured() -> None:
    more = copy.deepcopy(info())
    more["hosts"].append({"port_id": "p3", "mac_address": "fa:16:3e:00:00:07",
                          "fixed_ips": [{"subnet_id": "s1", "ip_address": "10.0.0.7"}],
                          "hostname": "host-10-0-0-7"})
    off = copy.deepcopy(info())
    off["subnets"][0]["dns_nameservers"] = []

    assert plan(more, running(info())) == DhcpStep.ENSURE
    assert plan(off, running(info())) == DhcpStep.ENSURE


def test_not_wanted_is_removed_and_nothing_when_absent() -> None:
    assert plan(None, running(info())) == DhcpStep.REMOVE
    assert plan(None, None) == DhcpStep.NOTHING


def test_a_network_administratively_down_is_not_served() -> None:
    down = copy.deepcopy(info())
    down["network"]["admin_state_up"] = False

    assert plan(down, running(info())) == DhcpStep.REMOVE
    assert plan(down, None) == DhcpStep.NOTHING


def test_a_waiting_port_whose_entry_is_served_is_reported_ready() -> None:
    waiting = info(waiting=["p2"])

    assert plan(waiting, running(info())) == DhcpStep.REPORT
    assert ready_entries(waiting, dhcp_spec(info())) == [
        {"port_id": "p2", "mac_address": "fa:16:3e:00:00:06", "ip_addresses": ["10.0.0.6"]}]


def test_a_waiting_port_the_server_has_not_loaded_is_ensured_first() -> None:
    """Not served as wanted (a dead server, or one whose files it has not reread): the
    ensure comes first, and its report after; nothing is reported from what does not
    answer."""
    waiting = info(waiting=["p2"])

    assert plan(waiting, running(info(), alive=False)) == DhcpStep.ENSURE
    assert plan(waiting, None) == DhcpStep.ENSURE


def test_a_waiting_port_without_an_entry_here_is_not_reported() -> None:
    """A port the service lists as waiting, but not in what the server holds (it has no
    address any more): nothing to report, nothing to do."""
    assert plan(info(waiting=["p9"]), running(info())) == DhcpStep.NOTHING
    assert ready_entries(info(waiting=["p9"]), dhcp_spec(info())) == []
