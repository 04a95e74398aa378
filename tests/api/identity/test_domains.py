"""Identity v3 domains, and Keystone's cascading domain delete."""

from __future__ import annotations

from typing import Any

from helpers.inprocess import IdentityClient
from helpers.names import unique


async def _domain(identity: IdentityClient, **fields: Any) -> dict[str, Any]:
    r = await identity.call("POST", "/v3/domains", expect=201,
                            json={"domain": {"name": unique("domain"), **fields}})
    return dict(r.json()["domain"])


async def _post(identity: IdentityClient, kind: str, body: dict[str, Any]) -> dict[str, Any]:
    r = await identity.call("POST", f"/v3/{kind}s", json={kind: body}, expect=201)
    return dict(r.json()[kind])


async def test_default_domain_lookups(identity: IdentityClient) -> None:
    r = await identity.call("GET", "/v3/domains/default", expect=200)
    assert r.json()["domain"]["name"] == "Default"
    # OSC tries the name as an id first, then lists by name.
    await identity.call("GET", "/v3/domains/Default", expect=404)
    r = await identity.call("GET", "/v3/domains", params={"name": "Default"}, expect=200)
    assert [d["id"] for d in r.json()["domains"]] == ["default"]


async def test_create_and_duplicate(identity: IdentityClient) -> None:
    domain = await _domain(identity, description="d")
    assert (domain["enabled"], domain["description"]) == (True, "d")
    await identity.call("POST", "/v3/domains", expect=409,
                        json={"domain": {"name": domain["name"]}})
    await identity.call("POST", "/v3/domains", expect=400, json={"domain": {"name": ""}})


async def test_delete_requires_disabled_domain(identity: IdentityClient) -> None:
    domain = await _domain(identity)
    r = await identity.call("DELETE", f"/v3/domains/{domain['id']}", expect=403)
    assert "disable" in r.json()["error"]["message"]
    await identity.call("DELETE", "/v3/domains/nope", expect=404)


async def test_default_domain_cannot_be_deleted(identity: IdentityClient) -> None:
    r = await identity.call("DELETE", "/v3/domains/default", expect=403)
    # Refused as the default domain, not merely as an enabled one.
    assert "default domain" in r.json()["error"]["message"]
    await identity.call("GET", "/v3/domains/default", expect=200)


async def test_member_cannot_delete_a_domain(identity: IdentityClient) -> None:
    domain = await _domain(identity, enabled=False)
    project = await identity.make_project()
    user = await identity.make_user(project=project)
    token = await identity.token(user["name"], "secret-pw", project=project["name"])
    await identity.call("DELETE", f"/v3/domains/{domain['id']}", token=token, expect=403)
    await identity.call("GET", f"/v3/domains/{domain['id']}", expect=200)


async def test_delete_cascades_to_everything_in_the_domain(identity: IdentityClient) -> None:
    domain = await _domain(identity)
    parent = await _post(identity, "project", {"name": "parent", "domain_id": domain["id"]})
    child = await _post(identity, "project", {"name": "child", "parent_id": parent["id"]})
    user = await _post(identity, "user", {"name": "dom-user", "domain_id": domain["id"],
                                          "password": "dom-pw"})
    group = await _post(identity, "group", {"name": "dom-group", "domain_id": domain["id"]})
    await identity.call("PUT", f"/v3/groups/{group['id']}/users/{user['id']}", expect=204)
    member = await identity.role_id("member")
    await identity.call("PUT", f"/v3/projects/{child['id']}/users/{user['id']}/roles/{member}",
                        expect=204)
    # A user of the default domain with a role in the doomed domain's project.
    outsider = await identity.make_user(project=child)
    outsider_token = await identity.token(outsider["name"], "secret-pw")   # scoped to child
    r = await identity.http.post("/v3/auth/tokens", json={"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": "dom-user", "domain": {"id": domain["id"]}, "password": "dom-pw"}}},
        "scope": {"project": {"id": child["id"]}}}})
    assert r.status_code == 201, r.text
    scoped = r.headers["X-Subject-Token"]

    await identity.call("PATCH", f"/v3/domains/{domain['id']}", expect=200,
                        json={"domain": {"enabled": False}})
    await identity.call("DELETE", f"/v3/domains/{domain['id']}", expect=204)

    await identity.call("GET", f"/v3/domains/{domain['id']}", expect=404)
    for path in (f"/v3/projects/{parent['id']}", f"/v3/projects/{child['id']}",
                 f"/v3/users/{user['id']}", f"/v3/groups/{group['id']}"):
        await identity.call("GET", path, expect=404)
    await identity.call("GET", f"/v3/users/{user['id']}", token=scoped, expect=401)
    # The outsider survives without the assignment and with no default project.
    r = await identity.call("GET", f"/v3/users/{outsider['id']}", expect=200)
    assert "default_project_id" not in r.json()["user"]
    await identity.call("GET", f"/v3/users/{outsider['id']}", token=outsider_token, expect=401)
    unscoped = await identity.token(outsider["name"], "secret-pw")
    r = await identity.call("GET", f"/v3/users/{outsider['id']}/projects", token=unscoped,
                            expect=200)
    assert r.json()["projects"] == []
    r = await identity.call("GET", "/v3/role_assignments", params={"user.id": outsider["id"]},
                            expect=200)
    assert r.json()["role_assignments"] == []
    # The names can be used again.
    again = await _domain(identity, name=domain["name"])
    await _post(identity, "project", {"name": "parent", "domain_id": again["id"]})


async def test_name_over_64_characters_is_refused(identity: IdentityClient) -> None:
    # Keystone's limit, as Tempest's test_create_domain_with_name_length_over_64 checks.
    r = await identity.call("POST", "/v3/domains", expect=400,
                            json={"domain": {"name": "a" * 65}})
    assert r.json()["error"]["code"] == 400
    domain = await _domain(identity, name="b" * 64)
    await identity.call("PATCH", f"/v3/domains/{domain['id']}", expect=400,
                        json={"domain": {"name": "c" * 65}})
