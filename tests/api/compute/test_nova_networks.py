"""The nova-network proxies ``/os-networks`` and ``/os-tenant-networks``, as Nova has them:
list and show, as the caller, up to 2.35 (404 from 2.36); what only nova-network did is a
410 at every microversion."""

from __future__ import annotations

from typing import Any

import pytest

from helpers.compute import fault
from helpers.inprocess import CloudClient
from helpers.names import unique
from helpers.server_networks import Project, _net, _project
from ownstack.common.clients.network import NetworkClient, NetworkUnavailable

pytestmark = pytest.mark.usefixtures("compute")

V = {"OpenStack-API-Version": "compute 2.35"}
NETS = "/v2.1/os-networks"
TENANT = "/v2.1/os-tenant-networks"
MISSING = "00000000-0000-4000-8000-000000000000"
GONE = "This resource is no longer available.  No forwarding address is given."
FIELDS = {"id", "cidr", "netmask", "gateway", "broadcast", "dns1", "dns2", "cidr_v6",
          "gateway_v6", "label", "netmask_v6"}
ADMIN_FIELDS = {"created_at", "updated_at", "deleted_at", "deleted", "injected", "bridge",
                "vlan", "vpn_public_address", "vpn_public_port", "vpn_private_address",
                "dhcp_start", "project_id", "host", "bridge_interface", "multi_host",
                "priority", "rxtx_base", "mtu", "dhcp_server", "enable_dhcp",
                "share_address"}


async def _get(compute: CloudClient, token: str | None, path: str, expect: int,
               v: dict[str, str] = V) -> Any:
    r = await compute.call("GET", path, token=token, expect=expect, headers=v)
    return r.json()


async def _public(compute: CloudClient) -> dict[str, Any]:
    r = await compute.on("network", "POST", "/v2.0/networks", expect=201, json={
        "network": {"name": unique("public"), "router:external": True}})
    return dict(r.json()["network"])


async def test_os_networks_lists_and_shows_what_the_caller_sees(compute: CloudClient
                                                               ) -> None:
    who = await _project(compute)
    mine = await _net(compute, who.token, name="demo-net")
    public = await _public(compute)
    other = await _project(compute)
    theirs = await _net(compute, other.token, cidr="10.1.0.0/24")
    listed = (await _get(compute, who.token, NETS, 200))["networks"]
    by_id = {n["id"]: n for n in listed}
    # Its own network and the external one; not another project's.
    assert mine["id"] in by_id and public["id"] in by_id and theirs["id"] not in by_id
    # nova-network's fields, only the id and label with a value.
    assert by_id[mine["id"]] == {**dict.fromkeys(FIELDS), "id": mine["id"],
                                 "label": "demo-net"}
    shown = (await _get(compute, who.token, f"{NETS}/{mine['id']}", 200))["network"]
    assert shown == by_id[mine["id"]]
    # Another project's network is not found, as a missing one (Nova's message).
    for network_id in (theirs["id"], MISSING, "not-a-uuid"):
        body = await compute.call("GET", f"{NETS}/{network_id}", token=who.token,
                                  expect=404, headers=V)
        assert fault(body, "itemNotFound") == "Network not found"
    # An admin sees every network, with nova-network's admin fields too (all null).
    listed = (await _get(compute, None, NETS, 200))["networks"]
    assert {mine["id"], theirs["id"], public["id"]} <= {n["id"] for n in listed}
    shown = (await _get(compute, None, f"{NETS}/{theirs['id']}", 200))["network"]
    assert set(shown) == FIELDS | ADMIN_FIELDS
    assert shown["id"] == theirs["id"] and shown["label"] == theirs["name"]
    assert {value for key, value in shown.items() if key not in ("id", "label")} == {None}


async def test_os_tenant_networks_lists_and_shows_the_projects_networks(
        compute: CloudClient) -> None:
    # As Tempest's test_list_show_tenant_networks: the project's network is listed.
    who = await _project(compute)
    mine = await _net(compute, who.token, name="tenant-net")
    public = await _public(compute)
    other = await _project(compute)
    theirs = await _net(compute, other.token, cidr="10.1.0.0/24")
    listed = (await _get(compute, who.token, TENANT, 200))["networks"]
    by_id = {n["id"]: n for n in listed}
    assert by_id[mine["id"]] == {"id": mine["id"], "cidr": "None", "label": "tenant-net"}
    assert public["id"] in by_id and theirs["id"] not in by_id
    shown = await _get(compute, who.token, f"{TENANT}/{mine['id']}", 200)
    assert shown == {"network": by_id[mine["id"]]}
    for network_id in (theirs["id"], MISSING):
        r = await compute.call("GET", f"{TENANT}/{network_id}", token=who.token,
                               expect=404, headers=V)
        assert fault(r, "itemNotFound") == "Network not found"
    # The admin's view has the same three fields.
    shown = await _get(compute, None, f"{TENANT}/{theirs['id']}", 200)
    assert shown == {"network": {"id": theirs["id"], "cidr": "None",
                                 "label": theirs["name"]}}


async def test_a_reader_reads_and_the_default_version_has_them(compute: CloudClient
                                                               ) -> None:
    _, token = await compute.project_user_token(role="reader")
    await _get(compute, token, NETS, 200)
    await _get(compute, token, TENANT, 200)
    # 2.1, the version a client gets without asking, has them.
    await _get(compute, token, NETS, 200, v={})
    await _get(compute, token, TENANT, 200, v={"OpenStack-API-Version": "compute 2.1"})


async def test_list_and_show_are_gone_from_2_36(compute: CloudClient) -> None:
    who = await _project(compute)
    mine = await _net(compute, who.token)
    for v in ("2.36", "2.96"):
        for path in (NETS, f"{NETS}/{mine['id']}", TENANT, f"{TENANT}/{mine['id']}"):
            r = await compute.call("GET", path, token=who.token, expect=404,
                                   headers={"OpenStack-API-Version": f"compute {v}"})
            assert fault(r, "itemNotFound") == "The resource could not be found."


async def test_what_only_nova_network_did_is_gone(compute: CloudClient) -> None:
    """Nova's 410 at every microversion, for anyone, whatever the body (if JSON)."""
    who: Project = await _project(compute)
    _, reader = await compute.project_user_token(role="reader")
    for v in ("2.1", "2.35", "2.36", "2.96"):
        headers = {"OpenStack-API-Version": f"compute {v}"}
        for method, path, document in (
                ("POST", NETS, {"network": {"label": "x", "cidr": "10.0.0.0/24"}}),
                ("POST", NETS, None),
                ("POST", f"{NETS}/add", {"id": MISSING}),
                ("DELETE", f"{NETS}/{MISSING}", None),
                ("POST", f"{NETS}/{MISSING}/action", {"disassociate": None}),
                ("POST", f"{NETS}/{MISSING}/action", {"disassociate_host": None}),
                ("POST", f"{NETS}/{MISSING}/action", {"disassociate_project": None}),
                ("POST", f"{NETS}/{MISSING}/action", {"associate_host": "h"}),
                ("POST", TENANT, {"network": {"label": "x"}}),
                ("DELETE", f"{TENANT}/{MISSING}", None)):
            for token in (None, who.token, reader):
                r = await compute.call(method, path, token=token, expect=410,
                                       headers=headers, json=document)
                assert fault(r, "computeFault") == GONE


async def test_gone_routes_still_refuse_bad_bodies(compute: CloudClient) -> None:
    for path in (NETS, f"{NETS}/add", TENANT, f"{NETS}/{MISSING}/action"):
        r = await compute.call("POST", path, expect=400, headers=V, content=b'{"a": ')
        assert fault(r, "badRequest")
    action = f"{NETS}/{MISSING}/action"
    r = await compute.call("POST", action, expect=400, headers=V, json={"nope": None})
    assert fault(r, "badRequest") == "There is no such action: nope"
    for document in (None, [], {"disassociate": None, "associate_host": "h"}):
        r = await compute.call("POST", action, expect=400, headers=V, json=document)
        assert fault(r, "badRequest") == "Malformed request body"
    # Methods the routes do not have are 405s.
    r = await compute.call("PUT", NETS, expect=405, headers=V, json={})
    assert "GET" in r.headers["allow"]


async def test_a_network_service_that_fails_is_a_503(compute: CloudClient,
                                                     monkeypatch: pytest.MonkeyPatch
                                                     ) -> None:
    who = await _project(compute)
    mine = await _net(compute, who.token)

    async def down(self: NetworkClient, *args: Any, **filters: Any) -> Any:
        raise NetworkUnavailable("The network service is unreachable.")

    monkeypatch.setattr(NetworkClient, "list_networks", down)
    monkeypatch.setattr(NetworkClient, "get_network", down)
    for path in (NETS, f"{NETS}/{mine['id']}", TENANT, f"{TENANT}/{mine['id']}"):
        r = await compute.call("GET", path, token=who.token, expect=503, headers=V)
        assert "network service" in fault(r, "serviceUnavailable")
