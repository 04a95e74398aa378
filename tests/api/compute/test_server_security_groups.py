"""``addSecurityGroup``/``removeSecurityGroup`` and ``GET /servers/{id}/os-security-groups``:
a server's groups are those of its ports, changed through the network service."""

from __future__ import annotations

from typing import Any

import pytest

from helpers.compute import fault
from helpers.inprocess import CloudClient
from helpers.server_networks import Project, _active, _net, _ports, _project

pytestmark = pytest.mark.usefixtures("compute")


async def _group(compute: CloudClient, who: Project, name: str) -> dict[str, Any]:
    r = await compute.on("network", "POST", "/v2.0/security-groups", token=who.token,
                         expect=201, json={"security_group": {"name": name}})
    return dict(r.json()["security_group"])


async def _action(compute: CloudClient, who: Project, server_id: str, action: str,
                  name: str, expect: int = 202) -> Any:
    return await compute.call("POST", f"/v2.1/servers/{server_id}/action", token=who.token,
                              json={action: {"name": name}}, expect=expect)


async def _groups_of_ports(compute: CloudClient, server_id: str) -> list[set[str]]:
    return [set(port["security_groups"]) for port in await _ports(compute,
                                                                  device_id=server_id)]


async def test_add_and_remove_a_group_on_every_port(compute: CloudClient) -> None:
    who = await _project(compute)
    net = await _net(compute, who.token)
    other = await _net(compute, who.token, cidr="10.9.0.0/24")
    web = await _group(compute, who, "web")
    server = await _active(compute, who, [{"uuid": net["id"]}, {"uuid": other["id"]}])
    sid = server["id"]
    await _action(compute, who, sid, "addSecurityGroup", "web")
    assert all(web["id"] in groups for groups in await _groups_of_ports(compute, sid))
    r = await compute.call("GET", f"/v2.1/servers/{sid}", token=who.token)
    assert {"name": "web"} in r.json()["server"]["security_groups"]
    r = await compute.call("GET", f"/v2.1/servers/{sid}/os-security-groups",
                           token=who.token, expect=200)
    listed = {g["name"]: g for g in r.json()["security_groups"]}
    assert set(listed) == {"default", "web"}
    assert listed["web"]["id"] == web["id"] and listed["web"]["tenant_id"] == who.project_id
    # By id works too, and adding twice changes nothing.
    await _action(compute, who, sid, "addSecurityGroup", web["id"])
    await _action(compute, who, sid, "removeSecurityGroup", web["id"])
    assert not any(web["id"] in groups for groups in await _groups_of_ports(compute, sid))
    r = await compute.call("GET", f"/v2.1/servers/{sid}", token=who.token)
    assert {"name": "web"} not in r.json()["server"]["security_groups"]
    r = await _action(compute, who, sid, "removeSecurityGroup", "web", 404)
    assert fault(r, "itemNotFound") == (f"Security group web not associated with the "
                                        f"instance {sid}")
    # The last group removed: the server shows none (no key, as Nova), not `default`.
    await _action(compute, who, sid, "removeSecurityGroup", "default")
    assert await _groups_of_ports(compute, sid) == [set(), set()]
    r = await compute.call("GET", f"/v2.1/servers/{sid}", token=who.token)
    assert "security_groups" not in r.json()["server"]
    r = await compute.call("GET", "/v2.1/servers/detail", token=who.token)
    assert "security_groups" not in r.json()["servers"][0]


async def test_unknown_group_and_bad_bodies(compute: CloudClient) -> None:
    who = await _project(compute)
    net = await _net(compute, who.token)
    server = await _active(compute, who, [{"uuid": net["id"]}])
    sid = server["id"]
    r = await _action(compute, who, sid, "addSecurityGroup", "nope", 404)
    assert fault(r, "itemNotFound") == "Security group nope not found."
    await _action(compute, who, sid, "removeSecurityGroup", "nope", 404)
    await _action(compute, who, sid, "addSecurityGroup", "  ", 400)
    await compute.call("POST", f"/v2.1/servers/{sid}/action", token=who.token,
                       json={"addSecurityGroup": {}}, expect=400)
    # Another project's group is not found, and its server is a 404.
    other = await _project(compute)
    await _group(compute, other, "theirs")
    await _action(compute, who, sid, "addSecurityGroup", "theirs", 404)
    await _action(compute, other, sid, "addSecurityGroup", "theirs", 404)


async def test_a_server_without_ports_has_no_group_to_change(compute: CloudClient) -> None:
    who = await _project(compute)
    await _group(compute, who, "web")
    server = await _active(compute, who, "none")
    r = await _action(compute, who, server["id"], "addSecurityGroup", "web", 404)
    assert "could not be found as device id on any ports" in fault(r, "itemNotFound")
    r = await compute.call("GET", f"/v2.1/servers/{server['id']}/os-security-groups",
                           token=who.token, expect=200)
    assert r.json() == {"security_groups": []}


async def test_a_port_without_port_security_refuses_groups(compute: CloudClient) -> None:
    who = await _project(compute)
    net = await _net(compute, who.token)
    await _group(compute, who, "web")
    server = await _active(compute, who, [{"uuid": net["id"]}])
    (port,) = await _ports(compute, device_id=server["id"])
    await compute.on("network", "PUT", f"/v2.0/ports/{port['id']}", expect=200, json={
        "port": {"security_groups": [], "port_security_enabled": False}})
    r = await _action(compute, who, server["id"], "addSecurityGroup", "web", 400)
    assert "port_security_enabled" in fault(r, "badRequest")
