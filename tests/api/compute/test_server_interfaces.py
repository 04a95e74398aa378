"""``os-interface``: attach and detach a running server's ports, as Nova.

The whole cloud in process with the fake driver: an attach binds the port to the server's
host (or makes one), the info cache and ``addresses`` show it, the agent plugs the tap;
a detach deletes a port compute made and unbinds the user's.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from helpers.compute import fault
from helpers.inprocess import CloudClient
from helpers.server_networks import (
    Project,
    _active,
    _get_port,
    _net,
    _port,
    _ports,
    _project,
)
from ownstack.compute.objects.instances import update_instance

pytestmark = pytest.mark.usefixtures("compute")


def _url(server_id: str, port_id: str = "") -> str:
    return f"/v2.1/servers/{server_id}/os-interface" + (f"/{port_id}" if port_id else "")


async def _attach(compute: CloudClient, who: Project, server_id: str, expect: int = 200,
                  v: str = "2.1", **fields: Any) -> Any:
    return await compute.call("POST", _url(server_id), token=who.token, expect=expect,
                              json={"interfaceAttachment": fields},
                              headers={"OpenStack-API-Version": f"compute {v}"})


async def _taps(compute: CloudClient, server_id: str, count: int) -> list[str]:
    guest = compute.agents.hypervisors["test-node"].guests[server_id]
    for _ in range(500):
        taps = [nic.tap_name for nic in guest.spec.nics]
        if len(taps) == count:
            return taps
        await asyncio.sleep(0.02)
    raise AssertionError(f"the guest has taps {taps}, not {count}")


async def test_attach_and_detach_the_users_port(compute: CloudClient) -> None:
    who = await _project(compute)
    net = await _net(compute, who.token, name="demo-net")
    other = await _net(compute, who.token, cidr="10.1.0.0/24", name="other-net")
    server = await _active(compute, who, [{"uuid": net["id"]}])
    mine = await _port(compute, who.token, other["id"], name="fixed-port")
    r = await _attach(compute, who, server["id"], port_id=mine["id"])
    view = r.json()["interfaceAttachment"]
    assert view["port_id"] == mine["id"] and view["net_id"] == other["id"]
    assert view["mac_addr"] == mine["mac_address"]
    assert view["fixed_ips"] == [{"subnet_id": ip["subnet_id"], "ip_address": ip["ip_address"]}
                                 for ip in mine["fixed_ips"]]
    assert "tag" not in view
    bound = await _get_port(compute, mine["id"])
    assert bound["device_id"] == server["id"]
    assert bound["binding:host_id"] == "test-node"
    r = await compute.call("GET", f"/v2.1/servers/{server['id']}", token=who.token)
    assert set(r.json()["server"]["addresses"]) == {"demo-net", "other-net"}
    assert (await _taps(compute, server["id"], 2))[1] == "tap" + mine["id"][:11]
    r = await compute.call("GET", _url(server["id"]), token=who.token, expect=200)
    assert {i["port_id"] for i in r.json()["interfaceAttachments"]} == {
        mine["id"], *(p["id"] for p in await _ports(compute, device_id=server["id"]))}
    r = await compute.call("GET", _url(server["id"], mine["id"]), token=who.token,
                           expect=200)
    assert r.json()["interfaceAttachment"]["port_id"] == mine["id"]
    # Detach: the user's port survives, unbound.
    await compute.call("DELETE", _url(server["id"], mine["id"]), token=who.token,
                       expect=202)
    kept = await _get_port(compute, mine["id"])
    assert kept["device_id"] == "" and kept["binding:host_id"] == ""
    r = await compute.call("GET", f"/v2.1/servers/{server['id']}", token=who.token)
    assert set(r.json()["server"]["addresses"]) == {"demo-net"}
    assert len(await _taps(compute, server["id"], 1)) == 1
    r = await compute.call("GET", _url(server["id"], mine["id"]), token=who.token,
                           expect=404)
    assert "does not have a port" in fault(r, "itemNotFound")


async def test_attach_on_a_network_makes_a_port_that_detach_deletes(compute: CloudClient
                                                                     ) -> None:
    who = await _project(compute)
    # 10.0.0.77, asked for below, lies outside the pool the server's and the DHCP port's
    # addresses are drawn from at random, so neither can have taken it.
    net = await _net(compute, who.token, name="demo-net",
                     allocation_pools=[{"start": "10.0.0.100", "end": "10.0.0.200"}])
    server = await _active(compute, who, [{"uuid": net["id"]}])
    r = await _attach(compute, who, server["id"], v="2.70", net_id=net["id"],
                      fixed_ips=[{"ip_address": "10.0.0.77"}], tag="second")
    view = r.json()["interfaceAttachment"]
    assert view["fixed_ips"][0]["ip_address"] == "10.0.0.77"
    assert view["tag"] == "second"
    made = await _get_port(compute, view["port_id"])
    assert made["device_owner"] == "compute:nova" and made["project_id"] == who.project_id
    r = await compute.call("GET", _url(server["id"]), token=who.token,
                           headers={"OpenStack-API-Version": "compute 2.70"})
    assert {i["tag"] for i in r.json()["interfaceAttachments"]} == {None, "second"}
    await compute.call("DELETE", _url(server["id"], view["port_id"]), token=who.token,
                       expect=202)
    await _get_port(compute, view["port_id"], expect=404)


async def test_attach_errors_are_novas(compute: CloudClient) -> None:
    who = await _project(compute)
    net = await _net(compute, who.token, name="demo-net")
    server = await _active(compute, who, [{"uuid": net["id"]}])
    sid = server["id"]
    missing = "00000000-0000-4000-8000-000000000000"
    r = await _attach(compute, who, sid, 400, net_id=net["id"], port_id=missing)
    assert fault(r, "badRequest") == "Must not input both network_id and port_id"
    r = await _attach(compute, who, sid, 400, fixed_ips=[{"ip_address": "10.0.0.9"}])
    assert fault(r, "badRequest") == "Must input network_id when request IP address"
    r = await _attach(compute, who, sid, 404, port_id=missing)
    assert fault(r, "itemNotFound") == f"Port {missing} could not be found."
    r = await _attach(compute, who, sid, 404, net_id=missing)
    assert fault(r, "itemNotFound") == f"Network {missing} could not be found."
    (used,) = await _ports(compute, device_id=sid)
    r = await _attach(compute, who, sid, 409, port_id=used["id"])
    assert fault(r, "conflictingRequest") == f"Port {used['id']} is still in use."
    await _attach(compute, who, sid, 409, net_id=net["id"],
                  fixed_ips=[{"ip_address": used["fixed_ips"][0]["ip_address"]}])
    r = await _attach(compute, who, sid, 400, net_id=net["id"],
                      fixed_ips=[{"ip_address": "192.168.9.9"}])
    assert "is not a valid ip address for network" in fault(r, "badRequest")
    await _attach(compute, who, sid, 400, v="2.48", net_id=net["id"], tag="x")
    await compute.call("DELETE", _url(sid, missing), token=who.token, expect=404)
    # A second network: attaching with neither is ambiguous.
    await _net(compute, who.token, cidr="10.2.0.0/24")
    r = await _attach(compute, who, sid, 400)
    assert "Multiple possible networks" in fault(r, "badRequest")
    # Locked, then not ACTIVE/SHUTOFF: 409.
    await compute.call("POST", f"/v2.1/servers/{sid}/action", token=who.token,
                       json={"lock": None}, expect=202)
    r = await _attach(compute, who, sid, 409, net_id=net["id"])
    assert fault(r, "conflictingRequest") == f"Instance {sid} is locked"
    await compute.call("POST", f"/v2.1/servers/{sid}/action", token=who.token,
                       json={"unlock": None}, expect=202)
    # A server in ERROR, or with a task in flight: Nova's InstanceInvalidState.
    async with compute.svc.write() as db:
        await update_instance(db, sid, vm_state="error")
    r = await _attach(compute, who, sid, 409, net_id=net["id"])
    assert fault(r, "conflictingRequest") == (
        f"Cannot 'attach_interface' instance {sid} while it is in vm_state error")
    r = await compute.call("DELETE", _url(sid, used["id"]), token=who.token, expect=409)
    assert "detach_interface" in fault(r, "conflictingRequest")
    async with compute.svc.write() as db:
        await update_instance(db, sid, vm_state="active", task_state="rebooting")
    r = await _attach(compute, who, sid, 409, net_id=net["id"])
    assert "task_state rebooting" in fault(r, "conflictingRequest")


async def test_attach_to_a_stopped_server_and_to_an_external_network(compute: CloudClient
                                                                      ) -> None:
    who = await _project(compute)
    net = await _net(compute, who.token, name="demo-net")
    server = await _active(compute, who, [{"uuid": net["id"]}])
    sid = server["id"]
    await compute.call("POST", f"/v2.1/servers/{sid}/action", token=who.token,
                       json={"os-stop": None}, expect=202)
    for _ in range(500):
        r = await compute.call("GET", f"/v2.1/servers/{sid}", token=who.token)
        if r.json()["server"]["status"] == "SHUTOFF" and \
                r.json()["server"]["OS-EXT-STS:task_state"] is None:
            break
        await asyncio.sleep(0.02)
    r = await _attach(compute, who, sid, net_id=net["id"])
    assert len(await _ports(compute, device_id=sid)) == 2
    assert len(await _taps(compute, sid, 2)) == 2
    # An external network that is not shared: admins only, as Nova's policy.
    r = await compute.on("network", "POST", "/v2.0/networks", expect=201, json={
        "network": {"name": "ext", "router:external": True}})
    external = r.json()["network"]["id"]
    r = await _attach(compute, who, sid, 403, net_id=external)
    assert fault(r, "forbidden") == ("It is not allowed to create an interface on external "
                                     f"network {external}")


async def test_an_attach_that_loses_a_race_with_delete_leaves_no_port(
        compute: CloudClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from sqlalchemy import update

    from ownstack.compute import interfaces
    from ownstack.compute.objects.models import Instance

    who = await _project(compute)
    net = await _net(compute, who.token, name="demo-net")
    server = await _active(compute, who, [{"uuid": net["id"]}])
    sid = server["id"]
    attach = interfaces.attach
    made: list[str] = []

    async def deleted_meanwhile(*args: Any, **kwargs: Any) -> interfaces.Attached:
        done = await attach(*args, **kwargs)
        made.append(str(done.port["id"]))
        async with compute.svc.write() as db:
            await db.execute(update(Instance).where(Instance.uuid == sid)
                             .values(deleted=True))
        return done

    monkeypatch.setattr(interfaces, "attach", deleted_meanwhile)
    await _attach(compute, who, sid, 404, net_id=net["id"])
    await _get_port(compute, made[0], expect=404)
