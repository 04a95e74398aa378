"""Floating IPs: the user story (create, associate, disassociate, delete), Neutron's
reachability and refusals, who sees and changes what, quotas, filters, pools, and
concurrent associations of one fixed IP."""

from __future__ import annotations

import asyncio
import ipaddress
from typing import Any

from helpers.inprocess import ServiceClient
from helpers.l3 import (
    external_network,
    interface,
    private_subnet,
    router,
    set_router,
)
from helpers.network import error_type, make

FIPS = "/v2.0/floatingips"


async def fip(client: ServiceClient, token: str | None, network_id: str, expect: int = 201,
              **fields: Any) -> Any:
    r = await client.call("POST", FIPS, token=token, expect=expect,
                          json={"floatingip": {"floating_network_id": network_id, **fields}})
    return r.json()["floatingip"] if expect == 201 else r


async def set_fip(client: ServiceClient, token: str, fip_id: str, expect: int = 200,
                  **fields: Any) -> Any:
    r = await client.call("PUT", f"{FIPS}/{fip_id}", token=token, expect=expect,
                          json={"floatingip": fields})
    return r.json()["floatingip"] if expect == 200 else r


async def port(client: ServiceClient, token: str, network_id: str, **fields: Any
               ) -> dict[str, Any]:
    r = await client.call("POST", "/v2.0/ports", token=token, expect=201,
                          json={"port": {"network_id": network_id, **fields}})
    body: dict[str, Any] = r.json()["port"]
    return body


async def routed(client: ServiceClient, token: str, public: str, cidr: str = "10.0.0.0/24"
                 ) -> tuple[str, str, str]:
    """A project's network and subnet behind its router, whose gateway is on ``public``:
    (network id, subnet id, router id)."""
    net_id, subnet_id = await private_subnet(client, token, cidr)
    made = await router(client, token, external_gateway_info={"network_id": public})
    await interface(client, token, made["id"], subnet_id=subnet_id)
    return net_id, subnet_id, made["id"]


async def test_user_story_create_associate_disassociate_delete(network: ServiceClient
                                                               ) -> None:
    project, token = await network.project_user_token()
    public, public_subnet = await external_network(network)
    net_id, subnet_id, router_id = await routed(network, token, public)
    vm_port = await port(network, token, net_id, name="vm1-port")
    # openstack floating ip create public
    made = await fip(network, token, public)
    assert ipaddress.ip_address(made["floating_ip_address"]) in \
        ipaddress.ip_network("172.24.4.0/24")
    assert made["port_id"] is None and made["fixed_ip_address"] is None
    assert made["router_id"] is None and made["port_details"] is None
    assert made["status"] == "DOWN" and made["floating_network_id"] == public
    assert made["project_id"] == made["tenant_id"] == project["id"]
    # Its address is held by a port of the floating IP on the external network.
    r = await network.call("GET", "/v2.0/ports", params={"device_id": made["id"]}, expect=200)
    [held] = r.json()["ports"]
    assert held["device_owner"] == "network:floatingip" and held["project_id"] == ""
    assert held["fixed_ips"] == [{"subnet_id": public_subnet,
                                  "ip_address": made["floating_ip_address"]}]
    # openstack floating ip set --port
    associated = await set_fip(network, token, made["id"], port_id=vm_port["id"])
    assert associated["port_id"] == vm_port["id"]
    assert associated["fixed_ip_address"] == vm_port["fixed_ips"][0]["ip_address"]
    assert associated["router_id"] == router_id
    assert associated["status"] == "DOWN"           # the agent, not the API, says ACTIVE
    details = associated["port_details"]
    assert details["mac_address"] == vm_port["mac_address"]
    assert details["network_id"] == net_id and details["name"] == "vm1-port"
    # What `server add floating ip` looks up.
    r = await network.call("GET", FIPS, token=token, expect=200,
                           params={"floating_ip_address": made["floating_ip_address"]})
    assert [x["id"] for x in r.json()["floatingips"]] == [made["id"]]
    for name, value in (("port_id", vm_port["id"]), ("router_id", router_id),
                        ("fixed_ip_address", associated["fixed_ip_address"]),
                        ("status", "DOWN"), ("floating_network_id", public),
                        ("project_id", project["id"])):
        r = await network.call("GET", FIPS, token=token, params={name: value}, expect=200)
        assert [x["id"] for x in r.json()["floatingips"]] == [made["id"]], name
    # The interface and the gateway are needed now.
    r = await interface(network, token, router_id, "remove", expect=409, subnet_id=subnet_id)
    assert error_type(r) == "RouterInterfaceInUseByFloatingIP"
    r = await set_router(network, token, router_id, 409, external_gateway_info={})
    assert error_type(r) == "RouterExternalGatewayInUseByFloatingIp"
    # The external network is in use.
    r = await network.call("DELETE", f"/v2.0/networks/{public}", expect=409)
    assert error_type(r) == "NetworkInUse"
    # openstack floating ip unset --port
    unset = await set_fip(network, token, made["id"], port_id=None)
    assert unset["port_id"] is None and unset["fixed_ip_address"] is None
    assert unset["router_id"] is None and unset["port_details"] is None
    await interface(network, token, router_id, "remove", subnet_id=subnet_id)
    await network.call("DELETE", f"{FIPS}/{made['id']}", token=token, expect=204)
    await network.call("GET", f"{FIPS}/{made['id']}", token=token, expect=404)
    await network.call("GET", f"/v2.0/ports/{held['id']}", expect=404)


async def test_create_with_port_and_fixed_ip(network: ServiceClient) -> None:
    _, token = await network.project_user_token()
    public, _ = await external_network(network)
    net_id, subnet_id, router_id = await routed(network, token, public)
    # A second subnet on the same network, also behind the router.
    second = await make(network, "subnet", token, network_id=net_id, ip_version=4,
                        cidr="10.0.1.0/24")
    await interface(network, token, router_id, subnet_id=second["id"])
    two = await port(network, token, net_id, fixed_ips=[{"subnet_id": subnet_id},
                                                         {"subnet_id": second["id"]}])
    addresses = [ip["ip_address"] for ip in two["fixed_ips"]]
    r = await fip(network, token, public, 400, port_id=two["id"])
    assert "multiple fixed IPv4 addresses" in r.text
    r = await fip(network, token, public, 400, port_id=two["id"], fixed_ip_address="10.9.9.9")
    assert error_type(r) == "BadRequest" and "does not have fixed ip" in r.text
    made = await fip(network, token, public, port_id=two["id"], fixed_ip_address=addresses[1])
    assert made["fixed_ip_address"] == addresses[1] and made["router_id"] == router_id
    # The same fixed IP again: 409.
    r = await fip(network, token, public, 409, port_id=two["id"],
                  fixed_ip_address=addresses[1])
    assert error_type(r) == "FloatingIPPortAlreadyAssociated"
    # The other address of the port is free for another.
    other = await fip(network, token, public, port_id=two["id"],
                      fixed_ip_address=addresses[0])
    assert other["fixed_ip_address"] == addresses[0]
    r = await fip(network, token, public, 400, fixed_ip_address=addresses[0])
    assert "without a port_id" in r.text


async def test_refusals(network: ServiceClient) -> None:
    _, token = await network.project_user_token()
    public, public_subnet = await external_network(network)
    private, _ = await private_subnet(network, token)
    # Not an external network: Neutron's 400.
    r = await fip(network, token, private, 400)
    assert error_type(r) == "BadRequest" and "not a valid external network" in r.text
    r = await fip(network, token, "0b6e0a8e-0000-4000-8000-000000000000", 404)
    assert error_type(r) == "NetworkNotFound"
    # Choosing the address is the admin's.
    r = await fip(network, token, public, 403, floating_ip_address="172.24.4.50")
    assert error_type(r) == "PolicyNotAuthorized"
    chosen = await fip(network, None, public, floating_ip_address="172.24.4.50")
    assert chosen["floating_ip_address"] == "172.24.4.50"
    r = await fip(network, None, public, 409, floating_ip_address="172.24.4.50")
    assert error_type(r) == "IpAddressInUse"
    r = await fip(network, None, public, 400, floating_ip_address="10.0.0.5")
    assert error_type(r) == "InvalidIpForNetwork"
    by_subnet = await fip(network, token, public, subnet_id=public_subnet)
    assert by_subnet["floating_ip_address"].startswith("172.24.4.")
    # A port whose subnet reaches no router with a gateway on the network: 404.
    lonely = await port(network, token, private)
    r = await fip(network, token, public, 404, port_id=lonely["id"])
    assert error_type(r) == "ExternalGatewayForFloatingIPNotFound"
    made = await fip(network, token, public)
    r = await set_fip(network, token, made["id"], 404, port_id=lonely["id"])
    assert error_type(r) == "ExternalGatewayForFloatingIPNotFound"
    # A router on the subnet, but its gateway elsewhere: still unreachable.
    elsewhere, _ = await external_network(network, "172.26.0.0/24")
    _, subnet2, _ = await routed(network, token, elsewhere, "10.7.0.0/24")
    net2 = (await network.call("GET", f"/v2.0/subnets/{subnet2}", token=token, expect=200)
            ).json()["subnet"]["network_id"]
    behind_other = await port(network, token, net2)
    r = await set_fip(network, token, made["id"], 404, port_id=behind_other["id"])
    assert error_type(r) == "ExternalGatewayForFloatingIPNotFound"
    # An unknown port.
    r = await set_fip(network, token, made["id"], 404,
                      port_id="0b6e0a8e-0000-4000-8000-000000000000")
    assert error_type(r) == "PortNotFound"
    # A full external network.
    full, _ = await external_network(network, "172.27.0.0/30")
    await fip(network, token, full)
    r = await fip(network, token, full, 409)
    assert error_type(r) == "IpAddressGenerationFailure"
    # An external network that only unassociated floating IPs use is deleted with them,
    # as in Neutron (test_deleting_the_external_network_deletes_its_unassociated_...).
    await network.call("DELETE", f"/v2.0/networks/{full}", expect=204)
    # An unknown field.
    r = await fip(network, token, public, 400, bogus=1)


async def test_deleting_a_port_disassociates(network: ServiceClient) -> None:
    _, token = await network.project_user_token()
    public, _ = await external_network(network)
    net_id, _, _ = await routed(network, token, public)
    vm_port = await port(network, token, net_id)
    made = await fip(network, token, public, port_id=vm_port["id"])
    assert made["port_id"] == vm_port["id"]
    await network.call("DELETE", f"/v2.0/ports/{vm_port['id']}", token=token, expect=204)
    r = await network.call("GET", f"{FIPS}/{made['id']}", token=token, expect=200)
    shown = r.json()["floatingip"]
    assert shown["port_id"] is None and shown["fixed_ip_address"] is None
    assert shown["router_id"] is None


async def test_a_port_keeps_the_fixed_ip_a_floating_ip_maps_to(network: ServiceClient
                                                                ) -> None:
    """Neutron's ``prevent_internal_ip_change_for_fip``: a port update that drops the
    address a floating IP is associated with is a 400; one that keeps it (named by
    ``ip_address``) and adds another is fine; disassociated, the address may go."""
    _, token = await network.project_user_token()
    public, _ = await external_network(network)
    net_id, subnet_id, _ = await routed(network, token, public)
    vm_port = await port(network, token, net_id, fixed_ips=[
        {"subnet_id": subnet_id, "ip_address": "10.0.0.10"}])
    made = await fip(network, token, public, port_id=vm_port["id"])
    assert made["fixed_ip_address"] == "10.0.0.10"
    url = f"/v2.0/ports/{vm_port['id']}"
    for fixed_ips in ([{"subnet_id": subnet_id, "ip_address": "10.0.0.11"}], []):
        r = await network.call("PUT", url, token=token, expect=400,
                               json={"port": {"fixed_ips": fixed_ips}})
        assert error_type(r) == "BadRequest"
        assert r.json()["NeutronError"]["message"] == (
            f"Bad port request: Cannot update the fixed_ips of the port {vm_port['id']}, "
            "because its original fixed_ip has been associated to a floating ip.")
    r = await network.call("GET", url, token=token, expect=200)
    assert [ip["ip_address"] for ip in r.json()["port"]["fixed_ips"]] == ["10.0.0.10"]
    r = await network.call("PUT", url, token=token, expect=200, json={"port": {"fixed_ips": [
        {"subnet_id": subnet_id, "ip_address": "10.0.0.10"},
        {"subnet_id": subnet_id, "ip_address": "10.0.0.12"}]}})
    assert {ip["ip_address"] for ip in r.json()["port"]["fixed_ips"]} == {"10.0.0.10",
                                                                        "10.0.0.12"}
    await set_fip(network, token, made["id"], port_id=None)
    r = await network.call("PUT", url, token=token, expect=200, json={"port": {"fixed_ips": [
        {"subnet_id": subnet_id, "ip_address": "10.0.0.12"}]}})
    assert [ip["ip_address"] for ip in r.json()["port"]["fixed_ips"]] == ["10.0.0.12"]


async def test_isolation(network: ServiceClient) -> None:
    _, token = await network.project_user_token()
    _, other_token = await network.project_user_token()
    public, _ = await external_network(network)
    # Two projects, the same CIDR, each behind its own router.
    my_net, _, my_router = await routed(network, token, public)
    their_net, _, their_router = await routed(network, other_token, public)
    same = [{"ip_address": "10.0.0.10"}]
    mine = await fip(network, token, public,
                     port_id=(await port(network, token, my_net, fixed_ips=same))["id"])
    theirs = await fip(network, other_token, public,
                       port_id=(await port(network, other_token, their_net, fixed_ips=same))["id"])
    assert mine["router_id"] == my_router and theirs["router_id"] == their_router
    assert mine["fixed_ip_address"] == theirs["fixed_ip_address"] == "10.0.0.10"
    r = await network.call("GET", FIPS, token=token, expect=200)
    assert [x["id"] for x in r.json()["floatingips"]] == [mine["id"]]
    for method, body in (("GET", None), ("PUT", {"floatingip": {"port_id": None}}),
                         ("DELETE", None)):
        r = await network.call(method, f"{FIPS}/{theirs['id']}", token=token, expect=404,
                               json=body)
        assert error_type(r) == "FloatingIPNotFound"
    # Another project's port is not found for my floating IP.
    their_port = theirs["port_id"]
    r = await set_fip(network, token, mine["id"], 404, port_id=their_port)
    assert error_type(r) == "PortNotFound"


async def test_reader_cannot_write(network: ServiceClient) -> None:
    project, token = await network.project_user_token()
    reader = await network.identity.make_user(project=project, role="reader", password="pw")
    reader_token = await network.identity.token(reader["name"], "pw", project=project["name"])
    public, _ = await external_network(network)
    made = await fip(network, token, public)
    r = await network.call("GET", f"{FIPS}/{made['id']}", token=reader_token, expect=200)
    assert r.json()["floatingip"]["id"] == made["id"]
    await fip(network, reader_token, public, 403)
    await set_fip(network, reader_token, made["id"], 403, description="x")
    await network.call("DELETE", f"{FIPS}/{made['id']}", token=reader_token, expect=403)


async def test_quota_tags_and_pools(network: ServiceClient) -> None:
    project, token = await network.project_user_token()
    public, public_subnet = await external_network(network)
    await network.call("PUT", f"/v2.0/quotas/{project['id']}", expect=200,
                       json={"quota": {"floatingip": 1}})
    made = await fip(network, token, public)
    r = await fip(network, token, public, 409)
    assert error_type(r) == "OverQuota"
    r = await network.call("GET", f"/v2.0/quotas/{project['id']}/details", token=token,
                           expect=200)
    assert r.json()["quota"]["floatingip"]["used"] == 1
    await network.call("PUT", f"{FIPS}/{made['id']}/tags/blue", token=token, expect=201)
    r = await network.call("GET", FIPS, token=token, params={"tags": "blue"}, expect=200)
    assert [x["id"] for x in r.json()["floatingips"]] == [made["id"]]
    r = await network.call("GET", "/v2.0/floatingip_pools", token=token, expect=200)
    pools = r.json()["floatingip_pools"]
    assert [p["subnet_id"] for p in pools] == [public_subnet]
    assert pools[0]["network_id"] == public and pools[0]["cidr"] == "172.24.4.0/24"


async def test_concurrent_associations_to_one_fixed_ip_one_wins(network: ServiceClient
                                                                ) -> None:
    _, token = await network.project_user_token()
    public, _ = await external_network(network)
    net_id, _, _ = await routed(network, token, public)
    target = await port(network, token, net_id)
    fips = [await fip(network, token, public) for _ in range(8)]
    results = await asyncio.gather(*(
        network.call("PUT", f"{FIPS}/{f['id']}", token=token,
                     json={"floatingip": {"port_id": target["id"]}}) for f in fips))
    statuses = sorted(r.status_code for r in results)
    assert statuses == [200] + [409] * 7, statuses
    r = await network.call("GET", FIPS, token=token, params={"port_id": target["id"]},
                           expect=200)
    assert len(r.json()["floatingips"]) == 1


async def test_deleting_the_external_network_deletes_its_unassociated_floating_ips(
        network: ServiceClient) -> None:
    # As Neutron does (Tempest's test_delete_external_networks_with_floating_ip); an
    # associated floating IP keeps the network in use.
    _, token = await network.project_user_token()
    public, public_subnet = await external_network(network)
    net_id, _, router_id = await routed(network, token, public)
    vm_port = await port(network, token, net_id)
    loose = await fip(network, token, public)
    bound = await fip(network, token, public, port_id=vm_port["id"])
    r = await network.call("DELETE", f"/v2.0/networks/{public}", expect=409)
    assert error_type(r) == "NetworkInUse"
    r = await network.call("GET", FIPS, params={"floating_network_id": public}, expect=200)
    assert {f["id"] for f in r.json()["floatingips"]} == {loose["id"], bound["id"]}
    await network.call("DELETE", f"{FIPS}/{bound['id']}", expect=204)
    await network.call("PUT", f"/v2.0/routers/{router_id}", token=token, expect=200,
                       json={"router": {"external_gateway_info": {}}})
    await network.call("DELETE", f"/v2.0/networks/{public}", expect=204)
    r = await network.call("GET", FIPS, expect=200)
    assert loose["id"] not in {f["id"] for f in r.json()["floatingips"]}
    r = await network.call("GET", "/v2.0/ports", params={"device_id": loose["id"]}, expect=200)
    assert r.json()["ports"] == []
    await network.call("GET", f"/v2.0/subnets/{public_subnet}", expect=404)
