"""Glance's metadata definitions catalog: ``/v2/metadefs/namespaces`` and
``/v2/metadefs/resource_types`` (decision 69)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from helpers.inprocess import ImageClient

NS = "/v2/metadefs/namespaces"
SEEDED = ["OS::Glance::Image", "OS::Cinder::Volume", "OS::Nova::Flavor", "OS::Nova::Aggregate",
          "OS::Nova::Server", "OS::Trove::Instance"]


def unique(prefix: str = "OS::Test") -> str:
    return f"{prefix}::{uuid.uuid4().hex[:8]}"


async def make_namespace(image: ImageClient, token: str | None = None, expect: int = 201,
                         **body: Any) -> dict[str, Any]:
    body.setdefault("namespace", unique())
    r = await image.call("POST", NS, token=token, json=body, expect=expect)
    return dict(r.json())


async def test_namespace_create_show_update_delete(image: ImageClient) -> None:
    name = unique()
    r = await image.call("POST", NS, json={"namespace": name, "display_name": "Example",
                                           "description": "An example.",
                                           "visibility": "public", "protected": True},
                         expect=201)
    made = r.json()
    assert r.headers["location"] == f"http://image.test{NS}/{name}"
    assert made["namespace"] == name and made["visibility"] == "public"
    assert made["protected"] is True and made["display_name"] == "Example"
    assert made["self"] == f"{NS}/{name}"
    assert made["schema"] == "/v2/schemas/metadefs/namespace"
    assert made["created_at"].endswith("Z") and made["owner"]
    assert {"objects", "properties", "tags", "resource_type_associations"}.isdisjoint(made)

    shown = (await image.call("GET", f"{NS}/{name}", expect=200)).json()
    assert shown == made

    r = await image.call("DELETE", f"{NS}/{name}", expect=403)
    assert r.json()["message"] == (f"Metadata definition namespace {name} is protected and "
                                   "cannot be deleted.")
    assert r.json()["code"] == "403 Forbidden"

    # An update replaces: what it leaves out takes Glance's defaults.
    updated = (await image.call("PUT", f"{NS}/{name}", json={"namespace": name},
                                expect=200)).json()
    assert updated["visibility"] == "private" and updated["protected"] is False
    assert "display_name" not in updated and "description" not in updated

    await image.call("DELETE", f"{NS}/{name}", expect=204)
    r = await image.call("GET", f"{NS}/{name}", expect=404)
    assert r.json() == {"code": "404 Not Found", "title": "Not Found",
                        "message": f"Metadata definition namespace={name} was not found."}
    await image.call("DELETE", f"{NS}/{name}", expect=404)
    await image.call("PUT", f"{NS}/{name}", json={"namespace": name}, expect=404)


async def test_namespace_names_are_unique(image: ImageClient) -> None:
    first = await make_namespace(image)
    second = await make_namespace(image)
    r = await image.call("POST", NS, json={"namespace": first["namespace"]}, expect=409)
    assert r.json()["message"] == (f"The metadata definition namespace="
                                   f"{first['namespace']} already exists.")
    await image.call("PUT", f"{NS}/{second['namespace']}",
                     json={"namespace": first["namespace"]}, expect=409)
    renamed = unique()
    r = await image.call("PUT", f"{NS}/{second['namespace']}", json={"namespace": renamed},
                         expect=200)
    assert r.json()["self"] == f"{NS}/{renamed}"
    await image.call("GET", f"{NS}/{second['namespace']}", expect=404)


async def test_bad_namespace_bodies(image: ImageClient) -> None:
    for body in ({}, {"namespace": ""}, {"namespace": "x" * 81}, {"namespace": 1},
                 {"namespace": "a", "visibility": "shared"}, {"namespace": "a", "x": 1},
                 {"namespace": "a", "protected": "yes"},
                 {"namespace": "a", "description": "d" * 501},
                 {"namespace": "a", "properties": {"p": {"title": "t"}}},
                 {"namespace": "a", "properties": {"p": {"title": "t", "type": "str"}}},
                 {"namespace": "a", "tags": [{"name": "t" * 81}]},
                 {"namespace": "a", "objects": [{"description": "no name"}]},
                 {"namespace": "a", "resource_type_associations": [{"prefix": "x"}]},
                 [], "text"):
        r = await image.call("POST", NS, json=body, expect=400)
        assert r.json()["code"] == "400 Bad Request", body
    await image.call("POST", NS, content=b"", expect=400)
    await image.call("POST", NS, content=b"{", headers={"Content-Type": "application/json"},
                     expect=400)
    for key in ("self", "schema", "created_at", "updated_at"):
        r = await image.call("POST", NS, json={"namespace": "a", key: "x"}, expect=403)
        assert r.json()["message"] == f"Attribute '{key}' is read-only."
    made = await make_namespace(image)
    await image.call("PUT", f"{NS}/{made['namespace']}", json={"visibility": "public"},
                     expect=400)
    await image.call("PUT", f"{NS}/{made['namespace']}",
                     json={"namespace": made["namespace"], "self": "x"}, expect=403)


async def test_create_with_contents_and_show_them(image: ImageClient) -> None:
    name = unique()
    made = await make_namespace(image, namespace=name, resource_type_associations=[
        {"name": "OS::Glance::Image", "prefix": "hw_"},
        {"name": "OS::Nova::Flavor", "prefix": "hw:", "properties_target": "flavor"}],
        properties={"cpu_cores": {"title": "Cores", "type": "integer", "minimum": 1,
                                  "unknown": "dropped"}},
        objects=[{"name": "CPU", "required": ["sockets"],
                  "properties": {"sockets": {"title": "Sockets", "type": "integer"}}}],
        tags=[{"name": "fast"}, {"name": "slow"}])
    assert made["properties"] == {"cpu_cores": {"title": "Cores", "type": "integer",
                                                "minimum": 1}}
    assert sorted(t["name"] for t in made["tags"]) == ["fast", "slow"]
    shown = (await image.call("GET", f"{NS}/{name}", expect=200)).json()
    assert [a["name"] for a in shown["resource_type_associations"]] == [
        "OS::Glance::Image", "OS::Nova::Flavor"]
    assert shown["resource_type_associations"][1]["properties_target"] == "flavor"
    obj = shown["objects"][0]
    assert obj["name"] == "CPU" and obj["self"] == f"{NS}/{name}/objects/CPU"
    prefixed = (await image.call("GET", f"{NS}/{name}",
                                 params={"resource_type": "OS::Nova::Flavor"})).json()
    assert list(prefixed["properties"]) == ["hw:cpu_cores"]
    assert prefixed["objects"][0]["required"] == ["hw:sockets"]
    assert list(prefixed["objects"][0]["properties"]) == ["hw:sockets"]
    # The contents are created with the namespace, or not at all.
    await image.call("POST", NS, json={"namespace": unique(), "tags": [
        {"name": "a"}, {"name": "a"}]}, expect=409)


async def test_list_filters_and_pages(image: ImageClient) -> None:
    tag = uuid.uuid4().hex[:6]
    names = [unique(f"OS::Page{tag}") for _ in range(3)]
    for index, name in enumerate(names):
        await make_namespace(image, namespace=name,
                             visibility="public" if index else "private",
                             resource_type_associations=[{"name": f"OS::Type{tag}"}]
                             if index == 2 else [])
    r = await image.call("GET", NS, params={"limit": 2, "sort_key": "namespace",
                                            "sort_dir": "asc"}, expect=200)
    body = r.json()
    assert body["schema"] == "/v2/schemas/metadefs/namespaces"
    assert body["first"] == f"{NS}?limit=2&sort_key=namespace&sort_dir=asc"
    assert len(body["namespaces"]) == 2 and "next" in body
    seen = [ns["namespace"] for ns in body["namespaces"]]
    while "next" in body:
        body = (await image.call("GET", body["next"], expect=200)).json()
        seen += [ns["namespace"] for ns in body["namespaces"]]
    assert [n for n in seen if n in names] == sorted(names)
    assert seen == sorted(seen)

    listed = (await image.call("GET", NS, params={"resource_types": f"OS::Type{tag},x"})).json()
    assert [ns["namespace"] for ns in listed["namespaces"]] == [names[2]]
    assert listed["namespaces"][0]["resource_type_associations"][0]["name"] == f"OS::Type{tag}"
    private = (await image.call("GET", NS, params={"visibility": "private",
                                                   "limit": 1000})).json()
    assert names[0] in [ns["namespace"] for ns in private["namespaces"]]
    assert names[1] not in [ns["namespace"] for ns in private["namespaces"]]
    newest = (await image.call("GET", NS, params={"limit": 1})).json()["namespaces"]
    assert newest[0]["namespace"] == names[2]

    for params in ({"limit": "x"}, {"limit": "-1"}, {"sort_dir": "up"},
                   {"sort_key": "nonsense"}, {"visibility": "shared"}):
        r = await image.call("GET", NS, params=params, expect=400)
        assert r.json()["code"] == "400 Bad Request"
    await image.call("GET", NS, params={"marker": unique()}, expect=404)
    assert (await image.call("GET", NS, params={"limit": 0})).json()["namespaces"] == []


async def test_who_sees_and_changes_namespaces(image: ImageClient) -> None:
    project, member = await image.project_user_token()
    _, stranger = await image.project_user_token()
    reader_user = await image.identity.make_user(project=project, role="reader", password="pw")
    reader = await image.identity.token(reader_user["name"], "pw", project=project["name"])
    own = await make_namespace(image, owner=project["id"])
    public = await make_namespace(image, visibility="public")
    assert own["owner"] == project["id"] and own["visibility"] == "private"
    own_path, public_path = f"{NS}/{own['namespace']}", f"{NS}/{public['namespace']}"

    await make_namespace(image, member, expect=403)
    for token in (member, reader):
        await image.call("GET", own_path, token=token, expect=200)
        await image.call("GET", f"{own_path}/objects", token=token, expect=200)
        await image.call("PUT", own_path, token=token, json={"namespace": own["namespace"]},
                         expect=403)
        await image.call("DELETE", own_path, token=token, expect=403)
        await image.call("POST", f"{own_path}/tags/t", token=token, expect=403)
    # Another project's private namespace does not exist for a stranger, whatever it asks.
    for method, path in (("GET", own_path), ("DELETE", own_path), ("GET", f"{own_path}/tags"),
                         ("POST", f"{own_path}/tags/t"), ("DELETE", f"{own_path}/objects"),
                         ("GET", f"{own_path}/resource_types")):
        r = await image.call(method, path, token=stranger, expect=404)
        assert r.json()["code"] == "404 Not Found"
    await image.call("GET", public_path, token=stranger, expect=200)
    await image.call("DELETE", public_path, token=stranger, expect=403)

    listed = (await image.call("GET", NS, token=stranger, params={"limit": 1000})).json()
    names = {ns["namespace"] for ns in listed["namespaces"]}
    assert public["namespace"] in names and own["namespace"] not in names
    listed = (await image.call("GET", NS, token=reader, params={"limit": 1000})).json()
    assert own["namespace"] in {ns["namespace"] for ns in listed["namespaces"]}
    r = await image.http.get(NS)
    assert r.status_code == 401


async def test_objects(image: ImageClient) -> None:
    ns = (await make_namespace(image))["namespace"]
    path = f"{NS}/{ns}/objects"
    r = await image.call("POST", path, json={
        "name": "CPU Limits", "description": "d", "required": ["quota:cpu_period"],
        "properties": {"quota:cpu_period": {"title": "Period", "type": "integer",
                                            "minimum": 1000}}}, expect=201)
    made = r.json()
    assert made["self"] == f"{NS}/{ns}/objects/CPU Limits"
    assert made["schema"] == "/v2/schemas/metadefs/object"
    assert made["properties"]["quota:cpu_period"]["minimum"] == 1000
    await image.call("POST", path, json={"name": "CPU Limits"}, expect=409)
    await image.call("POST", path, json={"name": "Other"}, expect=201)
    shown = (await image.call("GET", f"{path}/CPU Limits", expect=200)).json()
    assert shown == made
    listed = (await image.call("GET", path, expect=200)).json()
    assert listed["schema"] == "v2/schemas/metadefs/objects"
    assert [o["name"] for o in listed["objects"]] == ["Other", "CPU Limits"]
    page = (await image.call("GET", path, params={"limit": 1, "sort_key": "name",
                                                  "sort_dir": "asc"})).json()
    assert [o["name"] for o in page["objects"]] == ["CPU Limits"]

    r = await image.call("PUT", f"{path}/CPU Limits", json={"name": "Renamed"}, expect=200)
    assert r.json()["name"] == "Renamed" and "description" not in r.json()
    await image.call("PUT", f"{path}/Renamed", json={"name": "Other"}, expect=409)
    await image.call("GET", f"{path}/CPU Limits", expect=404)
    for body in ({}, {"name": ""}, {"name": "x", "required": "a"},
                 {"name": "x", "required": ["a", "a"]},
                 {"name": "x", "properties": {"p": {"type": "string"}}}):
        await image.call("POST", path, json=body, expect=400)
    await image.call("POST", path, json={"name": "x", "self": "y"}, expect=403)
    await image.call("PUT", f"{path}/Renamed", json={"name": "x", "schema": "y"}, expect=403)

    r = await image.call("GET", f"{path}/missing", expect=404)
    assert r.json()["message"] == (f"The metadata definition object with name=missing was "
                                   f"not found in namespace={ns}.")
    await image.call("DELETE", f"{path}/Renamed", expect=204)
    await image.call("DELETE", f"{path}/Renamed", expect=404)
    await image.call("DELETE", path, expect=204)
    assert (await image.call("GET", path)).json()["objects"] == []


async def test_protected_namespaces_keep_their_contents(image: ImageClient) -> None:
    ns = (await make_namespace(image, protected=True, tags=[{"name": "t"}],
                               objects=[{"name": "o"}],
                               properties={"p": {"title": "P", "type": "string"}},
                               resource_type_associations=[{"name": "OS::Nova::Server"}]))
    path = f"{NS}/{ns['namespace']}"
    for target in ("objects/o", "properties/p", "tags/t", "resource_types/OS::Nova::Server",
                   "objects", "properties", "tags", ""):
        r = await image.call("DELETE", f"{path}/{target}".rstrip("/"), expect=403)
        assert "is protected and cannot be deleted." in r.json()["message"], target
    shown = (await image.call("GET", path)).json()
    assert shown["objects"] and shown["properties"] and shown["tags"]


async def test_properties(image: ImageClient) -> None:
    ns = (await make_namespace(image, resource_type_associations=[
        {"name": "OS::Glance::Image", "prefix": "hw_"}, {"name": "OS::Nova::Server"}]))
    path = f"{NS}/{ns['namespace']}/properties"
    enum = ["xen", "qemu", "kvm"]
    r = await image.call("POST", path, json={"name": "hypervisor_type", "title": "Hypervisor",
                                             "type": "string", "enum": enum}, expect=201)
    assert r.json() == {"name": "hypervisor_type", "title": "Hypervisor", "type": "string",
                        "enum": enum}
    await image.call("POST", path, json={"name": "hypervisor_type", "title": "t",
                                         "type": "string"}, expect=409)
    await image.call("POST", path, json={"name": "OS::Glance::Image", "title": "t",
                                         "type": "string"}, expect=201)
    shown = (await image.call("GET", f"{path}/OS::Glance::Image", expect=200)).json()
    assert shown["name"] == "OS::Glance::Image"
    listed = (await image.call("GET", path, expect=200)).json()
    assert listed == {"properties": {
        "OS::Glance::Image": {"title": "t", "type": "string"},
        "hypervisor_type": {"title": "Hypervisor", "type": "string", "enum": enum}}}
    r = await image.call("GET", f"{path}/hw_hypervisor_type",
                         params={"resource_type": "OS::Glance::Image"}, expect=200)
    assert r.json()["name"] == "hypervisor_type"
    await image.call("GET", f"{path}/hypervisor_type",
                     params={"resource_type": "OS::Glance::Image"}, expect=404)
    await image.call("GET", f"{path}/hypervisor_type",
                     params={"resource_type": "OS::Nova::Server"}, expect=404)
    await image.call("GET", f"{path}/hw_hypervisor_type",
                     params={"resource_type": "OS::Cinder::Volume"}, expect=404)

    r = await image.call("PUT", f"{path}/hypervisor_type", json={
        "name": "hv", "title": "New", "type": "string"}, expect=200)
    assert r.json() == {"name": "hv", "title": "New", "type": "string"}
    await image.call("PUT", f"{path}/hv", json={"name": "OS::Glance::Image", "title": "x",
                                                "type": "string"}, expect=409)
    for body in ({"name": "x", "type": "string"}, {"title": "x", "type": "string"},
                 {"name": "x", "title": "x", "type": "string", "minLength": -1},
                 {"name": "x", "title": "x", "type": "string", "pattern": "("},
                 {"name": "x", "title": "x", "type": "string", "bogus": 1}):
        await image.call("POST", path, json=body, expect=400)
    await image.call("POST", path, json={"name": "x", "title": "x", "type": "string",
                                         "created_at": "now"}, expect=403)
    r = await image.call("GET", f"{path}/missing", expect=404)
    assert "property with name=missing was not found" in r.json()["message"]
    await image.call("DELETE", f"{path}/hv", expect=204)
    await image.call("DELETE", f"{path}/hv", expect=404)
    await image.call("DELETE", path, expect=204)
    assert (await image.call("GET", path)).json() == {"properties": {}}


async def test_tags(image: ImageClient) -> None:
    ns = (await make_namespace(image))["namespace"]
    path = f"{NS}/{ns}/tags"
    r = await image.call("POST", path, json={"tags": [{"name": "a"}, {"name": "b"}]},
                         expect=201)
    assert r.json() == {"tags": [{"name": "a"}, {"name": "b"}]}
    # Without X-Openstack-Append the list replaces the tags; with it, it adds to them.
    await image.call("POST", path, json={"tags": [{"name": "c"}]}, expect=201)
    await image.call("POST", path, json={"tags": [{"name": "d"}]},
                     headers={"X-Openstack-Append": "True"}, expect=201)
    names = sorted(t["name"] for t in (await image.call("GET", path)).json()["tags"])
    assert names == ["c", "d"]
    r = await image.call("POST", path, json={"tags": [{"name": "c"}]},
                         headers={"X-Openstack-Append": "true"}, expect=409)
    assert r.json()["message"].startswith(f"A metadata tag with name=c already exists in "
                                          f"namespace={ns}.")
    await image.call("POST", path, json={"tags": [{"name": "e"}, {"name": "e"}]}, expect=409)
    assert len((await image.call("GET", path)).json()["tags"]) == 2     # nothing replaced

    r = await image.call("POST", f"{path}/single", expect=201)
    assert set(r.json()) == {"name", "created_at", "updated_at"}
    await image.call("POST", f"{path}/single", expect=409)
    await image.call("POST", f"{path}/{'x' * 81}", expect=400)
    shown = (await image.call("GET", f"{path}/single", expect=200)).json()
    assert shown == r.json()
    r = await image.call("PUT", f"{path}/single", json={"name": "renamed"}, expect=200)
    assert r.json()["name"] == "renamed"
    await image.call("PUT", f"{path}/renamed", json={"name": "c"}, expect=409)
    await image.call("PUT", f"{path}/renamed", json={"name": "x", "created_at": "t"},
                     expect=403)
    await image.call("PUT", f"{path}/renamed", json={"other": "x"}, expect=400)
    await image.call("GET", f"{path}/single", expect=404)
    page = (await image.call("GET", path, params={"limit": 2, "sort_key": "name",
                                                  "sort_dir": "asc"})).json()
    assert page == {"tags": [{"name": "c"}, {"name": "d"}]}
    for body in ({}, {"tags": [{}]}, {"tags": [{"name": "x", "y": 1}]}, {"tags": "x"}):
        await image.call("POST", path, json=body if body else {"tags": [{"bad": 1}]},
                         expect=400)
    await image.call("DELETE", f"{path}/renamed", expect=204)
    await image.call("DELETE", f"{path}/renamed", expect=404)
    await image.call("DELETE", path, expect=204)
    assert (await image.call("GET", path)).json() == {"tags": []}


async def test_resource_types_and_associations(image: ImageClient) -> None:
    listed = (await image.call("GET", "/v2/metadefs/resource_types", expect=200)).json()
    names = [t["name"] for t in listed["resource_types"]]
    assert names[:6] == SEEDED
    assert set(listed["resource_types"][0]) == {"name", "created_at", "updated_at"}

    ns = (await make_namespace(image))["namespace"]
    path = f"{NS}/{ns}/resource_types"
    assert (await image.call("GET", path, expect=200)).json() == {
        "resource_type_associations": []}
    r = await image.call("POST", path, json={"name": "OS::Cinder::Volume", "prefix": "hw_",
                                             "properties_target": "image"}, expect=201)
    assert r.json()["name"] == "OS::Cinder::Volume" and r.json()["prefix"] == "hw_"
    r = await image.call("POST", path, json={"name": "OS::Cinder::Volume"}, expect=409)
    assert r.json()["message"] == (
        "The metadata definition resource-type association of resource-type="
        f"OS::Cinder::Volume to namespace={ns} already exists.")
    new_type = unique("OS::Made")
    await image.call("POST", path, json={"name": new_type}, expect=201)
    listed = (await image.call("GET", "/v2/metadefs/resource_types")).json()
    assert new_type in [t["name"] for t in listed["resource_types"]]
    associations = (await image.call("GET", path)).json()["resource_type_associations"]
    assert [a["name"] for a in associations] == ["OS::Cinder::Volume", new_type]
    assert "prefix" not in associations[1]
    filtered = (await image.call("GET", NS, params={"resource_types": new_type})).json()
    assert [n["namespace"] for n in filtered["namespaces"]] == [ns]

    for body in ({}, {"name": ""}, {"name": "x" * 81}, {"name": "x", "prefix": 1},
                 {"name": "x", "extra": 1}):
        await image.call("POST", path, json=body, expect=400)
    await image.call("POST", path, json={"name": "x", "created_at": "t"}, expect=403)
    await image.call("POST", f"{NS}/{unique()}/resource_types", json={"name": "x"},
                     expect=404)
    await image.call("DELETE", f"{path}/OS::Cinder::Volume", expect=204)
    r = await image.call("DELETE", f"{path}/OS::Cinder::Volume", expect=404)
    assert r.json()["message"] == "Failed to find resource type OS::Cinder::Volume to delete"
    await image.call("DELETE", f"{path}/OS::Never::Made", expect=404)
    # Deleting a namespace removes its associations, never the types.
    await image.call("DELETE", f"{NS}/{ns}", expect=204)
    listed = (await image.call("GET", "/v2/metadefs/resource_types")).json()
    assert new_type in [t["name"] for t in listed["resource_types"]]


async def test_concurrent_creates_of_one_name(image: ImageClient) -> None:
    """Of concurrent creates of one namespace (or one tag in it), one wins and the others
    are Glance's 409, never a 500."""
    name = unique()
    answers = await asyncio.gather(*(image.call("POST", NS, json={"namespace": name})
                                     for _ in range(4)))
    assert sorted(r.status_code for r in answers) == [201, 409, 409, 409]
    answers = await asyncio.gather(*(image.call("POST", f"{NS}/{name}/tags/same")
                                     for _ in range(4)))
    assert sorted(r.status_code for r in answers) == [201, 409, 409, 409]
