"""Roles and implied roles, as clients (OSC, SDK, tempest) use them."""

from __future__ import annotations

from typing import Any

import pytest

from helpers.inprocess import IdentityClient
from helpers.names import unique


async def make_role(identity: IdentityClient, **fields: Any) -> dict[str, Any]:
    r = await identity.call("POST", "/v3/roles", expect=201,
                            json={"role": {"name": unique("role"), **fields}})
    return dict(r.json()["role"])


async def subject(identity: IdentityClient, token: str) -> Any:
    return await identity.call("GET", "/v3/auth/tokens", headers={"X-Subject-Token": token})


async def test_bootstrap_roles_are_global(identity: IdentityClient) -> None:
    r = await identity.call("GET", "/v3/roles", expect=200)
    roles = {role["name"]: role for role in r.json()["roles"]}
    assert {"admin", "member", "reader"} <= set(roles)
    member = roles["member"]
    assert member["domain_id"] is None
    assert member["options"] == {}
    assert member["links"]["self"].endswith(f"/v3/roles/{member['id']}")
    assert r.json()["links"]["self"].endswith("/v3/roles")


async def test_show_by_name_is_404_then_list_by_name(identity: IdentityClient) -> None:
    # OSC's name-or-id lookup: GET /v3/roles/member must be 404, then ?name=member.
    r = await identity.call("GET", "/v3/roles/member", expect=404)
    assert r.json()["error"] == {"code": 404, "title": "Not Found",
                                 "message": "Could not find role: member."}
    r = await identity.call("GET", "/v3/roles", params={"name": "member"}, expect=200)
    [member] = r.json()["roles"]
    r = await identity.call("GET", f"/v3/roles/{member['id']}", expect=200)
    assert r.json()["role"]["name"] == "member"


async def test_create_show_update_delete(identity: IdentityClient) -> None:
    role = await make_role(identity, description="watches", color="blue")
    assert role["description"] == "watches"
    assert role["color"] == "blue"          # extra attributes come back, as in Keystone
    assert role["domain_id"] is None
    r = await identity.call("PATCH", f"/v3/roles/{role['id']}", expect=200,
                            json={"role": {"name": "renamed-" + role["name"]}})
    assert r.json()["role"]["name"] == "renamed-" + role["name"]
    assert r.json()["role"]["description"] == "watches"
    await identity.call("DELETE", f"/v3/roles/{role['id']}", expect=204)
    await identity.call("GET", f"/v3/roles/{role['id']}", expect=404)
    await identity.call("DELETE", f"/v3/roles/{role['id']}", expect=404)
    await identity.call("PATCH", f"/v3/roles/{role['id']}", expect=404,
                        json={"role": {"name": "x"}})


async def test_unicode_and_metacharacters_are_data(identity: IdentityClient) -> None:
    name = "rôle'; DROP TABLE identity_role; -- $(rm -rf /) ☃"
    role = await make_role(identity, name=name)
    r = await identity.call("GET", "/v3/roles", params={"name": name}, expect=200)
    assert [x["id"] for x in r.json()["roles"]] == [role["id"]]


async def test_duplicate_name_conflicts(identity: IdentityClient) -> None:
    role = await make_role(identity)
    await identity.call("POST", "/v3/roles", expect=409, json={"role": {"name": role["name"]}})
    other = await make_role(identity)
    await identity.call("PATCH", f"/v3/roles/{other['id']}", expect=409,
                        json={"role": {"name": role["name"]}})
    await identity.call("POST", "/v3/roles", expect=409, json={"role": {"name": "member"}})


@pytest.mark.parametrize("body", [
    {},
    {"role": {}},
    {"role": {"name": ""}},
    {"role": {"name": "   "}},
    {"role": {"name": "x" * 256}},
    {"role": {"name": 42}},
    {"role": {"name": "ok", "options": {"bogus": True}}},
    {"role": {"name": "ok", "options": {"immutable": "yes"}}},
    {"role": {"name": "ok", "domain_id": 7}},
    {"role": {"name": "ok"}, "extra": 1},
    {"role": "ok"},
])
async def test_bad_create_bodies(identity: IdentityClient, body: Any) -> None:
    r = await identity.call("POST", "/v3/roles", json=body, expect=400)
    assert r.json()["error"]["code"] == 400


async def test_bad_update_bodies(identity: IdentityClient) -> None:
    role = await make_role(identity)
    bodies: list[dict[str, Any]] = [{"role": {}}, {"role": {"name": ""}},
                                    {"role": {"id": "other"}}, {"role": {"domain_id": "default"}}]
    for body in bodies:
        await identity.call("PATCH", f"/v3/roles/{role['id']}", json=body, expect=400)
    r = await identity.call("PATCH", f"/v3/roles/{role['id']}",
                            content=b"{not json", expect=400)
    assert "Malformed JSON" in r.json()["error"]["message"]


async def test_domain_specific_roles(identity: IdentityClient) -> None:
    role = await make_role(identity, name="member", domain_id="default")
    assert role["domain_id"] == "default"
    r = await identity.call("GET", "/v3/roles", params={"name": "member"}, expect=200)
    assert [x["domain_id"] for x in r.json()["roles"]] == [None]
    r = await identity.call("GET", "/v3/roles", params={"domain_id": "default"}, expect=200)
    assert [x["id"] for x in r.json()["roles"]] == [role["id"]]
    await identity.call("POST", "/v3/roles", expect=409,
                        json={"role": {"name": "member", "domain_id": "default"}})
    r = await identity.call("POST", "/v3/roles", expect=404,
                            json={"role": {"name": "x", "domain_id": "nowhere"}})
    assert r.json()["error"]["message"] == "Could not find domain: nowhere."


async def test_immutable_roles(identity: IdentityClient) -> None:
    role = await make_role(identity, options={"immutable": True})
    assert role["options"] == {"immutable": True}
    path = f"/v3/roles/{role['id']}"
    await identity.call("DELETE", path, expect=403)
    await identity.call("PATCH", path, json={"role": {"description": "x"}}, expect=403)
    r = await identity.call("PATCH", path, json={"role": {"options": {"immutable": False}}},
                            expect=200)
    assert r.json()["role"]["options"] == {"immutable": False}
    await identity.call("DELETE", path, expect=204)


async def test_members_may_not_manage_roles(identity: IdentityClient) -> None:
    project = await identity.make_project()
    user = await identity.make_user(project=project)
    token = await identity.token(user["name"], "secret-pw", project=project["name"])
    await identity.call("POST", "/v3/roles", token=token, expect=403,
                        json={"role": {"name": unique("role")}})
    await identity.call("GET", "/v3/roles", token=token, expect=403)
    member = await identity.role_id("member")
    await identity.call("DELETE", f"/v3/roles/{member}", token=token, expect=403)
    await identity.call("PUT", f"/v3/roles/{member}/implies/{await identity.role_id('reader')}",
                        token=token, expect=403)


async def test_deleting_a_role_revokes_tokens_that_carried_it(identity: IdentityClient
                                                               ) -> None:
    role = await make_role(identity)
    project = await identity.make_project()
    user = await identity.make_user(project=project, role=role["name"])
    token = await identity.token(user["name"], "secret-pw", project=project["name"])
    r = await subject(identity, token)
    assert [x["name"] for x in r.json()["token"]["roles"]] == [role["name"]]
    await identity.call("DELETE", f"/v3/roles/{role['id']}", expect=204)
    assert (await subject(identity, token)).status_code == 404
    await identity.token(user["name"], "secret-pw", project=project["name"], expect=401)
    r = await identity.call("GET", "/v3/role_assignments", params={"role.id": role["id"]},
                            expect=200)
    assert r.json()["role_assignments"] == []


# --- implied roles ---------------------------------------------------------------------

async def test_implied_role_lifecycle(identity: IdentityClient) -> None:
    prior, implied = await make_role(identity), await make_role(identity)
    path = f"/v3/roles/{prior['id']}/implies/{implied['id']}"
    r = await identity.call("PUT", path, expect=201)
    body = r.json()
    assert body["role_inference"]["prior_role"] == {
        "id": prior["id"], "name": prior["name"], "links": prior["links"]}
    assert body["role_inference"]["implies"] == {
        "id": implied["id"], "name": implied["name"], "links": implied["links"]}
    assert body["links"]["self"].endswith(path)
    r = await identity.call("GET", path, expect=200)
    assert r.json()["role_inference"] == body["role_inference"]
    r = await identity.call("HEAD", path, expect=204)
    assert r.content == b""
    await identity.call("PUT", path, expect=409)
    r = await identity.call("GET", f"/v3/roles/{prior['id']}/implies", expect=200)
    inference = r.json()["role_inference"]
    assert inference["prior_role"]["id"] == prior["id"]
    assert [x["id"] for x in inference["implies"]] == [implied["id"]]
    r = await identity.call("GET", "/v3/role_inferences", expect=200)
    rules = {x["prior_role"]["name"]: [i["name"] for i in x["implies"]]
             for x in r.json()["role_inferences"]}
    assert rules["admin"] == ["member"]
    assert rules["member"] == ["reader"]
    assert rules[prior["name"]] == [implied["name"]]
    await identity.call("DELETE", path, expect=204)
    r = await identity.call("GET", path, expect=404)
    assert r.json()["error"]["message"] == f"{prior['id']} does not imply {implied['id']}."
    await identity.call("HEAD", path, expect=404)
    await identity.call("DELETE", path, expect=404)
    r = await identity.call("GET", f"/v3/roles/{prior['id']}/implies", expect=200)
    assert r.json()["role_inference"]["implies"] == []


async def test_implied_role_rules_are_checked(identity: IdentityClient) -> None:
    a, b, c = [await make_role(identity) for _ in range(3)]
    await identity.call("PUT", f"/v3/roles/{a['id']}/implies/{a['id']}", expect=400)
    await identity.call("PUT", f"/v3/roles/{a['id']}/implies/{b['id']}", expect=201)
    await identity.call("PUT", f"/v3/roles/{b['id']}/implies/{c['id']}", expect=201)
    r = await identity.call("PUT", f"/v3/roles/{c['id']}/implies/{a['id']}", expect=400)
    assert "cycle" in r.json()["error"]["message"]
    admin = await identity.role_id("admin")
    await identity.call("PUT", f"/v3/roles/{a['id']}/implies/{admin}", expect=403)
    domain_role = await make_role(identity, domain_id="default")
    await identity.call("PUT", f"/v3/roles/{a['id']}/implies/{domain_role['id']}",
                        expect=403)
    # A domain-specific role may imply a global one: that is what it is for.
    await identity.call("PUT", f"/v3/roles/{domain_role['id']}/implies/{a['id']}",
                        expect=201)
    r = await identity.call("PUT", f"/v3/roles/missing/implies/{a['id']}", expect=404)
    assert r.json()["error"]["message"] == "Could not find role: missing."
    await identity.call("PUT", f"/v3/roles/{a['id']}/implies/missing", expect=404)
    await identity.call("GET", "/v3/roles/missing/implies", expect=404)


async def test_implied_roles_show_up_in_tokens(identity: IdentityClient) -> None:
    project = await identity.make_project()
    admin_user = await identity.make_user(project=project, role="admin")
    token = await identity.token(admin_user["name"], "secret-pw", project=project["name"])
    r = await subject(identity, token)
    assert {x["name"] for x in r.json()["token"]["roles"]} == {"admin", "member", "reader"}

    operator = await make_role(identity)
    await identity.call("PUT", f"/v3/roles/{operator['id']}/implies/"
                        f"{await identity.role_id('member')}", expect=201)
    user = await identity.make_user(project=project, role=operator["name"])
    token = await identity.token(user["name"], "secret-pw", project=project["name"])
    r = await subject(identity, token)
    assert {x["name"] for x in r.json()["token"]["roles"]} == {
        operator["name"], "member", "reader"}
    # A domain-specific role only lends its implications; it never appears in a token.
    domain_role = await make_role(identity, domain_id="default")
    await identity.call("PUT", f"/v3/roles/{domain_role['id']}/implies/{operator['id']}",
                        expect=201)
    other = await identity.make_user()
    await identity.call("PUT", f"/v3/projects/{project['id']}/users/{other['id']}/roles/"
                        f"{domain_role['id']}", expect=204)
    token = await identity.token(other["name"], "secret-pw", project=project["name"])
    r = await subject(identity, token)
    assert {x["name"] for x in r.json()["token"]["roles"]} == {
        operator["name"], "member", "reader"}


async def test_bootstrap_makes_keystones_default_roles(identity: IdentityClient) -> None:
    # Keystone's bootstrap makes admin, manager, member, reader and service; Tempest's
    # dynamic credentials look manager and service up by name.
    r = await identity.call("GET", "/v3/roles", expect=200)
    names = {role["name"] for role in r.json()["roles"]}
    assert {"admin", "manager", "member", "reader", "service"} <= names
    manager = await identity.role_id("manager")
    r = await identity.call("GET", f"/v3/roles/{manager}/implies", expect=200)
    assert r.json()["role_inference"]["implies"] == []
