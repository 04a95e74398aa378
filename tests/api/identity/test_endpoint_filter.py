"""Keystone's OS-EP-FILTER: endpoint groups, endpoints and endpoint groups associated with
projects, and the catalog of a project that has associations."""

from __future__ import annotations

from typing import Any

from helpers.inprocess import IdentityClient
from helpers.names import unique

EP = "/v3/OS-EP-FILTER"


async def _error(identity: IdentityClient, method: str, path: str, expect: int,
                 **kwargs: Any) -> str:
    r = await identity.call(method, path, expect=expect, **kwargs)
    if method != "HEAD":
        assert r.json()["error"]["code"] == expect
        return str(r.json()["error"]["message"])
    return ""


async def _service(identity: IdentityClient) -> str:
    r = await identity.call("POST", "/v3/services", expect=201,
                            json={"service": {"type": unique("type"), "name": unique("svc")}})
    return str(r.json()["service"]["id"])


async def _endpoint(identity: IdentityClient, service_id: str, interface: str = "public"
                    ) -> str:
    r = await identity.call("POST", "/v3/endpoints", expect=201, json={"endpoint": {
        "service_id": service_id, "interface": interface, "region_id": "RegionOne",
        "url": f"http://{unique('host')}.test/"}})
    return str(r.json()["endpoint"]["id"])


async def _group(identity: IdentityClient, **filters: Any) -> dict[str, Any]:
    r = await identity.call("POST", f"{EP}/endpoint_groups", expect=201, json={
        "endpoint_group": {"name": unique("group"), "description": "d", "filters": filters}})
    return dict(r.json()["endpoint_group"])


async def _catalog_endpoints(identity: IdentityClient, user: str, project: str) -> set[str]:
    token = await identity.token(user, "secret-pw", project=project)
    r = await identity.call("GET", "/v3/auth/catalog", token=token, expect=200)
    return {e["id"] for service in r.json()["catalog"] for e in service["endpoints"]}


async def test_endpoint_group_crud(identity: IdentityClient) -> None:
    service_id, other_service = await _service(identity), await _service(identity)
    group = await _group(identity, service_id=service_id)
    assert set(group) == {"id", "name", "description", "filters", "links"}
    assert group["filters"] == {"service_id": service_id}
    assert group["links"]["self"].endswith(f"{EP}/endpoint_groups/{group['id']}")
    path = f"{EP}/endpoint_groups/{group['id']}"
    r = await identity.call("GET", path, expect=200)
    assert r.json()["endpoint_group"] == group
    await identity.call("HEAD", path, expect=200)
    r = await identity.call("GET", f"{EP}/endpoint_groups", expect=200)
    assert r.json()["endpoint_groups"] == [group]
    r = await identity.call("GET", f"{EP}/endpoint_groups", params={"name": "nope"},
                            expect=200)
    assert r.json()["endpoint_groups"] == []
    r = await identity.call("PATCH", path, expect=200, json={"endpoint_group": {
        "name": "renamed", "filters": {"service_id": other_service, "interface": "admin"}}})
    assert r.json()["endpoint_group"] == {**group, "name": "renamed", "filters": {
        "service_id": other_service, "interface": "admin"}}
    # What `openstack endpoint group set --name` sends: null filters stay as they are.
    r = await identity.call("PATCH", path, expect=200, json={"endpoint_group": {
        "name": "again", "description": "", "filters": None}})
    assert r.json()["endpoint_group"]["filters"] == {"service_id": other_service,
                                                     "interface": "admin"}
    assert (r.json()["endpoint_group"]["name"], r.json()["endpoint_group"]["description"]) \
        == ("again", "")
    await identity.call("DELETE", path, expect=204)
    message = await _error(identity, "GET", path, 404)
    assert message == f"Could not find endpoint group: {group['id']}."
    await _error(identity, "PATCH", path, 404, json={"endpoint_group": {"name": "x"}})
    await _error(identity, "DELETE", path, 404)


async def test_endpoint_group_validation(identity: IdentityClient) -> None:
    for body, words in (
            ({"filters": {"interface": "public"}}, "'name' is a required property"),
            ({"name": "g"}, "'filters' is a required property"),
            ({"name": "g", "filters": {"interface": "everywhere"}}, "interface"),
            ({"name": "g", "filters": {"interface": "public"}, "x": 1}, "x"),
            ({"name": "", "filters": {"interface": "public"}}, "name"),
    ):
        message = await _error(identity, "POST", f"{EP}/endpoint_groups", 400,
                               json={"endpoint_group": body})
        assert message.startswith("Invalid input") and words in message, message
    message = await _error(identity, "POST", f"{EP}/endpoint_groups", 400,
                           json={"endpoint_group": {"name": "g", "filters": {}}})
    assert message == "filters field is required and cannot be empty"
    message = await _error(identity, "POST", f"{EP}/endpoint_groups", 400, json={
        "endpoint_group": {"name": "g", "filters": {"enabled": True}}})
    assert message.startswith(
        "Expecting to find service_id or region_id or interface in endpoint_group.")
    group = await _group(identity, interface="internal")
    path = f"{EP}/endpoint_groups/{group['id']}"
    for body in ({}, {"endpoint_group": {}}, {"endpoint_group": {"id": "x"}},
                 {"endpoint_group": {"filters": {"url": "x"}}}):
        await _error(identity, "PATCH", path, 400, json=body)


async def test_groups_in_projects_and_the_catalog(identity: IdentityClient) -> None:
    service_id = await _service(identity)
    kept = await _endpoint(identity, service_id, "public")
    also = await _endpoint(identity, service_id, "internal")
    group = await _group(identity, service_id=service_id, interface="public")
    project = await identity.make_project()
    user = await identity.make_user(project=project)
    before = await _catalog_endpoints(identity, user["name"], project["name"])
    assert {kept, also} <= before
    link = f"{EP}/endpoint_groups/{group['id']}/projects/{project['id']}"

    r = await identity.call("GET", f"{EP}/endpoint_groups/{group['id']}/endpoints", expect=200)
    assert [e["id"] for e in r.json()["endpoints"]] == [kept]
    await _error(identity, "GET", link, 404)
    await identity.call("PUT", link, expect=204)
    await _error(identity, "PUT", link, 409)
    r = await identity.call("GET", link, expect=200)
    assert r.json()["project_endpoint_group"] == {
        "endpoint_group_id": group["id"], "project_id": project["id"],
        "links": {"self": r.json()["project_endpoint_group"]["links"]["self"]}}
    assert r.json()["project_endpoint_group"]["links"]["self"].endswith(link)
    r = await identity.call("GET", f"{EP}/endpoint_groups/{group['id']}/projects", expect=200)
    assert [p["id"] for p in r.json()["projects"]] == [project["id"]]
    r = await identity.call("GET", f"{EP}/projects/{project['id']}/endpoint_groups",
                            expect=200)
    assert [g["id"] for g in r.json()["endpoint_groups"]] == [group["id"]]
    r = await identity.call("GET", f"{EP}/projects/{project['id']}/endpoints", expect=200)
    assert [e["id"] for e in r.json()["endpoints"]] == [kept]

    # Now the project's tokens carry that group's endpoints only.
    assert await _catalog_endpoints(identity, user["name"], project["name"]) == {kept}
    await identity.call("DELETE", link, expect=204)
    await _error(identity, "DELETE", link, 404)
    assert await _catalog_endpoints(identity, user["name"], project["name"]) == before

    for path in (f"{EP}/endpoint_groups/nope/projects/{project['id']}",
                 f"{EP}/endpoint_groups/{group['id']}/projects/nope"):
        for method in ("GET", "PUT", "DELETE"):
            await _error(identity, method, path, 404)
    await _error(identity, "GET", f"{EP}/endpoint_groups/nope/projects", 404)
    await _error(identity, "GET", f"{EP}/endpoint_groups/nope/endpoints", 404)
    await _error(identity, "GET", f"{EP}/projects/nope/endpoint_groups", 404)
    await _error(identity, "GET", f"{EP}/projects/nope/endpoints", 404)


async def test_endpoints_in_projects_and_the_catalog(identity: IdentityClient) -> None:
    service_id = await _service(identity)
    chosen = await _endpoint(identity, service_id)
    await _endpoint(identity, service_id, "internal")
    project = await identity.make_project()
    user = await identity.make_user(project=project)
    link = f"{EP}/projects/{project['id']}/endpoints/{chosen}"
    message = await _error(identity, "GET", link, 404)
    assert message == f"Endpoint {chosen} not found in project {project['id']}"
    await identity.call("PUT", link, expect=204)
    await _error(identity, "PUT", link, 409)
    await identity.call("GET", link, expect=204)
    await identity.call("HEAD", link, expect=204)
    r = await identity.call("GET", f"{EP}/endpoints/{chosen}/projects", expect=200)
    assert [p["id"] for p in r.json()["projects"]] == [project["id"]]
    r = await identity.call("GET", f"{EP}/projects/{project['id']}/endpoints", expect=200)
    assert [e["id"] for e in r.json()["endpoints"]] == [chosen]
    assert await _catalog_endpoints(identity, user["name"], project["name"]) == {chosen}
    # Another project still sees the whole catalog.
    elsewhere = await identity.make_project()
    other = await identity.make_user(project=elsewhere)
    assert len(await _catalog_endpoints(identity, other["name"], elsewhere["name"])) > 1

    for path in (f"{EP}/projects/nope/endpoints/{chosen}",
                 f"{EP}/projects/{project['id']}/endpoints/nope"):
        await _error(identity, "GET", path, 404)
        await _error(identity, "PUT", path, 404)
    await _error(identity, "GET", f"{EP}/endpoints/nope/projects", 404)
    # Deleting the endpoint ends its associations; deleting the project ends the rest.
    await identity.call("DELETE", f"/v3/endpoints/{chosen}", expect=204)
    r = await identity.call("GET", f"{EP}/projects/{project['id']}/endpoints", expect=200)
    assert r.json()["endpoints"] == []
    second = await _endpoint(identity, service_id)
    group = await _group(identity, service_id=service_id)
    await identity.call("PUT", f"{EP}/projects/{project['id']}/endpoints/{second}",
                        expect=204)
    await identity.call("PUT", f"{EP}/endpoint_groups/{group['id']}/projects/{project['id']}",
                        expect=204)
    await identity.call("DELETE", f"/v3/projects/{project['id']}", expect=204)
    r = await identity.call("GET", f"{EP}/endpoints/{second}/projects", expect=200)
    assert r.json()["projects"] == []
    r = await identity.call("GET", f"{EP}/endpoint_groups/{group['id']}/projects", expect=200)
    assert r.json()["projects"] == []
    await identity.call("DELETE", f"{EP}/projects/nope/endpoints/{second}", expect=404)


async def test_only_the_admin(identity: IdentityClient) -> None:
    service_id = await _service(identity)
    endpoint_id = await _endpoint(identity, service_id)
    group = await _group(identity, service_id=service_id)
    project = await identity.make_project()
    user = await identity.make_user(project=project)
    token = await identity.token(user["name"], "secret-pw", project=project["name"])
    pid, gid = project["id"], group["id"]
    for method, path in (
            ("GET", f"{EP}/endpoint_groups"), ("POST", f"{EP}/endpoint_groups"),
            ("GET", f"{EP}/endpoint_groups/{gid}"), ("PATCH", f"{EP}/endpoint_groups/{gid}"),
            ("DELETE", f"{EP}/endpoint_groups/{gid}"),
            ("GET", f"{EP}/endpoint_groups/{gid}/projects"),
            ("GET", f"{EP}/endpoint_groups/{gid}/endpoints"),
            ("GET", f"{EP}/endpoint_groups/{gid}/projects/{pid}"),
            ("PUT", f"{EP}/endpoint_groups/{gid}/projects/{pid}"),
            ("DELETE", f"{EP}/endpoint_groups/{gid}/projects/{pid}"),
            ("GET", f"{EP}/projects/{pid}/endpoint_groups"),
            ("GET", f"{EP}/projects/{pid}/endpoints"),
            ("GET", f"{EP}/projects/{pid}/endpoints/{endpoint_id}"),
            ("PUT", f"{EP}/projects/{pid}/endpoints/{endpoint_id}"),
            ("DELETE", f"{EP}/projects/{pid}/endpoints/{endpoint_id}"),
            ("GET", f"{EP}/endpoints/{endpoint_id}/projects")):
        body = {"endpoint_group": {"name": "g", "filters": {"interface": "public"}}} \
            if method in ("POST", "PATCH") else None
        message = await _error(identity, method, path, 403, token=token, json=body)
        assert "identity:" in message
    await identity.call("GET", f"{EP}/endpoint_groups/{gid}", expect=200)
