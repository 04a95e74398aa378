"""Grants on projects, domains and the system, and ``GET /v3/role_assignments``."""

from __future__ import annotations

from typing import Any

import pytest

from helpers.inprocess import IdentityClient
from helpers.names import unique
from ownstack.identity.objects.assignments import USER_DOMAIN
from ownstack.identity.objects.models import Assignment


async def subject(identity: IdentityClient, token: str) -> Any:
    return await identity.call("GET", "/v3/auth/tokens", headers={"X-Subject-Token": token})


async def token_roles(identity: IdentityClient, token: str) -> set[str]:
    r = await subject(identity, token)
    assert r.status_code == 200, r.text
    return {x["name"] for x in r.json()["token"]["roles"]}


async def make_role(identity: IdentityClient, **fields: Any) -> dict[str, Any]:
    r = await identity.call("POST", "/v3/roles", expect=201,
                            json={"role": {"name": unique("role"), **fields}})
    return dict(r.json()["role"])


async def make_group(identity: IdentityClient, *members: dict[str, Any]) -> dict[str, Any]:
    r = await identity.call("POST", "/v3/groups", expect=201,
                            json={"group": {"name": unique("group")}})
    group = dict(r.json()["group"])
    for user in members:
        await identity.call("PUT", f"/v3/groups/{group['id']}/users/{user['id']}", expect=204)
    return group


async def assignments(identity: IdentityClient, **params: str) -> list[dict[str, Any]]:
    r = await identity.call("GET", "/v3/role_assignments", params=params, expect=200)
    assert r.json()["links"]["self"].startswith("http://identity.test/v3/role_assignments")
    return list(r.json()["role_assignments"])


# --- grants and tokens -------------------------------------------------------------------

async def test_role_add_and_remove_change_token_roles(identity: IdentityClient) -> None:
    project = await identity.make_project()
    user = await identity.make_user(project=project, role="reader")
    token = await identity.token(user["name"], "secret-pw", project=project["name"])
    assert await token_roles(identity, token) == {"reader"}

    path = f"/v3/projects/{project['id']}/users/{user['id']}/roles/"
    observer = await make_role(identity)
    await identity.call("PUT", path + observer["id"], expect=204)
    fresh = await identity.token(user["name"], "secret-pw", project=project["name"])
    assert await token_roles(identity, fresh) == {"reader", observer["name"]}

    # Removing a role revokes the tokens scoped there, as Keystone does; a new token
    # carries what is left.
    await identity.call("DELETE", path + observer["id"], expect=204)
    assert (await subject(identity, fresh)).status_code == 404
    fresh = await identity.token(user["name"], "secret-pw", project=project["name"])
    assert await token_roles(identity, fresh) == {"reader"}

    # Removing the only role: the token stops validating and no new one can be scoped.
    await identity.call("DELETE", path + await identity.role_id("reader"), expect=204)
    r = await subject(identity, fresh)
    assert r.status_code == 404
    assert r.json()["error"]["message"] == "Failed to validate token"
    await identity.token(user["name"], "secret-pw", project=project["name"], expect=401)


async def test_removal_only_revokes_that_project(identity: IdentityClient) -> None:
    one, two = await identity.make_project(), await identity.make_project()
    user = await identity.make_user(project=one)
    member = await identity.role_id("member")
    await identity.call("PUT", f"/v3/projects/{two['id']}/users/{user['id']}/roles/{member}",
                        expect=204)
    token_one = await identity.token(user["name"], "secret-pw", project=one["name"])
    token_two = await identity.token(user["name"], "secret-pw", project=two["name"])
    await identity.call("DELETE", f"/v3/projects/{two['id']}/users/{user['id']}/roles/"
                        f"{member}", expect=204)
    assert (await subject(identity, token_two)).status_code == 404
    assert await token_roles(identity, token_one) == {"member", "reader"}


@pytest.mark.parametrize("kind", ["project-user", "project-group", "domain-user",
                                  "domain-group", "system-user", "system-group"])
async def test_grant_check_list_revoke(identity: IdentityClient, kind: str) -> None:
    target, actor = kind.split("-")
    user = await identity.make_user()
    actor_id = user["id"] if actor == "user" else (await make_group(identity, user))["id"]
    if target == "project":
        base = f"/v3/projects/{(await identity.make_project())['id']}"
    elif target == "domain":
        base = "/v3/domains/default"
    else:
        base = "/v3/system"
    roles = f"{base}/{actor}s/{actor_id}/roles"
    role = await make_role(identity)
    r = await identity.call("GET", roles, expect=200)
    assert r.json()["roles"] == []
    await identity.call("HEAD", f"{roles}/{role['id']}", expect=404)
    r = await identity.call("GET", f"{roles}/{role['id']}", expect=404)
    assert r.json()["error"]["code"] == 404
    await identity.call("PUT", f"{roles}/{role['id']}", expect=204)
    await identity.call("PUT", f"{roles}/{role['id']}", expect=204)      # idempotent
    await identity.call("HEAD", f"{roles}/{role['id']}", expect=204)
    await identity.call("GET", f"{roles}/{role['id']}", expect=204)
    r = await identity.call("GET", roles, expect=200)
    [listed] = r.json()["roles"]
    assert listed["id"] == role["id"]
    assert listed["name"] == role["name"]
    assert listed["links"]["self"].endswith(f"/v3/roles/{role['id']}")
    await identity.call("DELETE", f"{roles}/{role['id']}", expect=204)
    await identity.call("DELETE", f"{roles}/{role['id']}", expect=404)
    await identity.call("HEAD", f"{roles}/{role['id']}", expect=404)


async def test_every_id_in_the_path_must_exist(identity: IdentityClient) -> None:
    project = await identity.make_project()
    user = await identity.make_user()
    group = await make_group(identity)
    role = await identity.role_id("member")
    cases = {
        f"/v3/projects/nope/users/{user['id']}/roles/{role}": "project: nope",
        f"/v3/projects/{project['id']}/users/nope/roles/{role}": "user: nope",
        f"/v3/projects/{project['id']}/users/{user['id']}/roles/nope": "role: nope",
        f"/v3/projects/{project['id']}/groups/nope/roles/{role}": "group: nope",
        f"/v3/domains/nope/users/{user['id']}/roles/{role}": "domain: nope",
        f"/v3/domains/default/groups/{group['id']}/roles/nope": "role: nope",
        f"/v3/system/users/nope/roles/{role}": "user: nope",
        f"/v3/system/groups/nope/roles/{role}": "group: nope",
    }
    for path, what in cases.items():
        for method in ("PUT", "HEAD", "DELETE"):
            r = await identity.call(method, path, expect=404)
            if method != "HEAD":
                assert r.json()["error"]["message"] == f"Could not find {what}.", path
    r = await identity.call("GET", f"/v3/projects/nope/users/{user['id']}/roles", expect=404)
    assert r.json()["error"]["message"] == "Could not find project: nope."


async def test_domain_specific_roles_stay_in_their_domain(identity: IdentityClient) -> None:
    r = await identity.call("POST", "/v3/domains", expect=201,
                            json={"domain": {"name": unique("domain")}})
    elsewhere = r.json()["domain"]["id"]
    role = await make_role(identity, domain_id=elsewhere)
    project = await identity.make_project()              # in the default domain
    user = await identity.make_user()
    await identity.call("PUT", f"/v3/projects/{project['id']}/users/{user['id']}/roles/"
                        f"{role['id']}", expect=403)
    # Keystone checks the domain of project grants only.
    await identity.call("PUT", f"/v3/domains/default/users/{user['id']}/roles/{role['id']}",
                        expect=204)
    await identity.call("PUT", f"/v3/system/users/{user['id']}/roles/{role['id']}", expect=400)
    await identity.call("PUT", f"/v3/domains/{elsewhere}/users/{user['id']}/roles/"
                        f"{role['id']}", expect=204)


async def test_non_admin_cannot_grant_or_list(identity: IdentityClient) -> None:
    project = await identity.make_project()
    user = await identity.make_user(project=project)
    token = await identity.token(user["name"], "secret-pw", project=project["name"])
    admin = await identity.role_id("admin")
    for path in (f"/v3/projects/{project['id']}/users/{user['id']}/roles/{admin}",
                 f"/v3/domains/default/users/{user['id']}/roles/{admin}",
                 f"/v3/system/users/{user['id']}/roles/{admin}"):
        r = await identity.call("PUT", path, token=token, expect=403)
        assert r.json()["error"]["code"] == 403
        await identity.call("DELETE", path, token=token, expect=403)
    await identity.call("GET", "/v3/role_assignments", token=token, expect=403)
    await identity.call("GET", "/v3/role_assignments", token=token, expect=403,
                        params={"user.id": user["id"]})
    # And the user still has only what they had.
    assert await token_roles(identity, token) == {"member", "reader"}


async def test_domain_and_system_grants_scope_tokens(identity: IdentityClient) -> None:
    user = await identity.make_user()
    reader = await identity.role_id("reader")
    await identity.token(user["name"], "secret-pw", domain="default", expect=401)
    await identity.call("PUT", f"/v3/domains/default/users/{user['id']}/roles/{reader}",
                        expect=204)
    domain_token = await identity.token(user["name"], "secret-pw", domain="default")
    assert await token_roles(identity, domain_token) == {"reader"}
    await identity.call("PUT", f"/v3/system/users/{user['id']}/roles/{reader}", expect=204)
    system_token = await identity.token(user["name"], "secret-pw", system=True)
    assert await token_roles(identity, system_token) == {"reader"}
    # A system reader may list role assignments.
    r = await identity.call("GET", "/v3/role_assignments", token=system_token, expect=200)
    assert r.json()["role_assignments"]
    await identity.call("DELETE", f"/v3/domains/default/users/{user['id']}/roles/{reader}",
                        expect=204)
    assert (await subject(identity, domain_token)).status_code == 404
    await identity.call("DELETE", f"/v3/system/users/{user['id']}/roles/{reader}", expect=204)
    assert (await subject(identity, system_token)).status_code == 404


# --- GET /v3/role_assignments -------------------------------------------------------------

async def test_direct_assignments_and_filters(identity: IdentityClient) -> None:
    project = await identity.make_project()
    user = await identity.make_user(project=project)
    group = await make_group(identity, user)
    member, reader = await identity.role_id("member"), await identity.role_id("reader")
    await identity.call("PUT", f"/v3/domains/default/groups/{group['id']}/roles/{reader}",
                        expect=204)

    [entry] = await assignments(identity, **{"user.id": user["id"]})
    assert entry == {
        "role": {"id": member},
        "user": {"id": user["id"]},
        "scope": {"project": {"id": project["id"]}},
        "links": {"assignment": f"http://identity.test/v3/projects/{project['id']}/users/"
                                f"{user['id']}/roles/{member}"}}
    [entry] = await assignments(identity, **{"group.id": group["id"]})
    assert entry["group"] == {"id": group["id"]}
    assert entry["scope"] == {"domain": {"id": "default"}}
    assert entry["links"]["assignment"].endswith(
        f"/v3/domains/default/groups/{group['id']}/roles/{reader}")
    found = await assignments(identity, **{"scope.project.id": project["id"]})
    assert [(e["user"]["id"], e["role"]["id"]) for e in found] == [(user["id"], member)]
    found = await assignments(identity, **{"scope.domain.id": "default", "role.id": reader})
    assert [e["group"]["id"] for e in found] == [group["id"]]
    found = await assignments(identity, **{"scope.system": "all"})
    assert found and all(e["scope"] == {"system": {"all": True}} for e in found)
    assert any(e["links"]["assignment"].endswith(
        f"/v3/system/users/{e['user']['id']}/roles/{e['role']['id']}") for e in found)
    assert await assignments(identity, **{"user.id": user["id"], "role.id": reader}) == []
    # Unfiltered: everything, including the bootstrap admin's grants.
    everything = await assignments(identity)
    assert len(everything) >= 4


async def test_effective_expands_groups_and_implied_roles(identity: IdentityClient) -> None:
    project = await identity.make_project()
    user = await identity.make_user()
    group = await make_group(identity, user)
    admin, member, reader = [await identity.role_id(n) for n in ("admin", "member", "reader")]
    await identity.call("PUT", f"/v3/projects/{project['id']}/groups/{group['id']}/roles/"
                        f"{admin}", expect=204)
    direct = await assignments(identity, **{"user.id": user["id"]})
    assert direct == []
    found = await assignments(identity, effective="", **{"user.id": user["id"]})
    by_role = {e["role"]["id"]: e for e in found}
    assert set(by_role) == {admin, member, reader}
    group_grant = (f"http://identity.test/v3/projects/{project['id']}/groups/{group['id']}"
                   f"/roles/")
    assert by_role[admin]["links"] == {
        "assignment": group_grant + admin,
        "membership": f"http://identity.test/v3/groups/{group['id']}/users/{user['id']}"}
    assert by_role[admin]["user"] == {"id": user["id"]}
    assert "group" not in by_role[admin]
    # An implied role points at the grant of the role that implied it.
    assert by_role[member]["links"]["assignment"] == group_grant + admin
    assert by_role[reader]["links"]["assignment"] == group_grant + member
    assert by_role[member]["links"]["prior_role"].endswith(f"/roles/{admin}/implies/{member}")
    # The role filter applies after expansion.
    found = await assignments(identity, effective="true",
                              **{"user.id": user["id"], "role.id": reader})
    assert [e["role"]["id"] for e in found] == [reader]
    found = await assignments(identity, effective="1",
                              **{"scope.project.id": project["id"]})
    assert {(e["user"]["id"], e["role"]["id"]) for e in found} == {
        (user["id"], admin), (user["id"], member), (user["id"], reader)}


async def test_include_names(identity: IdentityClient) -> None:
    project = await identity.make_project()
    user = await identity.make_user(project=project)
    group = await make_group(identity)
    role = await make_role(identity, domain_id="default")
    await identity.call("PUT", f"/v3/domains/default/groups/{group['id']}/roles/"
                        f"{role['id']}", expect=204)
    [entry] = await assignments(identity, include_names="true", **{"user.id": user["id"]})
    assert entry["user"] == {"id": user["id"], "name": user["name"],
                             "domain": {"id": "default", "name": "Default"}}
    assert entry["scope"]["project"] == {"id": project["id"], "name": project["name"],
                                         "domain": {"id": "default", "name": "Default"}}
    assert entry["role"] == {"id": await identity.role_id("member"), "name": "member"}
    [entry] = await assignments(identity, include_names="True", **{"group.id": group["id"]})
    assert entry["group"]["name"] == group["name"]
    assert entry["scope"] == {"domain": {"id": "default", "name": "Default"}}
    assert entry["role"] == {"id": role["id"], "name": role["name"],
                             "domain": {"id": "default", "name": "Default"}}


async def test_inherited_domain_grant(identity: IdentityClient) -> None:
    # No route creates inherited grants yet (OS-INHERIT); the data model has them.
    project = await identity.make_project()
    user = await identity.make_user()
    reader = await identity.role_id("reader")
    async with identity.app.svc.write() as db:
        db.add(Assignment(type=USER_DOMAIN, actor_id=user["id"], target_id="default",
                          role_id=reader, inherited=True))
    [direct] = await assignments(identity, **{"user.id": user["id"]})
    assert direct["scope"] == {"domain": {"id": "default"}, "OS-INHERIT:inherited_to": "projects"}
    assert direct["links"]["assignment"] == (
        f"http://identity.test/v3/OS-INHERIT/domains/default/users/{user['id']}/roles/"
        f"{reader}/inherited_to_projects")
    assert await assignments(identity, **{"user.id": user["id"],
                                          "scope.OS-INHERIT:inherited_to": "other"}) == []
    found = await assignments(identity, effective="",
                              **{"user.id": user["id"], "scope.project.id": project["id"]})
    assert [e["scope"] for e in found] == [
        {"project": {"id": project["id"]}, "OS-INHERIT:inherited_to": "projects"}]
    assert found[0]["links"]["assignment"] == direct["links"]["assignment"]
    everywhere = await assignments(identity, effective="", **{"user.id": user["id"]})
    assert project["id"] in {e["scope"]["project"]["id"] for e in everywhere}
    token = await identity.token(user["name"], "secret-pw", project=project["name"])
    assert await token_roles(identity, token) == {"reader"}


async def test_include_subtree(identity: IdentityClient) -> None:
    parent = await identity.make_project()
    r = await identity.call("POST", "/v3/projects", expect=201, json={"project": {
        "name": unique("child"), "domain_id": "default", "parent_id": parent["id"]}})
    child = r.json()["project"]
    user = await identity.make_user(project=child)
    found = await assignments(identity, **{"scope.project.id": parent["id"]})
    assert found == []
    found = await assignments(identity, include_subtree="true",
                              **{"scope.project.id": parent["id"]})
    assert [(e["user"]["id"], e["scope"]["project"]["id"]) for e in found] == [
        (user["id"], child["id"])]
    await identity.call("GET", "/v3/role_assignments", expect=404,
                        params={"include_subtree": "true", "scope.project.id": "nope"})


@pytest.mark.parametrize("params", [
    {"include_subtree": "true"},
    {"user.id": "u", "group.id": "g"},
    {"scope.project.id": "p", "scope.domain.id": "d"},
    {"scope.system": "all", "scope.domain.id": "d"},
    {"scope.system": "all", "scope.project.id": "p"},
    {"effective": "true", "group.id": "g"},
    {"effective": "true", "scope.domain.id": "d", "scope.OS-INHERIT:inherited_to": "projects"},
    {"effective": "maybe"},
])
async def test_useless_filter_combinations_are_400(identity: IdentityClient,
                                                   params: dict[str, str]) -> None:
    r = await identity.call("GET", "/v3/role_assignments", params=params, expect=400)
    assert r.json()["error"]["code"] == 400


async def test_osc_role_assignment_list_names(identity: IdentityClient) -> None:
    """What ``openstack role assignment list --user alice --project demo --names`` sends."""
    project = await identity.make_project(unique("demo"))
    user = await identity.make_user(project=project, name=unique("alice"))
    await identity.call("GET", f"/v3/users/{user['name']}", expect=404)
    r = await identity.call("GET", "/v3/users", params={"name": user["name"]}, expect=200)
    [found_user] = r.json()["users"]
    await identity.call("GET", f"/v3/projects/{project['name']}", expect=404)
    r = await identity.call("GET", "/v3/projects", params={"name": project["name"]},
                            expect=200)
    [found_project] = r.json()["projects"]
    rows = await assignments(identity, include_names="True", **{
        "user.id": found_user["id"], "scope.project.id": found_project["id"]})
    assert [(e["role"]["name"], e["user"]["name"], e["scope"]["project"]["name"])
            for e in rows] == [("member", user["name"], project["name"])]


async def test_concurrent_identical_grants_all_succeed(identity: IdentityClient) -> None:
    import asyncio

    project = await identity.make_project()
    user = await identity.make_user()
    group = await make_group(identity)
    member = await identity.role_id("member")
    paths = [f"/v3/projects/{project['id']}/users/{user['id']}/roles/{member}",
             f"/v3/groups/{group['id']}/users/{user['id']}"]
    for path in paths:
        results = await asyncio.gather(*(identity.call("PUT", path) for _ in range(8)))
        assert [r.status_code for r in results] == [204] * 8
    rows = await assignments(identity, **{"user.id": user["id"]})
    assert len(rows) == 1
