"""Networks: the fields and defaults of the Networking API reference, who may set and see
what, isolation between projects, VXLAN ids, revisions, tags and version discovery."""

from __future__ import annotations

import asyncio
from pathlib import Path

from helpers.inprocess import ServiceClient, make_config, make_service_client
from helpers.network import error_type, make

NET = "/v2.0/networks"


async def test_version_document_is_public_and_the_rest_needs_a_token(network: ServiceClient
                                                                      ) -> None:
    r = await network.http.get("/")
    assert r.status_code == 200
    assert r.json()["versions"][0]["id"] == "v2.0"
    assert r.json()["versions"][0]["status"] == "CURRENT"
    r = await network.http.get(NET)
    assert r.status_code == 401
    assert error_type(r) == "HTTPUnauthorized"
    r = await network.call("GET", "/v2.0", expect=200)
    assert {"name": "network", "collection": "networks"}.items() <= \
        r.json()["resources"][0].items()


async def test_create_has_neutrons_defaults(network: ServiceClient) -> None:
    project, token = await network.project_user_token()
    net = await make(network, "network", token, name="demo-net")
    assert net["name"] == "demo-net" and net["project_id"] == project["id"]
    assert net["tenant_id"] == project["id"]
    assert (net["admin_state_up"], net["shared"], net["router:external"]) == (True, False, False)
    assert net["status"] == "ACTIVE" and net["subnets"] == [] and net["tags"] == []
    assert net["mtu"] == 1450                   # 1500 less VXLAN's 50 bytes
    assert net["port_security_enabled"] is True
    assert net["availability_zones"] == ["nova"] and net["availability_zone_hints"] == []
    assert net["revision_number"] == 1 and net["created_at"].endswith("Z")
    # A member does not see the provider attributes; an admin does.
    assert "provider:segmentation_id" not in net
    r = await network.call("GET", f"{NET}/{net['id']}", expect=200)
    shown = r.json()["network"]
    assert shown["provider:network_type"] == "vxlan"
    assert 1 <= shown["provider:segmentation_id"] <= 65535


async def test_only_an_admin_sets_shared_external_and_provider(network: ServiceClient) -> None:
    _, token = await network.project_user_token()
    for field, value in (("shared", True), ("router:external", True),
                         ("provider:network_type", "vxlan")):
        r = await network.call("POST", NET, token=token, json={"network": {field: value}},
                               expect=403)
        assert error_type(r) == "PolicyNotAuthorized"
    # False is what a member may always say.
    await make(network, "network", token, shared=False)
    public = await make(network, "network", None, name="public", shared=True,
                        **{"router:external": True, "provider:network_type": "flat",
                           "provider:physical_network": "public"})
    assert public["provider:segmentation_id"] is None and public["mtu"] == 1500
    r = await network.call("POST", NET, json={"network": {
        "provider:network_type": "flat", "provider:physical_network": "public"}}, expect=409)
    assert error_type(r) == "FlatNetworkInUse"


async def test_projects_see_their_own_shared_and_external_networks(network: ServiceClient
                                                                   ) -> None:
    _, alice = await network.project_user_token()
    _, bob = await network.project_user_token()
    mine = await make(network, "network", alice, name="same-name")
    theirs = await make(network, "network", bob, name="same-name")
    shared = await make(network, "network", None, shared=True)
    external = await make(network, "network", None, **{"router:external": True})
    hidden = await make(network, "network", None)
    r = await network.call("GET", NET, token=alice, expect=200)
    ids = {n["id"] for n in r.json()["networks"]}
    assert {mine["id"], shared["id"], external["id"]} <= ids
    assert theirs["id"] not in ids and hidden["id"] not in ids
    for other in (theirs, hidden):
        r = await network.call("GET", f"{NET}/{other['id']}", token=alice, expect=404)
        assert error_type(r) == "NetworkNotFound"
        await network.call("PUT", f"{NET}/{other['id']}", token=alice,
                           json={"network": {"name": "x"}}, expect=404)
        await network.call("DELETE", f"{NET}/{other['id']}", token=alice, expect=404)
    # Seen but not owned: reading works, changing is forbidden.
    await network.call("GET", f"{NET}/{shared['id']}", token=alice, expect=200)
    r = await network.call("PUT", f"{NET}/{shared['id']}", token=alice,
                           json={"network": {"name": "mine now"}}, expect=403)
    await network.call("DELETE", f"{NET}/{external['id']}", token=alice, expect=403)


async def test_a_reader_reads_and_never_writes(network: ServiceClient) -> None:
    project, member = await network.project_user_token()
    user = await network.identity.make_user(project=project, role="reader", password="pw")
    reader = await network.identity.token(user["name"], "pw", project=project["name"])
    net = await make(network, "network", member)
    await network.call("GET", f"{NET}/{net['id']}", token=reader, expect=200)
    await network.call("POST", NET, token=reader, json={"network": {}}, expect=403)
    await network.call("PUT", f"{NET}/{net['id']}", token=reader,
                       json={"network": {"name": "x"}}, expect=403)
    await network.call("DELETE", f"{NET}/{net['id']}", token=reader, expect=403)


async def test_update_bumps_the_revision_and_if_match_guards_it(network: ServiceClient
                                                                ) -> None:
    net = await make(network, "network", None, name="a")
    url = f"{NET}/{net['id']}"
    r = await network.call("PUT", url, json={"network": {
        "name": "b", "description": "d", "admin_state_up": "false", "mtu": 1400}}, expect=200)
    updated = r.json()["network"]
    assert (updated["name"], updated["description"]) == ("b", "d")
    assert updated["admin_state_up"] is False and updated["mtu"] == 1400
    assert updated["revision_number"] == 2
    r = await network.call("PUT", url, headers={"If-Match": "revision_number=1"},
                           json={"network": {"name": "c"}}, expect=412)
    assert error_type(r) == "RevisionNumberConstraintFailed"
    await network.call("PUT", url, headers={"If-Match": "revision_number=2"},
                       json={"network": {"name": "c"}}, expect=200)
    await network.call("DELETE", url, headers={"If-Match": "revision_number=2"}, expect=412)
    await network.call("DELETE", url, headers={"If-Match": "revision_number=3"}, expect=204)
    await network.call("GET", url, expect=404)


async def test_bad_input_is_400_in_neutrons_body(network: ServiceClient) -> None:
    for body in ({"network": {"name": "x", "color": "red"}}, {"network": {"mtu": "big"}},
                 {"network": {"admin_state_up": "maybe"}}, {"networks": {}}, {"network": []},
                 {"network": {"mtu": 9000}}, {"network": {"mtu": "10"}},
                 {"network": {"mtu": "9000"}}, {"network": {"mtu": "12a"}},
                 {"network": {"provider:network_type": "gre"}},
                 {"network": {"provider:network_type": "flat"}},
                 {"network": {"provider:segmentation_id": 2**24}}):
        r = await network.call("POST", NET, json=body, expect=400)
        assert error_type(r) in ("HTTPBadRequest", "InvalidInput"), body
    r = await network.call("POST", NET, json={"network": {"availability_zone_hints": ["mars"]}},
                           expect=404)
    assert error_type(r) == "AvailabilityZoneNotFound"
    net = await make(network, "network", None)
    await network.call("PUT", f"{NET}/{net['id']}", json={"network": {
        "provider:segmentation_id": 7}}, expect=400)
    r = await network.call("PUT", f"{NET}/{net['id']}", headers={"If-Match": "yes"},
                           json={"network": {"name": "x"}}, expect=400)
    assert error_type(r) == "BadRequest"


async def test_list_filters_fields_and_sorting(network: ServiceClient) -> None:
    _, token = await network.project_user_token()
    for name in ("b", "a", "c"):
        await make(network, "network", token, name=name, admin_state_up=name != "c")
    r = await network.call("GET", NET, token=token, params=[
        ("sort_key", "name"), ("sort_dir", "desc"), ("fields", "name"), ("fields", "id")],
        expect=200)
    items = r.json()["networks"]
    assert [n["name"] for n in items] == ["c", "b", "a"]
    assert all(set(n) == {"name", "id"} for n in items)
    r = await network.call("GET", NET, token=token,
                           params=[("name", "a"), ("name", "c")], expect=200)
    assert sorted(n["name"] for n in r.json()["networks"]) == ["a", "c"]
    r = await network.call("GET", NET, token=token, params={"admin_state_up": "False"},
                           expect=200)
    assert [n["name"] for n in r.json()["networks"]] == ["c"]
    for params in ({"color": "red"}, {"admin_state_up": "perhaps"}, {"limit": "-1"},
                   {"limit": "x"}, {"sort_key": "name"}, {"sort_key": "color", "sort_dir": "asc"},
                   {"sort_key": "name", "sort_dir": "up"}, {"page_reverse": "sideways"}):
        r = await network.call("GET", NET, token=token, params=params, expect=400)
        assert error_type(r) in ("BadRequest", "InvalidInput"), params


async def test_pages_by_marker_with_next_and_previous_links(network: ServiceClient) -> None:
    _, token = await network.project_user_token()
    made = [await make(network, "network", token, name=f"n{i}") for i in range(5)]
    expected = sorted(made, key=lambda n: n["name"])
    params = {"sort_key": "name", "sort_dir": "asc", "limit": "2"}
    seen: list[str] = []
    r = await network.call("GET", NET, token=token, params=params, expect=200)
    while True:
        body = r.json()
        seen += [n["name"] for n in body["networks"]]
        nxt = [link for link in body.get("networks_links", []) if link["rel"] == "next"]
        if not nxt:
            break
        r = await network.call("GET", nxt[0]["href"].replace("http://network.test", ""),
                               token=token, expect=200)
    assert seen == [n["name"] for n in expected]
    # Backwards from the fourth, by the previous link's page_reverse.
    r = await network.call("GET", NET, token=token, params={
        **params, "marker": expected[3]["id"], "page_reverse": "True"}, expect=200)
    assert [n["name"] for n in r.json()["networks"]] == ["n1", "n2"]
    r = await network.call("GET", NET, token=token,
                           params={**params, "marker": "no-such-network"}, expect=404)
    assert error_type(r) == "NetworkNotFound"


async def test_tags(network: ServiceClient) -> None:
    _, token = await network.project_user_token()
    red = await make(network, "network", token, name="red")
    blue = await make(network, "network", token, name="blue")
    tags = f"{NET}/{red['id']}/tags"
    r = await network.call("PUT", tags, token=token, json={"tags": ["b", "a", "a"]}, expect=200)
    assert r.json() == {"tags": ["a", "b"]}
    await network.call("PUT", f"{tags}/c", token=token, expect=201)
    await network.call("GET", f"{tags}/c", token=token, expect=204)
    r = await network.call("GET", f"{tags}/zzz", token=token, expect=404)
    assert error_type(r) == "TagNotFound"
    await network.call("DELETE", f"{tags}/a", token=token, expect=204)
    await network.call("DELETE", f"{tags}/a", token=token, expect=404)
    await network.call("PUT", f"{NET}/{blue['id']}/tags/c", token=token, expect=201)
    r = await network.call("GET", f"{NET}/{red['id']}", token=token, expect=200)
    assert r.json()["network"]["tags"] == ["b", "c"]
    assert r.json()["network"]["revision_number"] > 1

    async def names(**params: str) -> list[str]:
        r = await network.call("GET", NET, token=token, params=params, expect=200)
        return sorted(n["name"] for n in r.json()["networks"])

    assert await names(tags="b,c") == ["red"]
    assert await names(**{"tags-any": "b,c"}) == ["blue", "red"]
    assert await names(**{"not-tags": "b"}) == ["blue"]
    assert await names(**{"not-tags-any": "c"}) == []
    await network.call("DELETE", tags, token=token, expect=204)
    r = await network.call("GET", tags, token=token, expect=200)
    assert r.json() == {"tags": []}
    _, other = await network.project_user_token()
    await network.call("GET", tags, token=other, expect=404)
    await network.call("PUT", f"{tags}/x", token=other, expect=404)
    await network.call("PUT", tags, token=token, json={"tags": ["a,b"]}, expect=400)


async def test_extensions_list_only_what_is_there(network: ServiceClient) -> None:
    r = await network.call("GET", "/v2.0/extensions", expect=200)
    aliases = {e["alias"] for e in r.json()["extensions"]}
    assert {"external-net", "provider", "net-mtu", "standard-attr-tag", "pagination",
            "sorting"} <= aliases
    assert "dvr" not in aliases and "qos" not in aliases
    await network.call("GET", "/v2.0/extensions/external-net", expect=200)
    r = await network.call("GET", "/v2.0/extensions/external-gateway-multihoming", expect=404)
    assert error_type(r) == "HTTPNotFound"


async def test_vxlan_ids_are_unique_and_run_out_with_a_503(tmp_path: Path) -> None:
    config = make_config(tmp_path, "network.vni_min=100", "network.vni_max=104")
    async for network in make_service_client(config, "network"):
        results = await asyncio.gather(*(network.call("POST", NET, json={"network": {}})
                                         for _ in range(7)))
        made = [r.json()["network"] for r in results if r.status_code == 201]
        assert len(made) == 5
        assert sorted(n["provider:segmentation_id"] for n in made) == [100, 101, 102, 103, 104]
        refused = [r for r in results if r.status_code != 201]
        assert [r.status_code for r in refused] == [503, 503]
        assert error_type(refused[0]) == "NoNetworkAvailable"
        await network.call("DELETE", f"{NET}/{made[0]['id']}", expect=204)
        again = await make(network, "network", None)
        r = await network.call("GET", f"{NET}/{again['id']}", expect=200)
        assert r.json()["network"]["provider:segmentation_id"] == \
            made[0]["provider:segmentation_id"]
        r = await network.call("POST", NET, json={"network": {
            "provider:network_type": "vxlan", "provider:segmentation_id": 101}}, expect=409)
        assert error_type(r) == "SegmentationIdInUse"


async def test_network_quota(tmp_path: Path) -> None:
    config = make_config(tmp_path, "network.quota.network=2")
    async for network in make_service_client(config, "network"):
        _, token = await network.project_user_token()
        await make(network, "network", token)
        await make(network, "network", token)
        r = await network.call("POST", NET, token=token, json={"network": {}}, expect=409)
        assert error_type(r) == "OverQuota"


async def test_availability_zones(network: ServiceClient) -> None:
    _, token = await network.project_user_token()
    r = await network.call("GET", "/v2.0/availability_zones", token=token, expect=200)
    assert {"name": "nova", "resource": "network", "state": "available"} in \
        r.json()["availability_zones"]
    r = await network.call("GET", "/v2.0/availability_zones", token=token,
                           params={"resource": "router"}, expect=200)
    assert r.json()["availability_zones"] == [
        {"name": "nova", "resource": "router", "state": "available"}]
    r = await network.call("GET", "/v2.0/availability_zones", token=token,
                           params={"resource": "dhcp"}, expect=200)
    assert r.json()["availability_zones"] == []
    r = await network.call("GET", "/v2.0/availability_zones", token=token,
                           params={"color": "red"}, expect=400)
    assert error_type(r) == "BadRequest"


async def test_bulk_create_is_all_or_nothing(network: ServiceClient) -> None:
    # Neutron's bulk create, as Tempest's test_bulk_create_delete_network sends it.
    _, token = await network.project_user_token()
    r = await network.call("POST", NET, token=token, expect=201,
                           json={"networks": [{"name": "bulk-a"}, {"name": "bulk-b"}]})
    made = r.json()["networks"]
    assert [n["name"] for n in made] == ["bulk-a", "bulk-b"]
    assert all(n["status"] == "ACTIVE" and n["subnets"] == [] for n in made)
    # A member may not make a shared network: the whole batch is refused, none is made.
    r = await network.call("POST", NET, token=token,
                           json={"networks": [{"name": "bulk-c"}, {"shared": True}]})
    assert r.status_code == 403, r.text
    r = await network.call("GET", NET, token=token, expect=200)
    assert sorted(n["name"] for n in r.json()["networks"]) == ["bulk-a", "bulk-b"]
    for body in ({"networks": []}, {"network": {}, "networks": [{}]},
                 {"networks": [{"color": "red"}]}, {"networks": {"name": "x"}}):
        r = await network.call("POST", NET, token=token, json=body, expect=400)
        assert error_type(r) == "HTTPBadRequest", body


async def test_a_network_delete_drops_the_tags_of_it_its_subnets_and_its_ports(
        network: ServiceClient) -> None:
    import sqlalchemy as sa

    from ownstack.network.objects.models import Tag

    gone = await make(network, "network", name="gone")
    kept = await make(network, "network", name="kept")
    subnet = await make(network, "subnet", network_id=gone["id"], cidr="10.9.0.0/24",
                        ip_version=4)
    kept_subnet = await make(network, "subnet", network_id=kept["id"], cidr="10.8.0.0/24",
                             ip_version=4)
    # A service's port (DHCP) does not keep the network: it goes with it, tags and all.
    port = await make(network, "port", network_id=gone["id"], device_owner="network:dhcp")
    kept_port = await make(network, "port", network_id=kept["id"])
    for collection, item in (("networks", gone), ("subnets", subnet), ("ports", port),
                             ("networks", kept), ("subnets", kept_subnet),
                             ("ports", kept_port)):
        await network.call("PUT", f"/v2.0/{collection}/{item['id']}/tags/t", expect=201)
    await network.call("DELETE", f"{NET}/{gone['id']}", expect=204)
    await network.call("GET", f"/v2.0/ports/{port['id']}", expect=404)
    async with network.app.svc.read() as db:
        left = set((await db.execute(sa.select(Tag.resource_id))).scalars())
    assert left == {kept["id"], kept_subnet["id"], kept_port["id"]}
