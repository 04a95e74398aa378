"""The metadata service (port 8775) as a guest sees it through the proxy and agent: both
layouts for a server with two ports (one on a DHCP subnet behind a router with a floating
IP, one on a static subnet), a keypair, user data and metadata; the signed headers; the
password a guest posts once; and the config drive built from the same instance."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from helpers.compute import ssh_public_key, wait_status
from helpers.inprocess import CloudClient
from helpers.server_networks import Project, _boot, _project
from ownstack.common.clients.network import NetworkClient
from ownstack.common.metadata_signature import sign_instance_id as sign
from ownstack.common.statedir import read_metadata_secret
from ownstack.compute.agent.guest_specs import guest_spec
from ownstack.compute.drivers.base import ImageRef
from ownstack.compute.drivers.metadata import config_drive_files
from ownstack.compute.objects.instances import spec_of

KEY = ssh_public_key()
USER_DATA = b"#cloud-config\nhostname: vm1\n\xff"


@dataclass
class Guest:
    server: dict[str, Any]
    who: Project
    ports: list[dict[str, Any]]          # in the order asked: DHCP network, static network
    floating_ip: str
    secret: str

    @property
    def id(self) -> str:
        return str(self.server["id"])

    def headers(self, **changes: str | None) -> dict[str, str]:
        headers: dict[str, str | None] = {
            "X-Instance-ID": self.id, "X-Tenant-ID": self.who.project_id,
            "X-Instance-ID-Signature": sign(self.secret, self.id),
            "X-Forwarded-For": self.ports[0]["fixed_ips"][0]["ip_address"]}
        headers.update(changes)
        return {k: v for k, v in headers.items() if v is not None}


async def _network(cloud: CloudClient, token: str | None, path: str, kind: str,
                   **fields: Any) -> dict[str, Any]:
    r = await cloud.on("network", "POST", path, token=token, expect=201, json={kind: fields})
    return dict(r.json()[kind])


@pytest.fixture
async def guest(compute: CloudClient) -> Guest:
    who = await _project(compute)
    public = await _network(compute, None, "/v2.0/networks", "network", name="public",
                            **{"router:external": True})
    await _network(compute, None, "/v2.0/subnets", "subnet", network_id=public["id"],
                   cidr="172.24.4.0/24", ip_version=4, enable_dhcp=False)
    dhcp_net = await _network(compute, who.token, "/v2.0/networks", "network", name="dhcp-net")
    dhcp_sub = await _network(compute, who.token, "/v2.0/subnets", "subnet",
                              network_id=dhcp_net["id"], cidr="10.0.0.0/24", ip_version=4,
                              dns_nameservers=["10.0.0.53"])
    static_net = await _network(compute, who.token, "/v2.0/networks", "network",
                                name="static-net")
    await _network(compute, who.token, "/v2.0/subnets", "subnet",
                   network_id=static_net["id"], cidr="10.1.0.0/24", ip_version=4,
                   enable_dhcp=False, dns_nameservers=["10.1.0.53", "10.0.0.53"],
                   host_routes=[{"destination": "192.168.7.0/24", "nexthop": "10.1.0.254"}])
    router = await _network(compute, who.token, "/v2.0/routers", "router", name="r1",
                            external_gateway_info={"network_id": public["id"]})
    await compute.on("network", "PUT", f"/v2.0/routers/{router['id']}/add_router_interface",
                     token=who.token, expect=200, json={"subnet_id": dhcp_sub["id"]})
    await compute.call("POST", "/v2.1/os-keypairs", token=who.token, expect=200,
                       json={"keypair": {"name": "mykey", "public_key": KEY}})
    r = await _boot(compute, who, [{"uuid": dhcp_net["id"]}, {"uuid": static_net["id"]}],
                    name="vm one", key_name="mykey", metadata={"role": "web"},
                    user_data=base64.b64encode(USER_DATA).decode())
    server = await wait_status(compute, who.token, r.json()["server"]["id"], "ACTIVE")
    r = await compute.on("network", "GET", "/v2.0/ports", params={"device_id": server["id"]},
                         expect=200)
    by_network = {p["network_id"]: p for p in r.json()["ports"]}
    ports = [by_network[dhcp_net["id"]], by_network[static_net["id"]]]
    fip = await _network(compute, who.token, "/v2.0/floatingips", "floatingip",
                         floating_network_id=public["id"], port_id=ports[0]["id"])
    return Guest(server, who, ports, fip["floating_ip_address"],
                 read_metadata_secret(compute.peers.config))


async def get(compute: CloudClient, guest: Guest, path: str, expect: int = 200,
              method: str = "GET", content: bytes | None = None, **headers: str | None
              ) -> httpx.Response:
    r = await compute.clients["metadata"].request(method, path, content=content,
                                                  headers=guest.headers(**headers))
    assert r.status_code == expect, f"{path}: {r.status_code} {r.text}"
    return r


async def test_openstack_layout(compute: CloudClient, guest: Guest) -> None:
    r = await get(compute, guest, "/openstack")
    assert r.text.splitlines()[0] == "2012-08-10" and r.text.splitlines()[-1] == "latest"
    r = await get(compute, guest, "/openstack/latest/")
    assert r.text.splitlines() == ["meta_data.json", "user_data", "password",
                                   "vendor_data.json", "network_data.json",
                                   "vendor_data2.json"]
    assert (await get(compute, guest, "/openstack/2012-08-10")).text.splitlines() == [
        "meta_data.json", "user_data"]
    r = await get(compute, guest, "/openstack/latest/meta_data.json")
    assert r.headers["content-type"].startswith("application/json")
    md = r.json()
    assert md["uuid"] == guest.id
    assert md["name"] == "vm one" and md["hostname"] == "vm-one"
    assert md["project_id"] == guest.who.project_id
    assert md["public_keys"] == {"mykey": KEY}
    assert md["keys"] == [{"name": "mykey", "type": "ssh", "data": KEY}]
    assert md["meta"] == {"role": "web"}
    assert md["availability_zone"] == "nova"
    assert "admin_pass" not in md
    assert (await get(compute, guest, "/openstack/latest/user_data")).content == USER_DATA
    assert (await get(compute, guest, "/openstack/latest/vendor_data.json")).json() == {}
    assert (await get(compute, guest, "/openstack/latest/vendor_data2.json")).json() == {
        "static": {}}
    assert (await get(compute, guest, "/openstack/latest/password")).text == ""


async def test_network_data_from_the_ports(compute: CloudClient, guest: Guest) -> None:
    nd = (await get(compute, guest, "/openstack/latest/network_data.json")).json()
    dhcp, static = guest.ports
    assert nd["links"] == [
        {"id": "tap" + port["id"][:11], "vif_id": port["id"], "type": "bridge",
         "mtu": mtu, "ethernet_mac_address": port["mac_address"]}
        for port, mtu in ((dhcp, 1450), (static, 1450))]
    assert nd["networks"] == [
        {"id": "network0", "type": "ipv4_dhcp", "link": "tap" + dhcp["id"][:11],
         "network_id": dhcp["network_id"]},
        {"id": "network1", "type": "ipv4", "link": "tap" + static["id"][:11],
         "ip_address": static["fixed_ips"][0]["ip_address"], "netmask": "255.255.255.0",
         "routes": [
             {"network": "0.0.0.0", "netmask": "0.0.0.0", "gateway": "10.1.0.1"},
             {"network": "192.168.7.0", "netmask": "255.255.255.0",
              "gateway": "10.1.0.254"}],
         "network_id": static["network_id"]}]
    assert nd["services"] == [{"type": "dns", "address": "10.0.0.53"},
                              {"type": "dns", "address": "10.1.0.53"}]


async def test_ec2_layout(compute: CloudClient, guest: Guest) -> None:
    r = await get(compute, guest, "/")
    assert r.text.splitlines() == ["1.0", "2007-01-19", "2007-03-01", "2007-08-29",
                                   "2007-10-10", "2007-12-15", "2008-02-01", "2008-09-01",
                                   "2009-04-04", "latest"]
    assert (await get(compute, guest, "/latest/")).text == "meta-data/\nuser-data"
    listing = (await get(compute, guest, "/latest/meta-data/")).text.splitlines()
    assert listing == ["ami-id", "ami-launch-index", "hostname", "instance-action",
                       "instance-id", "instance-type", "local-hostname", "local-ipv4",
                       "placement/", "public-hostname", "public-ipv4", "public-keys/",
                       "reservation-id", "security-groups"]

    async def value(path: str) -> str:
        return (await get(compute, guest, f"/latest/meta-data/{path}")).text

    assert await value("instance-id") == "i-" + guest.id.replace("-", "")[:8]
    assert await value("ami-id") == "ami-" + guest.who.image_id.replace("-", "")[:8]
    assert await value("hostname") == await value("local-hostname") == "vm-one"
    assert await value("local-ipv4") == guest.ports[0]["fixed_ips"][0]["ip_address"]
    assert await value("public-ipv4") == guest.floating_ip
    assert await value("public-keys/") == "0=mykey"
    assert await value("public-keys/0/") == "openssh-key"
    assert await value("public-keys/0/openssh-key") == KEY
    assert await value("placement/") == "availability-zone"
    assert await value("placement/availability-zone") == "nova"
    async with compute.svc.read() as db:
        desired = await spec_of(db, guest.id)
        reservation = (await db.execute(text(
            "SELECT reservation_id FROM compute_instances WHERE uuid = :u"),
            {"u": guest.id})).scalar_one()
    assert desired is not None and reservation.startswith("r-")
    assert await value("reservation-id") == reservation
    assert await value("security-groups") == "default"
    assert await value("ami-launch-index") == "0"
    assert (await get(compute, guest, "/latest/user-data")).content == USER_DATA
    assert (await get(compute, guest, "/2009-04-04/meta-data/instance-id")).text == \
        await value("instance-id")
    old = (await get(compute, guest, "/1.0/meta-data/")).text.splitlines()
    assert "placement/" not in old and "public-ipv4" not in old and "hostname" in old


async def test_signed_headers(compute: CloudClient, guest: Guest) -> None:
    path = "/openstack/latest/meta_data.json"
    r = await get(compute, guest, path, 400, **{"X-Instance-ID-Signature": None})
    assert "X-Instance-ID-Signature header is missing" in r.text
    await get(compute, guest, path, 400, **{"X-Instance-ID": None})
    await get(compute, guest, path, 400, **{"X-Tenant-ID": None})
    await get(compute, guest, path, 403, **{"X-Instance-ID-Signature": "0" * 64})
    await get(compute, guest, path, 403, **{"X-Instance-ID-Signature": "not-hex"})
    other = "00000000-0000-4000-8000-000000000000"
    # signed with another secret: 403; signed right but unknown: 404
    await get(compute, guest, path, 403, **{"X-Instance-ID": other,
                                            "X-Instance-ID-Signature": sign("x", other)})
    await get(compute, guest, path, 404, **{"X-Instance-ID": other,
                                            "X-Instance-ID-Signature": sign(guest.secret,
                                                                            other)})
    # the right instance, claimed for another project: 404, as Nova
    await get(compute, guest, path, 404, **{"X-Tenant-ID": "someone-else"})


async def test_password_is_posted_once(compute: CloudClient, guest: Guest) -> None:
    path = "/openstack/latest/password"
    await get(compute, guest, path, 400, method="POST", content=b"x" * 257)
    client = compute.clients["metadata"]
    r = await client.post(path, content=b"encrypted-by-guest", headers=guest.headers())
    assert r.status_code == 200, r.text
    assert (await get(compute, guest, path)).text == "encrypted-by-guest"
    r = await client.post(path, content=b"another", headers=guest.headers())
    assert r.status_code == 409
    assert (await get(compute, guest, path)).text == "encrypted-by-guest"
    await get(compute, guest, "/openstack/2012-08-10/password", 404)


async def test_unknown_versions_paths_and_methods(compute: CloudClient, guest: Guest
                                                  ) -> None:
    for path in ("/openstack/2011-01-01/meta_data.json", "/openstack/2011-01-01",
                 "/openstack/latest/nothing", "/openstack/latest/meta_data.json/more",
                 "/openstack/2012-08-10/network_data.json", "/latest/meta-data/nothing",
                 "/latest/meta-data/instance-id/more", "/2010-01-01/meta-data/",
                 "/latest/meta-data/public-keys/0/_name", "/nothing"):
        await get(compute, guest, path, 404)
    r = await get(compute, guest, "/latest/meta-data/", 405, method="PUT")
    assert r.headers["allow"] == "GET, HEAD, POST"
    await get(compute, guest, "/latest/meta-data/hostname", 405, method="POST")


async def test_config_drive_and_service_agree(compute: CloudClient, guest: Guest) -> None:
    async with compute.svc.read() as db:
        desired = await spec_of(db, guest.id)
    assert desired is not None
    spec = guest_spec(desired, ImageRef(guest.who.image_id, Path("/nonexistent"), "qcow2"))
    drive = json.loads(config_drive_files(spec)["openstack/latest/meta_data.json"])
    served = (await get(compute, guest, "/openstack/latest/meta_data.json")).json()
    for document in (drive, served):
        document.pop("random_seed")
        document.pop("admin_pass", None)
    assert drive == served


async def test_network_service_down_is_503_unless_cached(compute: CloudClient, guest: Guest
                                                         ) -> None:
    svc = compute.apps["metadata"].svc
    path = "/openstack/latest/meta_data.json"
    await get(compute, guest, path)                 # read once: cached for 15 s

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    working = svc._network
    svc._network = NetworkClient("http://network.test", _token,
                                 transport=httpx.MockTransport(refuse))
    try:
        assert (await get(compute, guest, path)).json()["uuid"] == guest.id
        svc.cache.forget(guest.id)
        await get(compute, guest, path, 503)
    finally:
        await svc._network.aclose()
        svc._network = working
    await get(compute, guest, path)


async def _token() -> str:
    return "unused"
