"""Identity v3 projects and project tags, as OSC, openstacksdk and tempest use them."""

from __future__ import annotations

from typing import Any

from helpers.inprocess import IdentityClient
from helpers.names import unique


async def _admin_project_id(identity: IdentityClient) -> str:
    r = await identity.call("GET", "/v3/projects", params={"name": "admin"}, expect=200)
    return str(r.json()["projects"][0]["id"])


async def _create(identity: IdentityClient, expect: int = 201, **fields: Any) -> dict[str, Any]:
    body = {"name": unique("project"), "domain_id": "default", **fields}
    r = await identity.call("POST", "/v3/projects", json={"project": body}, expect=expect)
    return dict(r.json().get("project") or r.json())


# --- the user story -------------------------------------------------------------------------

async def test_member_lists_only_projects_with_a_role(identity: IdentityClient) -> None:
    # openstack project create demo
    demo = await _create(identity, name="demo")
    await _create(identity, name="other")
    # openstack user create --project demo --password s3cret alice
    r = await identity.call("POST", "/v3/users", expect=201, json={"user": {
        "name": "alice", "password": "s3cret", "default_project_id": demo["id"],
        "domain_id": "default"}})
    alice = r.json()["user"]
    # openstack role add --project demo --user alice member (after a 404 on the name)
    await identity.call("GET", "/v3/roles/member", expect=404)
    member = await identity.role_id("member")
    await identity.call("PUT", f"/v3/projects/{demo['id']}/users/{alice['id']}/roles/{member}",
                        expect=204)

    token = await identity.token("alice", "s3cret", project="demo")
    r = await identity.call("GET", "/v3/projects", token=token, expect=200)
    assert [p["name"] for p in r.json()["projects"]] == ["demo"]
    assert r.json()["links"]["next"] is None
    # The same filters apply to the caller's own list; a name it holds no role on is
    # Keystone's 403, on which clients fall back to taking the value as an id.
    r = await identity.call("GET", "/v3/projects", token=token, params={"name": "other"},
                            expect=403)
    assert r.json()["error"]["code"] == 403
    r = await identity.call("GET", "/v3/projects", token=token,
                            params={"name": "demo", "enabled": "true"}, expect=200)
    assert [p["id"] for p in r.json()["projects"]] == [demo["id"]]
    # An unscoped token lists the same projects.
    unscoped = await identity.token("alice", "s3cret")
    r = await identity.call("GET", "/v3/projects", token=unscoped, expect=200)
    assert [p["name"] for p in r.json()["projects"]] == ["demo"]
    # The admin still sees everything.
    r = await identity.call("GET", "/v3/projects", expect=200)
    assert {"admin", "demo", "other"} <= {p["name"] for p in r.json()["projects"]}


async def test_member_shows_own_project_but_not_others(identity: IdentityClient) -> None:
    project = await identity.make_project()
    user = await identity.make_user(project=project)
    token = await identity.token(user["name"], "secret-pw", project=project["name"])
    r = await identity.call("GET", f"/v3/projects/{project['id']}", token=token, expect=200)
    assert r.json()["project"]["name"] == project["name"]
    admin_project = await _admin_project_id(identity)
    r = await identity.call("GET", f"/v3/projects/{admin_project}", token=token, expect=403)
    assert r.json()["error"]["code"] == 403


async def test_member_cannot_create_update_or_delete(identity: IdentityClient) -> None:
    project = await identity.make_project()
    user = await identity.make_user(project=project)
    token = await identity.token(user["name"], "secret-pw", project=project["name"])
    await identity.call("POST", "/v3/projects", token=token, expect=403,
                        json={"project": {"name": "mine"}})
    await identity.call("PATCH", f"/v3/projects/{project['id']}", token=token, expect=403,
                        json={"project": {"description": "x"}})
    await identity.call("DELETE", f"/v3/projects/{project['id']}", token=token, expect=403)
    await identity.call("PUT", f"/v3/projects/{project['id']}/tags/t", token=token, expect=403)


# --- CRUD -----------------------------------------------------------------------------------

async def test_create_show_and_view_shape(identity: IdentityClient) -> None:
    project = await _create(identity, description="for tests", tags=["b", "a"],
                            custom_attr="kept")
    assert project["domain_id"] == "default"
    assert project["parent_id"] == "default"
    assert project["is_domain"] is False
    assert project["enabled"] is True
    assert project["tags"] == ["a", "b"]
    assert project["options"] == {}
    assert project["custom_attr"] == "kept"
    assert project["links"]["self"].endswith(f"/v3/projects/{project['id']}")
    r = await identity.call("GET", f"/v3/projects/{project['id']}", expect=200)
    assert r.json()["project"] == project


async def test_create_defaults_domain_to_the_token_domain(identity: IdentityClient) -> None:
    r = await identity.call("POST", "/v3/projects", expect=201,
                            json={"project": {"name": "no-domain"}})
    assert r.json()["project"]["domain_id"] == "default"
    assert r.json()["project"]["description"] == ""


async def test_unicode_and_metacharacters_are_data(identity: IdentityClient) -> None:
    for name in ("プロジェクト", "x'; DROP TABLE identity_project; --", "$(rm -rf /)"):
        project = await _create(identity, name=name)
        r = await identity.call("GET", "/v3/projects", params={"name": name}, expect=200)
        assert [p["id"] for p in r.json()["projects"]] == [project["id"]]


async def test_show_by_name_is_404_so_clients_list(identity: IdentityClient) -> None:
    await _create(identity, name="byname")
    r = await identity.call("GET", "/v3/projects/byname", expect=404)
    assert r.json()["error"] == {"code": 404, "title": "Not Found",
                                 "message": "Could not find project: byname."}
    r = await identity.call("GET", "/v3/projects", params={"name": "byname"}, expect=200)
    assert len(r.json()["projects"]) == 1


async def test_duplicate_name_in_domain_is_409(identity: IdentityClient) -> None:
    await _create(identity, name="twice")
    r = await identity.call("POST", "/v3/projects", expect=409,
                            json={"project": {"name": "twice", "domain_id": "default"}})
    assert "twice" in r.json()["error"]["message"]
    other = await _create(identity, name="other-name")
    await identity.call("PATCH", f"/v3/projects/{other['id']}", expect=409,
                        json={"project": {"name": "twice"}})


async def test_bad_bodies_are_400(identity: IdentityClient) -> None:
    body: dict[str, Any]
    for body in ({}, {"project": {}}, {"project": {"name": ""}}, {"project": {"name": "x" * 256}},
                 {"project": {"name": "   "}}, {"project": {"name": 5}},
                 {"project": {"name": "a", "enabled": "yes"}},
                 {"project": {"name": "a", "tags": "a"}},
                 {"project": {"name": "a", "options": {"bogus": True}}},
                 {"projects": {"name": "a"}}):
        await identity.call("POST", "/v3/projects", json=body, expect=400)
    await identity.call("POST", "/v3/projects", content=b"{not json",
                        headers={"Content-Type": "application/json"}, expect=400)


async def test_unknown_domain_or_parent_is_404(identity: IdentityClient) -> None:
    r = await identity.call("POST", "/v3/projects", expect=404,
                            json={"project": {"name": "p", "domain_id": "nope"}})
    assert r.json()["error"]["message"] == "Could not find domain: nope."
    r = await identity.call("POST", "/v3/projects", expect=404,
                            json={"project": {"name": "p", "parent_id": "nope"}})
    assert r.json()["error"]["message"] == "Could not find project: nope."


async def test_a_project_acting_as_a_domain_is_a_domain(identity: IdentityClient) -> None:
    name = unique("dom")
    r = await identity.call("POST", "/v3/projects", expect=201, json={"project": {
        "name": name, "domain_id": None, "is_domain": True, "description": "d"}})
    project = r.json()["project"]
    assert (project["is_domain"], project["domain_id"], project["parent_id"],
            project["tags"]) == (True, None, None, [])
    r = await identity.call("GET", f"/v3/domains/{project['id']}", expect=200)
    assert (r.json()["domain"]["name"], r.json()["domain"]["description"]) == (name, "d")
    r = await identity.call("GET", "/v3/projects", params={"is_domain": "true"}, expect=200)
    listed = {p["id"]: p for p in r.json()["projects"]}
    assert listed[project["id"]] == project and listed["default"]["is_domain"] is True
    r = await identity.call("GET", "/v3/projects", params={"is_domain": "true", "name": name},
                            expect=200)
    assert [p["id"] for p in r.json()["projects"]] == [project["id"]]
    r = await identity.call("GET", "/v3/projects", params={"is_domain": "false"}, expect=200)
    assert project["id"] not in [p["id"] for p in r.json()["projects"]]
    r = await identity.call("GET", "/v3/projects", expect=200)
    assert project["id"] not in [p["id"] for p in r.json()["projects"]]
    assert (await identity.call("GET", f"/v3/projects/{project['id']}",
                                expect=200)).json()["project"] == project
    # Changed and deleted (once disabled) through either API.
    r = await identity.call("PATCH", f"/v3/projects/{project['id']}", expect=200,
                            json={"project": {"enabled": False, "description": "e"}})
    assert (r.json()["project"]["enabled"], r.json()["project"]["description"]) == (False, "e")
    await identity.call("PATCH", f"/v3/projects/{project['id']}", expect=400,
                        json={"project": {"is_domain": False}})
    await identity.call("PATCH", f"/v3/projects/{project['id']}", expect=400,
                        json={"project": {"parent_id": "default"}})
    await identity.call("PATCH", f"/v3/projects/{project['id']}", expect=501,
                        json={"project": {"tags": ["t"]}})
    await identity.call("DELETE", f"/v3/projects/{project['id']}", expect=204)
    await identity.call("GET", f"/v3/domains/{project['id']}", expect=404)
    await identity.call("GET", f"/v3/projects/{project['id']}", expect=404)


async def test_a_project_acting_as_a_domain_refusals(identity: IdentityClient) -> None:
    for fields, status in (({"domain_id": "default"}, 400), ({"parent_id": "default"}, 400),
                           ({"tags": ["t"]}, 501)):
        await identity.call("POST", "/v3/projects", expect=status, json={"project": {
            "name": unique("dom"), "is_domain": True, **fields}})
    r = await identity.call("POST", "/v3/projects", expect=201, json={"project": {
        "name": unique("dom"), "is_domain": True}})
    domain_id = r.json()["project"]["id"]
    # Enabled: not deleted, as a domain.
    await identity.call("DELETE", f"/v3/projects/{domain_id}", expect=403)
    await identity.call("POST", "/v3/projects", expect=409, json={"project": {
        "name": r.json()["project"]["name"], "is_domain": True}})
    # The default domain is never deleted this way either.
    await identity.call("DELETE", "/v3/projects/default", expect=403)
    # A plain project with a null domain goes in the token's domain.
    r = await identity.call("POST", "/v3/projects", expect=201, json={"project": {
        "name": unique("p"), "domain_id": None}})
    assert r.json()["project"]["domain_id"] == "default"


async def test_update(identity: IdentityClient) -> None:
    project = await _create(identity, tags=["old"])
    r = await identity.call("PATCH", f"/v3/projects/{project['id']}", expect=200, json={
        "project": {"name": "renamed", "description": "new", "tags": ["new"], "color": "red"}})
    updated = r.json()["project"]
    assert (updated["name"], updated["description"], updated["tags"], updated["color"]) == \
        ("renamed", "new", ["new"], "red")
    await identity.call("PATCH", f"/v3/projects/{project['id']}", expect=400,
                        json={"project": {}})
    await identity.call("PATCH", f"/v3/projects/{project['id']}", expect=400,
                        json={"project": {"domain_id": "elsewhere"}})
    await identity.call("PATCH", f"/v3/projects/{project['id']}", expect=403,
                        json={"project": {"parent_id": await _admin_project_id(identity)}})
    # Restating the current placement is not a change.
    await identity.call("PATCH", f"/v3/projects/{project['id']}", expect=200,
                        json={"project": {"domain_id": "default", "parent_id": "default"}})
    await identity.call("PATCH", "/v3/projects/nope", expect=404,
                        json={"project": {"name": "x"}})


async def test_hierarchy(identity: IdentityClient) -> None:
    parent = await _create(identity)
    child = await _create(identity, parent_id=parent["id"])
    assert child["parent_id"] == parent["id"]
    assert child["domain_id"] == "default"
    r = await identity.call("GET", "/v3/projects", params={"parent_id": parent["id"]},
                            expect=200)
    assert [p["id"] for p in r.json()["projects"]] == [child["id"]]
    r = await identity.call("GET", "/v3/projects", params={"parent_id": "default"}, expect=200)
    ids = {p["id"] for p in r.json()["projects"]}
    assert parent["id"] in ids and child["id"] not in ids
    # A parent with enabled children cannot be disabled, nor deleted with children.
    await identity.call("PATCH", f"/v3/projects/{parent['id']}", expect=403,
                        json={"project": {"enabled": False}})
    r = await identity.call("DELETE", f"/v3/projects/{parent['id']}", expect=403)
    assert "leaf" in r.json()["error"]["message"]
    await identity.call("PATCH", f"/v3/projects/{child['id']}", expect=200,
                        json={"project": {"enabled": False}})
    await identity.call("PATCH", f"/v3/projects/{parent['id']}", expect=200,
                        json={"project": {"enabled": False}})
    # No enabled project under a disabled one.
    await identity.call("PATCH", f"/v3/projects/{child['id']}", expect=403,
                        json={"project": {"enabled": True}})
    await identity.call("POST", "/v3/projects", expect=400,
                        json={"project": {"name": "under", "parent_id": parent["id"]}})
    await identity.call("DELETE", f"/v3/projects/{child['id']}", expect=204)
    await identity.call("DELETE", f"/v3/projects/{parent['id']}", expect=204)


async def test_parent_in_another_domain_is_400(identity: IdentityClient) -> None:
    r = await identity.call("POST", "/v3/domains", expect=201,
                            json={"domain": {"name": unique("dom")}})
    domain_id = r.json()["domain"]["id"]
    parent = await _create(identity)
    await identity.call("POST", "/v3/projects", expect=400, json={"project": {
        "name": "x", "domain_id": domain_id, "parent_id": parent["id"]}})
    # A domain given as the parent makes a top-level project in it.
    r = await identity.call("POST", "/v3/projects", expect=201,
                            json={"project": {"name": "x", "parent_id": domain_id}})
    assert (r.json()["project"]["domain_id"], r.json()["project"]["parent_id"]) == \
        (domain_id, domain_id)


async def test_tree_depth_is_limited(identity: IdentityClient) -> None:
    parent = await _create(identity)
    for _ in range(4):
        parent = await _create(identity, parent_id=parent["id"])
    r = await identity.call("POST", "/v3/projects", expect=403,
                            json={"project": {"name": "too-deep", "parent_id": parent["id"]}})
    assert "depth" in r.json()["error"]["message"]


async def test_delete_revokes_tokens_and_assignments(identity: IdentityClient) -> None:
    project = await identity.make_project()
    user = await identity.make_user(project=project)
    token = await identity.token(user["name"], "secret-pw", project=project["name"])
    await identity.call("GET", f"/v3/projects/{project['id']}", token=token, expect=200)
    await identity.call("DELETE", f"/v3/projects/{project['id']}", expect=204)
    await identity.call("GET", f"/v3/users/{user['id']}", token=token, expect=401)
    await identity.call("GET", f"/v3/projects/{project['id']}", expect=404)
    await identity.call("DELETE", f"/v3/projects/{project['id']}", expect=404)
    r = await identity.call("GET", f"/v3/users/{user['id']}/projects", expect=200)
    assert r.json()["projects"] == []
    r = await identity.call("GET", f"/v3/users/{user['id']}", expect=200)
    assert "default_project_id" not in r.json()["user"]


async def test_disable_revokes_scoped_tokens(identity: IdentityClient) -> None:
    project = await identity.make_project()
    user = await identity.make_user(project=project)
    token = await identity.token(user["name"], "secret-pw", project=project["name"])
    await identity.call("PATCH", f"/v3/projects/{project['id']}", expect=200,
                        json={"project": {"enabled": False}})
    await identity.call("PATCH", f"/v3/projects/{project['id']}", expect=200,
                        json={"project": {"enabled": True}})
    # Re-enabling does not bring the old token back.
    await identity.call("GET", f"/v3/projects/{project['id']}", token=token, expect=401)
    await identity.token(user["name"], "secret-pw", project=project["name"])


# --- tags -----------------------------------------------------------------------------------

async def test_tag_endpoints(identity: IdentityClient) -> None:
    project = await _create(identity)
    base = f"/v3/projects/{project['id']}/tags"
    r = await identity.call("GET", base, expect=200)
    assert r.json() == {"tags": []}
    r = await identity.call("PUT", f"{base}/blue", expect=201)
    assert r.headers["Location"].endswith(f"{base}/blue")
    await identity.call("PUT", f"{base}/blue", expect=201)           # idempotent
    await identity.call("GET", f"{base}/blue", expect=204)
    await identity.call("HEAD", f"{base}/blue", expect=204)
    r = await identity.call("GET", f"{base}/red", expect=404)
    assert r.json()["error"]["message"] == "Could not find project tag: red."
    await identity.call("HEAD", f"{base}/red", expect=404)
    r = await identity.call("PUT", base, json={"tags": ["x", "y"]}, expect=200)
    assert r.json() == {"tags": ["x", "y"]}
    r = await identity.call("GET", f"/v3/projects/{project['id']}", expect=200)
    assert r.json()["project"]["tags"] == ["x", "y"]
    await identity.call("DELETE", f"{base}/x", expect=204)
    await identity.call("DELETE", f"{base}/x", expect=404)
    r = await identity.call("GET", base, expect=200)
    assert r.json() == {"tags": ["y"]}
    await identity.call("DELETE", base, expect=204)
    r = await identity.call("GET", base, expect=200)
    assert r.json() == {"tags": []}
    await identity.call("GET", "/v3/projects/nope/tags", expect=404)
    await identity.call("PUT", "/v3/projects/nope/tags/a", expect=404)


async def test_tag_rules(identity: IdentityClient) -> None:
    project = await _create(identity)
    base = f"/v3/projects/{project['id']}/tags"
    for bad in (["a,b"], ["a/b"], ["x" * 256], [""], ["dup", "dup"],
                [f"t{i}" for i in range(81)]):
        r = await identity.call("PUT", base, json={"tags": bad}, expect=400)
        assert r.json()["error"]["code"] == 400
        await identity.call("POST", "/v3/projects", expect=400,
                            json={"project": {"name": unique("p"), "tags": bad}})
    await identity.call("PUT", f"{base}/a,b", expect=400)
    await identity.call("PUT", f"{base}/{'x' * 256}", expect=400)
    await identity.call("PUT", base, json={"tags": "a"}, expect=400)
    await identity.call("PUT", base, json={"tags": [f"t{i}" for i in range(80)]}, expect=200)
    r = await identity.call("PUT", f"{base}/one-more", expect=400)
    assert "80" in r.json()["error"]["message"]


async def test_member_reads_tags_of_own_project(identity: IdentityClient) -> None:
    project = await _create(identity, tags=["visible"])
    user = await identity.make_user(project=project)
    token = await identity.token(user["name"], "secret-pw", project=project["name"])
    r = await identity.call("GET", f"/v3/projects/{project['id']}/tags", token=token, expect=200)
    assert r.json() == {"tags": ["visible"]}
    await identity.call("GET", f"/v3/projects/{project['id']}/tags/visible", token=token,
                        expect=204)


async def test_tag_filters(identity: IdentityClient) -> None:
    ab = await _create(identity, tags=["a", "b"])
    a = await _create(identity, tags=["a"])
    c = await _create(identity, tags=["c"])
    mine = {ab["id"], a["id"], c["id"]}

    async def ids(**params: str) -> set[str]:
        r = await identity.call("GET", "/v3/projects", params=params, expect=200)
        return {p["id"] for p in r.json()["projects"]} & mine

    assert await ids(tags="a,b") == {ab["id"]}
    assert await ids(tags="a") == {ab["id"], a["id"]}
    assert await ids(**{"tags-any": "b,c"}) == {ab["id"], c["id"]}
    assert await ids(**{"not-tags": "a,b"}) == {a["id"], c["id"]}
    assert await ids(**{"not-tags-any": "b,c"}) == {a["id"]}


async def test_name_over_64_characters_is_refused(identity: IdentityClient) -> None:
    # Keystone's limit, as Tempest's test_create_projects_name_length_over_64 checks.
    body = await _create(identity, expect=400, name="a" * 65)
    assert body["error"]["code"] == 400
    project = await _create(identity, name=unique("p").ljust(64, "x"))
    await identity.call("PATCH", f"/v3/projects/{project['id']}", expect=400,
                        json={"project": {"name": "c" * 65}})
