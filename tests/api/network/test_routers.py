"""Routers: the user story (gateway, interfaces, extra routes, delete), Neutron's refusals,
who sees and changes what, quotas, tags and availability zones."""

from __future__ import annotations

from helpers.inprocess import ServiceClient
from helpers.l3 import ROUTERS, external_network, interface, private_subnet, router, set_router
from helpers.network import error_type, make, make_subnet_row
from ownstack.network.objects import router_info


async def test_user_story_gateway_interface_routes_delete(network: ServiceClient) -> None:
    project, token = await network.project_user_token()
    public, public_subnet = await external_network(network)
    net_id, subnet_id = await private_subnet(network, token)
    made = await router(network, token)
    assert made["status"] == "ACTIVE" and made["admin_state_up"] is True
    assert made["external_gateway_info"] is None and made["routes"] == []
    assert made["project_id"] == made["tenant_id"] == project["id"]
    assert len(made["availability_zones"]) == 1 and made["availability_zone_hints"] == []
    # openstack router set --external-gateway public
    updated = await set_router(network, token, made["id"],
                               external_gateway_info={"network_id": public})
    gateway = updated["external_gateway_info"]
    assert gateway["network_id"] == public and gateway["enable_snat"] is True
    [gw_ip] = gateway["external_fixed_ips"]
    assert gw_ip["subnet_id"] == public_subnet and gw_ip["ip_address"].startswith("172.24.4.")
    # The gateway port: the router's device, no project's (the admin sees it).
    r = await network.call("GET", "/v2.0/ports", params={"device_id": made["id"]}, expect=200)
    [gw_port] = r.json()["ports"]
    assert gw_port["device_owner"] == "network:router_gateway"
    assert gw_port["project_id"] == "" and gw_port["network_id"] == public
    r = await network.call("PUT", f"/v2.0/ports/{gw_port['id']}", expect=409,
                           json={"port": {"device_id": "elsewhere"}})
    assert error_type(r) == "PortInUse"
    r = await network.call("DELETE", f"/v2.0/ports/{gw_port['id']}", expect=409)
    assert error_type(r) == "ServicePortInUse"
    # openstack router add subnet
    answer = await interface(network, token, made["id"], subnet_id=subnet_id)
    assert set(answer) == {"id", "tenant_id", "project_id", "port_id", "subnet_id",
                           "subnet_ids", "network_id"}
    assert answer["id"] == made["id"] and answer["subnet_ids"] == [subnet_id]
    assert answer["project_id"] == project["id"]
    r = await network.call("GET", f"/v2.0/ports/{answer['port_id']}", token=token, expect=200)
    port = r.json()["port"]
    assert port["device_owner"] == "network:router_interface"
    assert port["device_id"] == made["id"]
    assert port["fixed_ips"] == [{"subnet_id": subnet_id, "ip_address": "10.0.0.1"}]
    # The member sees the interface, not the gateway, among the router's ports.
    r = await network.call("GET", "/v2.0/ports", token=token,
                           params={"device_id": made["id"]}, expect=200)
    assert [p["id"] for p in r.json()["ports"]] == [answer["port_id"]]
    # A router port is the router's: /ports does not delete it, nor give it to another
    # device or owner (Neutron's PortInUse); other changes (a name) are fine.
    r = await network.call("DELETE", f"/v2.0/ports/{answer['port_id']}", token=token,
                           expect=409)
    assert error_type(r) == "ServicePortInUse"
    assert r.json()["NeutronError"]["message"] == (
        f"Port {answer['port_id']} cannot be deleted directly via the port API: has device "
        "owner network:router_interface.")
    for change in ({"device_owner": "compute:nova"}, {"device_id": "some-server"},
                   {"device_owner": "", "device_id": ""}):
        r = await network.call("PUT", f"/v2.0/ports/{answer['port_id']}", token=token,
                               expect=409, json={"port": change})
        assert error_type(r) == "PortInUse"
        assert r.json()["NeutronError"]["message"] == (
            f"Unable to complete operation on port {answer['port_id']} for network "
            f"{net_id}. Port already has an attached device {made['id']}.")
    r = await network.call("PUT", f"/v2.0/ports/{answer['port_id']}", expect=200,
                           json={"port": {"name": "r1-leg", "device_id": made["id"],
                                          "device_owner": "network:router_interface"}})
    assert r.json()["port"]["name"] == "r1-leg"
    # openstack router set --route destination=192.168.50.0/24,gateway=10.0.0.20
    route = {"destination": "192.168.50.0/24", "nexthop": "10.0.0.20"}
    assert (await set_router(network, token, made["id"], routes=[route]))["routes"] == [route]
    # A router with interfaces cannot be deleted.
    r = await network.call("DELETE", f"{ROUTERS}/{made['id']}", token=token, expect=409)
    assert error_type(r) == "RouterInUse"
    # The route needs the interface.
    r = await interface(network, token, made["id"], "remove", expect=409, subnet_id=subnet_id)
    assert error_type(r) == "RouterInterfaceInUseByRoute"
    await set_router(network, token, made["id"], routes=[])
    removed = await interface(network, token, made["id"], "remove", subnet_id=subnet_id)
    assert removed["port_id"] == answer["port_id"] and removed["subnet_ids"] == [subnet_id]
    await network.call("GET", f"/v2.0/ports/{answer['port_id']}", expect=404)
    await network.call("DELETE", f"{ROUTERS}/{made['id']}", token=token, expect=204)
    # The gateway port went with the router, and the external network can go now.
    await network.call("GET", f"/v2.0/ports/{gw_port['id']}", expect=404)
    await network.call("GET", f"{ROUTERS}/{made['id']}", token=token, expect=404)
    await network.call("DELETE", f"/v2.0/networks/{public}", expect=204)


async def test_gateway_on_create_and_clear(network: ServiceClient) -> None:
    _, token = await network.project_user_token()
    public, _ = await external_network(network)
    made = await router(network, token, external_gateway_info={"network_id": public})
    assert made["external_gateway_info"]["network_id"] == public
    cleared = await set_router(network, token, made["id"], external_gateway_info={})
    assert cleared["external_gateway_info"] is None
    r = await network.call("GET", "/v2.0/ports", params={"device_id": made["id"]}, expect=200)
    assert r.json()["ports"] == []
    # Setting it again, and clearing with null.
    await set_router(network, token, made["id"], external_gateway_info={"network_id": public})
    assert (await set_router(network, token, made["id"], external_gateway_info=None)
            )["external_gateway_info"] is None


async def test_gateway_refusals(network: ServiceClient) -> None:
    _, token = await network.project_user_token()
    # The gateway addresses the admin asks for below (172.24.4.100, .101) lie outside the
    # pool a project's router gateway is drawn from at random, so it cannot hold them.
    public, public_subnet = await external_network(
        network, allocation_pools=[{"start": "172.24.4.2", "end": "172.24.4.99"}])
    private, _ = await private_subnet(network, token)
    # A network that is not external: Neutron's 400.
    r = await router(network, token, 400, external_gateway_info={"network_id": private})
    assert error_type(r) == "BadRequest" and "not an external network" in r.text
    # An unknown network: 404.
    r = await router(network, token, 404, external_gateway_info={
        "network_id": "0b6e0a8e-0000-4000-8000-000000000000"})
    assert error_type(r) == "NetworkNotFound"
    # enable_snat and external_fixed_ips are the admin's.
    for info in ({"network_id": public, "enable_snat": False},
                 {"network_id": public, "external_fixed_ips": [{"subnet_id": public_subnet}]}):
        r = await router(network, token, 403, external_gateway_info=info)
        assert error_type(r) == "PolicyNotAuthorized"
    made = await router(network, None, external_gateway_info={
        "network_id": public, "enable_snat": False,
        "external_fixed_ips": [{"subnet_id": public_subnet, "ip_address": "172.24.4.100"}]})
    gateway = made["external_gateway_info"]
    assert gateway["enable_snat"] is False
    assert gateway["external_fixed_ips"] == [{"subnet_id": public_subnet,
                                              "ip_address": "172.24.4.100"}]
    # The admin moves the gateway to another address of the subnet.
    moved = await set_router(network, None, made["id"], external_gateway_info={
        "network_id": public,
        "external_fixed_ips": [{"subnet_id": public_subnet, "ip_address": "172.24.4.101"}]})
    assert moved["external_gateway_info"]["external_fixed_ips"] == [
        {"subnet_id": public_subnet, "ip_address": "172.24.4.101"}]
    assert moved["external_gateway_info"]["enable_snat"] is False
    own = await router(network, token, external_gateway_info={"network_id": public})
    r = await set_router(network, token, own["id"], 403, external_gateway_info={
        "network_id": public, "enable_snat": False})
    assert error_type(r) == "PolicyNotAuthorized"
    moved = await set_router(network, None, made["id"], external_gateway_info={
        "network_id": public,
        "external_fixed_ips": [{"subnet_id": public_subnet, "ip_address": "172.24.4.100"}]})
    # That address is now taken.
    r = await router(network, None, 409, external_gateway_info={
        "network_id": public,
        "external_fixed_ips": [{"subnet_id": public_subnet, "ip_address": "172.24.4.100"}]})
    assert error_type(r) == "IpAddressInUse"
    # An external network without subnets gives no address.
    bare = await make(network, "network", **{"router:external": True})
    r = await router(network, token, 400, external_gateway_info={"network_id": bare["id"]})
    assert "No IPs available" in r.text
    # A full external network.
    full, _ = await external_network(network, "172.25.0.0/30")
    await router(network, token, external_gateway_info={"network_id": full})
    r = await router(network, token, 409, external_gateway_info={"network_id": full})
    assert error_type(r) == "IpAddressGenerationFailure"


async def test_external_by_rbac_policy_only_for_its_project(network: ServiceClient) -> None:
    _, token = await network.project_user_token()
    other, other_token = await network.project_user_token()
    # The admin's network, external to one project by an access_as_external policy.
    net = await make(network, "network", name="ext-for-one")
    await make_subnet_row(network, net["id"], "172.30.0.0/24")
    await network.call("POST", "/v2.0/rbac-policies", expect=201, json={"rbac_policy": {
        "object_type": "network", "object_id": net["id"], "action": "access_as_external",
        "target_tenant": other["id"]}})
    made = await router(network, other_token, external_gateway_info={"network_id": net["id"]})
    assert made["external_gateway_info"]["network_id"] == net["id"]
    r = await router(network, token, 404, external_gateway_info={"network_id": net["id"]})
    assert error_type(r) == "NetworkNotFound"


async def test_interface_refusals(network: ServiceClient) -> None:
    _, token = await network.project_user_token()
    net_id, subnet_id = await private_subnet(network, token)
    made = await router(network, token)
    rid = made["id"]
    r = await interface(network, token, rid, expect=400)
    assert error_type(r) == "BadRequest"
    r = await interface(network, token, rid, expect=400, subnet_id=subnet_id,
                        port_id=subnet_id)
    assert "Cannot specify both" in r.text
    # A subnet without a gateway.
    _, bare = await private_subnet(network, token, "10.9.0.0/24", gateway_ip=None)
    r = await interface(network, token, rid, expect=400, subnet_id=bare)
    assert error_type(r) == "BadRequest" and "gateway IP" in r.text
    await interface(network, token, rid, subnet_id=subnet_id)
    # A subnet already on the router.
    r = await interface(network, token, rid, expect=400, subnet_id=subnet_id)
    assert error_type(r) == "BadRequest" and "already has a port on subnet" in r.text
    # A subnet that overlaps one on the router (another network, same CIDR).
    _, same_cidr = await private_subnet(network, token, "10.0.0.0/25")
    r = await interface(network, token, rid, expect=400, subnet_id=same_cidr)
    assert error_type(r) == "BadRequest" and "overlaps" in r.text
    # Removing a subnet that is not attached.
    _, unattached = await private_subnet(network, token, "10.1.0.0/24")
    r = await interface(network, token, rid, "remove", expect=404, subnet_id=unattached)
    assert error_type(r) == "RouterInterfaceNotFoundForSubnet"
    r = await interface(network, token, rid, "remove", expect=404,
                        port_id="0b6e0a8e-0000-4000-8000-000000000000")
    assert error_type(r) == "RouterInterfaceNotFound"
    # An unknown subnet.
    r = await interface(network, token, rid, expect=404,
                        subnet_id="0b6e0a8e-0000-4000-8000-000000000000")
    assert error_type(r) == "SubnetNotFound"
    # The subnet with a router interface cannot be deleted.
    r = await network.call("DELETE", f"/v2.0/subnets/{subnet_id}", token=token, expect=409)
    assert error_type(r) == "SubnetInUse"
    del net_id


async def test_interface_by_port(network: ServiceClient) -> None:
    _, token = await network.project_user_token()
    net_id, subnet_id = await private_subnet(network, token)
    made = await router(network, token)
    r = await network.call("POST", "/v2.0/ports", token=token, expect=201, json={"port": {
        "network_id": net_id, "fixed_ips": [{"subnet_id": subnet_id,
                                             "ip_address": "10.0.0.254"}]}})
    port = r.json()["port"]
    answer = await interface(network, token, made["id"], port_id=port["id"])
    assert answer["port_id"] == port["id"] and answer["subnet_id"] == subnet_id
    r = await network.call("GET", f"/v2.0/ports/{port['id']}", token=token, expect=200)
    assert r.json()["port"]["device_owner"] == "network:router_interface"
    assert r.json()["port"]["device_id"] == made["id"]
    # A port another device uses.
    r = await network.call("POST", "/v2.0/ports", token=token, expect=201, json={"port": {
        "network_id": net_id, "device_id": "some-server", "device_owner": "compute:nova"}})
    used = r.json()["port"]
    other = await router(network, token)
    r = await interface(network, token, other["id"], expect=409, port_id=used["id"])
    assert error_type(r) == "PortInUse"
    # The port already on a router is in use too.
    r = await interface(network, token, other["id"], expect=409, port_id=port["id"])
    assert error_type(r) == "PortInUse"
    # A port without addresses.
    bare_net = await make(network, "network", token)
    r = await network.call("POST", "/v2.0/ports", token=token, expect=201,
                           json={"port": {"network_id": bare_net["id"]}})
    r = await interface(network, token, other["id"], expect=400,
                        port_id=r.json()["port"]["id"])
    assert "at least one fixed IP" in r.text
    # Remove by port, with a subnet that does not match.
    _, elsewhere = await private_subnet(network, token, "10.5.0.0/24")
    r = await interface(network, token, made["id"], "remove", expect=400,
                        port_id=port["id"], subnet_id=elsewhere)
    assert error_type(r) == "SubnetMismatchForPort"
    removed = await interface(network, token, made["id"], "remove", port_id=port["id"])
    assert removed["port_id"] == port["id"]
    await network.call("GET", f"/v2.0/ports/{port['id']}", token=token, expect=404)


async def test_ipv6_subnets_of_one_network_share_the_routers_port(network: ServiceClient
                                                                   ) -> None:
    """Neutron's ``_add_interface_by_subnet``: an IPv6 subnet joins the router's port that
    already has an IPv6 address on that network; an IPv4 one gets a port of its own.
    Removed by subnet, a port of several prefixes loses that subnet's address only."""
    _, token = await network.project_user_token()
    net_id, v4 = await private_subnet(network, token)
    v6, gateways = [], []
    for cidr in ("fd00:1::/64", "fd00:2::/64"):
        sub = await make(network, "subnet", token, network_id=net_id, ip_version=6, cidr=cidr,
                         ipv6_ra_mode="slaac", ipv6_address_mode="slaac")
        v6.append(sub["id"])
        gateways.append(sub["gateway_ip"])
    made = await router(network, token)
    first = await interface(network, token, made["id"], subnet_id=v6[0])
    second = await interface(network, token, made["id"], subnet_id=v6[1])
    assert second["port_id"] == first["port_id"] and second["subnet_ids"] == [v6[1]]
    four = await interface(network, token, made["id"], subnet_id=v4)
    assert four["port_id"] != first["port_id"]

    async def legs() -> dict[str, list[str]]:
        r = await network.call("GET", "/v2.0/ports", token=token, expect=200,
                               params={"device_id": made["id"]})
        return {p["id"]: sorted(ip["ip_address"] for ip in p["fixed_ips"])
                for p in r.json()["ports"]}
    assert await legs() == {first["port_id"]: sorted(gateways),
                            four["port_id"]: ["10.0.0.1"]}
    # The subnet is on the router already: a second add is refused as before.
    r = await interface(network, token, made["id"], expect=400, subnet_id=v6[1])
    assert error_type(r) == "BadRequest"

    removed = await interface(network, token, made["id"], "remove", subnet_id=v6[0])
    assert removed["port_id"] == first["port_id"] and removed["subnet_ids"] == [v6[0]]
    assert await legs() == {first["port_id"]: [gateways[1]], four["port_id"]: ["10.0.0.1"]}
    await interface(network, token, made["id"], "remove", subnet_id=v6[1])
    assert await legs() == {four["port_id"]: ["10.0.0.1"]}


async def test_the_hosting_agent_learns_each_legs_ipv6_modes_and_dns(
        network: ServiceClient) -> None:
    """What the router's agent reads (``get_router``): each address with its subnet's IPv6
    modes and DNS servers, from which it configures the router's advertisements."""
    _, token = await network.project_user_token()
    net_id, v4 = await private_subnet(network, token)
    v6 = await make(network, "subnet", token, network_id=net_id, ip_version=6,
                    cidr="fd00:7::/64", ipv6_ra_mode="slaac", ipv6_address_mode="slaac",
                    dns_nameservers=["fd00:7::53"])
    made = await router(network, token)
    await interface(network, token, made["id"], subnet_id=v6["id"])
    await interface(network, token, made["id"], subnet_id=v4)

    async with network.app.svc.read() as db:
        info = await router_info.router_info(db, made["id"])
    assert info is not None
    addresses = {a["ip_address"]: a for leg in info["interfaces"] for a in leg["addresses"]}
    assert addresses[v6["gateway_ip"]] == {
        "subnet_id": v6["id"], "ip_address": v6["gateway_ip"], "prefixlen": 64,
        "ipv6_ra_mode": "slaac", "ipv6_address_mode": "slaac",
        "dns_nameservers": ["fd00:7::53"]}
    assert addresses["10.0.0.1"]["ipv6_ra_mode"] is None
    assert addresses["10.0.0.1"]["dns_nameservers"] == []


async def test_extra_routes(network: ServiceClient) -> None:
    _, token = await network.project_user_token()
    _, subnet_id = await private_subnet(network, token)
    made = await router(network, token)
    rid = made["id"]
    # No interface yet: the next hop is not connected.
    r = await set_router(network, token, rid, 400, routes=[
        {"destination": "192.168.0.0/24", "nexthop": "10.0.0.5"}])
    assert error_type(r) == "InvalidRoutes" and "not connected" in r.text
    await interface(network, token, rid, subnet_id=subnet_id)
    r = await set_router(network, token, rid, 400, routes=[
        {"destination": "192.168.0.0/24", "nexthop": "10.0.0.1"}])
    assert error_type(r) == "InvalidRoutes" and "used by router" in r.text
    r = await set_router(network, token, rid, 400, routes=[
        {"destination": "not-a-cidr", "nexthop": "10.0.0.5"}])
    assert r.status_code == 400
    r = await set_router(network, token, rid, 400, routes=[
        {"destination": f"192.168.{n}.0/24", "nexthop": "10.0.0.5"} for n in range(31)])
    assert error_type(r) == "RoutesExhausted"
    one = {"destination": "192.168.0.0/24", "nexthop": "10.0.0.5"}
    two = {"destination": "192.168.1.0/24", "nexthop": "10.0.0.6"}
    r = await network.call("PUT", f"{ROUTERS}/{rid}/add_extraroutes", token=token,
                           expect=200, json={"router": {"routes": [one, two]}})
    assert r.json()["router"]["routes"] == [one, two]
    r = await network.call("PUT", f"{ROUTERS}/{rid}/add_extraroutes", token=token,
                           expect=200, json={"router": {"routes": [one]}})
    assert r.json()["router"]["routes"] == [one, two]
    r = await network.call("PUT", f"{ROUTERS}/{rid}/remove_extraroutes", token=token,
                           expect=200, json={"router": {"routes": [one]}})
    assert r.json()["router"]["routes"] == [two]
    r = await network.call("GET", f"{ROUTERS}/{rid}", token=token, expect=200)
    assert r.json()["router"]["routes"] == [two]


async def test_isolation_and_same_cidr_behind_two_routers(network: ServiceClient) -> None:
    _, token = await network.project_user_token()
    _, other_token = await network.project_user_token()
    public, _ = await external_network(network)
    mine = await router(network, token, external_gateway_info={"network_id": public})
    theirs = await router(network, other_token, external_gateway_info={"network_id": public})
    _, my_subnet = await private_subnet(network, token)
    _, their_subnet = await private_subnet(network, other_token)
    await interface(network, token, mine["id"], subnet_id=my_subnet)
    await interface(network, other_token, theirs["id"], subnet_id=their_subnet)
    r = await network.call("GET", ROUTERS, token=token, expect=200)
    assert [x["id"] for x in r.json()["routers"]] == [mine["id"]]
    for method, path, body in (
            ("GET", f"{ROUTERS}/{theirs['id']}", None),
            ("PUT", f"{ROUTERS}/{theirs['id']}", {"router": {"name": "x"}}),
            ("DELETE", f"{ROUTERS}/{theirs['id']}", None),
            ("PUT", f"{ROUTERS}/{theirs['id']}/add_router_interface",
             {"subnet_id": my_subnet})):
        r = await network.call(method, path, token=token, expect=404, json=body)
        assert error_type(r) == "RouterNotFound"
    # Another project's subnet is not found on my router.
    r = await interface(network, token, mine["id"], expect=404, subnet_id=their_subnet)
    assert error_type(r) == "SubnetNotFound"


async def test_reader_cannot_write(network: ServiceClient) -> None:
    project, token = await network.project_user_token()
    reader = await network.identity.make_user(project=project, role="reader", password="pw")
    reader_token = await network.identity.token(reader["name"], "pw", project=project["name"])
    _, subnet_id = await private_subnet(network, token)
    made = await router(network, token)
    r = await network.call("GET", f"{ROUTERS}/{made['id']}", token=reader_token, expect=200)
    assert r.json()["router"]["id"] == made["id"]
    await router(network, reader_token, 403)
    await set_router(network, reader_token, made["id"], 403, name="x")
    await interface(network, reader_token, made["id"], expect=403, subnet_id=subnet_id)
    await network.call("DELETE", f"{ROUTERS}/{made['id']}", token=reader_token, expect=403)


async def test_quota_tags_filters_and_zones(network: ServiceClient) -> None:
    project, token = await network.project_user_token()
    await network.call("PUT", f"/v2.0/quotas/{project['id']}", expect=200,
                       json={"quota": {"router": 2}})
    first = await router(network, token, name="r1")
    await router(network, token, name="r2")
    r = await router(network, token, 409)
    assert error_type(r) == "OverQuota"
    r = await network.call("GET", f"/v2.0/quotas/{project['id']}/details", token=token,
                           expect=200)
    assert r.json()["quota"]["router"] == {"limit": 2, "used": 2, "reserved": 0}
    await network.call("PUT", f"{ROUTERS}/{first['id']}/tags/blue", token=token, expect=201)
    r = await network.call("GET", ROUTERS, token=token, params={"tags": "blue"}, expect=200)
    assert [x["name"] for x in r.json()["routers"]] == ["r1"]
    r = await network.call("GET", ROUTERS, token=token, params={"name": "r2"}, expect=200)
    assert [x["name"] for x in r.json()["routers"]] == ["r2"]
    r = await network.call("GET", ROUTERS, token=token, params={"bogus": "1"}, expect=400)
    r = await network.call("GET", "/v2.0/availability_zones", token=token,
                           params={"resource": "router"}, expect=200)
    assert [z["resource"] for z in r.json()["availability_zones"]] == ["router"]
    r = await router(network, token, 404, availability_zone_hints=["elsewhere"])
    assert error_type(r) == "AvailabilityZoneNotFound"
    r = await network.call("GET", "/v2.0/extensions", expect=200)
    aliases = {e["alias"] for e in r.json()["extensions"]}
    assert {"router", "ext-gw-mode", "extraroute", "extraroute-atomic",
            "router_availability_zone"} <= aliases
