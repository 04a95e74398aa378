"""Flavors, their extra specs and access lists, field for field per microversion."""

from __future__ import annotations

from helpers.compute import make_flavor, version
from helpers.inprocess import ServiceClient
from helpers.names import unique

BASE_FIELDS = {"id", "name", "ram", "disk", "vcpus", "links", "OS-FLV-EXT-DATA:ephemeral",
               "OS-FLV-DISABLED:disabled", "swap", "rxtx_factor", "os-flavor-access:is_public"}


async def test_create_generates_an_id_and_shows_21_fields(compute: ServiceClient) -> None:
    flavor = await make_flavor(compute, id=None)
    assert set(flavor) == BASE_FIELDS
    assert len(flavor["id"]) == 36
    assert (flavor["ram"], flavor["vcpus"], flavor["disk"], flavor["swap"]) == (256, 1, 1, "")
    assert flavor["os-flavor-access:is_public"] is True
    assert flavor["links"][0] == {"rel": "self",
                                  "href": f"http://compute.test/v2.1/flavors/{flavor['id']}"}
    shown = await compute.call("GET", f"/v2.1/flavors/{flavor['id']}", expect=200)
    assert shown.json()["flavor"] == flavor


async def test_fields_follow_the_microversion(compute: ServiceClient) -> None:
    flavor = await make_flavor(compute, "2.55", description="small", swap=512)
    path = f"/v2.1/flavors/{flavor['id']}"
    await compute.call("POST", f"{path}/os-extra_specs", expect=200,
                       json={"extra_specs": {"hw:cpu_policy": "shared"}})
    expected = {"2.1": BASE_FIELDS, "2.54": BASE_FIELDS,
                "2.55": BASE_FIELDS | {"description"},
                "2.61": BASE_FIELDS | {"description", "extra_specs"},
                "2.85": BASE_FIELDS | {"description", "extra_specs"}}
    for v, fields in expected.items():
        shown = (await compute.call("GET", path, expect=200, headers=version(v))).json()
        assert set(shown["flavor"]) == fields, v
        listed = (await compute.call("GET", "/v2.1/flavors/detail", expect=200,
                                     headers=version(v))).json()["flavors"]
        assert all(set(f) == fields for f in listed), v
        brief = (await compute.call("GET", "/v2.1/flavors", expect=200,
                                    headers=version(v))).json()["flavors"]
        summary = {"id", "name", "links"} | ({"description"} & fields)
        assert all(set(f) == summary for f in brief), v
    at_261 = (await compute.call("GET", path, headers=version("2.61"))).json()["flavor"]
    assert at_261["extra_specs"] == {"hw:cpu_policy": "shared"}
    assert at_261["description"] == "small" and at_261["swap"] == 512


async def test_swap_is_zero_from_275(compute: ServiceClient) -> None:
    flavor = await make_flavor(compute, swap="")
    path = f"/v2.1/flavors/{flavor['id']}"
    assert (await compute.call("GET", path, headers=version("2.74"))).json()[
        "flavor"]["swap"] == ""
    assert (await compute.call("GET", path, headers=version("2.75"))).json()[
        "flavor"]["swap"] == 0


async def test_description_needs_255(compute: ServiceClient) -> None:
    r = await compute.call("POST", "/v2.1/flavors", expect=400, json={"flavor": {
        "name": unique("m1"), "ram": 1, "vcpus": 1, "disk": 0, "description": "x"}})
    assert r.json()["badRequest"]["code"] == 400
    flavor = await make_flavor(compute, "2.55")
    path = f"/v2.1/flavors/{flavor['id']}"
    await compute.call("PUT", path, expect=404, json={"flavor": {"description": "d"}})
    r = await compute.call("PUT", path, expect=200, headers=version("2.55"),
                           json={"flavor": {"description": "updated"}})
    assert r.json()["flavor"]["description"] == "updated"


async def test_bad_input_and_duplicates(compute: ServiceClient) -> None:
    for bad in ({"ram": 0}, {"vcpus": -1}, {"disk": "x"}, {"name": " padded"},
                {"id": "bad/id"}, {"rxtx_factor": 0}, {"unknown": 1}):
        body = {"name": unique("m1"), "ram": 1, "vcpus": 1, "disk": 0, **bad}
        r = await compute.call("POST", "/v2.1/flavors", json={"flavor": body})
        assert r.status_code == 400, bad
        assert "badRequest" in r.json()
    flavor = await make_flavor(compute, id="fixed-id")
    r = await compute.call("POST", "/v2.1/flavors", expect=409, json={"flavor": {
        "name": flavor["name"], "ram": 1, "vcpus": 1, "disk": 0}})
    assert r.json()["conflictingRequest"]["message"] == (
        f"Flavor with name {flavor['name']} already exists.")
    r = await compute.call("POST", "/v2.1/flavors", expect=409, json={"flavor": {
        "id": "fixed-id", "name": unique("m1"), "ram": 1, "vcpus": 1, "disk": 0}})
    assert "ID fixed-id" in r.json()["conflictingRequest"]["message"]


async def test_an_integer_id_is_taken_as_its_string(compute: ServiceClient) -> None:
    # As Nova stores it (Tempest's flavor tests send integer ids).
    r = await compute.call("POST", "/v2.1/flavors", expect=200, json={"flavor": {
        "id": 1234567, "name": unique("m1"), "ram": 1, "vcpus": 1, "disk": 0}})
    assert r.json()["flavor"]["id"] == "1234567"
    r = await compute.call("GET", "/v2.1/flavors/1234567", expect=200)
    assert r.json()["flavor"]["id"] == "1234567"
    r = await compute.call("POST", "/v2.1/flavors", expect=409, json={"flavor": {
        "id": "1234567", "name": unique("m1"), "ram": 1, "vcpus": 1, "disk": 0}})
    for bad in (True, [1], {"n": 1}):
        await compute.call("POST", "/v2.1/flavors", expect=400, json={"flavor": {
            "id": bad, "name": unique("m1"), "ram": 1, "vcpus": 1, "disk": 0}})


async def test_list_filters_sort_and_pages(compute: ServiceClient) -> None:
    small = await make_flavor(compute, id="a-small", ram=128, disk=1)
    big = await make_flavor(compute, id="b-big", ram=4096, disk=40)
    private = await make_flavor(compute, id="c-private", **{"os-flavor-access:is_public": False})

    async def ids(**params: str) -> list[str]:
        r = await compute.call("GET", "/v2.1/flavors/detail", expect=200, params=params)
        return [f["id"] for f in r.json()["flavors"]]

    assert await ids() == ["a-small", "b-big"]
    assert await ids(is_public="None") == ["a-small", "b-big", "c-private"]
    assert await ids(is_public="false") == [private["id"]]
    assert await ids(minRam="1000") == [big["id"]]
    assert await ids(minDisk="10") == [big["id"]]
    assert await ids(sort_key="memory_mb", sort_dir="desc") == ["b-big", "a-small"]
    r = await compute.call("GET", "/v2.1/flavors", expect=200, params={"limit": "1"})
    assert [f["id"] for f in r.json()["flavors"]] == [small["id"]]
    next_href = r.json()["flavors_links"][0]["href"]
    assert "marker=a-small" in next_href and "limit=1" in next_href
    assert await ids(marker="a-small") == ["b-big"]
    for bad in ({"minRam": "x"}, {"is_public": "maybe"}, {"sort_key": "nope"},
                {"marker": "missing"}):
        await compute.call("GET", "/v2.1/flavors", expect=400, params=bad)
    await compute.call("GET", "/v2.1/flavors", expect=200, params={"foo": "1"})
    await compute.call("GET", "/v2.1/flavors", expect=400, params={"foo": "1"},
                       headers=version("2.75"))


async def test_members_see_public_and_shared_flavors_only(compute: ServiceClient) -> None:
    public = await make_flavor(compute)
    private = await make_flavor(compute, **{"os-flavor-access:is_public": False})
    project, token = await compute.project_user_token()
    path = f"/v2.1/flavors/{private['id']}"

    async def visible(**params: str) -> set[str]:
        r = await compute.call("GET", "/v2.1/flavors", token=token, expect=200, params=params)
        return {f["id"] for f in r.json()["flavors"]}

    assert public["id"] in await visible() and private["id"] not in await visible()
    assert private["id"] not in await visible(is_public="None")
    await compute.call("GET", path, token=token, expect=404)
    r = await compute.call("POST", f"{path}/action", expect=200, json={
        "addTenantAccess": {"tenant": project["id"]}})
    assert r.json() == {"flavor_access": [{"flavor_id": private["id"],
                                           "tenant_id": project["id"]}]}
    await compute.call("POST", f"{path}/action", expect=409, json={
        "addTenantAccess": {"tenant": project["id"]}})
    assert private["id"] in await visible()
    await compute.call("GET", path, token=token, expect=200)
    listed = await compute.call("GET", f"{path}/os-flavor-access", expect=200)
    assert listed.json()["flavor_access"][0]["tenant_id"] == project["id"]
    await compute.call("POST", f"{path}/action", expect=200, json={
        "removeTenantAccess": {"tenant": project["id"]}})
    await compute.call("POST", f"{path}/action", expect=404, json={
        "removeTenantAccess": {"tenant": project["id"]}})
    await compute.call("GET", path, token=token, expect=404)


async def test_access_to_public_flavors(compute: ServiceClient) -> None:
    public = await make_flavor(compute)
    path = f"/v2.1/flavors/{public['id']}"
    r = await compute.call("GET", f"{path}/os-flavor-access", expect=404)
    assert r.json()["itemNotFound"]["message"] == "Access list not available for public flavors."
    body = {"addTenantAccess": {"tenant": "p1"}}
    await compute.call("POST", f"{path}/action", expect=200, json=body)
    r = await compute.call("POST", f"{path}/action", expect=409, json=body,
                           headers=version("2.7"))
    assert r.json()["conflictingRequest"]["message"] == "Can not add access to a public flavor."


async def test_non_admins_cannot_manage_flavors(compute: ServiceClient) -> None:
    flavor = await make_flavor(compute)
    _, token = await compute.project_user_token()
    path = f"/v2.1/flavors/{flavor['id']}"
    r = await compute.call("POST", "/v2.1/flavors", token=token, expect=403, json={
        "flavor": {"name": unique("m1"), "ram": 1, "vcpus": 1, "disk": 0}})
    assert r.json()["forbidden"]["code"] == 403
    assert "os_compute_api:os-flavor-manage:create" in r.json()["forbidden"]["message"]
    await compute.call("DELETE", path, token=token, expect=403)
    await compute.call("POST", f"{path}/os-extra_specs", token=token, expect=403,
                       json={"extra_specs": {"a": "b"}})
    await compute.call("POST", f"{path}/action", token=token, expect=403,
                       json={"addTenantAccess": {"tenant": "x"}})
    # A project reader (a member is one too) sees extra specs, inline from 2.61 as well.
    _, reader = await compute.project_user_token(role="reader")
    r = await compute.call("GET", f"{path}/os-extra_specs", token=reader, expect=200)
    assert r.json() == {"extra_specs": {}}
    r = await compute.call("GET", path, token=token, headers=version("2.61"), expect=200)
    assert r.json()["flavor"]["extra_specs"] == {}


async def test_extra_specs_crud(compute: ServiceClient) -> None:
    flavor = await make_flavor(compute)
    specs = f"/v2.1/flavors/{flavor['id']}/os-extra_specs"
    r = await compute.call("POST", specs, expect=200,
                           json={"extra_specs": {"hw:cpu_policy": "shared", "quota:n": 5}})
    assert r.json() == {"extra_specs": {"hw:cpu_policy": "shared", "quota:n": 5}}
    r = await compute.call("GET", specs, expect=200)
    assert r.json() == {"extra_specs": {"hw:cpu_policy": "shared", "quota:n": "5"}}
    r = await compute.call("GET", f"{specs}/hw:cpu_policy", expect=200)
    assert r.json() == {"hw:cpu_policy": "shared"}
    r = await compute.call("PUT", f"{specs}/hw:cpu_policy", expect=200,
                           json={"hw:cpu_policy": "dedicated"})
    assert r.json() == {"hw:cpu_policy": "dedicated"}
    await compute.call("PUT", f"{specs}/hw:cpu_policy", expect=400, json={"other": "x"})
    await compute.call("POST", specs, expect=400, json={"extra_specs": {"bad/key": "x"}})
    await compute.call("POST", specs, expect=400, json={"extra_specs": {"k": "v" * 256}})
    await compute.call("DELETE", f"{specs}/hw:cpu_policy", expect=200)
    r = await compute.call("GET", f"{specs}/hw:cpu_policy", expect=404)
    assert "itemNotFound" in r.json()
    await compute.call("DELETE", f"{specs}/hw:cpu_policy", expect=404)
    await compute.call("GET", "/v2.1/flavors/missing/os-extra_specs", expect=404)


async def test_delete(compute: ServiceClient) -> None:
    flavor = await make_flavor(compute)
    path = f"/v2.1/flavors/{flavor['id']}"
    await compute.call("POST", f"{path}/os-extra_specs", expect=200,
                       json={"extra_specs": {"a": "b"}})
    await compute.call("DELETE", path, expect=202)
    await compute.call("GET", path, expect=404)
    await compute.call("DELETE", path, expect=404)
    again = await make_flavor(compute, id=flavor["id"], name=flavor["name"])
    r = await compute.call("GET", f"/v2.1/flavors/{again['id']}/os-extra_specs", expect=200)
    assert r.json() == {"extra_specs": {}}


async def test_unsetting_an_extra_spec_is_200(compute: ServiceClient) -> None:
    # Nova's route names no status, so its default, 200 (Tempest's unset_flavor_extra_spec).
    flavor = await make_flavor(compute)
    path = f"/v2.1/flavors/{flavor['id']}/os-extra_specs"
    await compute.call("POST", path, expect=200, json={"extra_specs": {"a": "b", "c": "d"}})
    r = await compute.call("DELETE", f"{path}/a", expect=200)
    assert r.content == b""
    r = await compute.call("GET", path, expect=200)
    assert r.json()["extra_specs"] == {"c": "d"}
    await compute.call("DELETE", f"{path}/a", expect=404)
