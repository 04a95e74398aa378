"""Servers with ports: compute uses the network service as Nova uses Neutron.

The whole cloud in process (identity, image, placement, network, compute, the conductor
and a fake compute agent): a boot's ``networks`` are checked with the caller's token, the
conductor makes the ports as the services' user, the server's addresses come from them,
and a delete removes what compute made and unbinds what the user brought.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from helpers.compute import fault, instance, version, wait_released, wait_status
from helpers.inprocess import CloudClient
from helpers.names import unique
from helpers.server_networks import (
    _active,
    _boot,
    _get_port,
    _gone,
    _net,
    _port,
    _ports,
    _project,
    _until_no_ports,
)

pytestmark = pytest.mark.usefixtures("compute")


async def test_boot_on_a_network_gives_a_bound_port_and_addresses(compute: CloudClient
                                                                   ) -> None:
    who = await _project(compute)
    net = await _net(compute, who.token, name="demo-net")
    server = await _active(compute, who, [{"uuid": net["id"]}])
    (port,) = await _ports(compute, device_id=server["id"])
    assert port["project_id"] == who.project_id
    assert port["device_owner"] == "compute:nova"
    assert port["binding:host_id"] == "test-node"
    address = port["fixed_ips"][0]["ip_address"]
    assert address.startswith("10.0.0.")
    assert server["addresses"] == {"demo-net": [{
        "version": 4, "addr": address, "OS-EXT-IPS:type": "fixed",
        "OS-EXT-IPS-MAC:mac_addr": port["mac_address"]}]}
    assert server["security_groups"] == [{"name": "default"}]
    r = await compute.call("GET", "/v2.1/servers/detail", token=who.token)
    (listed,) = r.json()["servers"]
    assert listed["addresses"] == server["addresses"]
    r = await compute.call("GET", f"/v2.1/servers/{server['id']}/ips", token=who.token)
    assert r.json() == {"addresses": {"demo-net": [{"version": 4, "addr": address}]}}
    r = await compute.call("GET", f"/v2.1/servers/{server['id']}/ips/demo-net",
                           token=who.token)
    assert r.json() == {"demo-net": [{"version": 4, "addr": address}]}
    r = await compute.call("GET", f"/v2.1/servers/{server['id']}/ips/other",
                           token=who.token, expect=404)
    assert fault(r, "itemNotFound") == "Instance is not a member of specified network"
    # The agent plugged the port's tap into the network's bridge.
    guest = compute.agents.hypervisors["test-node"].guests[server["id"]]
    (nic,) = guest.spec.nics
    assert (nic.port_id, nic.mac) == (port["id"], port["mac_address"])
    assert nic.tap_name == "tap" + port["id"][:11]
    assert nic.bridge == "brq" + net["id"][:11]
    # The network agent wired the port and said so (network-vif-plugged): the cache knows.
    for _ in range(500):
        (vif,) = (await instance(compute, server["id"])).network_info or []
        if vif["active"]:
            break
        await asyncio.sleep(0.02)
    assert vif["active"] and vif["id"] == port["id"]
    await _gone(compute, who, server["id"])
    await _until_no_ports(compute, server["id"])
    assert await _get_port(compute, port["id"], expect=404) == {}


async def test_auto_uses_the_one_network_and_none_gives_no_port(compute: CloudClient
                                                                ) -> None:
    who = await _project(compute)
    none = await _active(compute, who, "auto")        # no network yet: no port
    assert none["addresses"] == {}
    net = await _net(compute, who.token, name="only-net")
    server = await _active(compute, who, "auto")
    assert list(server["addresses"]) == ["only-net"]
    quiet = await _active(compute, who, "none")
    assert quiet["addresses"] == {}
    assert await _ports(compute, device_id=quiet["id"]) == []
    await _net(compute, who.token, cidr="10.1.0.0/24")
    r = await _boot(compute, who, "auto", expect=409)
    assert fault(r, "conflictingRequest") == ("Multiple possible networks found, use a "
                                              "Network ID to be more specific.")
    assert net["id"]


async def test_a_users_port_is_bound_then_unbound_on_delete(compute: CloudClient) -> None:
    who = await _project(compute)
    net = await _net(compute, who.token, name="demo-net")
    port = await _port(compute, who.token, net["id"], name="mine")
    server = await _active(compute, who, [{"port": port["id"]}])
    bound = await _get_port(compute, port["id"])
    assert bound["device_id"] == server["id"]
    assert bound["binding:host_id"] == "test-node"
    address = port["fixed_ips"][0]["ip_address"]
    assert server["addresses"]["demo-net"][0]["addr"] == address
    r = await _boot(compute, who, [{"port": port["id"]}], expect=409)
    assert fault(r, "conflictingRequest") == f"Port {port['id']} is still in use."
    await _gone(compute, who, server["id"])
    for _ in range(500):
        kept = await _get_port(compute, port["id"])
        if kept["device_id"] == "":
            break
        await asyncio.sleep(0.02)
    assert (kept["device_id"], kept["device_owner"], kept["binding:host_id"]) == ("", "", "")
    assert kept["fixed_ips"][0]["ip_address"] == address


async def test_a_fixed_ip_is_honoured_and_checked(compute: CloudClient) -> None:
    who = await _project(compute)
    # 10.0.0.50 lies outside the pool the network's DHCP port draws its address from at
    # random, so it cannot have taken it.
    net = await _net(compute, who.token, name="demo-net",
                     allocation_pools=[{"start": "10.0.0.100", "end": "10.0.0.200"}])
    server = await _active(compute, who, [{"uuid": net["id"], "fixed_ip": "10.0.0.50"}])
    assert server["addresses"]["demo-net"][0]["addr"] == "10.0.0.50"
    r = await _boot(compute, who, [{"uuid": net["id"], "fixed_ip": "10.0.0.50"}],
                    expect=400)
    assert "10.0.0.50 is already in use" in fault(r, "badRequest")
    r = await _boot(compute, who, [{"uuid": net["id"], "fixed_ip": "192.0.2.9"}],
                    expect=400)
    assert "192.0.2.9 is not a valid IP" in fault(r, "badRequest")
    r = await _boot(compute, who, [{"uuid": net["id"], "fixed_ip": "10.0.0.500"}],
                    expect=400)
    r = await _boot(compute, who, [{"port": server["id"], "fixed_ip": "10.0.0.7"}],
                    expect=400)
    assert "cannot be specified together" in fault(r, "badRequest")


async def test_unknown_networks_ports_and_groups_are_400s(compute: CloudClient) -> None:
    who = await _project(compute)
    other = await _project(compute)
    theirs = await _net(compute, other.token)
    missing = "5f2d6e8a-8e4c-4c33-9f49-7f0c5a8e1f01"
    r = await _boot(compute, who, [{"uuid": theirs["id"]}], expect=400)
    assert fault(r, "badRequest") == f"Network {theirs['id']} could not be found."
    r = await _boot(compute, who, [{"port": missing}], expect=400)
    assert fault(r, "badRequest") == f"Port {missing} could not be found."
    net = await _net(compute, who.token)
    r = await _boot(compute, who, [{"uuid": net["id"]}], expect=400,
                    security_groups=[{"name": "web"}])
    assert fault(r, "badRequest") == "Security group web not found."


async def test_security_groups_go_on_the_ports(compute: CloudClient) -> None:
    who = await _project(compute)
    net = await _net(compute, who.token, name="demo-net")
    r = await compute.on("network", "POST", "/v2.0/security-groups", token=who.token,
                         expect=201, json={"security_group": {"name": "web"}})
    group = r.json()["security_group"]
    r = await _boot(compute, who, [{"uuid": net["id"]}], security_groups=[{"name": "web"}])
    assert r.json()["server"]["security_groups"] == [{"name": "web"}]
    server = await wait_status(compute, who.token, r.json()["server"]["id"], "ACTIVE")
    assert server["security_groups"] == [{"name": "web"}]
    (port,) = await _ports(compute, device_id=server["id"])
    assert port["security_groups"] == [group["id"]]


async def test_external_networks_are_for_admins(compute: CloudClient) -> None:
    who = await _project(compute)
    r = await compute.on("network", "POST", "/v2.0/networks", expect=201, json={
        "network": {"name": unique("ext"), "router:external": True}})
    external = r.json()["network"]
    await compute.on("network", "POST", "/v2.0/rbac-policies", expect=201, json={
        "rbac_policy": {"object_type": "network", "object_id": external["id"],
                        "action": "access_as_external", "target_tenant": who.project_id}})
    r = await _boot(compute, who, [{"uuid": external["id"]}], expect=403)
    assert fault(r, "forbidden") == ("It is not allowed to create an interface on external "
                                     f"network {external['id']}")


async def test_a_full_subnet_ends_the_build_in_error_and_leaks_nothing(compute: CloudClient
                                                                       ) -> None:
    who = await _project(compute)
    # No DHCP: its port would take the one address first.
    net = await _net(compute, who.token, cidr="10.9.0.0/24", enable_dhcp=False,
                     allocation_pools=[{"start": "10.9.0.10", "end": "10.9.0.10"}])
    await _port(compute, who.token, net["id"])        # takes the only address
    r = await _boot(compute, who, [{"uuid": net["id"]}])
    server_id = r.json()["server"]["id"]
    server = await wait_status(compute, who.token, server_id, "ERROR")
    assert f"No more IP addresses available on network {net['id']}." in \
        server["fault"]["message"]
    assert await _ports(compute, device_id=server_id) == []
    await wait_released(compute, server_id)
    row = await instance(compute, server_id)
    assert row.host is None


async def test_delete_with_the_network_service_down_is_finished_by_the_sweep(
        compute: CloudClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from ownstack.common.clients.network import NetworkClient, NetworkUnavailable

    who = await _project(compute)
    net = await _net(compute, who.token)
    server = await _active(compute, who, [{"uuid": net["id"]}])
    real = NetworkClient.list_ports

    async def down(self: NetworkClient, **filters: Any) -> list[dict[str, Any]]:
        raise NetworkUnavailable("The network service is unreachable.")
    monkeypatch.setattr(NetworkClient, "list_ports", down)
    await _gone(compute, who, server["id"])
    row = await instance(compute, server["id"])
    assert row.deleted and row.network_status == "allocated"
    monkeypatch.setattr(NetworkClient, "list_ports", real)
    await _until_no_ports(compute, server["id"])
    for _ in range(500):
        if (await instance(compute, server["id"])).network_status == "released":
            break
        await asyncio.sleep(0.02)
    assert (await instance(compute, server["id"])).network_status == "released"


async def test_two_ports_and_an_ipv6_subnet_show_in_order(compute: CloudClient) -> None:
    who = await _project(compute)
    net = await _net(compute, who.token, name="demo-net")
    await compute.on("network", "POST", "/v2.0/subnets", token=who.token, expect=201,
                     json={"subnet": {"network_id": net["id"], "cidr": "fd00:10::/64",
                                      "ip_version": 6, "ipv6_address_mode": "slaac",
                                      "ipv6_ra_mode": "slaac"}})
    server = await _active(compute, who, [{"uuid": net["id"]}], v="2.37")
    versions = sorted(a["version"] for a in server["addresses"]["demo-net"])
    assert versions == [4, 6]
    r = await compute.call("GET", f"/v2.1/servers/{server['id']}", token=who.token,
                           headers=version("2.1"))
    assert r.json()["server"]["addresses"] == server["addresses"]


async def test_external_events_refresh_the_cache_and_are_recorded(compute: CloudClient
                                                                  ) -> None:
    who = await _project(compute)
    # 10.0.0.77, asked for below, lies outside the pool the server's and the DHCP port's
    # addresses are drawn from at random, so neither can have taken it.
    net = await _net(compute, who.token, name="demo-net",
                     allocation_pools=[{"start": "10.0.0.100", "end": "10.0.0.200"}])
    server = await _active(compute, who, [{"uuid": net["id"]}])
    (port,) = await _ports(compute, device_id=server["id"])
    await compute.on("network", "PUT", f"/v2.0/ports/{port['id']}", expect=200, json={
        "port": {"fixed_ips": [{"subnet_id": net["subnet"]["id"],
                                "ip_address": "10.0.0.77"}]}})
    assert server["addresses"]["demo-net"][0]["addr"] != "10.0.0.77"
    unknown = "5f2d6e8a-8e4c-4c33-9f49-7f0c5a8e1f09"
    events = [{"name": "network-changed", "server_uuid": server["id"], "tag": port["id"]},
              {"name": "network-vif-plugged", "server_uuid": server["id"],
               "tag": port["id"]},
              {"name": "network-vif-plugged", "server_uuid": unknown}]
    r = await compute.call("POST", "/v2.1/os-server-external-events", token=who.token,
                           json={"events": events}, expect=403)
    r = await compute.call("POST", "/v2.1/os-server-external-events",
                           json={"events": events}, expect=207)
    answered = r.json()["events"]
    assert [(e["code"], e["status"]) for e in answered] == [
        (200, "completed"), (200, "completed"), (404, "failed")]
    shown = await wait_status(compute, who.token, server["id"], "ACTIVE")
    assert [a["addr"] for a in shown["addresses"]["demo-net"]] == ["10.0.0.77"]
    r = await compute.call("GET", f"/v2.1/servers/{server['id']}/os-instance-actions")
    request_id = r.json()["instanceActions"][-1]["request_id"]
    r = await compute.call("GET", f"/v2.1/servers/{server['id']}/os-instance-actions/"
                           f"{request_id}", headers=version("2.51"))
    names = [e["event"] for e in r.json()["instanceAction"]["events"]]
    assert "network-vif-plugged" in names and "network-changed" in names
    r = await compute.call("POST", "/v2.1/os-server-external-events", expect=404,
                           json={"events": [events[2]]})
    r = await compute.call("POST", "/v2.1/os-server-external-events", expect=400,
                           json={"events": [{"name": "bogus", "server_uuid": unknown}]})
    r = await compute.call("POST", "/v2.1/os-server-external-events", expect=200,
                           json={"events": [events[1]]})
    assert r.json()["events"][0]["code"] == 200


async def test_several_servers_of_one_request_get_a_port_each(compute: CloudClient) -> None:
    who = await _project(compute)
    net = await _net(compute, who.token, name="demo-net")
    await _boot(compute, who, [{"uuid": net["id"]}], name="many", min_count=3)
    r = await compute.call("GET", "/v2.1/servers", token=who.token)
    ids = [s["id"] for s in r.json()["servers"]]
    assert len(ids) == 3
    addresses = set()
    for server_id in ids:
        server = await wait_status(compute, who.token, server_id, "ACTIVE")
        (address,) = server["addresses"]["demo-net"]
        addresses.add(address["addr"])
        assert len(await _ports(compute, device_id=server_id)) == 1
    assert len(addresses) == 3


async def test_allocating_again_reuses_the_ports_a_killed_conductor_made(
        compute: CloudClient) -> None:
    from ownstack.compute import ports

    who = await _project(compute)
    net = await _net(compute, who.token, name="demo-net")
    server_id = "5f2d6e8a-8e4c-4c33-9f49-7f0c5a8e1f42"
    left = await _port(compute, None, net["id"], project_id=who.project_id,
                       device_id=server_id, device_owner="compute:nova")
    target = ports.Target(uuid=server_id, project_id=who.project_id, host="test-node",
                          zone="nova", requests=[{"network_id": net["id"]}],
                          security_groups=[])
    info = await ports.allocate(compute.svc.network, target)
    assert [vif["id"] for vif in info] == [left["id"]]
    again = await ports.allocate(compute.svc.network, target)
    assert [vif["id"] for vif in again] == [left["id"]]
    (port,) = await _ports(compute, device_id=server_id)
    assert port["binding:host_id"] == "test-node"
    await ports.deallocate(compute.svc.network, server_id, [{"network_id": net["id"]}])
    assert await _ports(compute, device_id=server_id) == []


async def test_ip_and_ip6_list_filters_match_the_cached_addresses(compute: CloudClient
                                                                  ) -> None:
    who = await _project(compute)
    # 10.42.0.17 lies outside the pool the network's DHCP port draws its address from.
    v4 = await _net(compute, who.token, cidr="10.42.0.0/24",
                    allocation_pools=[{"start": "10.42.0.100", "end": "10.42.0.200"}])
    v6 = await _net(compute, who.token, cidr="fd00:42::/64")
    first = await _active(compute, who, [{"uuid": v4["id"], "fixed_ip": "10.42.0.17"}])
    second = await _active(compute, who, [{"uuid": v6["id"]}])

    async def listed(v: str = "2.5", **query: str) -> list[str]:
        r = await compute.call("GET", "/v2.1/servers", token=who.token, params=query,
                               headers={"OpenStack-API-Version": f"compute {v}"},
                               expect=200)
        return sorted(s["id"] for s in r.json()["servers"])

    assert await listed(ip="10.42.0.17") == [first["id"]]
    assert await listed(ip=r"10\.42\.") == [first["id"]]
    assert await listed(ip="42") == []                      # matched from the start
    assert await listed(ip6="fd00:42:") == [second["id"]]
    assert await listed(ip6="10.42") == []
    # Below 2.5 a non-admin's ip6 is ignored, as Nova drops filters it may not use.
    assert await listed("2.4", ip6="nothing-matches") == sorted([first["id"], second["id"]])
    r = await compute.call("GET", "/v2.1/servers", token=who.token, params={"ip": "("},
                           expect=400)
    assert "Invalid regular expression for ip" in fault(r, "badRequest")
    await _gone(compute, who, first["id"])
    await _gone(compute, who, second["id"])


async def test_a_boot_waits_paused_for_its_port_even_with_the_network_service_down(
        compute: CloudClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """A port that is down keeps the guest paused (BUILD); the wait reads the ports afresh
    through the conductor at each pass, and a network service that does not answer leaves
    it waiting; the port brought up (the network agent then reports it ACTIVE) lets the
    guest run."""
    from ownstack.common.clients.network import NetworkClient, NetworkUnavailable

    who = await _project(compute)
    net = await _net(compute, who.token)
    port = await _port(compute, who.token, net["id"], admin_state_up=False)
    r = await _boot(compute, who, [{"port": port["id"]}])
    server_id = r.json()["server"]["id"]
    for _ in range(500):
        row = await instance(compute, server_id)
        if row.power_state == 3:
            break
        await asyncio.sleep(0.02)
    assert (row.vm_state, row.task_state, row.power_state) == ("building", "spawning", 3)
    assert row.task_args["plug_wait"]["host"] == "test-node"
    guest = compute.agents.hypervisors["test-node"].guests[server_id]
    assert guest.boots == 0

    asked: list[dict[str, Any]] = []

    async def down(self: NetworkClient, **filters: Any) -> list[dict[str, Any]]:
        asked.append(filters)
        raise NetworkUnavailable("The network service is unreachable.")
    real = NetworkClient.list_ports
    monkeypatch.setattr(NetworkClient, "list_ports", down)
    await compute.agents.agents[0].reconcile(server_id)
    assert {"device_id": server_id} in asked, (
        asked, guest.boots, guest.power_state, await instance(compute, server_id))
    row = await instance(compute, server_id)
    assert (row.vm_state, row.power_state) == ("building", 3) and guest.boots == 0
    monkeypatch.setattr(NetworkClient, "list_ports", real)

    await compute.on("network", "PUT", f"/v2.0/ports/{port['id']}", expect=200,
                     json={"port": {"admin_state_up": True}})
    shown = await wait_status(compute, who.token, server_id, "ACTIVE")
    assert shown["OS-EXT-STS:power_state"] == 1 and guest.boots == 1
    assert "plug_wait" not in (await instance(compute, server_id)).task_args
    await _gone(compute, who, server_id)


async def _addresses_until(compute: CloudClient, token: str, server_id: str,
                           done: Any) -> dict[str, Any]:
    """The server's ``addresses`` once ``done(addresses)`` holds (the network service's
    ``network-changed`` is sent in the background)."""
    for _ in range(500):
        r = await compute.call("GET", f"/v2.1/servers/{server_id}", token=token,
                               expect=200)
        addresses: dict[str, Any] = r.json()["server"]["addresses"]
        if done(addresses):
            return addresses
        await asyncio.sleep(0.02)
    raise AssertionError(f"addresses never as wanted: {addresses}")


async def test_a_floating_ip_shows_beside_its_fixed_address(compute: CloudClient) -> None:
    """Associating a floating IP with a server's port is ``network-changed`` for the
    server: its addresses then list the floating address after the fixed one, with
    ``OS-EXT-IPS:type: floating`` and the port's MAC, as Nova does; moved off the port or
    deleted, it leaves them."""
    who = await _project(compute)
    r = await compute.on("network", "POST", "/v2.0/networks", expect=201, json={
        "network": {"name": unique("public"), "router:external": True}})
    public = r.json()["network"]
    await compute.on("network", "POST", "/v2.0/subnets", expect=201, json={"subnet": {
        "network_id": public["id"], "cidr": "172.24.4.0/24", "ip_version": 4,
        "enable_dhcp": False}})
    net = await _net(compute, who.token, name="demo-net")
    r = await compute.on("network", "POST", "/v2.0/routers", token=who.token, expect=201,
                         json={"router": {"name": "r1", "external_gateway_info": {
                             "network_id": public["id"]}}})
    router_id = r.json()["router"]["id"]
    await compute.on("network", "PUT", f"/v2.0/routers/{router_id}/add_router_interface",
                     token=who.token, expect=200, json={"subnet_id": net["subnet"]["id"]})
    server = await _active(compute, who, [{"uuid": net["id"]}])
    (port,) = await _ports(compute, device_id=server["id"])
    fixed = port["fixed_ips"][0]["ip_address"]

    r = await compute.on("network", "POST", "/v2.0/floatingips", token=who.token,
                         expect=201, json={"floatingip": {
                             "floating_network_id": public["id"], "port_id": port["id"]}})
    fip = r.json()["floatingip"]
    floating = fip["floating_ip_address"]
    addresses = await _addresses_until(compute, who.token, server["id"],
                                       lambda a: len(a["demo-net"]) == 2)
    assert addresses == {"demo-net": [
        {"version": 4, "addr": fixed, "OS-EXT-IPS:type": "fixed",
         "OS-EXT-IPS-MAC:mac_addr": port["mac_address"]},
        {"version": 4, "addr": floating, "OS-EXT-IPS:type": "floating",
         "OS-EXT-IPS-MAC:mac_addr": port["mac_address"]}]}
    r = await compute.call("GET", f"/v2.1/servers/{server['id']}/ips", token=who.token)
    assert r.json() == {"addresses": {"demo-net": [{"version": 4, "addr": fixed},
                                                   {"version": 4, "addr": floating}]}}
    r = await compute.call("GET", "/v2.1/servers/detail", token=who.token)
    (listed,) = r.json()["servers"]
    assert listed["addresses"] == addresses

    # Disassociated: the floating address leaves the server's addresses.
    await compute.on("network", "PUT", f"/v2.0/floatingips/{fip['id']}", token=who.token,
                     expect=200, json={"floatingip": {"port_id": None}})
    await _addresses_until(compute, who.token, server["id"],
                           lambda a: [e["addr"] for e in a["demo-net"]] == [fixed])
    # Associated again, then deleted: likewise.
    await compute.on("network", "PUT", f"/v2.0/floatingips/{fip['id']}", token=who.token,
                     expect=200, json={"floatingip": {"port_id": port["id"]}})
    await _addresses_until(compute, who.token, server["id"],
                           lambda a: len(a["demo-net"]) == 2)
    await compute.on("network", "DELETE", f"/v2.0/floatingips/{fip['id']}",
                     token=who.token, expect=204)
    await _addresses_until(compute, who.token, server["id"],
                           lambda a: [e["addr"] for e in a["demo-net"]] == [fixed])
    await _gone(compute, who, server["id"])


async def test_a_deleted_server_has_no_ports_left_once_it_is_gone(compute: CloudClient
                                                                   ) -> None:
    """Nova's order: the ports go before the server does, so a client that sees the 404
    may delete the subnet at once (Tempest's clean-ups do)."""
    who = await _project(compute)
    net = await _net(compute, who.token)
    server = await _active(compute, who, [{"uuid": net["id"]}])
    assert await _ports(compute, device_id=server["id"])
    await _gone(compute, who, server["id"])
    assert await _ports(compute, device_id=server["id"]) == []
    r = await compute.on("network", "GET", f"/v2.0/subnets?network_id={net['id']}",
                         token=who.token, expect=200)
    subnet_id = r.json()["subnets"][0]["id"]
    await compute.on("network", "DELETE", f"/v2.0/subnets/{subnet_id}", token=who.token,
                     expect=204)


async def test_inject_network_info_rebuilds_the_cache_from_the_ports(
        compute: CloudClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """Nova's ``injectNetworkInfo`` (admin): the cache, however stale, is rebuilt from the
    server's ports (a network service that fails is a 503, the cache left alone);
    ``resetNetwork`` is Nova's 410; a member may do neither."""
    from ownstack.common.clients.network import NetworkClient, NetworkUnavailable
    from ownstack.compute.objects.instances import set_network_info

    who = await _project(compute)
    net = await _net(compute, who.token, name="demo-net")
    server = await _active(compute, who, [{"uuid": net["id"]}])
    async with compute.svc.write() as db:
        await set_network_info(db, server["id"], [])
    r = await compute.call("GET", f"/v2.1/servers/{server['id']}", token=who.token)
    assert r.json()["server"]["addresses"] == {}
    path = f"/v2.1/servers/{server['id']}/action"
    r = await compute.call("POST", path, token=who.token, expect=403,
                           json={"injectNetworkInfo": None})
    assert fault(r, "forbidden")
    r = await compute.call("POST", path, expect=400,
                           json={"injectNetworkInfo": None, "extra": 1})
    real = NetworkClient.list_ports

    async def down(self: NetworkClient, **filters: Any) -> list[dict[str, Any]]:
        raise NetworkUnavailable("The network service is unreachable.")
    monkeypatch.setattr(NetworkClient, "list_ports", down)
    r = await compute.call("POST", path, expect=503, json={"injectNetworkInfo": None})
    assert "network service" in fault(r, "serviceUnavailable")
    monkeypatch.setattr(NetworkClient, "list_ports", real)
    r = await compute.call("GET", f"/v2.1/servers/{server['id']}", token=who.token)
    assert r.json()["server"]["addresses"] == {}
    await compute.call("POST", path, expect=202, json={"injectNetworkInfo": None})
    r = await compute.call("GET", f"/v2.1/servers/{server['id']}", token=who.token)
    assert r.json()["server"]["addresses"] == server["addresses"] != {}
    r = await compute.call("POST", path, expect=410, json={"resetNetwork": None})
    assert r.json() == {"computeFault": {"code": 410, "message": (
        "This resource is no longer available.  No forwarding address is given.")}}
    await compute.call("POST", "/v2.1/servers/5f2d6e8a-8e4c-4c33-9f49-7f0c5a8e1f09/action",
                       expect=404, json={"injectNetworkInfo": None})
