"""Ports: Neutron's defaults, fixed IPs asked for or chosen, MACs, EUI-64, allowed address
pairs, port security and security groups, binding, who sees and changes what, bulk
creates, filters, tags, and concurrent creates on a nearly full subnet."""

from __future__ import annotations

import asyncio
import ipaddress
import uuid
from pathlib import Path
from typing import Any

from helpers.inprocess import ServiceClient, make_config, make_service_client
from helpers.network import error_type, make, make_subnet_row

PORTS = "/v2.0/ports"


async def _net(client: ServiceClient, token: str | None = None, **fields: Any
               ) -> dict[str, Any]:
    return await make(client, "network", token, **fields)


async def _port(client: ServiceClient, network_id: str, token: str | None = None,
                expect: int = 201, **fields: Any) -> Any:
    """The port made (or, when ``expect`` is not 201, the refusal's response)."""
    r = await client.call("POST", PORTS, token=token, expect=expect,
                          json={"port": {"network_id": network_id, **fields}})
    return r.json()["port"] if expect == 201 else r


async def _security_group(client: ServiceClient, project_id: str, *, default: bool = False
                          ) -> str:
    """A security group row (the security group API is another branch's)."""
    from ownstack.network.objects.models import SecurityGroup

    group_id = str(uuid.uuid4())
    async with client.app.svc.write() as db:
        db.add(SecurityGroup(id=group_id, project_id=project_id,
                             name="default" if default else "web",
                             default_marker=True if default else None))
    return group_id


async def test_create_has_neutrons_defaults(network: ServiceClient) -> None:
    project, token = await network.project_user_token()
    net = await _net(network, token)
    v4 = await make_subnet_row(network, net["id"], "10.0.0.0/24")
    port = await _port(network, net["id"], token, name="p1")
    assert port["name"] == "p1" and port["network_id"] == net["id"]
    assert port["project_id"] == port["tenant_id"] == project["id"]
    assert port["status"] == "DOWN" and port["admin_state_up"] is True
    assert port["device_id"] == "" and port["device_owner"] == ""
    assert port["mac_address"].startswith("fa:16:3e:")
    assert port["port_security_enabled"] is True
    assert port["allowed_address_pairs"] == []
    # The project's default group, made on first use.
    r = await network.call("GET", "/v2.0/security-groups", token=token,
                           params={"name": "default"}, expect=200)
    assert port["security_groups"] == [g["id"] for g in r.json()["security_groups"]]
    assert len(port["security_groups"]) == 1
    assert port["binding:vnic_type"] == "normal"
    assert port["revision_number"] == 1 and port["tags"] == []
    assert port["created_at"].endswith("Z") and port["description"] == ""
    # The binding attributes other than vnic_type are the admin's to read.
    for hidden in ("binding:host_id", "binding:vif_type", "binding:vif_details",
                   "binding:profile"):
        assert hidden not in port
    [fixed] = port["fixed_ips"]
    assert fixed["subnet_id"] == v4
    address = ipaddress.ip_address(fixed["ip_address"])
    assert address in ipaddress.ip_network("10.0.0.0/24")
    assert str(address) not in ("10.0.0.0", "10.0.0.1", "10.0.0.255")
    r = await network.call("GET", f"{PORTS}/{port['id']}", expect=200)
    shown = r.json()["port"]
    assert shown["binding:vif_type"] == "unbound" and shown["binding:vif_details"] == {}
    assert shown["binding:host_id"] == "" and shown["binding:profile"] == {}
    # A port on a network without subnets has no address.
    bare = await _net(network, token)
    assert (await _port(network, bare["id"], token))["fixed_ips"] == []
    # The network lists none of it, but a port keeps it in use.
    r = await network.call("DELETE", f"/v2.0/networks/{net['id']}", token=token, expect=409)
    assert error_type(r) == "NetworkInUse"
    await network.call("DELETE", f"{PORTS}/{port['id']}", token=token, expect=204)
    await network.call("DELETE", f"/v2.0/networks/{net['id']}", token=token, expect=204)


async def test_default_addresses_one_ipv4_one_stateful_ipv6_and_eui64_everywhere(
        network: ServiceClient) -> None:
    net = await _net(network)
    first = await make_subnet_row(network, net["id"], "10.1.0.0/30")    # room for one
    second = await make_subnet_row(network, net["id"], "10.2.0.0/24")
    stateful = await make_subnet_row(network, net["id"], "fd01::/64",
                                     ipv6_ra_mode="dhcpv6-stateful",
                                     ipv6_address_mode="dhcpv6-stateful")
    slaac = await make_subnet_row(network, net["id"], "fd02::/64", ipv6_ra_mode="slaac",
                                  ipv6_address_mode="slaac")
    stateless = await make_subnet_row(network, net["id"], "fd03::/64",
                                      ipv6_ra_mode="dhcpv6-stateless",
                                      ipv6_address_mode="dhcpv6-stateless")
    one = await _port(network, net["id"])
    two = await _port(network, net["id"])
    for port, ipv4_subnet in ((one, first), (two, second)):
        by_subnet = {ip["subnet_id"]: ip["ip_address"] for ip in port["fixed_ips"]}
        assert set(by_subnet) == {ipv4_subnet, stateful, slaac, stateless}
        mac = port["mac_address"].split(":")
        interface = f"{int(mac[0], 16) ^ 2:02x}{mac[1]}:{mac[2]}ff:fe{mac[3]}:{mac[4]}{mac[5]}"
        assert ipaddress.ip_address(by_subnet[slaac]) == \
            ipaddress.ip_address(f"fd02::{interface}")
        assert ipaddress.ip_address(by_subnet[stateless]) == \
            ipaddress.ip_address(f"fd03::{interface}")
    assert one["fixed_ips"][0]["ip_address"] == "10.1.0.2"
    # Asking for an address on the SLAAC subnet is refused; by subnet, it is the EUI-64 one.
    r = await _port(network, net["id"], expect=400,
                    fixed_ips=[{"subnet_id": slaac, "ip_address": "fd02::5"}])
    assert error_type(r) == "AllocationOnAutoAddressSubnet"
    asked = await _port(network, net["id"], fixed_ips=[{"subnet_id": second}])
    assert {ip["subnet_id"] for ip in asked["fixed_ips"]} == {second, slaac, stateless}
    # A router interface takes none of the automatic addresses.
    router = await _port(network, net["id"], device_owner="network:router_interface",
                         fixed_ips=[{"subnet_id": second}])
    assert [ip["subnet_id"] for ip in router["fixed_ips"]] == [second]


async def test_requested_addresses_and_their_errors(network: ServiceClient) -> None:
    net = await _net(network)
    other = await _net(network)
    subnet = await make_subnet_row(network, net["id"], "10.0.0.0/24")
    elsewhere = await make_subnet_row(network, other["id"], "10.9.0.0/24")
    port = await _port(network, net["id"], fixed_ips=[{"subnet_id": subnet,
                                                       "ip_address": "10.0.0.50"}])
    assert port["fixed_ips"] == [{"subnet_id": subnet, "ip_address": "10.0.0.50"}]
    by_address = await _port(network, net["id"], fixed_ips=[{"ip_address": "10.0.0.51"}])
    assert by_address["fixed_ips"] == [{"subnet_id": subnet, "ip_address": "10.0.0.51"}]
    # Outside the pools but inside the subnet is allowed, as in Neutron.
    outside_pool = await _port(network, net["id"], fixed_ips=[{"ip_address": "10.0.0.1"}])
    assert outside_pool["fixed_ips"][0]["ip_address"] == "10.0.0.1"
    cases: list[tuple[list[dict[str, str]], int, str]] = [
        ([{"ip_address": "10.0.0.50"}], 409, "IpAddressInUse"),
        ([{"subnet_id": subnet, "ip_address": "10.0.1.5"}], 400, "InvalidIpForSubnet"),
        ([{"subnet_id": subnet, "ip_address": "10.0.0.255"}], 400, "InvalidIpForSubnet"),
        ([{"ip_address": "192.168.0.5"}], 400, "InvalidIpForNetwork"),
        ([{"subnet_id": elsewhere}], 400, "InvalidInput"),
        ([{"subnet_id": str(uuid.uuid4())}], 400, "InvalidInput"),
        ([{}], 400, "InvalidInput"),
        ([{"ip_address": "10.0.0.60"}, {"ip_address": "10.0.0.60"}], 400, "InvalidInput"),
        ([{"ip_address": "not-an-ip"}], 400, "HTTPBadRequest"),
        ([{"subnet_id": subnet}] * 6, 400, "InvalidInput"),
        ([{"subnet_id": subnet, "color": "red"}], 400, "HTTPBadRequest"),
    ]
    for fixed_ips, status, kind in cases:
        r = await _port(network, net["id"], expect=status, fixed_ips=fixed_ips)
        assert error_type(r) == kind, fixed_ips
    # An explicit empty list means no address.
    assert (await _port(network, net["id"], fixed_ips=[]))["fixed_ips"] == []
    # Nothing half-made stayed behind: 10.0.0.60 is still free.
    await _port(network, net["id"], fixed_ips=[{"ip_address": "10.0.0.60"}])


async def test_a_full_subnet_is_409_and_a_freed_address_is_given_again(network: ServiceClient
                                                                       ) -> None:
    net = await _net(network)
    await make_subnet_row(network, net["id"], "10.0.0.0/29")    # .2 to .6: five addresses
    made = [await _port(network, net["id"]) for _ in range(5)]
    addresses = {p["fixed_ips"][0]["ip_address"] for p in made}
    assert addresses == {f"10.0.0.{i}" for i in range(2, 7)}
    r = await _port(network, net["id"], expect=409)
    assert error_type(r) == "IpAddressGenerationFailure"
    await network.call("DELETE", f"{PORTS}/{made[2]['id']}", expect=204)
    again = await _port(network, net["id"])
    assert again["fixed_ips"] == made[2]["fixed_ips"]


async def test_macs_random_unique_per_network_and_requested_by_the_owner(
        network: ServiceClient) -> None:
    _, alice = await network.project_user_token()
    _, bob = await network.project_user_token()
    net = await _net(network, alice)
    other = await _net(network, alice)
    macs = {(await _port(network, net["id"], alice))["mac_address"] for _ in range(20)}
    assert len(macs) == 20 and all(m.startswith("fa:16:3e:") for m in macs)
    # A MAC outside fa:16:3e, so none of the random ones can be it.
    mine = await _port(network, net["id"], alice, mac_address="0A-00-27-00-00-01")
    assert mine["mac_address"] == "0a:00:27:00:00:01"
    r = await _port(network, net["id"], alice, expect=409, mac_address="0a:00:27:00:00:01")
    assert error_type(r) == "MacAddressInUse"
    # The same MAC on another network is fine.
    await _port(network, other["id"], alice, mac_address="0a:00:27:00:00:01")
    for bad in ("00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff", "01:00:5e:00:00:01", "nonsense"):
        r = await _port(network, net["id"], alice, expect=400, mac_address=bad)
        assert error_type(r) == "HTTPBadRequest", bad
    # On a shared network of another project, choosing the MAC is the owner's.
    shared = await _net(network, None, shared=True)
    r = await _port(network, shared["id"], bob, expect=403, mac_address="fa:16:3e:00:00:02")
    assert error_type(r) == "PolicyNotAuthorized"


async def test_shared_networks_ports_and_who_sees_them(network: ServiceClient) -> None:
    owner_project, owner = await network.project_user_token()
    _, bob = await network.project_user_token()
    _, carol = await network.project_user_token()
    shared = await _net(network, owner, name="shared")
    await network.call("PUT", f"/v2.0/networks/{shared['id']}", expect=200,
                       json={"network": {"shared": True}})
    subnet = await make_subnet_row(network, shared["id"], "10.5.0.0/24")
    private = await _net(network, owner)
    # A member may put a port on another project's shared network, asking by subnet...
    bobs = await _port(network, shared["id"], bob, fixed_ips=[{"subnet_id": subnet}])
    # ...but not for an address, nor with port security chosen, nor on a private network.
    r = await _port(network, shared["id"], bob, expect=403,
                    fixed_ips=[{"ip_address": "10.5.0.9"}])
    assert error_type(r) == "PolicyNotAuthorized"
    await _port(network, shared["id"], bob, expect=403, port_security_enabled=False)
    r = await _port(network, private["id"], bob, expect=404)
    assert error_type(r) == "NetworkNotFound"
    await _port(network, str(uuid.uuid4()), bob, expect=404)
    # An external network is seen by all, but not a place for their ports.
    external = await _net(network, None, **{"router:external": True})
    r = await _port(network, external["id"], bob, expect=403)
    assert error_type(r) == "HTTPForbidden"
    # The port is Bob's and the network owner's to see; not Carol's.
    url = f"{PORTS}/{bobs['id']}"
    for token in (bob, owner):
        await network.call("GET", url, token=token, expect=200)
        r = await network.call("GET", PORTS, token=token, expect=200)
        assert bobs["id"] in {p["id"] for p in r.json()["ports"]}
    r = await network.call("GET", url, token=carol, expect=404)
    assert error_type(r) == "PortNotFound"
    r = await network.call("GET", PORTS, token=carol, expect=200)
    assert r.json()["ports"] == []
    await network.call("PUT", url, token=carol, json={"port": {"name": "x"}}, expect=404)
    await network.call("DELETE", url, token=carol, expect=404)
    # The network's owner cannot change Bob's port, but may delete it, as in Neutron.
    await network.call("PUT", url, token=owner, json={"port": {"name": "x"}}, expect=403)
    assert owner_project["id"] != bobs["project_id"]
    # The network stays shared while Bob's port relies on it.
    await network.call("PUT", f"/v2.0/networks/{shared['id']}", token=None,
                       json={"network": {"shared": False}}, expect=409)
    await network.call("DELETE", url, token=owner, expect=204)


async def test_a_reader_reads_and_never_writes(network: ServiceClient) -> None:
    project, member = await network.project_user_token()
    user = await network.identity.make_user(project=project, role="reader", password="pw")
    reader = await network.identity.token(user["name"], "pw", project=project["name"])
    net = await _net(network, member)
    port = await _port(network, net["id"], member)
    url = f"{PORTS}/{port['id']}"
    await network.call("GET", url, token=reader, expect=200)
    r = await network.call("GET", PORTS, token=reader, expect=200)
    assert [p["id"] for p in r.json()["ports"]] == [port["id"]]
    await _port(network, net["id"], reader, expect=403)
    await network.call("PUT", url, token=reader, json={"port": {"name": "x"}}, expect=403)
    await network.call("DELETE", url, token=reader, expect=403)
    await network.call("PUT", f"{url}/tags/x", token=reader, expect=403)


async def test_binding_is_the_admins(network: ServiceClient) -> None:
    _, token = await network.project_user_token()
    net = await _net(network, token)
    for field, value in (("binding:host_id", "node-1"), ("binding:profile", {"a": "b"})):
        r = await _port(network, net["id"], token, expect=403, **{field: value})
        assert error_type(r) == "PolicyNotAuthorized"
    port = await _port(network, net["id"], token)
    url = f"{PORTS}/{port['id']}"
    await network.call("PUT", url, token=token, expect=403,
                       json={"port": {"binding:host_id": "node-1"}})
    r = await network.call("PUT", url, json={"port": {"binding:host_id": "node-1",
                                                      "binding:profile": {"k": "v"}}},
                           expect=200)
    bound = r.json()["port"]
    assert bound["binding:host_id"] == "node-1" and bound["binding:vif_type"] == "bridge"
    assert bound["binding:vif_details"] == {"port_filter": True, "connectivity": "l2",
                                            "bridge_name": "brq" + bound["network_id"][:11]}
    assert bound["binding:profile"] == {"k": "v"}
    assert bound["status"] == "DOWN"                 # only the agent makes it ACTIVE
    r = await network.call("GET", url, token=token, expect=200)
    assert "binding:vif_type" not in r.json()["port"]
    # The MAC changes only while unbound, and only by an admin (to one outside fa:16:3e,
    # so no random MAC on the network can be it).
    await network.call("PUT", url, token=token, expect=403,
                       json={"port": {"mac_address": "0a:00:27:aa:bb:cc"}})
    r = await network.call("PUT", url, json={"port": {"mac_address": "0a:00:27:aa:bb:cc"}},
                           expect=409)
    assert error_type(r) == "PortBound"
    r = await network.call("PUT", url, json={"port": {"binding:host_id": ""}}, expect=200)
    assert r.json()["port"]["binding:vif_type"] == "unbound"
    assert r.json()["port"]["binding:vif_details"] == {}
    r = await network.call("PUT", url, json={"port": {"mac_address": "0a:00:27:aa:bb:cc"}},
                           expect=200)
    assert r.json()["port"]["mac_address"] == "0a:00:27:aa:bb:cc"
    # vnic_type: normal is the one kind of port here.
    made = await _port(network, net["id"], token, **{"binding:vnic_type": "normal"})
    assert made["binding:vnic_type"] == "normal"
    for vnic in ("direct", "vhost"):
        r = await _port(network, net["id"], token, expect=400,
                        **{"binding:vnic_type": vnic})
        assert error_type(r) == "InvalidInput"
    bound = await _port(network, net["id"], None, **{"binding:host_id": "node-2"})
    assert bound["binding:vif_type"] == "bridge"


async def test_mac_change_moves_the_eui64_address_and_clashes_are_409(network: ServiceClient
                                                                      ) -> None:
    net = await _net(network)
    slaac = await make_subnet_row(network, net["id"], "fd09::/64", ipv6_ra_mode="slaac",
                                  ipv6_address_mode="slaac")
    port = await _port(network, net["id"])
    other = await _port(network, net["id"])
    url = f"{PORTS}/{port['id']}"
    r = await network.call("PUT", url, json={"port": {"mac_address": other["mac_address"]}},
                           expect=409)
    assert error_type(r) == "MacAddressInUse"
    # A MAC outside fa:16:3e, so ``other``'s random one cannot be it.
    r = await network.call("PUT", url, json={"port": {"mac_address": "0a:00:27:00:00:10"}},
                           expect=200)
    assert r.json()["port"]["fixed_ips"] == [
        {"subnet_id": slaac, "ip_address": "fd09::800:27ff:fe00:10"}]


async def test_update_reallocates_fixed_ips_and_checks_revisions(network: ServiceClient
                                                                 ) -> None:
    net = await _net(network)
    subnet = await make_subnet_row(network, net["id"], "10.0.0.0/24")
    port = await _port(network, net["id"], fixed_ips=[{"ip_address": "10.0.0.10"},
                                                      {"ip_address": "10.0.0.11"}])
    url = f"{PORTS}/{port['id']}"
    r = await network.call("PUT", url, json={"port": {"fixed_ips": [
        {"ip_address": "10.0.0.11"}, {"ip_address": "10.0.0.12"}], "name": "moved",
        "device_id": "vm-1", "device_owner": "compute:nova", "admin_state_up": False}},
        expect=200)
    updated = r.json()["port"]
    assert sorted(ip["ip_address"] for ip in updated["fixed_ips"]) == ["10.0.0.11",
                                                                      "10.0.0.12"]
    assert (updated["name"], updated["device_id"], updated["device_owner"]) == (
        "moved", "vm-1", "compute:nova")
    assert updated["admin_state_up"] is False and updated["revision_number"] == 2
    # The freed address is free again; the kept one still taken.
    await _port(network, net["id"], fixed_ips=[{"ip_address": "10.0.0.10"}])
    r = await _port(network, net["id"], expect=409, fixed_ips=[{"ip_address": "10.0.0.11"}])
    assert error_type(r) == "IpAddressInUse"
    # A subnet entry keeps the address the port has there.
    r = await network.call("PUT", url, json={"port": {"fixed_ips": [{"subnet_id": subnet}]}},
                           expect=200)
    [kept] = r.json()["port"]["fixed_ips"]
    assert kept["ip_address"] in ("10.0.0.11", "10.0.0.12")
    r = await network.call("PUT", url, json={"port": {"fixed_ips": [
        {"ip_address": "10.0.0.10"}]}}, expect=409)
    assert error_type(r) == "IpAddressInUse"
    r = await network.call("GET", url, expect=200)
    assert r.json()["port"]["fixed_ips"] == [kept]            # the failed update left it
    r = await network.call("PUT", url, headers={"If-Match": "revision_number=1"},
                           json={"port": {"name": "x"}}, expect=412)
    assert error_type(r) == "RevisionNumberConstraintFailed"
    revision = r.json() and (await network.call("GET", url)).json()["port"]["revision_number"]
    await network.call("DELETE", url, headers={"If-Match": f"revision_number={revision}"},
                       expect=204)
    await network.call("GET", url, expect=404)


async def test_allowed_address_pairs_need_port_security(network: ServiceClient) -> None:
    net = await _net(network)
    pairs = [{"ip_address": "10.0.0.100"}, {"ip_address": "10.1.0.0/24",
                                           "mac_address": "fa:16:3e:01:02:03"}]
    port = await _port(network, net["id"], allowed_address_pairs=pairs)
    assert port["allowed_address_pairs"] == [
        {"ip_address": "10.0.0.100", "mac_address": port["mac_address"]},
        {"ip_address": "10.1.0.0/24", "mac_address": "fa:16:3e:01:02:03"}]
    for bad, kind in (([{"mac_address": "fa:16:3e:01:02:03"}], "AllowedAddressPairsMissingIP"),
                      ([{"ip_address": "10.0.0.1"}] * 2, "DuplicateAddressPairInRequest"),
                      ([{"ip_address": f"10.0.0.{i}"} for i in range(11)],
                       "AllowedAddressPairExhausted"),
                      ([{"ip_address": "224.0.0.1"}], "HTTPBadRequest")):
        r = await _port(network, net["id"], expect=400, allowed_address_pairs=bad)
        assert error_type(r) == kind
    r = await _port(network, net["id"], expect=409, port_security_enabled=False,
                    allowed_address_pairs=pairs)
    assert error_type(r) == "AddressPairAndPortSecurityRequired"
    url = f"{PORTS}/{port['id']}"
    r = await network.call("PUT", url, json={"port": {"port_security_enabled": False,
                                                      "security_groups": []}}, expect=409)
    assert error_type(r) == "AddressPairAndPortSecurityRequired"
    r = await network.call("PUT", url, json={"port": {"port_security_enabled": False,
                                                      "allowed_address_pairs": [],
                                                      "security_groups": []}},
                           expect=200)
    assert r.json()["port"]["port_security_enabled"] is False
    # Port security's default is the network's.
    open_net = await _net(network, port_security_enabled=False)
    assert (await _port(network, open_net["id"]))["port_security_enabled"] is False
    # Only the network's owner (or an admin) sets pairs on a shared network.
    _, bob = await network.project_user_token()
    shared = await _net(network, None, shared=True)
    await _port(network, shared["id"], bob, expect=403, allowed_address_pairs=pairs[:1])


async def test_security_groups_default_named_and_refused(network: ServiceClient) -> None:
    project, token = await network.project_user_token()
    other_project, _ = await network.project_user_token()
    net = await _net(network, token)
    default = await _security_group(network, project["id"], default=True)
    web = await _security_group(network, project["id"])
    theirs = await _security_group(network, other_project["id"])
    assert (await _port(network, net["id"], token))["security_groups"] == [default]
    named = await _port(network, net["id"], token, security_groups=[web])
    assert named["security_groups"] == [web]
    assert (await _port(network, net["id"], token, security_groups=[]))["security_groups"] \
        == []
    router = await _port(network, net["id"], None, device_owner="network:dhcp",
                         project_id=project["id"])
    assert router["security_groups"] == []
    for missing in (theirs, str(uuid.uuid4())):
        r = await _port(network, net["id"], token, expect=404, security_groups=[missing])
        assert error_type(r) == "SecurityGroupNotFound"
    r = await _port(network, net["id"], token, expect=400, port_security_enabled=False,
                    security_groups=[web])
    assert error_type(r) == "PortSecurityAndIPRequiredForSecurityGroups"
    assert (await _port(network, net["id"], token,
                        port_security_enabled=False))["security_groups"] == []
    url = f"{PORTS}/{named['id']}"
    r = await network.call("PUT", url, token=token, expect=409,
                           json={"port": {"port_security_enabled": False}})
    assert error_type(r) == "PortSecurityPortHasSecurityGroup"
    r = await network.call("PUT", url, token=token, expect=200,
                           json={"port": {"security_groups": [default, web]}})
    assert r.json()["port"]["security_groups"] == sorted([default, web])
    r = await network.call("GET", PORTS, token=token, params={"security_groups": web},
                           expect=200)
    assert [p["id"] for p in r.json()["ports"]] == [named["id"]]


async def test_service_ports_are_not_deleted_directly(network: ServiceClient) -> None:
    net = await _net(network)
    for owner in ("network:router_interface", "network:router_gateway",
                  "network:floatingip"):
        port = await _port(network, net["id"], device_owner=owner)
        r = await network.call("DELETE", f"{PORTS}/{port['id']}", expect=409)
        assert error_type(r) == "ServicePortInUse"
    # A member may not make a network: port on another project's shared network.
    _, bob = await network.project_user_token()
    shared = await _net(network, None, shared=True)
    await _port(network, shared["id"], bob, expect=403, device_owner="network:dhcp")
    await _port(network, shared["id"], bob, device_owner="compute:nova")


async def test_bulk_create_is_all_or_nothing(network: ServiceClient) -> None:
    _, token = await network.project_user_token()
    net = await _net(network, token)
    # "a" draws its address at random from the pool; "b" asks for 10.0.0.7, outside it,
    # so "a" cannot have taken it first.
    await make_subnet_row(network, net["id"], "10.0.0.0/24",
                          allocation_pools=[{"start": "10.0.0.100", "end": "10.0.0.254"}])
    r = await network.call("POST", PORTS, token=token, expect=201, json={"ports": [
        {"network_id": net["id"], "name": "a"}, {"network_id": net["id"], "name": "b",
                                                 "fixed_ips": [{"ip_address": "10.0.0.7"}]}]})
    made = r.json()["ports"]
    assert [p["name"] for p in made] == ["a", "b"]
    assert made[1]["fixed_ips"][0]["ip_address"] == "10.0.0.7"
    for bad in ([{"network_id": net["id"], "name": "c"},
                 {"network_id": net["id"], "fixed_ips": [{"ip_address": "10.0.0.7"}]}],
                [{"network_id": net["id"], "name": "c"},
                 {"network_id": str(uuid.uuid4())}],
                [{"network_id": net["id"], "name": "c"},
                 {"network_id": net["id"], "mac_address": made[0]["mac_address"]}]):
        r = await network.call("POST", PORTS, token=token, json={"ports": bad})
        assert r.status_code in (404, 409), r.text
    r = await network.call("GET", PORTS, token=token, expect=200)
    assert sorted(p["name"] for p in r.json()["ports"]) == ["a", "b"]
    for body in ({"ports": []}, {"port": {}, "ports": []}, {"port": {"name": "no network"}},
                 {"port": {"network_id": net["id"], "color": "red"}},
                 {"port": {"network_id": net["id"], "admin_state_up": "maybe"}}):
        r = await network.call("POST", PORTS, token=token, json=body, expect=400)
        assert error_type(r) == "HTTPBadRequest", body


async def test_filters_fields_and_tags(network: ServiceClient) -> None:
    _, token = await network.project_user_token()
    net = await _net(network, token)
    other = await _net(network, token)
    subnet = await make_subnet_row(network, net["id"], "10.0.0.0/24")
    a = await _port(network, net["id"], token, name="a", device_id="vm-1",
                    fixed_ips=[{"ip_address": "10.0.0.5"}])
    b = await _port(network, net["id"], token, name="b", device_id="vm-2",
                    device_owner="compute:nova", fixed_ips=[{"ip_address": "10.0.0.55"}])
    c = await _port(network, other["id"], token, name="c", admin_state_up=False)

    async def names(*params: tuple[str, str]) -> list[str]:
        r = await network.call("GET", PORTS, token=token, params=list(params), expect=200)
        return sorted(p["name"] for p in r.json()["ports"])

    assert await names(("fixed_ips", "ip_address=10.0.0.5")) == ["a"]
    assert await names(("fixed_ips", f"subnet_id={subnet}")) == ["a", "b"]
    assert await names(("fixed_ips", "ip_address_substr=0.5")) == ["a", "b"]
    assert await names(("fixed_ips", "ip_address=10.0.0.55"),
                       ("fixed_ips", f"subnet_id={subnet}")) == ["b"]
    assert await names(("device_id", "vm-1"), ("device_id", "vm-2")) == ["a", "b"]
    assert await names(("device_owner", "compute:nova")) == ["b"]
    assert await names(("network_id", other["id"])) == ["c"]
    assert await names(("admin_state_up", "false")) == ["c"]
    assert await names(("mac_address", a["mac_address"])) == ["a"]
    assert await names(("status", "DOWN")) == ["a", "b", "c"]
    for params in ({"fixed_ips": "color=red"}, {"fixed_ips": "10.0.0.5"}, {"color": "red"},
                   {"admin_state_up": "perhaps"}):
        r = await network.call("GET", PORTS, token=token, params=params, expect=400)
        assert error_type(r) in ("BadRequest", "InvalidInput"), params
    r = await network.call("GET", PORTS, token=token, params=[
        ("fields", "id"), ("fields", "fixed_ips"), ("sort_key", "name"), ("sort_dir", "desc")],
        expect=200)
    items = r.json()["ports"]
    assert [p["id"] for p in items] == [c["id"], b["id"], a["id"]]
    assert all(set(p) == {"id", "fixed_ips"} for p in items)
    r = await network.call("GET", f"{PORTS}/{a['id']}", token=token,
                           params={"fields": "mac_address"}, expect=200)
    assert r.json() == {"port": {"mac_address": a["mac_address"]}}
    # Tags.
    tags = f"{PORTS}/{a['id']}/tags"
    r = await network.call("PUT", tags, token=token, json={"tags": ["red", "blue"]},
                           expect=200)
    assert r.json() == {"tags": ["blue", "red"]}
    await network.call("PUT", f"{PORTS}/{b['id']}/tags/red", token=token, expect=201)
    assert await names(("tags", "red")) == ["a", "b"]
    assert await names(("tags", "red,blue")) == ["a"]
    assert await names(("not-tags-any", "red")) == ["c"]
    r = await network.call("GET", f"{PORTS}/{a['id']}", token=token, expect=200)
    assert r.json()["port"]["tags"] == ["blue", "red"]
    _, stranger = await network.project_user_token()
    await network.call("GET", tags, token=stranger, expect=404)


async def test_bad_update_input(network: ServiceClient) -> None:
    net = await _net(network)
    port = await _port(network, net["id"])
    url = f"{PORTS}/{port['id']}"
    for body in ({"port": {"network_id": net["id"]}}, {"port": {"color": "red"}},
                 {"port": {"fixed_ips": "10.0.0.5"}}, {"port": {"security_groups": "x"}},
                 {"ports": {}}, {"port": {"mac_address": "nonsense"}},
                 {"port": {"binding:vnic_type": "direct"}},
                 {"port": {"allowed_address_pairs": [{"ip_address": "bad"}]}}):
        r = await network.call("PUT", url, json=body, expect=400)
        assert error_type(r) in ("HTTPBadRequest", "InvalidInput"), body
    r = await network.call("PUT", url, headers={"If-Match": "yes"},
                           json={"port": {"name": "x"}}, expect=400)
    assert error_type(r) == "BadRequest"
    await network.call("GET", f"{PORTS}/{uuid.uuid4()}", expect=404)


async def test_extensions_and_resources_list_ports(network: ServiceClient) -> None:
    r = await network.call("GET", "/v2.0/extensions", expect=200)
    aliases = {e["alias"] for e in r.json()["extensions"]}
    assert {"binding", "allowed-address-pairs", "port-security",
            "fixed-ip-substring"} <= aliases
    assert "binding-extended" not in aliases and "port-mac-address-regenerate" not in aliases
    r = await network.call("GET", "/v2.0", expect=200)
    assert "ports" in {res["collection"] for res in r.json()["resources"]}


async def test_port_quota_counts_a_bulk_create_whole(tmp_path: Path) -> None:
    config = make_config(tmp_path, "network.quota.port=3")
    async for network in make_service_client(config, "network"):
        _, token = await network.project_user_token()
        net = await _net(network, token)
        await _port(network, net["id"], token)
        body = {"ports": [{"network_id": net["id"]}] * 3}
        r = await network.call("POST", PORTS, token=token, json=body, expect=409)
        assert error_type(r) == "OverQuota"
        body = {"ports": [{"network_id": net["id"]}] * 2}
        await network.call("POST", PORTS, token=token, json=body, expect=201)
        r = await _port(network, net["id"], token, expect=409)
        assert error_type(r) == "OverQuota"


async def test_200_concurrent_creates_on_a_26_give_61_ports(network: ServiceClient) -> None:
    net = await _net(network)
    subnet = await make_subnet_row(network, net["id"], "10.7.0.0/26")
    results = await asyncio.gather(*(
        network.call("POST", PORTS, json={"port": {"network_id": net["id"]}})
        for _ in range(200)))
    made = [r.json()["port"] for r in results if r.status_code == 201]
    refused = [r for r in results if r.status_code != 201]
    assert len(made) == 61
    assert {r.status_code for r in refused} == {409}
    assert {error_type(r) for r in refused} == {"IpAddressGenerationFailure"}
    addresses = [p["fixed_ips"][0]["ip_address"] for p in made]
    assert len(set(addresses)) == 61
    assert set(addresses) == {f"10.7.0.{i}" for i in range(2, 63)}
    assert {p["fixed_ips"][0]["subnet_id"] for p in made} == {subnet}
