"""Identity v3 catalog: regions, services, endpoints, and the catalog tokens carry."""

from __future__ import annotations

from typing import Any

from helpers.inprocess import IdentityClient
from helpers.names import unique
from ownstack.common.statedir import read_admin_password

URL = "http://compute.example:8774/v2.1"


async def _region(identity: IdentityClient, expect: int = 201, **fields: Any
                  ) -> dict[str, Any]:
    r = await identity.call("POST", "/v3/regions", json={"region": fields}, expect=expect)
    return dict(r.json().get("region") or r.json())


async def _service(identity: IdentityClient, expect: int = 201, **fields: Any
                   ) -> dict[str, Any]:
    body = {"type": unique("type"), "name": unique("svc"), **fields}
    r = await identity.call("POST", "/v3/services", json={"service": body}, expect=expect)
    return dict(r.json().get("service") or r.json())


async def _endpoint(identity: IdentityClient, expect: int = 201, **fields: Any
                    ) -> dict[str, Any]:
    r = await identity.call("POST", "/v3/endpoints", json={"endpoint": fields}, expect=expect)
    return dict(r.json().get("endpoint") or r.json())


async def _error(identity: IdentityClient, method: str, path: str, expect: int,
                 **kwargs: Any) -> str:
    r = await identity.call(method, path, expect=expect, **kwargs)
    assert r.json()["error"]["code"] == expect
    return str(r.json()["error"]["message"])


# --- regions ----------------------------------------------------------------------------

async def test_region_create_generates_an_id_and_keeps_extra(identity: IdentityClient) -> None:
    region = await _region(identity, description="east", colour="blue")
    assert len(region["id"]) == 32
    assert region["description"] == "east"
    assert region["parent_region_id"] is None
    assert region["colour"] == "blue"
    assert region["links"]["self"].endswith(f"/v3/regions/{region['id']}")
    r = await identity.call("GET", f"/v3/regions/{region['id']}", expect=200)
    assert r.json()["region"] == region


async def test_region_with_chosen_id_by_post_and_by_put(identity: IdentityClient) -> None:
    posted = await _region(identity, id="Region-Two")
    assert posted["id"] == "Region-Two"
    assert posted["description"] == ""
    r = await identity.call("PUT", "/v3/regions/Region-Three", expect=201,
                            json={"region": {"description": "via put"}})
    assert r.json()["region"]["id"] == "Region-Three"
    assert r.json()["region"]["description"] == "via put"
    await _error(identity, "PUT", "/v3/regions/Region-Three", 409, json={"region": {}})
    await _error(identity, "POST", "/v3/regions", 409, json={"region": {"id": "Region-Two"}})
    message = await _error(identity, "PUT", "/v3/regions/Region-Four", 400,
                           json={"region": {"id": "Region-Five"}})
    assert "Conflicting region IDs" in message


async def test_region_parent_must_exist(identity: IdentityClient) -> None:
    message = await _error(identity, "POST", "/v3/regions", 404,
                           json={"region": {"parent_region_id": "nowhere"}})
    assert message == "Could not find region: nowhere."
    parent = await _region(identity, id=unique("parent"))
    child = await _region(identity, parent_region_id=parent["id"])
    assert child["parent_region_id"] == parent["id"]


async def test_region_list_filters_by_parent(identity: IdentityClient) -> None:
    parent = await _region(identity, id=unique("parent"))
    child = await _region(identity, parent_region_id=parent["id"])
    r = await identity.call("GET", "/v3/regions", expect=200)
    ids = [x["id"] for x in r.json()["regions"]]
    assert {parent["id"], child["id"], identity.config.cloud.region} <= set(ids)
    assert r.json()["links"]["next"] is None
    r = await identity.call("GET", "/v3/regions", params={"parent_region_id": parent["id"]},
                            expect=200)
    assert [x["id"] for x in r.json()["regions"]] == [child["id"]]


async def test_region_update_refuses_cycles(identity: IdentityClient) -> None:
    top = await _region(identity, id=unique("top"))
    middle = await _region(identity, id=unique("middle"), parent_region_id=top["id"])
    bottom = await _region(identity, id=unique("bottom"), parent_region_id=middle["id"])
    for new_parent in (bottom["id"], middle["id"], top["id"]):
        message = await _error(identity, "PATCH", f"/v3/regions/{top['id']}", 400,
                               json={"region": {"parent_region_id": new_parent}})
        assert "circular region hierarchy" in message
    await _error(identity, "PATCH", f"/v3/regions/{top['id']}", 404,
                 json={"region": {"parent_region_id": "missing"}})
    r = await identity.call("PATCH", f"/v3/regions/{bottom['id']}", expect=200,
                            json={"region": {"parent_region_id": top["id"],
                                             "description": "moved"}})
    assert r.json()["region"]["parent_region_id"] == top["id"]
    assert r.json()["region"]["description"] == "moved"
    r = await identity.call("PATCH", f"/v3/regions/{bottom['id']}", expect=200,
                            json={"region": {"parent_region_id": None}})
    assert r.json()["region"]["parent_region_id"] is None


async def test_region_update_validation(identity: IdentityClient) -> None:
    region = await _region(identity)
    await _error(identity, "PATCH", f"/v3/regions/{region['id']}", 400, json={"region": {}})
    await _error(identity, "PATCH", f"/v3/regions/{region['id']}", 400,
                 json={"region": {"id": "other"}})
    await _error(identity, "PATCH", f"/v3/regions/{region['id']}", 400,
                 json={"region": {"description": 5}})
    await _error(identity, "PATCH", "/v3/regions/missing", 404,
                 json={"region": {"description": "x"}})


async def test_region_delete_takes_children_but_not_endpoints(identity: IdentityClient) -> None:
    parent = await _region(identity, id=unique("parent"))
    child = await _region(identity, id=unique("child"), parent_region_id=parent["id"])
    grandchild = await _region(identity, parent_region_id=child["id"])
    service = await _service(identity)
    endpoint = await _endpoint(identity, service_id=service["id"], interface="public",
                               url=URL, region_id=grandchild["id"])
    message = await _error(identity, "DELETE", f"/v3/regions/{parent['id']}", 403)
    assert "have associated endpoints" in message
    await identity.call("DELETE", f"/v3/endpoints/{endpoint['id']}", expect=204)
    await identity.call("DELETE", f"/v3/regions/{parent['id']}", expect=204)
    for region in (parent, child, grandchild):
        await _error(identity, "GET", f"/v3/regions/{region['id']}", 404)
    await _error(identity, "DELETE", f"/v3/regions/{parent['id']}", 404)


async def test_regions_readable_by_anyone_writable_by_admin(identity: IdentityClient) -> None:
    project = await identity.make_project()
    user = await identity.make_user(project=project)
    token = await identity.token(user["name"], "secret-pw", project=project["name"])
    await identity.call("GET", "/v3/regions", token=token, expect=200)
    await identity.call("GET", f"/v3/regions/{identity.config.cloud.region}", token=token,
                        expect=200)
    await _error(identity, "POST", "/v3/regions", 403, token=token, json={"region": {}})
    await _error(identity, "PUT", "/v3/regions/mine", 403, token=token, json={"region": {}})
    await _error(identity, "DELETE", f"/v3/regions/{identity.config.cloud.region}", 403,
                 token=token)


# --- services ---------------------------------------------------------------------------

async def test_service_crud(identity: IdentityClient) -> None:
    service = await _service(identity, type="compute2", name="nova2", description="VMs",
                             owner="ops")
    assert (service["type"], service["name"], service["description"]) == (
        "compute2", "nova2", "VMs")
    assert service["enabled"] is True
    assert service["owner"] == "ops"
    assert service["links"]["self"].endswith(f"/v3/services/{service['id']}")
    r = await identity.call("GET", f"/v3/services/{service['id']}", expect=200)
    assert r.json()["service"] == service
    r = await identity.call("PATCH", f"/v3/services/{service['id']}", expect=200,
                            json={"service": {"name": "nova3", "enabled": False}})
    assert (r.json()["service"]["name"], r.json()["service"]["enabled"]) == ("nova3", False)
    assert r.json()["service"]["owner"] == "ops"
    await identity.call("DELETE", f"/v3/services/{service['id']}", expect=204)
    await _error(identity, "GET", f"/v3/services/{service['id']}", 404)
    await _error(identity, "DELETE", f"/v3/services/{service['id']}", 404)


async def test_service_validation(identity: IdentityClient) -> None:
    await _error(identity, "POST", "/v3/services", 400, json={"service": {"name": "typeless"}})
    await _error(identity, "POST", "/v3/services", 400, json={"service": {"type": ""}})
    await _error(identity, "POST", "/v3/services", 400,
                 json={"service": {"type": "x", "enabled": "yes"}})
    await _error(identity, "POST", "/v3/services", 400, json={"type": "x"})
    service = await _service(identity)
    await _error(identity, "PATCH", f"/v3/services/{service['id']}", 400,
                 json={"service": {}})
    await _error(identity, "PATCH", "/v3/services/missing", 404,
                 json={"service": {"name": "x"}})


async def test_service_list_filters(identity: IdentityClient) -> None:
    kind = unique("type")
    first = await _service(identity, type=kind)
    second = await _service(identity, type=kind)
    await _service(identity)
    r = await identity.call("GET", "/v3/services", params={"type": kind}, expect=200)
    assert {s["id"] for s in r.json()["services"]} == {first["id"], second["id"]}
    r = await identity.call("GET", "/v3/services", params={"name": first["name"]}, expect=200)
    assert [s["id"] for s in r.json()["services"]] == [first["id"]]
    r = await identity.call("GET", "/v3/services", params={"type": "identity"}, expect=200)
    assert [s["type"] for s in r.json()["services"]] == ["identity"]


async def test_services_are_admin_business(identity: IdentityClient) -> None:
    project = await identity.make_project()
    user = await identity.make_user(project=project)
    token = await identity.token(user["name"], "secret-pw", project=project["name"])
    await _error(identity, "GET", "/v3/services", 403, token=token)
    await _error(identity, "POST", "/v3/services", 403, token=token,
                 json={"service": {"type": "x"}})
    await _error(identity, "GET", "/v3/endpoints", 403, token=token)


# --- endpoints --------------------------------------------------------------------------

async def test_endpoint_crud_and_shape(identity: IdentityClient) -> None:
    service = await _service(identity)
    region = identity.config.cloud.region
    endpoint = await _endpoint(identity, service_id=service["id"], interface="internal",
                               url=URL, region_id=region, name="inside")
    assert set(endpoint) == {"id", "interface", "region", "region_id", "service_id", "url",
                             "enabled", "links", "name"}
    assert (endpoint["interface"], endpoint["url"], endpoint["enabled"]) == (
        "internal", URL, True)
    assert endpoint["region"] == endpoint["region_id"] == region
    assert endpoint["service_id"] == service["id"]
    assert endpoint["links"]["self"].endswith(f"/v3/endpoints/{endpoint['id']}")
    r = await identity.call("GET", f"/v3/endpoints/{endpoint['id']}", expect=200)
    assert r.json()["endpoint"] == endpoint
    r = await identity.call("PATCH", f"/v3/endpoints/{endpoint['id']}", expect=200,
                            json={"endpoint": {"interface": "admin", "enabled": False,
                                               "url": URL + "/x", "region_id": None}})
    updated = r.json()["endpoint"]
    assert (updated["interface"], updated["enabled"], updated["url"]) == (
        "admin", False, URL + "/x")
    assert updated["region_id"] is None and updated["region"] is None
    assert updated["name"] == "inside"
    await identity.call("DELETE", f"/v3/endpoints/{endpoint['id']}", expect=204)
    await _error(identity, "GET", f"/v3/endpoints/{endpoint['id']}", 404)
    await _error(identity, "DELETE", f"/v3/endpoints/{endpoint['id']}", 404)


async def test_endpoint_validation(identity: IdentityClient) -> None:
    service = await _service(identity)
    good = {"service_id": service["id"], "interface": "public", "url": URL}
    message = await _error(identity, "POST", "/v3/endpoints", 400,
                           json={"endpoint": {**good, "service_id": "missing"}})
    assert "service_id" in message
    message = await _error(identity, "POST", "/v3/endpoints", 400,
                           json={"endpoint": {**good, "region_id": "missing"}})
    assert "region_id" in message
    for bad in ({"interface": "private"}, {"url": "no-scheme"}, {"enabled": "true"},
                {"url": 5}):
        await _error(identity, "POST", "/v3/endpoints", 400, json={"endpoint": {**good, **bad}})
    for missing in good:
        body = {k: v for k, v in good.items() if k != missing}
        await _error(identity, "POST", "/v3/endpoints", 400, json={"endpoint": body})
    endpoint = await _endpoint(identity, **good)
    path = f"/v3/endpoints/{endpoint['id']}"
    await _error(identity, "PATCH", path, 400, json={"endpoint": {"service_id": "missing"}})
    await _error(identity, "PATCH", path, 400, json={"endpoint": {"region_id": "missing"}})
    await _error(identity, "PATCH", path, 400, json={"endpoint": {"interface": "x"}})
    await _error(identity, "PATCH", path, 400, json={"endpoint": {}})
    await _error(identity, "PATCH", "/v3/endpoints/missing", 404,
                 json={"endpoint": {"url": URL}})


async def test_endpoint_legacy_region_attribute_creates_the_region(
        identity: IdentityClient) -> None:
    service = await _service(identity)
    name = unique("legacy-region")
    endpoint = await _endpoint(identity, service_id=service["id"], interface="public",
                               url=URL, region=name)
    assert endpoint["region_id"] == endpoint["region"] == name
    await identity.call("GET", f"/v3/regions/{name}", expect=200)


async def test_endpoint_list_filters(identity: IdentityClient) -> None:
    service = await _service(identity)
    other = await _service(identity)
    region = await _region(identity)
    made = {}
    for interface in ("public", "internal", "admin"):
        made[interface] = await _endpoint(identity, service_id=service["id"],
                                          interface=interface, url=URL)
    in_region = await _endpoint(identity, service_id=other["id"], interface="public",
                                url=URL, region_id=region["id"])
    r = await identity.call("GET", "/v3/endpoints", params={"service_id": service["id"]},
                            expect=200)
    assert {e["id"] for e in r.json()["endpoints"]} == {e["id"] for e in made.values()}
    r = await identity.call("GET", "/v3/endpoints", expect=200,
                            params={"service_id": service["id"], "interface": "internal"})
    assert [e["id"] for e in r.json()["endpoints"]] == [made["internal"]["id"]]
    r = await identity.call("GET", "/v3/endpoints", params={"region_id": region["id"]},
                            expect=200)
    assert [e["id"] for e in r.json()["endpoints"]] == [in_region["id"]]
    await _error(identity, "GET", "/v3/endpoints", 400, params={"interface": "private"})


async def test_deleting_a_service_deletes_its_endpoints(identity: IdentityClient) -> None:
    service = await _service(identity)
    endpoint = await _endpoint(identity, service_id=service["id"], interface="public", url=URL)
    await identity.call("DELETE", f"/v3/services/{service['id']}", expect=204)
    await _error(identity, "GET", f"/v3/endpoints/{endpoint['id']}", 404)


# --- the catalog in tokens --------------------------------------------------------------

def _by_type(catalog: list[dict[str, Any]], kind: str) -> dict[str, Any] | None:
    return next((s for s in catalog if s["type"] == kind), None)


async def test_new_endpoint_appears_in_tokens_and_auth_catalog(identity: IdentityClient) -> None:
    project = await identity.make_project()
    user = await identity.make_user(project=project)
    before = await identity.token(user["name"], "secret-pw", project=project["name"])
    r = await identity.call("GET", "/v3/auth/catalog", token=before, expect=200)
    assert _by_type(r.json()["catalog"], "shared-file-system") is None

    service = await _service(identity, type="shared-file-system", name="manila")
    endpoint = await _endpoint(identity, service_id=service["id"], interface="public",
                               url="http://volume.example/v3/%(project_id)s",
                               region_id=identity.config.cloud.region)

    after = await identity.token(user["name"], "secret-pw", project=project["name"])
    r = await identity.call("GET", "/v3/auth/tokens", headers={"X-Subject-Token": after},
                            expect=200)
    volume = _by_type(r.json()["token"]["catalog"], "shared-file-system")
    assert volume is not None
    assert volume["name"] == "manila" and volume["id"] == service["id"]
    assert volume["endpoints"] == [{
        "id": endpoint["id"], "interface": "public", "region": identity.config.cloud.region,
        "region_id": identity.config.cloud.region,
        "url": f"http://volume.example/v3/{project['id']}"}]
    # A token issued before the change shows the new catalog too: it is not baked in.
    for token in (before, after):
        r = await identity.call("GET", "/v3/auth/catalog", token=token, expect=200)
        assert _by_type(r.json()["catalog"], "shared-file-system") == volume

    await identity.call("PATCH", f"/v3/endpoints/{endpoint['id']}", expect=200,
                        json={"endpoint": {"enabled": False}})
    r = await identity.call("GET", "/v3/auth/catalog", token=after, expect=200)
    assert _by_type(r.json()["catalog"], "shared-file-system") == {**volume, "endpoints": []}
    await identity.call("PATCH", f"/v3/services/{service['id']}", expect=200,
                        json={"service": {"enabled": False}})
    r = await identity.call("GET", "/v3/auth/catalog", token=after, expect=200)
    assert _by_type(r.json()["catalog"], "shared-file-system") is None


async def test_domain_and_system_tokens_omit_endpoints_naming_a_project(
        identity: IdentityClient) -> None:
    service = await _service(identity, type="sharev2", name="manila")
    await _endpoint(identity, service_id=service["id"], interface="public",
                    url="http://volume.example/v3/%(tenant_id)s")
    await _endpoint(identity, service_id=service["id"], interface="admin",
                    url="http://volume.example/v3/$(project_id)s")
    internal = await _endpoint(identity, service_id=service["id"], interface="internal",
                               url="http://volume.example/v3")
    r = await identity.http.post("/v3/auth/tokens", json={"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": "admin", "domain": {"id": "default"},
            "password": read_admin_password(identity.config)}}},
        "scope": {"system": {"all": True}}}})
    assert r.status_code == 201, r.text
    volume = _by_type(r.json()["token"]["catalog"], "sharev2")
    assert volume is not None
    assert [e["id"] for e in volume["endpoints"]] == [internal["id"]]
    # Keystone serves /v3/auth/catalog to project-scoped tokens only.
    await _error(identity, "GET", "/v3/auth/catalog", 403,
                 token=r.headers["X-Subject-Token"])
    r = await identity.call("GET", "/v3/auth/tokens", expect=200,
                            headers={"X-Subject-Token": identity.admin_token})
    admin_project = r.json()["token"]["project"]["id"]
    r = await identity.call("GET", "/v3/auth/catalog", expect=200)
    volume = _by_type(r.json()["catalog"], "sharev2")
    assert volume is not None
    assert {e["url"] for e in volume["endpoints"]} == {
        "http://volume.example/v3", f"http://volume.example/v3/{admin_project}"}
